//! Stage life without media: participants join with a token, or publish with an ingest stream
//! key, and leave (through the control plane, as the broadcast SDKs and RTMP encoders would),
//! and what the API reports follows: stage sessions, participants and their events, and
//! DisconnectParticipant. Replication (`replication.rs`) builds on the same sessions.
//!
//! Documented: "There is a 1:1 mapping between participant tokens and participants" (the model's
//! service documentation), so a token's `jti` is its participant's id, and joining again with it
//! is the same participant; a participant is CONNECTED or DISCONNECTED (`ParticipantState`) and
//! `published` says whether it "ever published to the stage session"; events are JOINED, LEFT,
//! PUBLISH_STARTED/STOPPED, SUBSCRIBE_STARTED/STOPPED (whose `remoteParticipantId` is the
//! publisher), REPLICATION_STARTED/STOPPED (with the destination stage and session), and
//! `remoteParticipantId` "For a publish or join event, this is null" (`Event`); a session's
//! `endTime` "is null if the stage is active"; "A stage session begins when the first participant
//! joins a stage" (the monitoring guide); DisconnectParticipant clears the stage ARN of an
//! ingest configuration the participant publishes with; EventBridge's `IVS Stage Update` events
//! "Participant Published" and "Participant Unpublished", and `IVS Participant Recording State
//! Change` "Recording Start" and "Recording End" (the EventBridge guide).
//!
//! Inferred: a stage has at most 12 publishers (the quota as the Real-Time quotas page gives it;
//! only its first rows could be read here); an event's `detail` carries `session_id`,
//! `event_name`, `user_id` and `participant_id`; the session ends [`SESSION_END_MS`] after the
//! last participant leaves, and a join meanwhile continues it (the monitoring guide counts from
//! the last participant to stop publishing, but a session cannot end under participants still
//! connected, so the emulator counts from the last to leave); a deleted stage's session ends at
//! once; a
//! join asks to publish and subscribe only when its control call says so, and a second join
//! with the token of a connected participant changes what it publishes and subscribes to; a
//! subscriber subscribes to every publisher; a join the token does not allow, or over the
//! publisher quota, is refused whole (IVS would record a JOIN_ERROR or PUBLISH_ERROR on a
//! participant the emulator does not keep); participants carry no client attributes (`ispName`,
//! `osName`, …) and protocol UNKNOWN, as no client reports them; a recorded publisher's
//! `recordingS3Prefix` is an id of its own; DisconnectParticipant does not revoke the token;
//! sessions are listed newest first, participants by id, events oldest first; the emulator
//! keeps the newest [`MAX_SESSIONS`] sessions of a stage, at most [`MAX_PARTICIPANTS`]
//! participants a session and [`MAX_REGION_PARTICIPANTS`] a region, and the first
//! [`MAX_EVENTS`] events of a participant in a session (bounds, not documented quotas).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{event, id_of, not_found, tokens, wrap, INGEST, STAGE, STORAGE};
use crate::clock;
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{arn, ErrorType, Operation};

/// "Stage participants: publishers 12" (service quotas).
const MAX_PUBLISHERS: usize = 12;
/// Participants kept per session (a bound; see the module doc).
pub(crate) const MAX_PARTICIPANTS: usize = 10_000;
/// Sessions kept per stage, newest first (a bound).
pub(crate) const MAX_SESSIONS: usize = 100;
/// Events kept per participant and session (a bound).
const MAX_EVENTS: usize = 200;
/// Participant records kept per region, across stages and sessions (a bound: with
/// [`MAX_EVENTS`], what a flood of joins can make the emulator hold).
pub(crate) const MAX_REGION_PARTICIPANTS: usize = 20_000;
/// How long a session outlives its last participant: "A stage session begins when the first
/// participant joins a stage and ends a few minutes after the last participant stops publishing"
/// (<https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/stage-health.html>); "a few
/// minutes" is taken as 3 (inferred).
pub(crate) const SESSION_END_MS: u64 = 180_000;

/// The sessions of one stage.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StageLife {
    /// Oldest first; only the last may be active (no `end_time`).
    pub sessions: Vec<StageSession>,
    /// When the stage last had no participant connected (milliseconds), for the composition
    /// idle timeout; `None` while a session is active.
    pub empty_since: Option<u64>,
}

