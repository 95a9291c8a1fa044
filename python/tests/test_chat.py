"""IVS Chat through the same fixture and server as IVS: a boto3 ``ivschat`` client finds the
emulator through AWS_ENDPOINT_URL_IVSCHAT, which the fixture sets beside AWS_ENDPOINT_URL_IVS."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def chat(ivs_vcr: Any) -> Any:
    assert os.environ["AWS_ENDPOINT_URL_IVSCHAT"] == ivs_vcr.url
    assert os.environ["AWS_ENDPOINT_URL_IVS_REALTIME"] == ivs_vcr.url
    return boto3.client("ivschat")


def test_room_token_filters_tags_and_delete(chat: Any, ivs: Any) -> None:
    lambda_arn = "arn:aws:lambda:us-west-2:123456789012:function:review"
    room = chat.create_room(name="lobby", tags={"team": "chat"}, messageReviewHandler={"uri": lambda_arn})
    arn = room["arn"]
    assert arn.startswith("arn:aws:ivschat:")
    assert room["maximumMessageLength"] == 500
    assert room["maximumMessageRatePerSecond"] == 10
    assert room["messageReviewHandler"]["fallbackResult"] == "ALLOW"
    chat.create_room(name="other")

    assert [r["arn"] for r in chat.list_rooms(name="lobby")["rooms"]] == [arn]
    assert [r["arn"] for r in chat.list_rooms(messageReviewHandlerUri=lambda_arn)["rooms"]] == [arn]
    assert len(chat.list_rooms()["rooms"]) == 2

    token = chat.create_chat_token(roomIdentifier=arn, userId="alice", capabilities=["SEND_MESSAGE"])
    assert token["token"].startswith("AQICAH")
    assert token["sessionExpirationTime"] > token["tokenExpirationTime"]

    chat.tag_resource(resourceArn=arn, tags={"env": "test"})
    chat.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert chat.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}

    # IVS on the same server keeps its own resources.
    assert ivs.list_channels()["channels"] == []

    chat.delete_room(identifier=arn)
    with pytest.raises(ClientError) as info:
        chat.get_room(identifier=arn)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        chat.send_event(roomIdentifier=arn, eventName="late")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
