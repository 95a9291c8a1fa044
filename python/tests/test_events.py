"""The EventBridge events the emulator sends, read through ``Server.events()``: a channel going
live and offline through boto3 and the control plane, with and without a recording configuration;
and the emulator's clock, which dates them."""

from __future__ import annotations

from typing import Any, List, Tuple

import botocore.exceptions
import pytest
from conftest import ivs_client

from ivs_vcr import ControlPlaneError, EventBridgeEvent


def _names(events: List[EventBridgeEvent]) -> List[Tuple[str, str]]:
    return [
        (e["detail-type"], str(e["detail"].get("event_name") or e["detail"].get("recording_status")))
        for e in events
    ]


def test_a_stream_sends_its_state_changes_in_eventbridges_envelope(ivs_vcr: Any, ivs: Any) -> None:
    arn = ivs.create_channel(name="evented")["channel"]["arn"]
    stream_id = ivs_vcr.start_stream(arn)["stream"]["streamId"]
    ivs.stop_stream(channelArn=arn)

    events = ivs_vcr.events()
    assert _names(events) == [
        ("IVS Stream State Change", "Session Created"),
        ("IVS Stream State Change", "Stream Start"),
        ("IVS Stream State Change", "Stream End"),
        ("IVS Stream State Change", "Session Ended"),
    ]
    first = events[0]
    assert (first["version"], first["source"], first["region"]) == ("0", "aws.ivs", arn.split(":")[3])
    assert first["resources"] == [arn]
    assert first["detail"] == {"event_name": "Session Created", "channel_name": "evented", "stream_id": stream_id}
    assert len({e["id"] for e in events}) == 4
    assert [e["detail"]["event_name"] for e in ivs_vcr.events(since=2)] == ["Stream End", "Session Ended"]

    ivs_vcr.reset()
    assert ivs_vcr.events() == []


def test_recording_and_health_events_are_filtered_by_type(ivs_vcr: Any, ivs: Any) -> None:
    config = ivs.create_recording_configuration(
        destinationConfiguration={"s3": {"bucketName": "my-recordings"}}
    )["recordingConfiguration"]["arn"]
    arn = ivs.create_channel(name="recorded", recordingConfigurationArn=config)["channel"]["arn"]
    ivs_vcr.start_stream(arn)
    ivs_vcr.update_stream(arn, health="STARVING")
    ivs_vcr.stop_stream(arn)

    recording = ivs_vcr.events(detail_type="IVS Recording State Change")
    assert _names(recording) == [
        ("IVS Recording State Change", "Recording Start"),
        ("IVS Recording State Change", "Recording End"),
    ]
    prefix = recording[0]["detail"]["recording_s3_key_prefix"]
    assert prefix.startswith(f"ivs/v1/123456789012/{arn.rsplit('/', 1)[1]}/")
    assert recording[1]["detail"]["recording_s3_key_prefix"] == prefix
    assert recording[0]["detail"]["recording_s3_bucket_name"] == "my-recordings"
    health = ivs_vcr.events(detail_type="IVS Stream Health Change")
    assert _names(health) == [("IVS Stream Health Change", "Starvation Start")]


def test_the_clock_moves_rate_windows_and_answer_times_until_reset(ivs_vcr: Any) -> None:
    arn = ivs_client().create_channel(name="timed")["channel"]["arn"]
    view = ivs_vcr.set_clock("2031-03-04T05:06:07Z")
    assert view["now"].startswith("2031-03-04T05:06:07")
    ivs_vcr.start_stream(arn)
    # Without retries: boto3 would otherwise retry the throttle below and wait out the window.
    ivs = ivs_client(attempts=1)
    assert ivs.get_stream(channelArn=arn)["stream"]["startTime"].year == 2031

    # PutMetadata allows 5 calls a second per channel; moving the clock opens the next second.
    for _ in range(5):
        ivs.put_metadata(channelArn=arn, metadata="m")
    with pytest.raises(botocore.exceptions.ClientError) as throttled:
        ivs.put_metadata(channelArn=arn, metadata="m")
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert ivs_vcr.advance_clock(1.5)["aheadSeconds"] > 1
    ivs.put_metadata(channelArn=arn, metadata="m")

    with pytest.raises(ControlPlaneError) as backwards:
        ivs_vcr.set_clock("2001-01-01T00:00:00Z")
    assert backwards.value.status == 409
    ivs_vcr.reset()
    assert ivs_vcr.advance_clock(0)["aheadSeconds"] == 0
