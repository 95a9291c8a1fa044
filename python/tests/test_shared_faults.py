"""Fault rules on a server shared by pytest-xdist workers (``--ivs-vcr-url``): the fixture's
``fault`` makes a rule for the worker's own account, so a fault one worker injects never reaches
another's calls, and each test starts without the rules its worker made before."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from ivs_vcr import Server

GW0, GW1 = "700000000001", "700000000002"

WORKER_TESTS = '''
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNTS = {"700000000001", "700000000002"}


def ivs_as(ivs_vcr, access_key=None):
    return boto3.client(
        "ivs",
        aws_access_key_id=access_key,
        aws_secret_access_key="test" if access_key else None,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_a_fault_fails_its_own_account_only(ivs_vcr):
    assert ivs_vcr.faults() == [], "the fixture clears this account's rules first"
    rule = ivs_vcr.fault(operation="ListChannels", error="ThrottlingException")
    assert rule["account"] == ivs_vcr.account
    assert [f["id"] for f in ivs_vcr.faults()] == [rule["id"]]
    with pytest.raises(ClientError) as info:
        ivs_as(ivs_vcr).list_channels()
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    (other,) = ACCOUNTS - {ivs_vcr.account}
    assert ivs_as(ivs_vcr, other).list_channels()["channels"] == []


def test_the_next_test_starts_without_it(ivs_vcr):
    assert ivs_vcr.faults() == []
    assert ivs_as(ivs_vcr).list_channels()["channels"] == []
'''


def test_a_fault_in_one_worker_account_does_not_reach_the_other(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import run_inner

    pytester.makepyfile(test_worker=WORKER_TESTS)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with Server("replay") as server:
        # A rule gw1 left behind (as a crashed run would), and one made for every account.
        left = server.fault(operation="CreateChannel", status=500, account=GW1)
        everyone = server.fault(operation="GetStreamKey", error="AccessDeniedException")
        assert server.faults(account=GW1) == [left]
        for worker in ("gw0", "gw1"):
            monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
            # Each worker is a process of its own, whose boto3 reads the credentials afresh.
            monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
            run_inner(pytester, "--ivs-vcr-url", server.url, "-p", "no:xdist").assert_outcomes(passed=2)
        # Each worker cleared its own rules, and no other.
        assert [f["id"] for f in server.faults()] == [everyone["id"]]


def test_remote_server_fault_calls_take_an_account() -> None:
    with Server("replay") as server:
        mine = server.fault(operation="ListChannels", error="ThrottlingException", account=GW0)
        theirs = server.fault(operation="ListChannels", status=503, account=GW1)
        assert server.faults(account=GW0) == [mine]
        assert server.faults() == [mine, theirs]
        server.clear_faults(account=GW0)
        assert server.faults() == [theirs]
        with pytest.raises(Exception, match="12-digit AWS account id"):
            server.fault(operation="ListChannels", status=503, account="worker-1")
        ivs = boto3.client(
            "ivs",
            endpoint_url=server.url,
            region_name="us-west-2",
            aws_access_key_id=GW1,
            aws_secret_access_key="test",
        )
        with pytest.raises(ClientError) as info:
            ivs.list_channels()
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        server.clear_faults()
        assert server.faults() == []
