"""Issue 28 §2: wider fixture scopes, the marker's keywords, and ``ivs_vcr.emulator()`` /
``ivs_vcr.replay()`` for code outside pytest."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

import ivs_vcr
from ivs_vcr import Server

from conftest import run_inner

SCOPED = '''
import boto3
import pytest

@pytest.fixture(scope="module")
def channel(ivs_vcr_module):
    return boto3.client("ivs").create_channel(name="shared")["channel"]["arn"]

def test_one(channel):
    assert boto3.client("ivs").get_channel(arn=channel)["channel"]["name"] == "shared"

def test_two(channel, ivs_vcr_module):
    assert len(boto3.client("ivs").list_channels()["channels"]) == 1

def test_per_test_emulator_is_apart_and_empty(channel, ivs_vcr):
    assert boto3.client("ivs").list_channels()["channels"] == []

def test_session_scope(ivs_vcr_session):
    assert boto3.client("ivs").list_channels()["channels"] == []
'''


def test_a_module_scoped_fixture_uses_ivs_vcr_module(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_IVS", raising=False)
    pytester.makepyfile(test_inner=SCOPED)
    result = run_inner(pytester)
    result.assert_outcomes(passed=4)


MARKED = '''
import boto3
import pytest

@pytest.mark.ivs_vcr(record_mode="once")
def test_recorded(ivs_vcr):
    assert ivs_vcr.record_mode == "once"
    boto3.client("ivs").list_channels()

@pytest.mark.ivs_vcr(casette="x")
def test_misspelt(ivs_vcr):
    pass

@pytest.mark.ivs_vcr(record_mode="new_episodes")
def test_bad_mode(ivs_vcr):
    pass
'''


def test_marker_takes_record_mode_and_refuses_unknown_keywords(
    pytester: pytest.Pytester, upstream: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_IVS", raising=False)
    pytester.makepyfile(test_inner=MARKED)
    # --ivs-record-mode is none (replay only): the marker's record_mode wins for its test.
    result = run_inner(pytester, f"--ivs-upstream={upstream.url}")
    result.assert_outcomes(passed=1, errors=2)
    assert (pytester.path / "cassettes/test_inner/test_recorded.yaml").is_file()
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.ivs_vcr has no keyword `casette` (did you mean `cassette`?); it takes `cassette`, `record_mode`*",
            "*@pytest.mark.ivs_vcr(record_mode='new_episodes') is not a record mode (did you mean `new-episodes`?)*",
        ]
    )


def _ivs_environment() -> dict[str, str | None]:
    names = (*ivs_vcr.ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    return {name: os.environ.get(name) for name in names}


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*ivs_vcr.ENDPOINT_VARIABLES, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)


def test_emulator_patches_the_environment_and_restores_it(bare_environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    before = _ivs_environment()
    with ivs_vcr.emulator() as server:
        for name in ivs_vcr.ENDPOINT_VARIABLES:
            assert os.environ[name] == server.url
        assert os.environ["AWS_ACCESS_KEY_ID"] == "test"
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1", "a region already set is kept"
        ivs = boto3.client("ivs")
        arn = ivs.create_channel(name="demo")["channel"]["arn"]
        assert ivs.get_channel(arn=arn)["channel"]["name"] == "demo"
    assert _ivs_environment() == before
    assert not server.alive


def test_emulator_is_a_decorator_with_a_fresh_server_per_call(bare_environment: None) -> None:
    urls = []

    @ivs_vcr.emulator()
    def code_under_test() -> int:
        urls.append(os.environ["AWS_ENDPOINT_URL_IVS"])
        ivs = boto3.client("ivs")
        ivs.create_channel(name="demo")
        return len(ivs.list_channels()["channels"])

    assert code_under_test() == 1
    assert code_under_test() == 1, "each call starts empty"
    assert len(set(urls)) == 2
    assert "AWS_ENDPOINT_URL_IVS" not in os.environ


def test_replay_serves_cassettes(bare_environment: None, tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    with ivs_vcr.emulator(), Server("record", ["--cassettes", str(cassettes), "--name", "flow",
                                                "--upstream", os.environ["AWS_ENDPOINT_URL_IVS"]]) as recorder:
        boto3.client("ivs", endpoint_url=recorder.url).list_channels()
    with ivs_vcr.replay(cassettes) as server:
        assert server.mode == "replay"
        boto3.client("ivs").list_channels()
        assert server.summary()["operations"]["ListChannels"]["matched"] == 1