/// One stage session.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct StageSession {
    pub id: String,
    pub start_time: String,
    pub end_time: Option<String>,
    /// By participant id.
    pub participants: BTreeMap<String, ParticipantLife>,
}

/// One participant in one session: its `Participant` record, its events, and what it does now.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ParticipantLife {
    pub record: Value,
    pub events: Vec<Value>,
    pub publishing: bool,
    pub subscribing: bool,
}

impl ParticipantLife {
    pub(crate) fn connected(&self) -> bool {
        text(&self.record, "state") == "CONNECTED"
    }
}

/// What a join asks: the token, and whether to publish and subscribe.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinRequest {
    pub token: String,
    pub publish: Option<bool>,
    pub subscribe: Option<bool>,
}

/// A session as `/_ivs-vcr/state` shows it.
pub(crate) fn session_state(session: &StageSession) -> Value {
    serde_json::json!({
        "sessionId": session.id,
        "startTime": session.start_time,
        "endTime": session.end_time,
        "participants": session.participants.values().map(|p| {
            let mut record = p.record.clone();
            set(&mut record, "publishing", Value::from(p.publishing));
            set(&mut record, "subscribing", Value::from(p.subscribing));
            record
        }).collect::<Vec<_>>(),
    })
}

pub(super) fn active_session<'r>(
    ctx: &'r mut Ctx<'_>,
    stage_id: &str,
) -> Option<&'r mut StageSession> {
    ctx.region
        .realtime
        .stages
        .get_mut(stage_id)?
        .sessions
        .last_mut()
        .filter(|s| s.end_time.is_none())
}

/// Whether a participant of the stage's active session is being recorded.
pub(crate) fn recording_active(ctx: &mut Ctx<'_>, stage_id: &str) -> bool {
    active_session(ctx, stage_id).is_some_and(|s| {
        s.participants
            .values()
            .any(|p| text(&p.record, "recordingState") == "ACTIVE")
    })
}

/// Whether the stage has a participant connected, and since when it has had none.
pub(crate) fn occupancy(ctx: &Ctx<'_>, stage_id: &str) -> (bool, Option<u64>) {
    match ctx.region.realtime.stages.get(stage_id) {
        None => (false, None),
        Some(life) => {
            let occupied = life.sessions.last().is_some_and(|s| {
                s.end_time.is_none() && s.participants.values().any(ParticipantLife::connected)
            });
            (occupied, life.empty_since)
        }
    }
}

pub(super) fn participant_event(name: &str, participant_id: &str, time: &str) -> Value {
    serde_json::json!({"name": name, "participantId": participant_id, "eventTime": time})
}

pub(super) fn push_event(life: &mut ParticipantLife, event: Value) {
    if life.events.len() < MAX_EVENTS {
        life.events.push(event);
    }
}

/// Joins a participant with a token (the control plane's `POST /_ivs-vcr/stages/join`): the
/// token is verified, the stage's session started if none is active, and the participant
/// CONNECTED with its events. A refused join changes nothing.
pub(crate) fn join(ctx: &mut Ctx<'_>, request: &JoinRequest, now: u64) -> Result<Value, ApiError> {
    super::advance(ctx, now);
    let grant = tokens::verify(ctx, &request.token, now)?;
    let publish = request.publish.unwrap_or(false);
    let subscribe = request.subscribe.unwrap_or(false);
    admit(ctx, &grant, publish, subscribe, &object(), now)
}

