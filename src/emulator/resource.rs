//! What every resource family shares, derived from the model rather than written per family:
//! building a resource from its create input (members the input and the resource shape share,
//! with the defaults IVS documents), projecting it onto a summary shape, finding it by ARN, and
//! paging a store with the operation's own pagination members and default page size.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::state::{object, text, Region};
use super::{ApiError, Ctx};
use crate::ivs::{arn, Kind, Operation, ShapeId};

/// A family of resources: how its ARNs name it, its model shape, and the word messages use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    /// The resource type in its ARNs (`channel`, `stream-key`, …).
    pub resource_type: &'static str,
    /// The model shape a resource is kept as (`Channel`, `StreamKey`, …).
    pub shape: &'static str,
    /// How messages name it.
    pub noun: &'static str,
    /// The member a Get, Create or Update answer holds it under (`channel`, `streamKey`, …).
    pub member: &'static str,
}

pub(crate) const CHANNEL: Family = Family {
    resource_type: "channel",
    shape: "Channel",
    noun: "channel",
    member: "channel",
};
pub(crate) const STREAM_KEY: Family = Family {
    resource_type: "stream-key",
    shape: "StreamKey",
    noun: "stream key",
    member: "streamKey",
};
pub(crate) const KEY_PAIR: Family = Family {
    resource_type: "playback-key",
    shape: "PlaybackKeyPair",
    noun: "playback key pair",
    member: "keyPair",
};
pub(crate) const RECORDING: Family = Family {
    resource_type: "recording-configuration",
    shape: "RecordingConfiguration",
    noun: "recording configuration",
    member: "recordingConfiguration",
};
pub(crate) const POLICY: Family = Family {
    resource_type: "playback-restriction-policy",
    shape: "PlaybackRestrictionPolicy",
    noun: "playback restriction policy",
    member: "playbackRestrictionPolicy",
};
pub(crate) const AD: Family = Family {
    resource_type: "ad-configuration",
    shape: "AdConfiguration",
    noun: "ad configuration",
    member: "adConfiguration",
};
pub(crate) const SLATE: Family = Family {
    resource_type: "failover-slate-configuration",
    shape: "FailoverSlateConfiguration",
    noun: "failover slate configuration",
    member: "failoverSlateConfiguration",
};

/// Every taggable family (all of them: IVS tags every resource it names by ARN).
pub(crate) const FAMILIES: [Family; 7] =
    [CHANNEL, STREAM_KEY, KEY_PAIR, RECORDING, POLICY, AD, SLATE];

pub(crate) fn family_of(resource_type: &str) -> Option<Family> {
    FAMILIES
        .into_iter()
        .find(|f| f.resource_type == resource_type)
}

fn shape(name: &str) -> ShapeId {
    // Invariant: every family names a shape of the generated model; the emulator's tests use each.
    ShapeId::by_name(name).expect("family shapes are model shapes")
}

/// A new resource of `family`: every member its shape shares with `input_shape` taken from the
/// input, or else from the default IVS documents for it (on the input member or the resource
/// member). Members the input does not carry and no default covers are left for the caller.
pub(crate) fn build(family: Family, input_shape: Option<ShapeId>, input: &Value) -> Value {
    let mut out = Map::new();
    let input_shape = input_shape.map(ShapeId::get);
    for member in shape(family.shape).get().members() {
        let from_input = input_shape.and_then(|s| s.member(member.name));
        if from_input.is_none() {
            if let Some(default) = member.default {
                out.insert(member.name.to_owned(), default.to_json());
            }
            continue;
        }
        match input.get(member.name) {
            Some(value) if !value.is_null() => {
                out.insert(member.name.to_owned(), value.clone());
            }
            _ => {
                if let Some(default) = from_input.and_then(|m| m.default).or(member.default) {
                    out.insert(member.name.to_owned(), default.to_json());
                }
            }
        }
    }
    Value::Object(out)
}

/// Applies an update: every member of `input` that both the update's input shape and the
/// resource shape have, except `arn` (which names the resource). A member the update does not
/// take (`tags` sent to UpdateChannel) changes nothing, as IVS ignores members it does not model.
pub(crate) fn update(
    family: Family,
    input_shape: Option<ShapeId>,
    resource: &mut Value,
    input: &Value,
) {
    let shape = shape(family.shape).get();
    let Some(input_shape) = input_shape.map(ShapeId::get) else {
        return;
    };
    let (Value::Object(target), Value::Object(changes)) = (resource, input) else {
        return;
    };
    for (name, value) in changes {
        if name != "arn"
            && !value.is_null()
            && shape.member(name).is_some()
            && input_shape.member(name).is_some()
        {
            target.insert(name.clone(), value.clone());
        }
    }
}

