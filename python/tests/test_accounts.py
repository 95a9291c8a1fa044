"""Accounts from credentials through boto3: two clients with different 12-digit access key ids
are two accounts of one emulator, which never see each other's channels (as one server serves
parallel CI workers that each sign with their own key)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

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