/// Connects a participant `grant` allows, asking to publish and subscribe; `extra` members go
/// into its record when it is new (an RTMP publisher's `protocol`, `ingestConfigurationArn`).
/// Every check comes before any change.
fn admit(
    ctx: &mut Ctx<'_>,
    grant: &tokens::Grant,
    publish: bool,
    subscribe: bool,
    extra: &Value,
    now: u64,
) -> Result<Value, ApiError> {
    if publish && !grant.allow_publish {
        return Err(ApiError::new(
            ErrorType::AccessDeniedException,
            "the token lacks the PUBLISH capability (INSUFFICIENT_CAPABILITIES); join without \"publish\": true, or mint a token with capabilities [\"PUBLISH\"]",
        ));
    }
    if subscribe && !grant.allow_subscribe {
        return Err(ApiError::new(
            ErrorType::AccessDeniedException,
            "the token lacks the SUBSCRIBE capability (INSUFFICIENT_CAPABILITIES); join without \"subscribe\": true, or mint a token with capabilities [\"SUBSCRIBE\"]",
        ));
    }
    let stage_id = grant.stage_id.clone();
    let pid = grant.participant_id.clone();
    // Checked before anything changes.
    if let Some(session) = active_session(ctx, &stage_id) {
        let already_publishing = session
            .participants
            .get(&pid)
            .is_some_and(|p| p.connected() && p.publishing);
        let publishers = session
            .participants
            .values()
            .filter(|p| p.connected() && p.publishing)
            .count();
        if publish && !already_publishing && publishers >= MAX_PUBLISHERS {
            return Err(ApiError::new(
                ErrorType::ServiceQuotaExceededException,
                format!("the stage already has {MAX_PUBLISHERS} publishers, its quota (QUOTA_EXCEEDED); join without \"publish\": true"),
            ));
        }
        if !session.participants.contains_key(&pid)
            && (session.participants.len() >= MAX_PARTICIPANTS
                || ctx.region.realtime.n_participants >= MAX_REGION_PARTICIPANTS)
        {
            return Err(ApiError::new(
                ErrorType::ServiceQuotaExceededException,
                format!(
                    "the session already has {MAX_PARTICIPANTS} participants, the emulator's bound"
                ),
            ));
        }
    }
    let time = clock::iso8601(now / 1000);
    let session_id = ensure_session(ctx, &stage_id, now);
    let recording = recording_of(ctx, &stage_id);
    // Invariant: `ensure_session` just made the stage's session active.
    let session = active_session(ctx, &stage_id).expect("session just ensured");
    let rejoin = session
        .participants
        .get(&pid)
        .is_some_and(ParticipantLife::connected);
    if !rejoin {
        let mut added = false;
        let life = session.participants.entry(pid.clone()).or_insert_with(|| {
            added = true;
            ParticipantLife {
                record: fresh_participant(&pid, grant, &time),
                events: Vec::new(),
                publishing: false,
                subscribing: false,
            }
        });
        set(&mut life.record, "state", Value::from("CONNECTED"));
        set(
            &mut life.record,
            "attributes",
            Value::Object(grant.attributes.clone()),
        );
        set(
            &mut life.record,
            "userId",
            Value::from(grant.user_id.as_str()),
        );
        if let Value::Object(extra) = extra {
            for (member, value) in extra {
                set(&mut life.record, member, value.clone());
            }
        }
        push_event(life, participant_event("JOINED", &pid, &time));
        if added {
            ctx.region.realtime.n_participants += 1;
        }
    }
    set_activity(
        ctx,
        &stage_id,
        &pid,
        publish,
        subscribe,
        &time,
        recording.as_ref(),
    );
    super::advance(ctx, now);
    let stage_arn = arn::mint(ctx.region_name, ctx.account, STAGE, &stage_id);
    Ok(serde_json::json!({
        "participantId": pid,
        "stageArn": stage_arn,
        "sessionId": session_id,
    }))
}

