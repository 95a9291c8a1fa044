//! IVS Real-Time's API (2020-07-14), emulated: stages and their sessions, participants and
//! events, participant tokens (JWTs), compositions, encoder, storage and ingest configurations,
//! public keys, participant replication and tags. Real-Time signs as `ivs` and its ARNs are
//! `arn:aws:ivs:<region>:<account>:<type>/<id>`; its resource types (`stage`, `composition`,
//! `encoder-configuration`, `storage-configuration`, `ingest-configuration`, `public-key`) are
//! none of IVS's, so its resources live in the region's stores beside IVS's without meeting them.
//!
//! The split:
//! - `mod.rs` (this file): dispatch, what every family shares (ARNs, ids, defaults from the
//!   model, quota errors) and [`Live`], what a region keeps that is no resource (stage sessions,
//!   participants, composition timers, replicas);
//! - `stages.rs`: stages, their endpoints and recording configuration;
//! - `participants.rs`: joins and leaves (the control plane, with a token or an ingest stream
//!   key), sessions, participants, their events, DisconnectParticipant;
//! - `replication.rs`: participant replication to another stage;
//! - `tokens.rs`: participant tokens, minted as ES384 JWTs and verified at join;
//! - `compositions.rs`: compositions and their time-driven lifecycle;
//! - `configs.rs`: encoder and storage configurations; `ingest.rs`: ingest configurations;
//!   `public_keys.rs`: imported public keys; `tags.rs`: the shared `/tags/{resourceArn}` routes.
//!
//! Time-driven changes (a session's end, a composition's idle timeout, STOPPING → STOPPED) are
//! evaluated lazily, from `clock::now_millis`, at the start of every Real-Time call, control call
//! and state view ([`advance`]): no timer runs, and moving the emulator's clock
//! (`POST /_ivs-vcr/clock`) moves them all; a change is dated when it fell due, however late it
//! is evaluated. EventBridge events go into `Ctx::events`, for the emulator's event sink.
//!
//! Sources, cited where used: the model (`src/ivs/model/ivs-realtime.json`: shapes, constraints,
//! documented defaults, operation documentation); the Real-Time API reference,
//! <https://docs.aws.amazon.com/ivs/latest/RealTimeAPIReference/Welcome.html>; the Real-Time user
//! guide's service quotas, <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/service-quotas.html>,
//! token distribution, <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/getting-started-distribute-tokens.html>,
//! EventBridge events, <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/eventbridge.html>,
//! and monitoring (stage sessions), <https://docs.aws.amazon.com/ivs/latest/RealTimeUserGuide/stage-health.html>.

mod compositions;
mod configs;
mod ingest;
mod participants;
mod public_keys;
mod replication;
mod stages;
mod tags;
pub(crate) mod tokens;

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value};

use super::state::{object, set};
use super::{ApiError, Ctx};
use crate::ivs::{arn, Catalog, ErrorType, Kind, Operation, Service, ShapeId};
use crate::live::events::Event;

pub(crate) use ingest::encoder_key;
pub(crate) use participants::{join, leave, publish_with_key, JoinRequest};

/// A stage's resource type in its ARN.
pub(crate) const STAGE: &str = "stage";
/// A composition's resource type.
pub(crate) const COMPOSITION: &str = "composition";
/// An encoder configuration's resource type.
pub(crate) const ENCODER: &str = "encoder-configuration";
/// A storage configuration's resource type.
pub(crate) const STORAGE: &str = "storage-configuration";
/// An ingest configuration's resource type.
pub(crate) const INGEST: &str = "ingest-configuration";
/// An imported public key's resource type.
pub(crate) const PUBLIC_KEY: &str = "public-key";

/// Every Real-Time resource type, with the words messages use for it.
pub(crate) const NOUNS: [(&str, &str); 6] = [
    (STAGE, "stage"),
    (COMPOSITION, "composition"),
    (ENCODER, "encoder configuration"),
    (STORAGE, "storage configuration"),
    (INGEST, "ingest configuration"),
    (PUBLIC_KEY, "public key"),
];

/// The most bytes of `attributes` (keys and values together): "The maximum length of this field
/// is 1 KB total" (the model's documentation of every `attributes` member).
const MAX_ATTRIBUTE_BYTES: usize = 1024;

/// What a region keeps for Real-Time that is no resource of a store (in a snapshot as it is).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Live {
    /// The sessions of each stage, by stage id.
    pub stages: HashMap<String, participants::StageLife>,
    /// The timers of each composition, by composition id.
    pub compositions: HashMap<String, compositions::Timers>,
    /// Participant replications, oldest first.
    pub replicas: Vec<replication::Replica>,
    /// Participant records kept across the region's stages and sessions.
    pub n_participants: usize,
    /// Connection token ids revoked (RevokeConnectionToken), oldest first, bounded.
    pub revoked_connection_tokens: VecDeque<String>,
}

