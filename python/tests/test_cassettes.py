"""The @pytest.mark.ivs_vcr marker, driven through inner pytest runs: record through a local
upstream, replay offline, and fail a test on an unmatched request or a missing cassette."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivs_vcr import Server

from conftest import run_inner

INNER = '''
import boto3
import pytest

@pytest.mark.ivs_vcr
def test_channel(ivs_vcr):
    assert ivs_vcr.url.endswith("/cassette/cassettes/test_inner/test_channel")
    ivs = boto3.client("ivs")
    created = ivs.create_channel(name="{name}")["channel"]
    assert ivs.get_channel(arn=created["arn"])["channel"]["name"] == "{name}"

@pytest.mark.ivs_vcr(cassette="shared/listing")
def test_named(ivs_vcr):
    boto3.client("ivs").list_channels()
'''

CASSETTE = Path("cassettes/test_inner/test_channel.yaml")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record signs with the operator's credentials from the environment: any values do for a
    local upstream."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_IVS", raising=False)


def record(pytester: pytest.Pytester, upstream: Server) -> None:
    pytester.makepyfile(test_inner=INNER.format(name="recorded"))
    result = run_inner(pytester, "--ivs-record-mode=once", f"--ivs-upstream={upstream.url}")
    result.assert_outcomes(passed=2)
    assert (pytester.path / CASSETTE).is_file()
    assert (pytester.path / "cassettes/test_inner/shared/listing.yaml").is_file()


def test_record_through_local_upstream_then_replay_offline(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    record(pytester, upstream)
    recorded = (pytester.path / CASSETTE).read_text()
    assert "CreateChannel" in recorded and "GetChannel" in recorded
    upstream.stop()  # nothing to forward to: replay must be offline

    result = run_inner(pytester)  # --ivs-record-mode none is the default
    result.assert_outcomes(passed=2)
    result = run_inner(pytester, "--ivs-fail-on-unused")
    result.assert_outcomes(passed=2)
    assert (pytester.path / CASSETTE).read_text() == recorded


def test_recording_through_a_local_upstream_needs_no_aws_credentials(
    pytester: pytest.Pytester, upstream: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 28 §2: recording through --ivs-upstream pointing at a local fake demanded AWS
    # credentials; the recorder now gets dummy ones, as the replaying side does.
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_ENDPOINT_URL_IVS", raising=False)
    record(pytester, upstream)


def test_unmatched_request_fails_the_test_with_the_diagnostic(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    record(pytester, upstream)
    pytester.makepyfile(test_inner=INNER.format(name="renamed"))

    result = run_inner(pytester)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*IvsVcrUnmatchedRequestException*",
            "*ivs-vcr: cassette `*test_channel.yaml` (--ivs-record-mode none):*",
            "*unmatched CreateChannel request:*",
            "*renamed*",
        ]
    )


def test_unmatched_request_fails_even_when_the_code_swallows_the_error(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    record(pytester, upstream)
    pytester.makepyfile(
        test_inner='''
import boto3, pytest
from botocore.exceptions import ClientError

@pytest.mark.ivs_vcr(cassette="test_channel")
def test_channel(ivs_vcr):
    try:
        boto3.client("ivs").list_channels(maxResults=3)
    except ClientError:
        pass  # the code under test "handles" it
'''
    )
    result = run_inner(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unmatched ListChannels request:*"])


def test_missing_cassette_fails_with_the_command_that_records_it(
    pytester: pytest.Pytester, aws_env: None
) -> None:
    pytester.makepyfile(test_inner=INNER.format(name="never-recorded"))
    result = run_inner(pytester, "--ivs-upstream=http://127.0.0.1:9")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*cassette `*cassettes/test_inner/test_channel.yaml` does not exist, and --ivs-record-mode is none*",
            "*&& python -m pytest --ivs-record-mode=once test_inner.py::test_channel --ivs-upstream=http://127.0.0.1:9",
        ]
    )


def test_unused_interactions_fail_only_when_asked(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    record(pytester, upstream)
    pytester.makepyfile(
        test_inner='''
import boto3, pytest

@pytest.mark.ivs_vcr(cassette="test_channel")
def test_channel(ivs_vcr):
    boto3.client("ivs").create_channel(name="recorded")  # and never reads it back
'''
    )
    run_inner(pytester).assert_outcomes(passed=1)
    result = run_inner(pytester, "--ivs-fail-on-unused")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unused interaction #1 (GetChannel) of `*test_channel.yaml`*"])


def test_a_cassette_the_test_never_used_fails_only_when_asked(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    record(pytester, upstream)
    pytester.makepyfile(
        test_inner='''
import pytest

@pytest.mark.ivs_vcr(cassette="test_channel")
def test_channel(ivs_vcr):
    pass  # the code under test never calls IVS
'''
    )
    run_inner(pytester).assert_outcomes(passed=1)
    result = run_inner(pytester, "--ivs-fail-on-unused")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*test_channel.yaml` was never used*"])


def test_injected_fault_is_absorbed_and_never_recorded(
    pytester: pytest.Pytester, upstream: Server, aws_env: None
) -> None:
    pytester.makepyfile(
        test_inner='''
import boto3, pytest
from botocore.config import Config

@pytest.mark.ivs_vcr
def test_throttled(ivs_vcr):
    ivs_vcr.fault(operation="CreateChannel", error="ThrottlingException", times=2)
    ivs = boto3.client("ivs", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    answer = ivs.create_channel(name="through-faults")
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
'''
    )
    result = run_inner(pytester, "--ivs-record-mode=once", f"--ivs-upstream={upstream.url}")
    result.assert_outcomes(passed=1)
    recorded = (pytester.path / "cassettes/test_inner/test_throttled.yaml").read_text()
    assert "CreateChannel" in recorded
    assert "ThrottlingException" not in recorded
    assert recorded.count("path: /CreateChannel") == 1