/// Publishes into a stage with an ingest configuration's stream key, as an RTMP(S) encoder
/// would (the control plane's `POST /_ivs-vcr/stages/join` with `streamKey`): the configuration's
/// participant joins publishing, over its protocol, and the configuration is ACTIVE until it
/// leaves. Inferred: a key already publishing is refused (the model's REUSE_OF_STREAM_KEY), as is
/// a configuration attached to no stage.
pub(crate) fn publish_with_key(
    ctx: &mut Ctx<'_>,
    stream_key: &str,
    now: u64,
) -> Result<Value, ApiError> {
    super::advance(ctx, now);
    let found = resource::all_of_type(ctx.region, INGEST).find_map(|c| {
        if text(c, "streamKey") == stream_key {
            return Some((c.clone(), text(c, "participantId").to_owned()));
        }
        c.get("redundantIngestCredentials")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| text(r, "streamKey") == stream_key)
            .map(|r| (c.clone(), text(r, "participantId").to_owned()))
    });
    let Some((config, pid)) = found else {
        return Err(ApiError::new(
            ErrorType::AccessDeniedException,
            "streamKey: no ingest configuration of this region has this stream key (INVALID_STREAM_KEY)",
        ));
    };
    let config_arn = text(&config, "arn").to_owned();
    let stage_arn = text(&config, "stageArn").to_owned();
    if stage_arn.is_empty() {
        return Err(ApiError::conflict(format!(
            "ingest configuration `{config_arn}` is attached to no stage; set its stageArn (UpdateIngestConfiguration) first"
        )));
    }
    let stage_id = arn::parse(&stage_arn)
        .map(|a| a.resource_id.to_owned())
        .filter(|id| ctx.region.get(STAGE, id).is_some())
        .ok_or_else(|| stage_gone(&stage_arn))?;
    if connected_in(ctx, &stage_id, &pid) {
        return Err(ApiError::conflict(format!(
            "stream key of ingest configuration `{config_arn}` is already publishing (REUSE_OF_STREAM_KEY)"
        )));
    }
    let grant = tokens::Grant {
        stage_id,
        participant_id: pid,
        user_id: text(&config, "userId").to_owned(),
        attributes: config
            .get("attributes")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        allow_publish: true,
        allow_subscribe: false,
    };
    let extra = serde_json::json!({
        "protocol": text(&config, "ingestProtocol"),
        "ingestConfigurationArn": config_arn,
        "redundantIngest": config.get("redundantIngest").cloned().unwrap_or(Value::Bool(false)),
    });
    let joined = admit(ctx, &grant, true, false, &extra, now)?;
    if let Some(id) = arn::parse(&config_arn).map(|a| a.resource_id.to_owned()) {
        if let Some(stored) = ctx.region.get_mut(INGEST, &id) {
            set(stored, "state", Value::from("ACTIVE"));
        }
    }
    Ok(joined)
}

/// The stage's bucket and whether publishers are recorded (a storage configuration is set).
fn recording_of(ctx: &Ctx<'_>, stage_id: &str) -> Option<String> {
    let stage = ctx.region.get(STAGE, stage_id)?;
    let storage = stage
        .get("autoParticipantRecordingConfiguration")
        .map(|c| text(c, "storageConfigurationArn"))
        .filter(|a| !a.is_empty())?;
    let id = arn::parse(storage)?.resource_id;
    let config = ctx.region.get(STORAGE, id)?;
    Some(text(config.get("s3")?, "bucketName").to_owned())
}

fn fresh_participant(pid: &str, grant: &tokens::Grant, time: &str) -> Value {
    serde_json::json!({
        "participantId": pid,
        "userId": grant.user_id,
        "state": "CONNECTED",
        "firstJoinTime": time,
        "attributes": grant.attributes,
        "published": false,
        "recordingS3BucketName": "",
        "recordingS3Prefix": "",
        "recordingState": "DISABLED",
        "protocol": "UNKNOWN",
        "replicationType": "NONE",
        "redundantIngest": false,
    })
}

/// The id of the stage's active session, started now when there is none.
pub(super) fn ensure_session(ctx: &mut Ctx<'_>, stage_id: &str, now: u64) -> String {
    if let Some(session) = active_session(ctx, stage_id) {
        let id = session.id.clone();
        // Someone is joining: the session no longer counts down to its end.
        if let Some(life) = ctx.region.realtime.stages.get_mut(stage_id) {
            life.empty_since = None;
        }
        return id;
    }
    // StageSessionId: `st-` and 13 alphanumerics, 16 in all (the model's fixed length).
    let id = format!("st-{}", ctx.ids.alnum(13));
    let life = ctx
        .region
        .realtime
        .stages
        .entry(stage_id.to_owned())
        .or_default();
    life.sessions.push(StageSession {
        id: id.clone(),
        start_time: clock::iso8601(now / 1000),
        end_time: None,
        participants: BTreeMap::new(),
    });
    life.empty_since = None;
    let excess = life.sessions.len().saturating_sub(MAX_SESSIONS);
    let forgotten: usize = life
        .sessions
        .drain(..excess)
        .map(|s| s.participants.len())
        .sum();
    ctx.region.realtime.n_participants -= forgotten;
    if let Some(stage) = ctx.region.get_mut(STAGE, stage_id) {
        set(stage, "activeSessionId", Value::from(id.as_str()));
    }
    id
}

