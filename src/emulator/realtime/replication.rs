//! Participant replication: a publisher of one stage shown in another (Start, Stop, List).
//!
//! Documented (the model): a replica is "A participant in a destination stage that is
//! replicated from another stage (the source stage)"; its participant id is the publisher's; a
//! replicated participant's `replicationType` is SOURCE and the replica's REPLICA with its
//! `sourceStageArn` and `sourceSessionId`; `attributes` "are merged with any attributes set for
//! this participant"; events REPLICATION_STARTED and REPLICATION_STOPPED carry the destination
//! stage and session; replication ends with StopParticipantReplication or when the publisher
//! stops publishing (the EventBridge guide's "Participant Replication Ended"); EventBridge's
//! `IVS Stage Update` "Participant Replication Started".
//!
//! Inferred: only a connected publisher is replicated (ConflictException otherwise), once per
//! destination; the replica publishes in the destination stage (starting its session if none)
//! and leaves it when the replication stops; `reconnectWindowSeconds` is kept by no one, as the
//! emulator's publishers do not reconnect; the end event is named "Participant Replication
//! Stopped"; stopped replications are forgotten, oldest first, beyond
//! `participants::MAX_PARTICIPANTS`.

use serde_json::Value;

use super::participants::{
    active_session, connected_in, depart, ensure_session, in_order, participant_event, push_event,
    set_activity, ParticipantLife, MAX_PARTICIPANTS,
};
use super::{event, id_of, STAGE};
use crate::clock;
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{arn, Operation};

/// One replication of a publishing participant to another stage.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Replica {
    pub source_stage_arn: String,
    pub participant_id: String,
    pub source_session_id: String,
    pub destination_stage_arn: String,
    pub destination_session_id: String,
    pub state: ReplicaState,
}

/// A replica's `replicationState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ReplicaState {
    Active,
    Stopped,
}

impl ReplicaState {
    fn as_str(self) -> &'static str {
        match self {
            ReplicaState::Active => "ACTIVE",
            ReplicaState::Stopped => "STOPPED",
        }
    }
}

impl Replica {
    fn json(&self) -> Value {
        serde_json::json!({
            "sourceStageArn": self.source_stage_arn,
            "participantId": self.participant_id,
            "sourceSessionId": self.source_session_id,
            "destinationStageArn": self.destination_stage_arn,
            "destinationSessionId": self.destination_session_id,
            "replicationState": self.state.as_str(),
        })
    }
}

