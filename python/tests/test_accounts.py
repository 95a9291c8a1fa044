"""Accounts from credentials through boto3: two clients with different 12-digit access key ids
are two accounts of one emulator, which never see each other's channels (as one server serves
parallel CI workers that each sign with their own key)."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import plugin_args
from ivs_vcr import Server

A = "111111111111"
B = "222222222222"


def client_as(ivs_vcr: Any, access_key: str) -> Any:
    return boto3.client(
        "ivs",
        endpoint_url=ivs_vcr.url,
        region_name="us-west-2",
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
    )


def test_two_access_keys_are_two_accounts(ivs_vcr: Any) -> None:
    a, b = client_as(ivs_vcr, A), client_as(ivs_vcr, B)
    arn = a.create_channel(name="a")["channel"]["arn"]
    assert arn.startswith(f"arn:aws:ivs:us-west-2:{A}:channel/")
    assert [c["arn"] for c in a.list_channels()["channels"]] == [arn]
    assert b.list_channels()["channels"] == []
    with pytest.raises(ClientError) as info:
        b.get_channel(arn=arn)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"

    theirs = b.create_channel(name="b")["channel"]["arn"]
    assert f":{B}:channel/" in theirs
    state = ivs_vcr.server.state(account=B)
    assert [c["arn"] for c in state["regions"]["us-west-2"]["channel"]] == [theirs]
    assert set(ivs_vcr.server.state()["accounts"]) == {A, B}

    ivs_vcr.server.reset(account=A)
    assert a.list_channels()["channels"] == []
    assert [c["arn"] for c in b.list_channels()["channels"]] == [theirs]


def test_a_key_that_is_no_account_id_is_the_default_account(ivs_vcr: Any) -> None:
    arn = client_as(ivs_vcr, "AKIDEXAMPLE").create_channel()["channel"]["arn"]
    assert ":123456789012:channel/" in arn
    assert [c["arn"] for c in client_as(ivs_vcr, "ASIAOTHER").list_channels()["channels"]] == [arn]


def test_summary_and_events_take_an_account(ivs_vcr: Any) -> None:
    a, b = client_as(ivs_vcr, A), client_as(ivs_vcr, B)
    a_arn = a.create_channel(name="a")["channel"]["arn"]
    a.create_channel(name="a2")
    b_arn = b.create_channel(name="b")["channel"]["arn"]
    for arn in (a_arn, b_arn):
        ivs_vcr.start_stream(arn)

    mine = ivs_vcr.server.summary(account=A)
    assert mine["account"] == A
    assert mine["operations"] == {"CreateChannel": {"emulated": 2, "faulted": 0}}
    assert mine["n_emulated"] == 2
    whole = ivs_vcr.server.summary()
    assert whole["operations"]["CreateChannel"]["emulated"] == 3
    assert whole["accounts"][B]["n_emulated"] == 1

    events = ivs_vcr.server.events(account=B)
    assert events and all(e["account"] == B and e["resources"] == [b_arn] for e in events)
    assert {e["account"] for e in ivs_vcr.server.events()} == {A, B}
    assert ivs_vcr.server.events("IVS Stream State Change", account=A)[0]["resources"] == [a_arn]

    # The fixture's own calls are the whole server's when it is not shared.
    assert ivs_vcr.account is None
    assert ivs_vcr.summary() == ivs_vcr.server.summary()
    assert ivs_vcr.summary(B)["n_emulated"] == 1


def test_worker_accounts_are_fixed_twelve_digit_ids() -> None:
    from ivs_vcr.pytest_plugin import worker_account

    assert worker_account(None) == "700000000000"
    assert worker_account("gw0") == "700000000001"
    assert worker_account("gw3") == "700000000004"
    other = worker_account("node-7")
    assert len(other) == 12 and other.isdigit() and other == worker_account("node-7")
    assert len({worker_account(f"gw{n}") for n in range(64)}) == 64


SHARED_SERVER_TESTS = '''
import os
import time

import boto3

from ivs_vcr.pytest_plugin import worker_account


def test_signs_as_its_workers_account_and_sees_its_own_only(ivs_vcr):
    assert ivs_vcr.account == worker_account(os.environ.get("PYTEST_XDIST_WORKER"))
    assert os.environ["AWS_ACCESS_KEY_ID"] == ivs_vcr.account
    ivs = boto3.client("ivs")
    assert ivs.list_channels()["channels"] == [], "the fixture empties the account first"
    arn = ivs.create_channel(name="first")["channel"]["arn"]
    assert f":{ivs_vcr.account}:channel/" in arn
    time.sleep(0.2)  # another worker creates meanwhile, in its own account
    assert [c["arn"] for c in ivs.list_channels()["channels"]] == [arn]
    assert ivs_vcr.summary()["operations"]["CreateChannel"] == {"emulated": 1, "faulted": 0}
    assert [c["arn"] for c in ivs_vcr.state()["regions"]["us-west-2"]["channel"]] == [arn]


def test_a_later_test_starts_empty_and_leaves_one_channel(ivs_vcr):
    ivs = boto3.client("ivs")
    assert ivs.list_channels()["channels"] == []
    assert ivs_vcr.summary()["n_emulated"] == 1, "the ListChannels just made"
    ivs.create_channel(name=ivs_vcr.account)
    time.sleep(0.2)
    assert [c["name"] for c in ivs.list_channels()["channels"]] == [ivs_vcr.account]
'''


def test_workers_sharing_one_server_never_see_each_other(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import run_inner

    pytester.makepyfile(test_shared=SHARED_SERVER_TESTS)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with Server("replay") as server:
        # Fault rules are the server's: a shared server's fixture leaves them alone.
        server.fault(operation="GetStreamKey", error="AccessDeniedException", times=5)
        for worker in ("gw0", "gw1"):
            monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
            # Each worker is a process of its own, whose boto3 reads the credentials afresh.
            monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
            run_inner(pytester, "--ivs-vcr-url", server.url, "-p", "no:xdist").assert_outcomes(passed=2)
        accounts = server.state()["accounts"]
        assert set(accounts) == {"700000000001", "700000000002"}
        for account in accounts:
            channels = accounts[account]["regions"]["us-west-2"]["channel"]
            assert [c["name"] for c in channels] == [account]
        assert set(server.summary()["accounts"]) == {"700000000001", "700000000002"}
        assert [f["operation"] for f in server.faults()] == ["GetStreamKey"]


def test_xdist_workers_share_a_server_given_by_url(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xdist")
    import ivs_vcr

    pytester.makepyfile(test_shared=SHARED_SERVER_TESTS.replace("def test_", "def test_again_") + SHARED_SERVER_TESTS)
    # The workers are other processes: they find the package and the binary as this one did.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(ivs_vcr.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    with Server("replay") as server:
        monkeypatch.setenv("IVS_VCR_URL", server.url)
        result = pytester.runpytest_subprocess(*plugin_args(), "-n", "2")
        result.assert_outcomes(passed=4)
        used = set(server.state()["accounts"])
        assert used and used <= {"700000000001", "700000000002"}, used