/// Moves a connected participant to publishing and subscribing as asked, with the events each
/// change makes for it and for the others.
pub(super) fn set_activity(
    ctx: &mut Ctx<'_>,
    stage_id: &str,
    pid: &str,
    publish: bool,
    subscribe: bool,
    time: &str,
    recording: Option<&String>,
) {
    let stage_arn = arn::mint(ctx.region_name, ctx.account, STAGE, stage_id);
    let prefix = ctx.ids.alnum(12);
    let Some(session) = active_session(ctx, stage_id) else {
        return;
    };
    let session_id = session.id.clone();
    let Some(me) = session.participants.get(pid) else {
        return;
    };
    let (was_publishing, was_subscribing) = (me.publishing, me.subscribing);
    let user_id = text(&me.record, "userId").to_owned();
    let mut bridge = Vec::new();
    // Stop first, then start, so a publisher that stops subscribing sees its own events in order.
    if was_subscribing && !subscribe {
        let publishers = others(session, pid, |p| p.publishing);
        // Invariant: the ids come from this session's participants, read above.
        let me = session.participants.get_mut(pid).expect("present");
        me.subscribing = false;
        for remote in publishers {
            push_event(me, remote_event("SUBSCRIBE_STOPPED", pid, &remote, time));
        }
    }
    if was_publishing && !publish {
        let subscribers = others(session, pid, |p| p.subscribing);
        for remote in &subscribers {
            // Invariant: the ids come from this session's participants, read above.
            let them = session.participants.get_mut(remote).expect("present");
            push_event(them, remote_event("SUBSCRIBE_STOPPED", remote, pid, time));
        }
        // Invariant: the ids come from this session's participants, read above.
        let me = session.participants.get_mut(pid).expect("present");
        me.publishing = false;
        push_event(me, participant_event("PUBLISH_STOPPED", pid, time));
        if text(&me.record, "recordingState") == "ACTIVE" {
            set(&mut me.record, "recordingState", Value::from("STOPPED"));
            bridge.push(("IVS Participant Recording State Change", "Recording End"));
        }
        bridge.push(("IVS Stage Update", "Participant Unpublished"));
    }
    if publish && !was_publishing {
        // Invariant: the ids come from this session's participants, read above.
        let me = session.participants.get_mut(pid).expect("present");
        me.publishing = true;
        set(&mut me.record, "published", Value::Bool(true));
        push_event(me, participant_event("PUBLISH_STARTED", pid, time));
        if let Some(bucket) = recording {
            set(&mut me.record, "recordingState", Value::from("ACTIVE"));
            set(
                &mut me.record,
                "recordingS3BucketName",
                Value::from(bucket.as_str()),
            );
            if text(&me.record, "recordingS3Prefix").is_empty() {
                set(&mut me.record, "recordingS3Prefix", Value::from(prefix));
            }
            bridge.push(("IVS Participant Recording State Change", "Recording Start"));
        }
        bridge.push(("IVS Stage Update", "Participant Published"));
        let subscribers = others(session, pid, |p| p.subscribing);
        for remote in subscribers {
            // Invariant: the ids come from this session's participants, read above.
            let them = session.participants.get_mut(&remote).expect("present");
            push_event(them, remote_event("SUBSCRIBE_STARTED", &remote, pid, time));
        }
    }
    if subscribe && !was_subscribing {
        let publishers = others(session, pid, |p| p.publishing);
        // Invariant: the ids come from this session's participants, read above.
        let me = session.participants.get_mut(pid).expect("present");
        me.subscribing = true;
        for remote in publishers {
            push_event(me, remote_event("SUBSCRIBE_STARTED", pid, &remote, time));
        }
    }
    for (detail_type, name) in bridge {
        event(
            ctx,
            detail_type,
            &stage_arn,
            serde_json::json!({
                "session_id": session_id,
                "event_name": name,
                "user_id": user_id,
                "participant_id": pid,
            }),
        );
    }
}

/// The ids of the other connected participants for which `which` holds.
fn others(
    session: &StageSession,
    pid: &str,
    which: impl Fn(&ParticipantLife) -> bool,
) -> Vec<String> {
    session
        .participants
        .iter()
        .filter(|(id, p)| id.as_str() != pid && p.connected() && which(p))
        .map(|(id, _)| id.clone())
        .collect()
}

