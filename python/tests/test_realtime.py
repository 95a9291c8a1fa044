"""IVS Real-Time through the same fixture and server as IVS: a boto3 ``ivs-realtime`` client finds
the emulator through AWS_ENDPOINT_URL_IVS_REALTIME, and the fixture's ``join_stage`` and
``leave_stage`` stand for participants joining and leaving with their tokens (no media)."""

from __future__ import annotations

import base64
import datetime
import json
import os
import time
from typing import Any, Callable, Dict, List, Tuple

import boto3
import pytest
from botocore.exceptions import ClientError

from ivs_vcr import ControlPlaneError, StageJoin


@pytest.fixture
def rt(ivs_vcr: Any) -> Any:
    assert os.environ["AWS_ENDPOINT_URL_IVS_REALTIME"] == ivs_vcr.url
    return boto3.client("ivs-realtime")


def decode_jwt(token: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The header and claims of a compact JWT (base64url JSON parts, unpadded)."""
    parts = token.split(".")
    assert len(parts) == 3, token

    def part(text: str) -> Dict[str, Any]:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        assert isinstance(value, dict)
        return value

    assert base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4)), "signed"
    return part(parts[0]), part(parts[1])


def events(rt: Any, stage_arn: str, session_id: str, participant_id: str) -> List[str]:
    answer = rt.list_participant_events(stageArn=stage_arn, sessionId=session_id, participantId=participant_id)
    return [event["name"] for event in answer["events"]]


def wait_for(what: Callable[[], Any], expected: Any, seconds: float = 5.0) -> Any:
    """Polls ``what`` until it returns ``expected`` (a composition's lifecycle runs on the clock)."""
    deadline = time.monotonic() + seconds
    got = what()
    while got != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        got = what()
    return got


def test_a_token_is_a_jwt_with_the_documented_claims(rt: Any) -> None:
    stage = rt.create_stage(name="claims")["stage"]
    answer = rt.create_participant_token(
        stageArn=stage["arn"],
        userId="alice",
        attributes={"displayName": "Alice"},
        capabilities=["SUBSCRIBE"],
        duration=90,
    )["participantToken"]
    header, claims = decode_jwt(answer["token"])
    # As IVS mints them: signed through KMS, `{"alg": "KMS", "typ": "JWT"}`.
    assert header == {"alg": "KMS", "typ": "JWT"}
    # The claims the Real-Time user guide lists for participant tokens.
    assert claims["resource"] == stage["arn"]
    assert claims["topic"] == stage["arn"].rsplit("/", 1)[1]
    assert claims["jti"] == answer["participantId"]
    assert claims["user_id"] == "alice"
    assert claims["attributes"] == {"displayName": "Alice"}
    assert claims["capabilities"] == {"allow_publish": False, "allow_subscribe": True}
    assert claims["exp"] - claims["iat"] == 90 * 60
    assert claims["exp"] == int(answer["expirationTime"].timestamp())
    assert claims["whip_url"] == stage["endpoints"]["whip"]
    assert claims["events_url"] == stage["endpoints"]["events"]
    # Documented defaults: 720 minutes, both capabilities.
    default = rt.create_participant_token(stageArn=stage["arn"])["participantToken"]
    assert default["duration"] == 720
    assert sorted(default["capabilities"]) == ["PUBLISH", "SUBSCRIBE"]
    _, claims = decode_jwt(default["token"])
    assert claims["capabilities"] == {"allow_publish": True, "allow_subscribe": True}


def test_a_stage_flow_joins_sessions_events_tags_and_deletion(rt: Any, ivs_vcr: Any) -> None:
    created = rt.create_stage(
        name="studio",
        participantTokenConfigurations=[
            {"userId": "host", "capabilities": ["PUBLISH", "SUBSCRIBE"], "attributes": {"role": "host"}}
        ],
        tags={"team": "live"},
    )
    stage_arn = created["stage"]["arn"]
    assert stage_arn.startswith("arn:aws:ivs:us-west-2:") and ":stage/" in stage_arn
    assert set(created["stage"]["endpoints"]) >= {"whip", "events", "rtmp", "rtmps"}
    assert not created["stage"].get("activeSessionId")
    host_token = created["participantTokens"][0]
    guest_token = rt.create_participant_token(stageArn=stage_arn, userId="guest", capabilities=["SUBSCRIBE"])[
        "participantToken"
    ]

    # The first join starts the stage session.
    host = ivs_vcr.join_stage(host_token["token"], publish=True)
    assert isinstance(host, StageJoin)
    assert host.participant_id == host_token["participantId"]
    assert host.stage_arn == stage_arn
    assert rt.get_stage(arn=stage_arn)["stage"]["activeSessionId"] == host.session_id
    guest = ivs_vcr.join_stage(guest_token["token"], subscribe=True)
    assert guest.session_id == host.session_id

    # A token without PUBLISH cannot publish; the refusal says so and joins no one.
    other = rt.create_participant_token(stageArn=stage_arn, userId="lurker", capabilities=["SUBSCRIBE"])[
        "participantToken"
    ]
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage(other["token"], publish=True)
    assert (refused.value.status, refused.value.error_type) == (403, "AccessDeniedException")
    assert "PUBLISH" in refused.value.message

    listed = rt.list_participants(stageArn=stage_arn, sessionId=host.session_id)["participants"]
    assert {p["participantId"]: p["state"] for p in listed} == {
        host.participant_id: "CONNECTED",
        guest.participant_id: "CONNECTED",
    }
    published = rt.list_participants(stageArn=stage_arn, sessionId=host.session_id, filterByPublished=True)
    assert [p["participantId"] for p in published["participants"]] == [host.participant_id]
    by_user = rt.list_participants(stageArn=stage_arn, sessionId=host.session_id, filterByUserId="guest")
    assert [p["participantId"] for p in by_user["participants"]] == [guest.participant_id]
    got = rt.get_participant(stageArn=stage_arn, sessionId=host.session_id, participantId=host.participant_id)
    assert got["participant"]["attributes"] == {"role": "host"}
    assert got["participant"]["published"] is True
    assert events(rt, stage_arn, host.session_id, host.participant_id) == ["JOINED", "PUBLISH_STARTED"]
    assert events(rt, stage_arn, host.session_id, guest.participant_id) == ["JOINED", "SUBSCRIBE_STARTED"]

    # The session ends a few minutes after the last participant leaves (the monitoring guide);
    # the emulator's clock is moved past that rather than waited for.
    ivs_vcr.leave_stage(guest.participant_id)
    assert rt.get_stage(arn=stage_arn)["stage"]["activeSessionId"] == host.session_id
    ivs_vcr.leave_stage(host.participant_id, stage_arn=stage_arn)
    assert events(rt, stage_arn, host.session_id, host.participant_id)[-1] == "LEFT"
    gone = rt.get_participant(stageArn=stage_arn, sessionId=host.session_id, participantId=host.participant_id)
    assert gone["participant"]["state"] == "DISCONNECTED"
    assert "endTime" not in rt.get_stage_session(stageArn=stage_arn, sessionId=host.session_id)["stageSession"]
    ivs_vcr.server.request("POST", "clock", {"advance_seconds": 600})
    assert not rt.get_stage(arn=stage_arn)["stage"].get("activeSessionId")
    session = rt.get_stage_session(stageArn=stage_arn, sessionId=host.session_id)["stageSession"]
    assert session["endTime"] >= session["startTime"]
    sessions = rt.list_stage_sessions(stageArn=stage_arn)["stageSessions"]
    assert [s["sessionId"] for s in sessions] == [host.session_id]

    # Tags, through the routes Real-Time shares with IVS.
    rt.tag_resource(resourceArn=stage_arn, tags={"env": "test"})
    rt.untag_resource(resourceArn=stage_arn, tagKeys=["team"])
    assert rt.list_tags_for_resource(resourceArn=stage_arn)["tags"] == {"env": "test"}
    assert [s["arn"] for s in rt.list_stages()["stages"]] == [stage_arn]

    # Deletion: the stage is gone, and its tokens join nothing.
    rt.delete_stage(arn=stage_arn)
    with pytest.raises(ClientError) as info:
        rt.get_stage(arn=stage_arn)
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage(host_token["token"])
    assert refused.value.status == 404
    assert "does not exist" in refused.value.message
    assert rt.list_stages()["stages"] == []


def test_a_composition_to_a_channel_and_to_s3_runs_through_its_lifecycle(rt: Any, ivs: Any, ivs_vcr: Any) -> None:
    channel_arn = ivs.create_channel(name="mix")["channel"]["arn"]
    stage_arn = rt.create_stage(name="show")["stage"]["arn"]
    encoder = rt.create_encoder_configuration(name="hd", video={"width": 1280, "height": 720})[
        "encoderConfiguration"
    ]
    storage = rt.create_storage_configuration(name="archive", s3={"bucketName": "show-archive"})[
        "storageConfiguration"
    ]
    token = rt.create_participant_token(stageArn=stage_arn, userId="host")["participantToken"]["token"]
    host = ivs_vcr.join_stage(token, publish=True)

    started = rt.start_composition(
        stageArn=stage_arn,
        destinations=[
            {"channel": {"channelArn": channel_arn, "encoderConfigurationArn": encoder["arn"]}},
            {"s3": {"storageConfigurationArn": storage["arn"], "encoderConfigurationArns": [encoder["arn"]]}},
        ],
        tags={"show": "1"},
    )["composition"]
    arn = started["arn"]
    assert started["state"] in ("STARTING", "ACTIVE")
    assert "grid" in started["layout"], "a grid unless told otherwise"
    assert len(started["destinations"]) == 2

    def state() -> str:
        return str(rt.get_composition(arn=arn)["composition"]["state"])

    assert wait_for(state, "ACTIVE") == "ACTIVE"
    # While it runs, the channel it mixes to is live in the IVS emulator.
    assert ivs.get_stream(channelArn=channel_arn)["stream"]["state"] == "LIVE"
    summaries = rt.list_compositions(filterByStageArn=stage_arn)["compositions"]
    assert [c["arn"] for c in summaries] == [arn]
    assert rt.list_compositions(filterByEncoderConfigurationArn=encoder["arn"])["compositions"][0]["arn"] == arn
    # A configuration in use by an active composition cannot be deleted.
    with pytest.raises(ClientError) as info:
        rt.delete_encoder_configuration(arn=encoder["arn"])
    assert info.value.response["Error"]["Code"] == "ConflictException"
    assert rt.list_tags_for_resource(resourceArn=arn)["tags"] == {"show": "1"}

    rt.stop_composition(arn=arn)
    assert state() in ("STOPPING", "STOPPED")
    assert wait_for(state, "STOPPED") == "STOPPED"
    with pytest.raises(ClientError) as info:
        ivs.get_stream(channelArn=channel_arn)
    assert info.value.response["Error"]["Code"] == "ChannelNotBroadcasting"
    stopped = rt.get_composition(arn=arn)["composition"]
    assert stopped["endTime"] >= stopped["startTime"]
    assert all(d["state"] == "STOPPED" for d in stopped["destinations"])

    ivs_vcr.leave_stage(host.participant_id)
    rt.delete_encoder_configuration(arn=encoder["arn"])
    rt.delete_storage_configuration(arn=storage["arn"])
    assert rt.list_encoder_configurations()["encoderConfigurations"] == []


def test_an_expired_or_forged_token_joins_nothing(rt: Any, ivs_vcr: Any) -> None:
    stage_arn = rt.create_stage(name="guarded")["stage"]["arn"]
    token = rt.create_participant_token(stageArn=stage_arn, duration=1)["participantToken"]
    header, claims = decode_jwt(token["token"])
    # Claims changed under the same signature: the signature no longer verifies.
    forged_claims = dict(claims, user_id="mallory")
    encoded = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    head, _, signature = token["token"].split(".")
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage(f"{head}.{encoded}.{signature}")
    assert (refused.value.status, refused.value.error_type) == (403, "AccessDeniedException")
    assert "mallory" not in refused.value.message
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage("not a token")
    assert refused.value.status in (400, 403)
    assert "JWT" in refused.value.message or "token" in refused.value.message
    # Nothing was left half-joined.
    assert not rt.get_stage(arn=stage_arn)["stage"].get("activeSessionId")
    assert rt.list_stage_sessions(stageArn=stage_arn)["stageSessions"] == []
    # Past its one-minute duration, the genuine token is refused too.
    assert datetime.datetime.now(datetime.timezone.utc) < token["expirationTime"]
    ivs_vcr.server.request("POST", "clock", {"advance_seconds": 120})
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage(token["token"])
    assert refused.value.status == 403
    assert "expire" in refused.value.message
    assert rt.list_stage_sessions(stageArn=stage_arn)["stageSessions"] == []


RECORDED_STAGE = '''
import base64, json
from pathlib import Path

import boto3
import pytest

def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

@pytest.mark.ivs_vcr
def test_stage(ivs_vcr):
    rt = boto3.client("ivs-realtime")
    stage = rt.create_stage(
        name="studio",
        participantTokenConfigurations=[{"userId": "host", "attributes": {"seat": "front"}}],
    )
    tokens = [t["token"] for t in stage["participantTokens"]]
    more = rt.create_participant_token(stageArn=stage["stage"]["arn"], userId="guest", duration=30)
    tokens.append(more["participantToken"]["token"])
    with Path("seen.jsonl").open("a") as seen:
        for token in tokens:
            seen.write(json.dumps({"token": token, "claims": claims_of(token)}) + "\\n")
'''


def test_a_recorded_token_is_kept_out_of_the_cassette_and_replayed_as_a_jwt_of_its_shape(
    pytester: pytest.Pytester, upstream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import run_inner

    for key, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        monkeypatch.setenv(key, value)
    pytester.makepyfile(test_inner=RECORDED_STAGE)
    run_inner(pytester, "--ivs-record-mode=once", f"--ivs-upstream={upstream.url}").assert_outcomes(passed=1)
    upstream.stop()  # replay is offline
    run_inner(pytester).assert_outcomes(passed=1)

    seen = [json.loads(line) for line in (pytester.path / "seen.jsonl").read_text().splitlines()]
    recorded, replayed = seen[:2], seen[2:]
    assert len(recorded) == len(replayed) == 2
    cassette = (pytester.path / "cassettes/test_inner/test_stage.yaml").read_text()
    assert "service: ivs-realtime" in cassette

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return value if isinstance(value, bool) else type(value).__name__

    def scalars(value: Any) -> List[Any]:
        if isinstance(value, dict):
            return [s for v in value.values() for s in scalars(v)]
        if isinstance(value, list):
            return [s for v in value for s in scalars(v)]
        return [] if isinstance(value, bool) else [value]

    for real, fake in zip(recorded, replayed):
        assert real["token"] not in cassette
        assert real["token"].rsplit(".", 1)[1] not in cassette, "not even its signature"
        assert fake["token"] != real["token"]
        assert shape(fake["claims"]) == shape(real["claims"]), fake["claims"]
        for value in scalars(real["claims"]):
            assert value not in scalars(fake["claims"]), f"{value!r} survived in {fake['claims']}"
            if isinstance(value, str) and len(value) > 3:
                assert f"{value}" not in json.dumps(fake["claims"])
    assert recorded[0]["claims"]["attributes"] == {"seat": "front"}
    assert set(replayed[0]["claims"]["attributes"]) == {"seat"}


def test_an_ingest_configuration_s_stream_key_publishes_into_its_stage(rt: Any, ivs_vcr: Any) -> None:
    stage_arn = rt.create_stage(name="encoder")["stage"]["arn"]
    config = rt.create_ingest_configuration(
        stageArn=stage_arn, ingestProtocol="RTMPS", name="studio", userId="studio-encoder"
    )["ingestConfiguration"]
    assert config["state"] == "INACTIVE"
    assert config["streamKey"].startswith("rt_123456789012_us-west-2_")
    joined = ivs_vcr.join_stage_with_stream_key(config["streamKey"])
    assert joined.stage_arn == stage_arn
    assert joined.participant_id == config["participantId"]
    assert rt.get_ingest_configuration(arn=config["arn"])["ingestConfiguration"]["state"] == "ACTIVE"
    got = rt.get_participant(stageArn=stage_arn, sessionId=joined.session_id, participantId=joined.participant_id)
    assert got["participant"]["published"] is True
    assert got["participant"]["userId"] == "studio-encoder"
    ivs_vcr.leave_stage(joined.participant_id)
    assert rt.get_ingest_configuration(arn=config["arn"])["ingestConfiguration"]["state"] == "INACTIVE"
    with pytest.raises(ControlPlaneError) as refused:
        ivs_vcr.join_stage_with_stream_key("rt_123456789012_us-west-2_nope00000000_notakey")
    assert 400 <= refused.value.status < 500
