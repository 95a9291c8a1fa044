//! Channels and their stream keys.
//!
//! Documented behaviour implemented here (IVS API reference, ../shared/ivs/API.md):
//! - CreateChannel creates the channel's stream key; a channel has at most one ("limit of 1
//!   stream key per channel": CreateStreamKey on a channel that has one is
//!   ServiceQuotaExceededException); DeleteChannel deletes its stream keys.
//! - Deleting or updating a live channel is a ConflictException.
//! - ListChannels filters are mutually exclusive: two at once is a ConflictException.
//! - A channel naming a recording configuration (or policy, ad configuration, slate) that does not
//!   exist is a ResourceNotFoundException.
//! - Channel defaults: the model's documented ones, and `preset: ""` for BASIC and STANDARD
//!   channels (AWS CLI examples); ADVANCED channels default to HIGHER_BANDWIDTH_DELIVERY.
//! - Quota: 5,000 channels per region (IVS service quotas; not in the model).
//! - Multitrack input (the model's `MultitrackInputConfiguration.enabled` and `containerFormat`):
//!   `enabled: true` "can be set to true only if channel type is STANDARD", and then `policy`,
//!   `maximumResolution` and `containerFormat` are required, `containerFormat` being
//!   `FRAGMENTED_MP4`. Anything else "will cause an exception": a ValidationException here, the
//!   exception the model lists for bad input (inferred: the model does not name it). An update is
//!   checked as the channel would be after it, so changing the type of a multitrack channel is
//!   refused too.
//!
//! Inferred: `filterByName` matches the whole name; a new channel's `name` is `""` when none is
//! given; `multitrackInputConfiguration` reads back as `{enabled: false, policy: ALLOW,
//! maximumResolution: FULL_HD}` when none is given (as AWS CLI examples of newer channels show).

use serde_json::Value;

use super::configs::REFERENCED;
use crate::emulator::resource::{self, CHANNEL, STREAM_KEY};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{ErrorType, Operation};

const CHANNEL_QUOTA: usize = 5_000;

/// The shortest and longest SRT passphrase minted (see `new_channel`).
const SRT_PASSPHRASE_MIN: usize = 69;
const SRT_PASSPHRASE_MAX: usize = 79;

const FILTERS: [(&str, &str); 5] = [
    ("filterByName", "name"),
    (
        "filterByRecordingConfigurationArn",
        "recordingConfigurationArn",
    ),
    (
        "filterByPlaybackRestrictionPolicyArn",
        "playbackRestrictionPolicyArn",
    ),
    ("filterByAdConfigurationArn", "adConfigurationArn"),
    (
        "filterByFailoverSlateConfigurationArn",
        "failoverSlateConfigurationArn",
    ),
];

fn check_references(ctx: &Ctx<'_>, input: &Value) -> Result<(), ApiError> {
    for (family, member) in REFERENCED {
        resource::check_reference(ctx, family, input, member)?;
    }
    Ok(())
}

fn is_advanced(channel_type: &str) -> bool {
    channel_type.starts_with("ADVANCED_")
}

/// Multitrack settings as a channel reads them back: what was given, over `enabled: false`,
/// `policy: ALLOW`, `maximumResolution: FULL_HD` (inferred from AWS CLI examples; the model
/// documents only `enabled`'s default).
fn settle_multitrack(channel: &mut Value) {
    let mut settings =
        serde_json::json!({"enabled": false, "policy": "ALLOW", "maximumResolution": "FULL_HD"});
    if let Some(Value::Object(given)) = channel.get("multitrackInputConfiguration") {
        for (k, v) in given {
            set(&mut settings, k, v.clone());
        }
    }
    set(channel, "multitrackInputConfiguration", settings);
}

/// The preset a channel of `channel_type` has when none (or one that does not apply) is given.
fn settle_preset(channel: &mut Value) {
    let advanced = is_advanced(text(channel, "type"));
    let preset = text(channel, "preset");
    if !advanced {
        set(channel, "preset", Value::from(""));
    } else if preset.is_empty() {
        set(channel, "preset", Value::from("HIGHER_BANDWIDTH_DELIVERY"));
    }
}