fn remote_event(name: &str, pid: &str, remote: &str, time: &str) -> Value {
    let mut event = participant_event(name, pid, time);
    set(&mut event, "remoteParticipantId", Value::from(remote));
    event
}

/// A connected participant leaves (the control plane's `POST /_ivs-vcr/stages/leave`): from the
/// stage named, or else from whichever stage of the region it is connected to.
pub(crate) fn leave(
    ctx: &mut Ctx<'_>,
    participant_id: &str,
    stage_arn: Option<&str>,
    now: u64,
) -> Result<Value, ApiError> {
    super::advance(ctx, now);
    let stage_id = match stage_arn {
        Some(stage_arn) => {
            let id = id_of(ctx, STAGE, stage_arn)?.to_owned();
            connected_in(ctx, &id, participant_id).then_some(id)
        }
        None => {
            let mut ids: Vec<String> = ctx.region.realtime.stages.keys().cloned().collect();
            ids.sort();
            ids.into_iter()
                .find(|id| connected_in(ctx, id, participant_id))
        }
    };
    let Some(stage_id) = stage_id else {
        return Err(ApiError::not_found(format!(
            "participant `{}` is not connected to {}; join first (POST /_ivs-vcr/stages/join)",
            crate::redact::printable(participant_id),
            stage_arn.map_or_else(
                || "any stage of this region".to_owned(),
                |a| format!("stage `{a}`")
            )
        )));
    };
    depart(ctx, &stage_id, participant_id, now);
    Ok(object())
}

pub(super) fn connected_in(ctx: &mut Ctx<'_>, stage_id: &str, pid: &str) -> bool {
    active_session(ctx, stage_id)
        .and_then(|s| s.participants.get(pid))
        .is_some_and(ParticipantLife::connected)
}

/// A connected participant leaves: it stops publishing and subscribing, its replications stop,
/// it is DISCONNECTED with a LEFT event, an RTMP encoder publishing as it is dropped, and the
/// session ends if it was the last one.
pub(super) fn depart(ctx: &mut Ctx<'_>, stage_id: &str, pid: &str, now: u64) {
    let time = clock::iso8601(now / 1000);
    set_activity(ctx, stage_id, pid, false, false, &time, None);
    let source_arn = arn::mint(ctx.region_name, ctx.account, STAGE, stage_id);
    let replicas: Vec<usize> = ctx
        .region
        .realtime
        .replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.state == super::replication::ReplicaState::Active
                && r.participant_id == pid
                && r.source_stage_arn == source_arn
        })
        .map(|(i, _)| i)
        .collect();
    for i in replicas {
        super::replication::end(ctx, i, now);
    }
    let Some(session) = active_session(ctx, stage_id) else {
        return;
    };
    let mut ingest = None;
    if let Some(me) = session.participants.get_mut(pid) {
        set(&mut me.record, "state", Value::from("DISCONNECTED"));
        push_event(me, participant_event("LEFT", pid, &time));
        ingest = me
            .record
            .get("ingestConfigurationArn")
            .and_then(Value::as_str)
            .and_then(|a| arn::parse(a).map(|a| a.resource_id.to_owned()));
    }
    let empty = !session
        .participants
        .values()
        .any(ParticipantLife::connected);
    // Who still publishes: a redundant configuration's other publisher keeps it ACTIVE.
    let still_connected: std::collections::HashSet<String> = match &ingest {
        Some(_) => session
            .participants
            .iter()
            .filter(|(_, p)| p.connected())
            .map(|(id, _)| id.clone())
            .collect(),
        None => Default::default(),
    };
    if let Some(id) = ingest {
        // A participant publishing with an ingest configuration is an RTMP encoder (or the
        // control plane's `streamKey` join): its connection, if it has one, is dropped once the
        // state lock is released, through the same path as StopStream's (see `ingest.rs`).
        ctx.stopped
            .push(super::ingest::encoder_key(&source_arn, pid));
        // "It is ACTIVE if a publisher currently is publishing to the stage associated with the
        // ingest configuration" (the model's IngestConfiguration.state): INACTIVE once neither
        // its primary nor, with redundant ingest, its backup publisher is connected.
        if let Some(config) = ctx.region.get_mut(INGEST, &id) {
            if !ingest_participants(config).any(|p| still_connected.contains(p)) {
                set(config, "state", Value::from("INACTIVE"));
            }
        }
    }
    if empty {
        // The session ends SESSION_END_MS later, unless someone joins meanwhile ([`advance`]).
        if let Some(life) = ctx.region.realtime.stages.get_mut(stage_id) {
            life.empty_since = Some(now);
        }
    }
}