impl Live {
    /// The stage sessions and their participants, for `/_ivs-vcr/state`.
    pub(crate) fn snapshot(&self, region: &str, account: &str) -> Value {
        let mut stages = Map::new();
        let mut ids: Vec<&String> = self.stages.keys().collect();
        ids.sort();
        for id in ids {
            let life = &self.stages[id];
            stages.insert(
                arn::mint(region, account, STAGE, id),
                Value::Array(
                    life.sessions
                        .iter()
                        .map(participants::session_state)
                        .collect(),
                ),
            );
        }
        Value::Object(stages)
    }
}

fn catalog() -> &'static Catalog {
    Service::IvsRealTime.catalog()
}

/// Runs one Real-Time operation on a region's state.
pub(crate) fn run(
    op: &'static Operation,
    ctx: &mut Ctx<'_>,
    input: &Value,
) -> Result<Value, ApiError> {
    let now = crate::clock::now_millis();
    advance(ctx, now);
    match op.name {
        "CreateStage" => stages::create(ctx, input, now),
        "GetStage" => stages::get(ctx, input),
        "UpdateStage" => stages::update(ctx, input),
        "DeleteStage" => stages::delete(ctx, input, now),
        "ListStages" => stages::list(ctx, op, input),
        "CreateParticipantToken" => tokens::create(ctx, input, now),
        "RevokeConnectionToken" => tokens::revoke_connection(ctx, input),
        "GetStageSession" => participants::get_session(ctx, input),
        "ListStageSessions" => participants::list_sessions(ctx, op, input),
        "GetParticipant" => participants::get(ctx, input),
        "ListParticipants" => participants::list(ctx, op, input),
        "ListParticipantEvents" => participants::list_events(ctx, op, input),
        "DisconnectParticipant" => participants::disconnect(ctx, input, now),
        "StartParticipantReplication" => replication::start(ctx, input, now),
        "StopParticipantReplication" => replication::stop(ctx, input, now),
        "ListParticipantReplicas" => replication::list(ctx, op, input),
        "StartComposition" => compositions::start(ctx, input, now),
        "StopComposition" => compositions::stop(ctx, input, now),
        "GetComposition" => compositions::get(ctx, input),
        "ListCompositions" => compositions::list(ctx, op, input),
        "CreateEncoderConfiguration" => configs::create_encoder(ctx, input),
        "GetEncoderConfiguration" => configs::get(ctx, ENCODER, "encoderConfiguration", input),
        "DeleteEncoderConfiguration" => configs::delete(ctx, ENCODER, input),
        "ListEncoderConfigurations" => configs::list(ctx, ENCODER, op, input),
        "CreateStorageConfiguration" => configs::create_storage(ctx, input),
        "GetStorageConfiguration" => configs::get(ctx, STORAGE, "storageConfiguration", input),
        "DeleteStorageConfiguration" => configs::delete(ctx, STORAGE, input),
        "ListStorageConfigurations" => configs::list(ctx, STORAGE, op, input),
        "CreateIngestConfiguration" => ingest::create(ctx, input),
        "GetIngestConfiguration" => ingest::get(ctx, input),
        "UpdateIngestConfiguration" => ingest::update(ctx, input),
        "DeleteIngestConfiguration" => ingest::delete(ctx, input, now),
        "ListIngestConfigurations" => ingest::list(ctx, op, input),
        "ImportPublicKey" => public_keys::import(ctx, input),
        "GetPublicKey" => configs::get(ctx, PUBLIC_KEY, "publicKey", input),
        "DeletePublicKey" => public_keys::delete(ctx, input),
        "ListPublicKeys" => configs::list(ctx, PUBLIC_KEY, op, input),
        "TagResource" => tags::tag(ctx, input),
        "UntagResource" => tags::untag(ctx, input),
        "ListTagsForResource" => tags::list(ctx, input),
        // A model newer than this file; `every_realtime_operation_is_emulated` keeps this
        // unreachable for the bundled model.
        other => Err(ApiError::new(
            ErrorType::InternalServerException,
            format!("ivs-vcr does not emulate IVS Real-Time's `{other}` yet; replay a recording of it instead"),
        )),
    }
}

/// Applies every time-driven change due by `now` (milliseconds since the epoch).
pub(crate) fn advance(ctx: &mut Ctx<'_>, now: u64) {
    participants::advance(ctx, now);
    compositions::advance(ctx, now);
}