/// The members of `value` that `shape` (a structure) has, in the resource's order.
pub(crate) fn project(value: &Value, shape: ShapeId) -> Value {
    let spec = shape.get();
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| spec.member(k).is_some())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The id of the resource an ARN names, if it names one of `family` in this region and account.
/// An ARN of another region or account names nothing here: IVS answers it as not found
/// (inferred: the API reference's GetChannel and its kin document no access to another account's
/// resources, and an ARN that names none of the caller's is a resource that does not exist for
/// it — https://docs.aws.amazon.com/ivs/latest/LowLatencyAPIReference/API_GetChannel.html).
pub(crate) fn id_in<'a>(ctx: &Ctx<'_>, family: Family, text: &'a str) -> Result<&'a str, ApiError> {
    let parsed = arn::parse_ivs(text).filter(|a| a.resource_type == family.resource_type);
    match parsed {
        None => Err(ApiError::validation(format!(
            "`{text}` is not a {} ARN (arn:aws:ivs:<region>:<account>:{}/<id>)",
            family.noun, family.resource_type
        ))),
        Some(a) if a.region != ctx.region_name || a.account != ctx.account => {
            Err(not_found(family, text))
        }
        Some(a) => Ok(a.resource_id),
    }
}

pub(crate) fn not_found(family: Family, arn: &str) -> ApiError {
    ApiError::not_found(format!("{} `{arn}` does not exist", family.noun))
}

/// The resource an ARN member of the input names.
pub(crate) fn find<'r>(ctx: &'r Ctx<'_>, family: Family, arn: &str) -> Result<&'r Value, ApiError> {
    let id = id_in(ctx, family, arn)?;
    ctx.region
        .get(family.resource_type, id)
        .ok_or_else(|| not_found(family, arn))
}

/// Checks that an optional reference (`recordingConfigurationArn` and the like; `""` means
/// none) names an existing resource: IVS answers a dangling one with ResourceNotFoundException.
pub(crate) fn check_reference(
    ctx: &Ctx<'_>,
    family: Family,
    input: &Value,
    member: &str,
) -> Result<(), ApiError> {
    let arn = text(input, member);
    if arn.is_empty() {
        return Ok(());
    }
    find(ctx, family, arn).map(|_| ())
}

/// The 12 lowercase hex digits that open an account's endpoint hosts in a region: the channels'
/// `<prefix>.global-contribute.live-video.net` ingest endpoint, `<prefix>.srt.live-video.net` and
/// `https://<prefix>.<region>.playback.live-video.net/…` playback URLs, and the stages'
/// `https://<prefix>.global-bm.whip.live-video.net` and RTMP(S) endpoints.
///
/// Real answers share one prefix across an account's resources: every Kick streamer's ingest
/// server is `fa723fc1b171.global-contribute.live-video.net` (Kick is one IVS account; repository
/// Albinator3000/aws3-globalgaming and many others quote it), and one account's channels and stage
/// tokens all name `7453a0e95db4` for ingest and WHIP (repository SunilDevX/flutter_ivs_stage,
/// `example/lib/main.dart`). Per account *and region* is inferred (no real answer shows one account
/// in two regions). It is a hash of the two, so it needs no state and never changes.
pub(crate) fn endpoint_prefix(account: &str, region: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("ivs-vcr endpoint prefix/{account}/{region}"))[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The ARN and id of a new resource.
pub(crate) fn mint(ctx: &mut Ctx<'_>, family: Family) -> (String, String) {
    loop {
        let id = ctx.ids.alnum(12);
        if ctx.region.get(family.resource_type, &id).is_none() {
            return (
                arn::mint(ctx.region_name, ctx.account, family.resource_type, &id),
                id,
            );
        }
    }
}

/// One page of a List operation, as `{<result_key>: [...], <output_token>?: "..."}`.
///
/// The pagination members come from the model's paginators, the default page size from the
/// documented default of the limit member (`Default: 1` for ListStreamKeys, 100 for ListChannels).
/// A token is the id of the first item of its page, so a page is a range read from it; the last
/// page carries no token. `keep` filters and `show` renders each item.
pub(crate) fn page(
    op: &Operation,
    input: &Value,
    items: &BTreeMap<String, Value>,
    mut keep: impl FnMut(&Value) -> bool,
    mut show: impl FnMut(&Value) -> Value,
) -> Result<Value, ApiError> {
    // Invariant: `ops` calls `page` only for the operations the model paginates.
    let pagination = op
        .pagination
        .expect("page is called for paginated operations");
    let limit = op
        .input
        .and_then(|s| s.get().member(pagination.limit_key))
        .and_then(|m| m.default)
        .and_then(|d| match d {
            crate::ivs::Default::Int(n) => Some(n),
            _ => None,
        })
        .unwrap_or(100);
    let limit = input
        .get(pagination.limit_key)
        .and_then(Value::as_i64)
        .unwrap_or(limit)
        .max(1) as usize;
    let token = text(input, pagination.input_token);
    if !token.is_empty() && !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ApiError::validation(format!(
            "{}: `{token}` is not a token this service issued",
            pagination.input_token
        )));
    }
    let mut found = Vec::new();
    let mut next = None;
    // Items are keyed by id in order and a token is the id a page starts at, so a page is a range
    // read: its cost does not grow with the items before it.
    let start = match token {
        "" => std::ops::Bound::Unbounded,
        token => std::ops::Bound::Included(token),
    };
    for (id, item) in items.range::<str, _>((start, std::ops::Bound::Unbounded)) {
        if !keep(item) {
            continue;
        }
        if found.len() == limit {
            next = Some(id.clone());
            break;
        }
        found.push(show(item));
    }
    let mut out = Map::new();
    out.insert(pagination.result_key.to_owned(), Value::Array(found));
    if let Some(next) = next {
        out.insert(pagination.output_token.to_owned(), Value::String(next));
    }
    Ok(Value::Object(out))
}

