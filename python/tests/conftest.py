"""Shared helpers of the ivs_vcr package's own tests: boto3 clients, a local upstream, and the
runtime check that the ivs-vcr under test has the control plane these tests need."""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from ivs_vcr import Server

pytest_plugins = ["pytester"]


def ivs_client(retry_mode: str = "standard", attempts: int = 3) -> Any:
    """A boto3 IVS client that finds its endpoint, region and credentials in the environment (as
    the code under test would), with explicit retry settings so the retry tests do not depend on
    botocore's defaults. ``attempts`` counts the first call too (botocore's ``max_attempts`` in
    ``retries`` would count only the retries)."""
    return boto3.client(
        "ivs",
        config=Config(retries={"mode": retry_mode, "total_max_attempts": attempts}),
    )


def plugin_args() -> "tuple[str, ...]":
    """What an inner pytest session needs to load the plugin. Where the package is installed, its
    entry point loads it (and a ``-p`` too would register it twice, which pytest refuses); from a
    source tree (``PYTHONPATH=python pytest -p ivs_vcr.pytest_plugin``) it takes the same ``-p``."""
    registered = any(ep.value == "ivs_vcr.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11"))
    return () if registered else ("-p", "ivs_vcr.pytest_plugin")


def run_inner(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Runs an inner pytest session in-process, loading the plugin as :func:`plugin_args` says."""
    return pytester.runpytest(*plugin_args(), *args)


@pytest.fixture
def ivs(ivs_vcr: Any) -> Any:
    """A boto3 IVS client pointed at this test's ivs-vcr endpoint through AWS_ENDPOINT_URL_IVS."""
    assert os.environ["AWS_ENDPOINT_URL_IVS"] == ivs_vcr.url
    return ivs_client()


@pytest.fixture
def upstream() -> Iterator[Server]:
    """A second, independent ivs-vcr emulator: the "AWS" that record mode forwards to."""
    with Server("replay") as server:
        yield server