/// Ends, at `at`, the stage's active session.
fn end_session(ctx: &mut Ctx<'_>, stage_id: &str, at: u64) {
    if let Some(session) = active_session(ctx, stage_id) {
        session.end_time = Some(clock::iso8601(at / 1000));
    }
    if let Some(Value::Object(stage)) = ctx.region.get_mut(STAGE, stage_id) {
        stage.remove("activeSessionId");
    }
}

/// Ends the sessions whose stage has had nobody connected for [`SESSION_END_MS`] by `now`.
pub(crate) fn advance(ctx: &mut Ctx<'_>, now: u64) {
    let due: Vec<(String, u64)> = ctx
        .region
        .realtime
        .stages
        .iter()
        .filter_map(|(id, life)| {
            let at = life.empty_since? + SESSION_END_MS;
            let active = life.sessions.last().is_some_and(|s| {
                s.end_time.is_none() && !s.participants.values().any(ParticipantLife::connected)
            });
            (active && now >= at).then(|| (id.clone(), at))
        })
        .collect();
    for (stage_id, at) in due {
        end_session(ctx, &stage_id, at);
    }
}

/// Disconnects everyone from a stage (DeleteStage).
pub(crate) fn close_stage(ctx: &mut Ctx<'_>, stage_id: &str, now: u64) {
    let connected: Vec<String> = active_session(ctx, stage_id)
        .map(|s| {
            s.participants
                .iter()
                .filter(|(_, p)| p.connected())
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default();
    for pid in connected {
        depart(ctx, stage_id, &pid, now);
    }
    // A deleted stage's session ends with it.
    end_session(ctx, stage_id, now);
    // Replicas of this stage's participants elsewhere, and replicas in it, stop.
    let stage_arn = arn::mint(ctx.region_name, ctx.account, STAGE, stage_id);
    let replicas: Vec<usize> = ctx
        .region
        .realtime
        .replicas
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.state == super::replication::ReplicaState::Active
                && (r.destination_stage_arn == stage_arn || r.source_stage_arn == stage_arn)
        })
        .map(|(i, _)| i)
        .collect();
    for i in replicas {
        super::replication::end(ctx, i, now);
    }
}

/// The stage id and session of a `stageArn`/`sessionId` input.
fn session_of<'r>(ctx: &'r Ctx<'_>, input: &Value) -> Result<(&'r StageSession, String), ApiError> {
    let stage_arn = text(input, "stageArn");
    let stage_id = id_of(ctx, STAGE, stage_arn)?.to_owned();
    let wanted = text(input, "sessionId");
    ctx.region
        .realtime
        .stages
        .get(&stage_id)
        .and_then(|life| life.sessions.iter().find(|s| s.id == wanted))
        .map(|s| (s, stage_id))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "stage `{stage_arn}` has no session `{}`",
                crate::redact::printable(wanted)
            ))
        })
}

fn session_json(session: &StageSession) -> Value {
    let mut out = serde_json::json!({"sessionId": session.id, "startTime": session.start_time});
    if let Some(end) = &session.end_time {
        set(&mut out, "endTime", Value::from(end.as_str()));
    }
    out
}

pub(super) fn get_session(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (session, _) = session_of(ctx, input)?;
    Ok(wrap("stageSession", session_json(session)))
}

/// Items keyed so that key order is newest first and a token is plain digits.
fn newest_first<T>(items: &[T], show: impl Fn(&T) -> Value) -> BTreeMap<String, Value> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (format!("{:010}", u32::MAX as usize - i), show(item)))
        .collect()
}

/// Items keyed so that key order is their order.
pub(super) fn in_order<T>(items: &[T], show: impl Fn(&T) -> Value) -> BTreeMap<String, Value> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (format!("{i:010}"), show(item)))
        .collect()
}