/// The summary shape of a List operation's items, from its output shape.
pub(crate) fn item_shape(op: &Operation) -> ShapeId {
    // Invariant: a paginated operation's result member is a list of structures in the model.
    let pagination = op.pagination.expect("paginated operation");
    let output = op.output.expect("paginated operations have output").get();
    let list = output
        .member(pagination.result_key)
        .expect("result member in the output shape")
        .shape;
    match list.get().kind {
        Kind::List { member, .. } => member,
        _ => panic!("result member is a list"),
    }
}

/// The resource wrapped as an operation's output member: `{member: resource}`.
pub(crate) fn wrap(member: &str, resource: Value) -> Value {
    let mut out = object();
    super::state::set(&mut out, member, resource);
    out
}

/// Every resource of a family in a region, in id order.
pub(crate) fn all_of(region: &Region, family: Family) -> impl Iterator<Item = &Value> {
    region
        .store(family.resource_type)
        .into_iter()
        .flat_map(|s| s.values())
}

/// Every resource of a resource type in a region, in id order (for services whose families are
/// not IVS's [`Family`]).
pub(crate) fn all_of_type<'r>(
    region: &'r Region,
    resource_type: &'static str,
) -> impl Iterator<Item = &'r Value> {
    region
        .store(resource_type)
        .into_iter()
        .flat_map(|s| s.values())
}

/// The thumbnail interval a recording configuration may carry: IVS's `ThumbnailConfiguration`
/// documents `targetIntervalSeconds` as "configurable (and required) only if recordingMode is
/// INTERVAL", Real-Time's `ParticipantThumbnailConfiguration` as "configurable only if
/// recordingMode is INTERVAL", so one given with another mode (`default_mode` when none is given)
/// is a ValidationException. Inferred: the documented default (60), which reads back whatever the
/// mode, is taken with any mode, so that a configuration read back can be sent again.
pub(crate) fn check_thumbnail_interval(
    member: &str,
    thumbnails: Option<&Value>,
    default_mode: &str,
) -> Result<(), ApiError> {
    let Some(thumbnails) = thumbnails else {
        return Ok(());
    };
    let mode = thumbnails
        .get("recordingMode")
        .and_then(Value::as_str)
        .unwrap_or(default_mode);
    match thumbnails.get("targetIntervalSeconds").and_then(Value::as_i64) {
        Some(interval) if mode != "INTERVAL" && interval != DEFAULT_THUMBNAIL_INTERVAL => {
            Err(ApiError::validation(format!(
                "{member}.targetIntervalSeconds: configurable only if recordingMode is INTERVAL (it is {mode}); set recordingMode to INTERVAL, or leave targetIntervalSeconds out"
            )))
        }
        _ => Ok(()),
    }
}

/// `targetIntervalSeconds`' documented default ("Default: 60").
pub(crate) const DEFAULT_THUMBNAIL_INTERVAL: i64 = 60;
