"""The ivs_vcr fixture without a marker: the in-memory emulator through real boto3, empty at the
start of every test, with the control plane's streams and state."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_channel_lifecycle(ivs: Any) -> None:
    created = ivs.create_channel(name="lifecycle", latencyMode="LOW", type="STANDARD")
    arn = created["channel"]["arn"]
    assert created["streamKey"]["channelArn"] == arn

    assert ivs.get_channel(arn=arn)["channel"]["name"] == "lifecycle"
    listed = ivs.list_channels()["channels"]
    assert [c["arn"] for c in listed] == [arn]

    ivs.delete_channel(arn=arn)
    with pytest.raises(ClientError) as info:
        ivs.get_channel(arn=arn)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert ivs.list_channels()["channels"] == []


def test_each_test_starts_with_an_empty_account(ivs: Any) -> None:
    # test_channel_lifecycle's channel, or any other test's, is gone.
    ivs.create_channel(name="left-behind")
    assert ivs.list_channels()["channels"] != []


def test_and_the_next_one_too(ivs: Any) -> None:
    assert ivs.list_channels()["channels"] == []


def test_fixture_sets_endpoint_and_dummy_credentials(ivs_vcr: Any) -> None:
    assert os.environ["AWS_ENDPOINT_URL_IVS"] == ivs_vcr.url
    assert os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
    assert os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
    assert ivs_vcr.cassette is None
    assert ivs_vcr.server.health()["mode"] == "emulate"


def test_started_stream_is_live_until_stopped(ivs_vcr: Any, ivs: Any) -> None:
    arn = ivs.create_channel(name="live")["channel"]["arn"]
    ivs_vcr.start_stream(arn, health="HEALTHY", viewer_count=7)
    stream = ivs.get_stream(channelArn=arn)["stream"]
    assert (stream["state"], stream["health"], stream["viewerCount"]) == ("LIVE", "HEALTHY", 7)
    assert arn in str(ivs_vcr.state())

    ivs_vcr.stop_stream(arn)
    with pytest.raises(ClientError) as info:
        ivs.get_stream(channelArn=arn)
    assert info.value.response["Error"]["Code"] == "ChannelNotBroadcasting"


def test_stream_of_an_unknown_channel_is_refused(ivs_vcr: Any) -> None:
    from ivs_vcr import ControlPlaneError

    with pytest.raises(ControlPlaneError) as info:
        ivs_vcr.start_stream("arn:aws:ivs:us-west-2:123456789012:channel/doesNotExist")
    assert info.value.status == 404


def test_summary_counts_emulated_calls(ivs_vcr: Any, ivs: Any) -> None:
    ivs.list_channels()
    ivs.list_channels()
    summary = ivs_vcr.summary()
    assert summary["mode"] == "emulate"
    assert summary["operations"]["ListChannels"]["emulated"] >= 2