/// How messages name a resource type.
fn noun(resource_type: &str) -> &'static str {
    NOUNS
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map_or("resource", |(_, n)| n)
}

pub(crate) fn not_found(resource_type: &str, arn_text: &str) -> ApiError {
    ApiError::not_found(format!(
        "{} `{}` does not exist",
        noun(resource_type),
        crate::redact::printable(arn_text)
    ))
}

/// The id of the `resource_type` resource an ARN names in this region and account, if it exists.
/// An ARN of another region or account names nothing here (not found), as in IVS.
pub(crate) fn id_of<'a>(
    ctx: &Ctx<'_>,
    resource_type: &'static str,
    arn_text: &'a str,
) -> Result<&'a str, ApiError> {
    let parsed = arn::parse_ivs(arn_text)
        .filter(|a| a.resource_type == resource_type && !a.resource_id.is_empty());
    match parsed {
        None => Err(ApiError::validation(format!(
            "`{}` is not a {} ARN (arn:aws:ivs:<region>:<account>:{resource_type}/<id>)",
            crate::redact::printable(arn_text),
            noun(resource_type)
        ))),
        Some(a)
            if a.region != ctx.region_name
                || a.account != ctx.account
                || ctx.region.get(resource_type, a.resource_id).is_none() =>
        {
            Err(not_found(resource_type, arn_text))
        }
        Some(a) => Ok(a.resource_id),
    }
}

/// The ARN and id of a new resource: 12 alphanumerics, as Real-Time's ARNs show them.
pub(crate) fn mint(ctx: &mut Ctx<'_>, resource_type: &'static str) -> (String, String) {
    loop {
        let id = ctx.ids.alnum(12);
        if ctx.region.get(resource_type, &id).is_none() {
            return (
                arn::mint(ctx.region_name, ctx.account, resource_type, &id),
                id,
            );
        }
    }
}

/// A shape of Real-Time's model.
fn shape(name: &str) -> ShapeId {
    // Invariant: every name passed is a shape of the bundled model; the unit tests use each.
    catalog()
        .shape(name)
        .unwrap_or_else(|| panic!("`{name}` is a Real-Time shape"))
}

/// Fills in, recursively, the defaults the model documents for the members of a structure that
/// `value` does not carry; structures `value` carries are filled in the same way.
pub(crate) fn fill_defaults(shape_id: ShapeId, value: &mut Value) {
    let Value::Object(map) = value else {
        return;
    };
    for member in shape_id.get().members() {
        match map.get_mut(member.name) {
            Some(inner) if !inner.is_null() => {
                if matches!(member.shape.get().kind, Kind::Structure(_)) {
                    fill_defaults(member.shape, inner);
                }
            }
            _ => {
                if let Some(default) = member.default {
                    map.insert(member.name.to_owned(), default.to_json());
                }
            }
        }
    }
}

/// A ServiceQuotaExceededException naming the quota.
fn quota(what: &str, limit: usize) -> ApiError {
    ApiError::new(
        ErrorType::ServiceQuotaExceededException,
        format!("at most {limit} {what} per account and region (IVS Real-Time service quotas); delete one first"),
    )
}

/// The bytes of a string map's keys and values.
fn attribute_bytes(attributes: Option<&Value>) -> usize {
    attributes.and_then(Value::as_object).map_or(0, |map| {
        map.iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum()
    })
}

fn check_attributes(member: &str, attributes: Option<&Value>) -> Result<(), ApiError> {
    let n = attribute_bytes(attributes);
    if n > MAX_ATTRIBUTE_BYTES {
        return Err(ApiError::validation(format!(
            "{member}: {n} bytes of keys and values, at most {MAX_ATTRIBUTE_BYTES} (1 KB)"
        )));
    }
    Ok(())
}

/// `{member: value}`.
fn wrap(member: &str, value: Value) -> Value {
    let mut out = object();
    set(&mut out, member, value);
    out
}

/// An EventBridge event of Real-Time (`source` `aws.ivs`, as IVS's own).
fn event(ctx: &mut Ctx<'_>, detail_type: &'static str, resource: &str, detail: Value) {
    ctx.events.push(Event {
        source: "aws.ivs",
        detail_type,
        region: ctx.region_name.to_owned(),
        resources: vec![resource.to_owned()],
        detail,
    });
}

/// The tags of a create input, `{}` when none.
fn tags_of(input: &Value) -> Value {
    input
        .get("tags")
        .filter(|t| t.is_object())
        .cloned()
        .unwrap_or_else(object)
}

#[cfg(test)]
mod tests;
