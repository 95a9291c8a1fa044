"""Injected faults seen through real boto3 and its retries (standard mode: 3 attempts)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from ivs_vcr import ControlPlaneError

from conftest import ivs_client


@pytest.fixture
def channel_arn(ivs: Any) -> str:
    return ivs.create_channel(name="faulty")["channel"]["arn"]


def test_two_throttles_are_absorbed_by_standard_retries(ivs_vcr: Any, ivs: Any, channel_arn: str) -> None:
    rule = ivs_vcr.fault(operation="GetChannel", error="ThrottlingException", times=2)
    assert rule["remaining"] == 2

    answer = ivs.get_channel(arn=channel_arn)

    assert answer["channel"]["arn"] == channel_arn
    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert [f["remaining"] for f in ivs_vcr.faults()] == [0]


def test_five_throttles_surface_as_throttling_exception(ivs_vcr: Any, ivs: Any, channel_arn: str) -> None:
    ivs_vcr.fault(operation="GetChannel", error="ThrottlingException", times=5)

    with pytest.raises(ClientError) as info:
        ivs.get_channel(arn=channel_arn)

    response = info.value.response
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert [f["remaining"] for f in ivs_vcr.faults()] == [2]
    # Other operations are not affected.
    assert ivs.list_channels()["channels"]


def test_modeled_error_is_not_retried_and_keeps_its_message(ivs_vcr: Any, ivs: Any, channel_arn: str) -> None:
    ivs_vcr.fault(operation="DeleteChannel", error="ConflictException", message="channel is live", times=1)
    with pytest.raises(ClientError) as info:
        ivs.delete_channel(arn=channel_arn)
    response = info.value.response
    assert response["Error"]["Code"] == "ConflictException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["Error"]["Message"] == "channel is live"
    ivs.delete_channel(arn=channel_arn)


def test_reset_connection_is_retried(ivs_vcr: Any, ivs: Any) -> None:
    ivs_vcr.fault(operation="ListChannels", connection="reset", times=1)
    answer = ivs.list_channels()
    assert answer["ResponseMetadata"]["RetryAttempts"] == 1


def test_dropped_connections_surface_once_attempts_are_spent(ivs_vcr: Any) -> None:
    ivs_vcr.fault(operation="ListChannels", connection="empty")
    with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
        ivs_client(attempts=2).list_channels()
    assert ivs_vcr.faults()[0]["hits"] == 2


def test_faults_are_cleared_between_tests(ivs_vcr: Any) -> None:
    assert ivs_vcr.faults() == []


def test_invalid_rule_is_refused_with_the_reason(ivs_vcr: Any) -> None:
    with pytest.raises(ControlPlaneError) as info:
        ivs_vcr.fault(error="ThrottlingException", rate=1.5)
    assert info.value.status == 400
    assert "rate: 1.5 is outside 0–1" in info.value.message
    with pytest.raises(ControlPlaneError, match="`Throttled` is not an error of the IVS family"):
        ivs_vcr.fault(error="Throttled")


def test_seeded_rate_gives_the_same_faults_every_run(ivs_vcr: Any, ivs: Any) -> None:
    def pattern() -> str:
        ivs_vcr.clear_faults()
        ivs_vcr.fault(operation="ListChannels", status=400, rate=0.3, seed=1)
        marks = ""
        for _ in range(20):
            try:
                ivs.list_channels()
                marks += "."
            except ClientError:
                marks += "x"
        return marks

    first = pattern()
    assert "x" in first and "." in first
    assert pattern() == first


def test_injected_error_is_shaped_like_ivs_on_the_wire(ivs_vcr: Any) -> None:
    ivs_vcr.fault(operation="ListChannels", error="ThrottlingException", retry_after_ms=1500, times=1)
    request = urllib.request.Request(ivs_vcr.url + "/ListChannels", data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    answer = info.value
    assert answer.code == 429
    assert answer.headers["x-amzn-ErrorType"] == "ThrottlingException"
    assert answer.headers["x-amz-retry-after"] == "1500"
    body = json.loads(answer.read())
    assert body["message"] == body["exceptionMessage"]
    assert "ThrottlingException" in body["message"]


def test_delay_holds_the_answer_back(ivs_vcr: Any, ivs: Any) -> None:
    ivs.list_channels()  # a warm connection, so the timing below is the delay's
    ivs_vcr.fault(operation="ListChannels", delay_ms=400, times=1)
    started = time.monotonic()
    ivs.list_channels()
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    ivs.list_channels()
    assert time.monotonic() - started < 0.4
