"""State that survives, through boto3: a snapshot restored after a reset answers as before and
continues the same ids, a refused document changes nothing, and a server started with
``--state-file`` keeps its channels across a restart."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import boto3
import pytest

from ivs_vcr import ControlPlaneError, Server


def ivs_at(url: str) -> Any:
    return boto3.client(
        "ivs",
        endpoint_url=url,
        region_name="us-west-2",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="test",
    )


def test_a_snapshot_restored_after_a_reset_answers_as_before(ivs_vcr: Any) -> None:
    server = ivs_vcr.server
    ivs = ivs_at(ivs_vcr.url)
    arn = ivs.create_channel(name="kept", tags={"team": "video"})["channel"]["arn"]
    server.start_stream(arn)
    before = ivs.get_channel(arn=arn)["channel"], ivs.list_stream_keys(channelArn=arn)["streamKeys"]
    snapshot = server.snapshot()
    assert snapshot["format"] == "ivs-vcr/state" and snapshot["version"] == 1
    assert "signingKey" not in snapshot
    next_arn = ivs.create_channel()["channel"]["arn"]

    server.reset()
    assert ivs.list_channels()["channels"] == []
    done = server.restore(snapshot)
    assert done["restored"] is True and done["scope"] == "all"
    assert (ivs.get_channel(arn=arn)["channel"], ivs.list_stream_keys(channelArn=arn)["streamKeys"]) == before
    assert ivs.get_stream(channelArn=arn)["stream"]["state"] == "LIVE"
    assert ivs.create_channel()["channel"]["arn"] == next_arn


def test_a_refused_document_changes_nothing(ivs_vcr: Any) -> None:
    server = ivs_vcr.server
    ivs_at(ivs_vcr.url).create_channel(name="one")
    before = server.snapshot()["world"]
    newer = dict(server.snapshot(), version=2)
    with pytest.raises(ControlPlaneError) as info:
        server.restore(newer)
    assert info.value.status == 400
    assert "newer than this ivs-vcr reads (version 1)" in str(info.value)
    assert server.snapshot()["world"] == before
    with pytest.raises(ControlPlaneError) as missing:
        server.save_state()
    assert missing.value.status == 409 and "--state-file" in str(missing.value)


def test_a_state_file_keeps_channels_across_a_restart() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ivs.json")
        with Server("serve", ["--state-file", path]) as server:
            arn = ivs_at(server.url).create_channel(name="kept")["channel"]["arn"]
            saved = server.save_state()
            assert saved["path"] == path and saved["bytes"] > 0
        with Server("serve", ["--state-file", path]) as server:
            assert [c["arn"] for c in ivs_at(server.url).list_channels()["channels"]] == [arn]


def test_the_fixture_snapshots_and_restores_a_known_account(ivs_vcr: Any) -> None:
    """A suite seeds a known account once and puts it back between steps, through the fixture."""
    ivs = ivs_at(ivs_vcr.url)
    seeded = ivs.create_channel(name="seeded")["channel"]["arn"]
    snapshot = ivs_vcr.snapshot()
    ivs.delete_channel(arn=seeded)
    extra = ivs.create_channel(name="extra")["channel"]["arn"]
    ivs_vcr.restore(snapshot)
    arns = [c["arn"] for c in ivs.list_channels()["channels"]]
    assert arns == [seeded], (arns, extra)