/// The multitrack rules (module doc) for a channel of `channel_type` and `container_format`
/// whose input gave `multitrack` (the settings as given: `policy` and `maximumResolution` must
/// be given, not defaulted, when enabling).
fn check_multitrack(
    channel_type: &str,
    container_format: &str,
    multitrack: Option<&Value>,
) -> Result<(), ApiError> {
    let Some(multitrack) = multitrack else {
        return Ok(());
    };
    if multitrack.get("enabled").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    if channel_type != "STANDARD" {
        return Err(ApiError::validation(format!(
            "multitrackInputConfiguration.enabled: multitrack input can be enabled only on a STANDARD channel, not {channel_type}; set type to STANDARD or disable multitrack"
        )));
    }
    for member in ["policy", "maximumResolution"] {
        if multitrack.get(member).is_none_or(Value::is_null) {
            return Err(ApiError::validation(format!(
                "multitrackInputConfiguration.{member}: required when multitrack input is enabled"
            )));
        }
    }
    if container_format != "FRAGMENTED_MP4" {
        return Err(ApiError::validation(format!(
            "containerFormat: must be FRAGMENTED_MP4 when multitrack input is enabled, not {container_format}"
        )));
    }
    Ok(())
}

/// A string member of the input, else of the channel (or its default when it has none yet).
fn given_or<'v>(
    input: &'v Value,
    channel: Option<&'v Value>,
    member: &str,
    default: &'v str,
) -> &'v str {
    match input.get(member).and_then(Value::as_str) {
        Some(given) => given,
        None => channel
            .and_then(|c| c.get(member))
            .and_then(Value::as_str)
            .unwrap_or(default),
    }
}

pub(super) fn create(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    // Defaults documented on CreateChannel's members: type STANDARD, containerFormat TS.
    check_multitrack(
        given_or(input, None, "type", "STANDARD"),
        given_or(input, None, "containerFormat", "TS"),
        input.get("multitrackInputConfiguration"),
    )?;
    if ctx.region.count(CHANNEL.resource_type) >= CHANNEL_QUOTA {
        return Err(ApiError::new(
            ErrorType::ServiceQuotaExceededException,
            format!("at most {CHANNEL_QUOTA} channels per region"),
        ));
    }
    check_references(ctx, input)?;
    let (arn, id) = resource::mint(ctx, CHANNEL);
    let channel = new_channel(ctx, op, input, &arn, &id);
    let key = new_key(ctx, &arn, object());
    ctx.region
        .insert(CHANNEL.resource_type, id, channel.clone());
    let mut out = resource::wrap("channel", channel);
    set(&mut out, "streamKey", key);
    Ok(out)
}

/// A channel with IVS's defaults and the given id, without a stream key, for `verify`'s seeding.
pub(crate) fn seed(ctx: &mut Ctx<'_>, id: &str) {
    // Invariant: CreateChannel is in every model this emulator is built from.
    let op = crate::ivs::operation("CreateChannel").expect("CreateChannel is modeled");
    let arn = crate::ivs::arn::mint(ctx.region_name, ctx.account, CHANNEL.resource_type, id);
    let channel = new_channel(ctx, op, &object(), &arn, id);
    ctx.region
        .insert(CHANNEL.resource_type, id.to_owned(), channel);
}

fn new_channel(ctx: &mut Ctx<'_>, op: &Operation, input: &Value, arn: &str, id: &str) -> Value {
    let mut channel = resource::build(CHANNEL, op.input, input);
    let host = resource::endpoint_prefix(ctx.account, ctx.region_name);
    // The SRT passphrase: alphanumerics, 69 in AWS's own examples (the low-latency user guide's
    // <https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/getting-started-set-up-streaming.html>
    // `ZU5A3yrj…`, and awscli/examples/ivs/create-channel.rst) and 79 in a recorded CreateChannel
    // answer (79 is also SRT's longest passphrase); the length is drawn from that range.
    let span = (SRT_PASSPHRASE_MAX - SRT_PASSPHRASE_MIN + 1) as u64;
    let passphrase_len = SRT_PASSPHRASE_MIN + (ctx.ids.next_u64() % span) as usize;
    let passphrase = ctx.ids.alnum(passphrase_len);
    let (region, account) = (ctx.region_name, ctx.account);
    set(&mut channel, "arn", Value::from(arn));
    for (member, default) in [
        ("name", Value::from("")),
        ("tags", object()),
        ("recordingConfigurationArn", Value::from("")),
        ("playbackRestrictionPolicyArn", Value::from("")),
        ("adConfigurationArn", Value::from("")),
        ("failoverSlateConfigurationArn", Value::from("")),
    ] {
        if channel.get(member).is_none() {
            set(&mut channel, member, default);
        }
    }
    settle_multitrack(&mut channel);
    set(
        &mut channel,
        "ingestEndpoint",
        Value::from(format!("{host}.global-contribute.live-video.net")),
    );
    let path = format!("/api/video/v1/{region}.{account}.channel.{id}.m3u8");
    let playback_url = match ctx.playback_base {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => format!("https://{host}.{region}.playback.live-video.net{path}"),
    };
    set(&mut channel, "playbackUrl", Value::from(playback_url));
    set(
        &mut channel,
        "srt",
        serde_json::json!({
            "endpoint": format!("{host}.srt.live-video.net"),
            "passphrase": passphrase,
        }),
    );
    settle_preset(&mut channel);
    channel
}