pub(super) fn start(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let source_arn = text(input, "sourceStageArn").to_owned();
    let destination_arn = text(input, "destinationStageArn").to_owned();
    let source_id = id_of(ctx, STAGE, &source_arn)?.to_owned();
    let destination_id = id_of(ctx, STAGE, &destination_arn)?.to_owned();
    if source_id == destination_id {
        return Err(ApiError::validation(
            "destinationStageArn: a participant is replicated to another stage than its own",
        ));
    }
    super::check_attributes("attributes", input.get("attributes"))?;
    let pid = text(input, "participantId").to_owned();
    let source = active_session(ctx, &source_id).and_then(|s| {
        s.participants
            .get(&pid)
            .filter(|p| p.connected())
            .map(|p| (s.id.clone(), p.clone()))
    });
    let Some((source_session_id, source_life)) = source else {
        return Err(ApiError::not_found(format!(
            "participant `{}` is not connected to stage `{source_arn}`",
            crate::redact::printable(&pid)
        )));
    };
    if !source_life.publishing {
        return Err(ApiError::conflict(format!(
            "participant `{pid}` is not publishing; only a publisher is replicated"
        )));
    }
    if ctx.region.realtime.replicas.iter().any(|r| {
        r.state == ReplicaState::Active
            && r.participant_id == pid
            && r.destination_stage_arn == destination_arn
    }) {
        return Err(ApiError::conflict(format!(
            "participant `{pid}` is already replicated to stage `{destination_arn}`"
        )));
    }
    if connected_in(ctx, &destination_id, &pid) {
        return Err(ApiError::conflict(format!(
            "participant `{pid}` is already connected to stage `{destination_arn}`"
        )));
    }
    let time = clock::iso8601(now / 1000);
    let destination_session_id = ensure_session(ctx, &destination_id, now);
    let mut attributes = source_life
        .record
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(extra) = input.get("attributes").and_then(Value::as_object) {
        attributes.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let mut record = source_life.record.clone();
    for (member, value) in [
        ("state", Value::from("CONNECTED")),
        ("firstJoinTime", Value::from(time.as_str())),
        ("attributes", Value::Object(attributes)),
        ("published", Value::Bool(false)),
        ("recordingState", Value::from("DISABLED")),
        ("recordingS3BucketName", Value::from("")),
        ("recordingS3Prefix", Value::from("")),
        ("replicationType", Value::from("REPLICA")),
        ("replicationState", Value::from("ACTIVE")),
        ("sourceStageArn", Value::from(source_arn.as_str())),
        ("sourceSessionId", Value::from(source_session_id.as_str())),
    ] {
        set(&mut record, member, value);
    }
    // Invariant: `ensure_session` just made the stage's session active.
    let session = active_session(ctx, &destination_id).expect("session just ensured");
    let mut joined = participant_event("JOINED", &pid, &time);
    set(&mut joined, "replica", Value::Bool(true));
    let replaced = session.participants.insert(
        pid.clone(),
        ParticipantLife {
            record,
            events: vec![joined],
            publishing: false,
            subscribing: false,
        },
    );
    if replaced.is_none() {
        ctx.region.realtime.n_participants += 1;
    }
    set_activity(ctx, &destination_id, &pid, true, false, &time, None);
    if let Some(me) = active_session(ctx, &source_id).and_then(|s| s.participants.get_mut(&pid)) {
        set(&mut me.record, "replicationType", Value::from("SOURCE"));
        set(&mut me.record, "replicationState", Value::from("ACTIVE"));
        let mut started = participant_event("REPLICATION_STARTED", &pid, &time);
        set(
            &mut started,
            "destinationStageArn",
            Value::from(destination_arn.as_str()),
        );
        set(
            &mut started,
            "destinationSessionId",
            Value::from(destination_session_id.as_str()),
        );
        push_event(me, started);
    }
    let replica = Replica {
        source_stage_arn: source_arn.clone(),
        participant_id: pid.clone(),
        source_session_id: source_session_id.clone(),
        destination_stage_arn: destination_arn,
        destination_session_id,
        state: ReplicaState::Active,
    };
    let replicas = &mut ctx.region.realtime.replicas;
    replicas.push(replica);
    // Stopped replications beyond the bound are forgotten, oldest first.
    while replicas.len() > MAX_PARTICIPANTS {
        match replicas
            .iter()
            .position(|r| r.state != ReplicaState::Active)
        {
            Some(i) => {
                replicas.remove(i);
            }
            None => break,
        }
    }
    event(
        ctx,
        "IVS Stage Update",
        &source_arn,
        serde_json::json!({
            "session_id": source_session_id,
            "event_name": "Participant Replication Started",
            "user_id": text(&source_life.record, "userId"),
            "participant_id": pid,
        }),
    );
    Ok(object())
}

/// Ends the replication at `index`: the replica leaves its stage and the source hears of it.
pub(super) fn end(ctx: &mut Ctx<'_>, index: usize, now: u64) {
    let Some(replica) = ctx.region.realtime.replicas.get_mut(index) else {
        return;
    };
    replica.state = ReplicaState::Stopped;
    let replica = replica.clone();
    let time = clock::iso8601(now / 1000);
    if let Some(destination_id) =
        arn::parse(&replica.destination_stage_arn).map(|a| a.resource_id.to_owned())
    {
        if connected_in(ctx, &destination_id, &replica.participant_id) {
            depart(ctx, &destination_id, &replica.participant_id, now);
        }
        if let Some(me) = active_or_last(ctx, &destination_id, &replica.participant_id) {
            set(&mut me.record, "replicationState", Value::from("STOPPED"));
        }
    }
    let still_active = ctx.region.realtime.replicas.iter().any(|r| {
        r.state == ReplicaState::Active
            && r.participant_id == replica.participant_id
            && r.source_stage_arn == replica.source_stage_arn
    });
    let mut user_id = String::new();
    if let Some(source_id) = arn::parse(&replica.source_stage_arn).map(|a| a.resource_id.to_owned())
    {
        if let Some(me) = active_or_last(ctx, &source_id, &replica.participant_id) {
            if !still_active {
                set(&mut me.record, "replicationState", Value::from("STOPPED"));
            }
            user_id = text(&me.record, "userId").to_owned();
            let mut stopped =
                participant_event("REPLICATION_STOPPED", &replica.participant_id, &time);
            set(
                &mut stopped,
                "destinationStageArn",
                Value::from(replica.destination_stage_arn.as_str()),
            );
            set(
                &mut stopped,
                "destinationSessionId",
                Value::from(replica.destination_session_id.as_str()),
            );
            push_event(me, stopped);
        }
    }
    event(
        ctx,
        "IVS Stage Update",
        &replica.source_stage_arn,
        serde_json::json!({
            "session_id": replica.source_session_id,
            "event_name": "Participant Replication Stopped",
            "user_id": user_id,
            "participant_id": replica.participant_id,
        }),
    );
}

/// The participant's record in the stage's latest session, ended or not.
fn active_or_last<'r>(
    ctx: &'r mut Ctx<'_>,
    stage_id: &str,
    pid: &str,
) -> Option<&'r mut ParticipantLife> {
    ctx.region
        .realtime
        .stages
        .get_mut(stage_id)?
        .sessions
        .iter_mut()
        .rev()
        .find_map(|s| s.participants.get_mut(pid))
}

pub(super) fn stop(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let source_arn = text(input, "sourceStageArn");
    let destination_arn = text(input, "destinationStageArn");
    id_of(ctx, STAGE, source_arn)?;
    id_of(ctx, STAGE, destination_arn)?;
    let pid = text(input, "participantId");
    let index = ctx.region.realtime.replicas.iter().position(|r| {
        r.state == ReplicaState::Active
            && r.participant_id == pid
            && r.source_stage_arn == source_arn
            && r.destination_stage_arn == destination_arn
    });
    let Some(index) = index else {
        return Err(ApiError::not_found(format!(
            "participant `{}` of stage `{source_arn}` is not being replicated to stage `{destination_arn}`",
            crate::redact::printable(pid)
        )));
    };
    end(ctx, index, now);
    Ok(object())
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let source_arn = text(input, "sourceStageArn");
    id_of(ctx, STAGE, source_arn)?;
    let pid = text(input, "participantId");
    let replicas: Vec<&Replica> = ctx
        .region
        .realtime
        .replicas
        .iter()
        .filter(|r| r.source_stage_arn == source_arn && r.participant_id == pid)
        .collect();
    let keyed = in_order(&replicas, |r| r.json());
    resource::page(op, input, &keyed, |_| true, Value::clone)
}