pub(super) fn list_sessions(
    ctx: &mut Ctx<'_>,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let stage_id = id_of(ctx, STAGE, text(input, "stageArn"))?.to_owned();
    let sessions = ctx
        .region
        .realtime
        .stages
        .get(&stage_id)
        .map(|l| l.sessions.as_slice())
        .unwrap_or_default();
    let keyed = newest_first(sessions, session_json);
    resource::page(op, input, &keyed, |_| true, Value::clone)
}

fn participant_of<'r>(ctx: &'r Ctx<'_>, input: &Value) -> Result<&'r ParticipantLife, ApiError> {
    let (session, _) = session_of(ctx, input)?;
    let pid = text(input, "participantId");
    session.participants.get(pid).ok_or_else(|| {
        ApiError::not_found(format!(
            "session `{}` of stage `{}` has no participant `{}`",
            session.id,
            text(input, "stageArn"),
            crate::redact::printable(pid)
        ))
    })
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let participant = participant_of(ctx, input)?;
    Ok(wrap("participant", participant.record.clone()))
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let filters = [
        "filterByUserId",
        "filterByPublished",
        "filterByState",
        "filterByRecordingState",
    ];
    let given: Vec<&str> = filters
        .into_iter()
        .filter(|f| input.get(*f).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() > 1 {
        return Err(ApiError::validation(format!(
            "only one of filterByUserId, filterByPublished, filterByState or filterByRecordingState may be given, got {}",
            given.join(", ")
        )));
    }
    let (session, _) = session_of(ctx, input)?;
    let item = resource::item_shape(op);
    // Keyed by place, in id order: a self-signed token's participant id may hold `-` and `_`,
    // which a page token of digits need not carry.
    let records: Vec<&ParticipantLife> = session.participants.values().collect();
    let keyed = in_order(&records, |p| p.record.clone());
    let filter = given.first().map(|f| (*f, input[*f].clone()));
    resource::page(
        op,
        input,
        &keyed,
        |p| match &filter {
            None => true,
            Some(("filterByUserId", v)) => p.get("userId") == Some(v),
            Some(("filterByPublished", v)) => p.get("published") == Some(v),
            Some(("filterByState", v)) => p.get("state") == Some(v),
            Some((_, v)) => p.get("recordingState") == Some(v),
        },
        |p| resource::project(p, item),
    )
}

pub(super) fn list_events(
    ctx: &mut Ctx<'_>,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let participant = participant_of(ctx, input)?;
    let keyed = in_order(&participant.events, Value::clone);
    resource::page(op, input, &keyed, |_| true, Value::clone)
}

pub(super) fn disconnect(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let stage_arn = text(input, "stageArn");
    let stage_id = id_of(ctx, STAGE, stage_arn)?.to_owned();
    let pid = text(input, "participantId");
    if !connected_in(ctx, &stage_id, pid) {
        return Err(ApiError::not_found(format!(
            "participant `{}` is not connected to stage `{stage_arn}`",
            crate::redact::printable(pid)
        )));
    }
    depart(ctx, &stage_id, pid, now);
    // An ingest configuration this participant publishes with loses its stage: its primary
    // participant's or, with redundant ingest, its backup's ("If the participant is publishing
    // using an IngestConfiguration", the model's DisconnectParticipant; the backup publishes with
    // the same configuration).
    let ingest: Vec<String> = resource::all_of_type(ctx.region, INGEST)
        .filter(|c| ingest_participants(c).any(|p| p == pid) && text(c, "stageArn") == stage_arn)
        .filter_map(|c| arn::parse(text(c, "arn")).map(|a| a.resource_id.to_owned()))
        .collect();
    for id in ingest {
        if let Some(config) = ctx.region.get_mut(INGEST, &id) {
            set(config, "stageArn", Value::from(""));
            set(config, "state", Value::from("INACTIVE"));
        }
    }
    Ok(object())
}

/// The participant ids that publish with an ingest configuration: its own, then its redundant
/// ingest credentials' (the backup publisher's).
pub(super) fn ingest_participants(config: &Value) -> impl Iterator<Item = &str> {
    let backups = config
        .get("redundantIngestCredentials")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| text(c, "participantId"));
    std::iter::once(text(config, "participantId")).chain(backups)
}

/// The not-found error of a stage by ARN (a token naming a deleted stage).
pub(crate) fn stage_gone(stage_arn: &str) -> ApiError {
    not_found(STAGE, stage_arn)
}