/// Makes and stores a stream key for a channel (whose ARN is valid and exists).
fn new_key(ctx: &mut Ctx<'_>, channel_arn: &str, tags: Value) -> Value {
    let (arn, id) = resource::mint(ctx, STREAM_KEY);
    // IVS's shape: `sk_<region>_<the key's own ARN id>_<30 alphanumerics>`, as real keys are
    // (`sk_us-east-1_C5gGm0Ss2WAZ_KaVm…`), so what redaction recognises is what IVS returns.
    let value = format!("sk_{}_{id}_{}", ctx.region_name, ctx.ids.alnum(30));
    let key = serde_json::json!({
        "arn": arn,
        "value": value,
        "channelArn": channel_arn,
        "tags": tags,
    });
    let channel_id = channel_arn
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    ctx.region
        .keys_by_channel
        .entry(channel_id)
        .or_default()
        .push(id.clone());
    ctx.region.insert(STREAM_KEY.resource_type, id, key.clone());
    key
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let channel = resource::find(ctx, CHANNEL, text(input, "arn"))?.clone();
    Ok(resource::wrap("channel", channel))
}

/// BatchGet: the found resources, and an entry in `errors[]` for each ARN that names none
/// (an HTTP 200, as IVS answers partial failures).
fn batch(ctx: &Ctx<'_>, family: resource::Family, input: &Value, found_member: &str) -> Value {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for arn in input
        .get("arns")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        match resource::find(ctx, family, arn) {
            Ok(resource) => found.push(resource.clone()),
            Err(err) => errors.push(serde_json::json!({
                "arn": arn,
                "code": err.kind.name(),
                "message": err.message,
            })),
        }
    }
    let mut out = object();
    set(&mut out, found_member, Value::Array(found));
    set(&mut out, "errors", Value::Array(errors));
    out
}

pub(super) fn batch_get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    Ok(batch(ctx, CHANNEL, input, "channels"))
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let given: Vec<(&str, &str)> = FILTERS
        .into_iter()
        .filter(|(filter, _)| input.get(*filter).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() > 1 {
        return Err(ApiError::conflict(format!(
            "filters are mutually exclusive, but {} were given: {}",
            given.len(),
            given.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
        )));
    }
    let filter = given
        .first()
        .map(|(filter, member)| (text(input, filter).to_owned(), *member));
    let shape = resource::item_shape(op);
    let empty = Default::default();
    let store = ctx.region.store(CHANNEL.resource_type).unwrap_or(&empty);
    resource::page(
        op,
        input,
        store,
        |channel| match &filter {
            None => true,
            Some((wanted, member)) => text(channel, member) == wanted,
        },
        |channel| resource::project(channel, shape),
    )
}

fn live_conflict(ctx: &Ctx<'_>, id: &str, arn: &str, doing: &str) -> Result<(), ApiError> {
    if ctx.region.live.contains_key(id) {
        return Err(ApiError::conflict(format!(
            "channel `{arn}` is live; stop its stream before you {doing} it"
        )));
    }
    Ok(())
}

pub(super) fn update(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, CHANNEL, arn)?.to_owned();
    if ctx.region.get(CHANNEL.resource_type, &id).is_none() {
        return Err(resource::not_found(CHANNEL, arn));
    }
    live_conflict(ctx, &id, arn, "update")?;
    check_references(ctx, input)?;
    let current = ctx.region.get(CHANNEL.resource_type, &id);
    // The channel's settings as they read back already hold `policy` and `maximumResolution`.
    let multitrack = input
        .get("multitrackInputConfiguration")
        .or_else(|| current.and_then(|c| c.get("multitrackInputConfiguration")));
    check_multitrack(
        given_or(input, current, "type", "STANDARD"),
        given_or(input, current, "containerFormat", "TS"),
        multitrack,
    )?;
    // Invariant: checked just above that the channel exists.
    let channel = ctx
        .region
        .get_mut(CHANNEL.resource_type, &id)
        .expect("channel exists");
    resource::update(CHANNEL, op.input, channel, input);
    settle_preset(channel);
    settle_multitrack(channel);
    Ok(resource::wrap("channel", channel.clone()))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, CHANNEL, arn)?.to_owned();
    if ctx.region.get(CHANNEL.resource_type, &id).is_none() {
        return Err(resource::not_found(CHANNEL, arn));
    }
    live_conflict(ctx, &id, arn, "delete")?;
    ctx.region.remove(CHANNEL.resource_type, &id);
    for key in ctx.region.keys_by_channel.remove(&id).unwrap_or_default() {
        ctx.region.remove(STREAM_KEY.resource_type, &key);
    }
    ctx.region.sessions.remove(&id);
    Ok(object())
}

pub(super) fn create_key(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let channel_arn = text(input, "channelArn");
    let id = resource::id_in(ctx, CHANNEL, channel_arn)?.to_owned();
    if ctx.region.get(CHANNEL.resource_type, &id).is_none() {
        return Err(resource::not_found(CHANNEL, channel_arn));
    }
    if ctx
        .region
        .keys_by_channel
        .get(&id)
        .is_some_and(|keys| !keys.is_empty())
    {
        return Err(ApiError::new(
            ErrorType::ServiceQuotaExceededException,
            format!(
                "channel `{channel_arn}` already has a stream key (limit 1 per channel); delete it with DeleteStreamKey first"
            ),
        ));
    }
    let tags = input.get("tags").cloned().unwrap_or_else(object);
    let key = new_key(ctx, channel_arn, tags);
    Ok(resource::wrap("streamKey", key))
}

pub(super) fn get_key(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let key = resource::find(ctx, STREAM_KEY, text(input, "arn"))?.clone();
    Ok(resource::wrap("streamKey", key))
}

pub(super) fn batch_get_keys(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    Ok(batch(ctx, STREAM_KEY, input, "streamKeys"))
}

pub(super) fn list_keys(
    ctx: &mut Ctx<'_>,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let channel_arn = text(input, "channelArn");
    let id = resource::id_in(ctx, CHANNEL, channel_arn)?.to_owned();
    if ctx.region.get(CHANNEL.resource_type, &id).is_none() {
        return Err(resource::not_found(CHANNEL, channel_arn));
    }
    let shape = resource::item_shape(op);
    let keys: std::collections::BTreeMap<String, Value> = ctx
        .region
        .keys_by_channel
        .get(&id)
        .into_iter()
        .flatten()
        .filter_map(|key| {
            let value = ctx.region.get(STREAM_KEY.resource_type, key)?;
            Some((key.clone(), value.clone()))
        })
        .collect();
    resource::page(
        op,
        input,
        &keys,
        |_| true,
        |key| resource::project(key, shape),
    )
}

/// Documented: StopStream "can be used in conjunction with DeleteStreamKey to prevent further
/// streaming to a channel" (API reference, StopStream): deleting the key a live stream uses
/// leaves the stream live, and the next publish with it is refused (`live::ingest`).
pub(super) fn delete_key(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = resource::id_in(ctx, STREAM_KEY, arn)?.to_owned();
    let key = ctx
        .region
        .remove(STREAM_KEY.resource_type, &id)
        .ok_or_else(|| resource::not_found(STREAM_KEY, arn))?;
    let channel_id = text(&key, "channelArn")
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if let Some(keys) = ctx.region.keys_by_channel.get_mut(channel_id) {
        keys.retain(|k| *k != id);
    }
    Ok(object())
}
