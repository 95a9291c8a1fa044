//! Compositions: Start, Stop, Get, List, and their lifecycle, evaluated lazily from the clock
//! ([`advance`]).
//!
//! Documented (StartComposition and the model): "A Composition is an ephemeral resource";
//! it "stops and the resource is deleted" when StopComposition is called, "After a 1-minute
//! timeout, when all participants are disconnected from the stage", and "After a 1-minute
//! timeout, if there are no participants in the stage when StartComposition is called"; states
//! STARTING, ACTIVE, STOPPING, STOPPED and FAILED, and a destination's own; one destination
//! (channel or s3) or two (one of each), "Composition destinations: 2" and "Compositions: 5"
//! concurrent and "Composition: max duration 24" hours (service quotas); a channel destination's
//! channel "must be offline (not broadcasting)"; the layout is a grid unless given ("Default:
//! Grid layout"), with the grid's and pip's documented member defaults; EventBridge's `IVS
//! Composition State Change` events Session Start, Session End, Destination Start, Destination
//! End and Destination Failure (the EventBridge guide).
//!
//! Inferred: a composition goes ACTIVE once a participant is in its stage (the guide's Session
//! Start: "subscribed to the stage, receiving media"), and its channel destinations take their
//! channels LIVE (through the IVS emulator's `start_stream`) until it stops; a channel that
//! went live meanwhile fails its destination (Destination Failure), and a composition whose
//! destinations all failed is FAILED; STOPPING lasts [`STOPPING_MS`]; a STOPPED composition is
//! shown for [`STOPPED_KEPT_MS`] and then deleted; StopComposition of a composition already
//! stopping or stopped succeeds; the same `idempotencyToken` answers the composition it started;
//! a destination's S3 `recordingPrefix` is `<stage id>/<composition id>/<destination id>`; an
//! event's detail carries `event_name` and, for a destination, its `id`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    event, fill_defaults, id_of, mint, participants, quota, shape, tags_of, wrap, COMPOSITION,
    ENCODER, STAGE, STORAGE,
};
use crate::clock;
use crate::emulator::resource::{self, CHANNEL};
use crate::emulator::state::{object, set, text};
use crate::emulator::{ops, ApiError, Ctx};
use crate::ivs::{arn, Operation};

/// "Compositions: 5" concurrent per account (service quotas).
const MAX_COMPOSITIONS: usize = 5;
/// "After a 1-minute timeout" (StartComposition).
pub(crate) const IDLE_TIMEOUT_MS: u64 = 60_000;
/// "Composition: max duration 24" hours (service quotas).
const MAX_DURATION_MS: u64 = 24 * 3_600_000;
/// How long a stopping composition takes to stop (inferred).
pub(crate) const STOPPING_MS: u64 = 1_000;
/// How long a stopped composition stays readable before it is deleted (inferred).
pub(crate) const STOPPED_KEPT_MS: u64 = 300_000;
/// The most stopped compositions kept meanwhile, the oldest deleted first (a bound).
const MAX_STOPPED_KEPT: usize = 100;

/// What drives a composition's lifecycle besides its resource.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Timers {
    /// When it started (milliseconds).
    pub started: u64,
    /// When it began stopping.
    pub stopping_since: Option<u64>,
    /// When it stopped.
    pub stopped_at: Option<u64>,
    /// The idempotency token it was started with.
    pub idempotency: Option<String>,
}

fn state(composition: &Value) -> &str {
    text(composition, "state")
}

fn is_over(state: &str) -> bool {
    matches!(state, "STOPPED" | "FAILED")
}

pub(super) fn start(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let stage_arn = text(input, "stageArn").to_owned();
    let stage_id = id_of(ctx, STAGE, &stage_arn)?.to_owned();
    if let Some(token) = input.get("idempotencyToken").and_then(Value::as_str) {
        let earlier = ctx
            .region
            .realtime
            .compositions
            .iter()
            .find(|(_, t)| t.idempotency.as_deref() == Some(token))
            .map(|(id, _)| id.clone());
        if let Some(found) = earlier.and_then(|id| ctx.region.get(COMPOSITION, &id)) {
            return Ok(wrap("composition", found.clone()));
        }
    }
    let running = resource::all_of_type(ctx.region, COMPOSITION)
        .filter(|c| !is_over(state(c)))
        .count();
    if running >= MAX_COMPOSITIONS {
        return Err(quota("concurrent compositions", MAX_COMPOSITIONS));
    }
    let destinations = input
        .get("destinations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (mut channels, mut buckets) = (0, 0);
    for (i, destination) in destinations.iter().enumerate() {
        let channel = destination.get("channel").filter(|c| c.is_object());
        let s3 = destination.get("s3").filter(|c| c.is_object());
        match (channel, s3) {
            (Some(channel), None) => {
                channels += 1;
                check_channel(ctx, channel)?;
            }
            (None, Some(s3)) => {
                buckets += 1;
                id_of(ctx, STORAGE, text(s3, "storageConfigurationArn"))?;
                for encoder in s3
                    .get("encoderConfigurationArns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    id_of(ctx, ENCODER, encoder.as_str().unwrap_or(""))?;
                }
            }
            _ => {
                return Err(ApiError::validation(format!(
                    "destinations.{i}: exactly one of `channel` or `s3` is required"
                )))
            }
        }
    }
    if channels > 1 || buckets > 1 {
        return Err(ApiError::validation(
            "destinations: one destination (channel or s3), or two (one channel and one s3)",
        ));
    }
    let (composition_arn, composition_id) = mint(ctx, COMPOSITION);
    let mut layout = input
        .get("layout")
        .filter(|l| l.is_object())
        .cloned()
        .unwrap_or_else(object);
    if layout.get("grid").is_none() && layout.get("pip").is_none() {
        set(&mut layout, "grid", object());
    }
    fill_defaults(shape("LayoutConfiguration"), &mut layout);
    let destinations: Vec<Value> = destinations
        .into_iter()
        .map(|mut configuration| {
            let id = ctx.ids.alnum(12);
            let mut destination = serde_json::json!({"id": id, "state": "STARTING"});
            if let Some(s3) = configuration.get_mut("s3") {
                fill_defaults(shape("S3DestinationConfiguration"), s3);
                if s3.get("recordingConfiguration").is_none() {
                    // "HLS" is `RecordingConfigurationFormat`'s only value.
                    set(s3, "recordingConfiguration", serde_json::json!({"format": "HLS"}));
                }
                if let Some(recording) = s3.get_mut("recordingConfiguration") {
                    if recording.get("hlsConfiguration").is_none() {
                        set(recording, "hlsConfiguration", object());
                    }
                    fill_defaults(shape("RecordingConfiguration"), recording);
                }
                thumbnail_defaults(s3);
                set(
                    &mut destination,
                    "detail",
                    serde_json::json!({"s3": {"recordingPrefix": format!("{stage_id}/{composition_id}/{id}")}}),
                );
            }
            set(&mut destination, "configuration", configuration);
            destination
        })
        .collect();
    let mut composition = object();
    set(&mut composition, "arn", Value::from(composition_arn));
    set(&mut composition, "stageArn", Value::from(stage_arn));
    set(&mut composition, "state", Value::from("STARTING"));
    set(&mut composition, "layout", layout);
    set(&mut composition, "destinations", Value::Array(destinations));
    set(&mut composition, "tags", tags_of(input));
    set(
        &mut composition,
        "startTime",
        Value::from(clock::iso8601(now / 1000)),
    );
    ctx.region
        .insert(COMPOSITION, composition_id.clone(), composition.clone());
    ctx.region.realtime.compositions.insert(
        composition_id,
        Timers {
            started: now,
            idempotency: input
                .get("idempotencyToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
            ..Timers::default()
        },
    );
    Ok(wrap("composition", composition))
}

/// Gives each of an S3 destination's `thumbnailConfigurations` the defaults
/// `CompositionThumbnailConfiguration` documents: "Default: 60" (`targetIntervalSeconds`) and
/// "Default: SEQUENTIAL" (`storage`, a list the catalog cannot type). The list itself stays as
/// given: the model states no default for it.
fn thumbnail_defaults(s3: &mut Value) {
    let Some(Value::Array(thumbnails)) = s3.get_mut("thumbnailConfigurations") else {
        return;
    };
    for thumbnail in thumbnails.iter_mut().filter(|t| t.is_object()) {
        fill_defaults(shape("CompositionThumbnailConfiguration"), thumbnail);
        if thumbnail.get("storage").is_none_or(Value::is_null) {
            set(thumbnail, "storage", serde_json::json!(["SEQUENTIAL"]));
        }
    }
}

/// A channel destination's checks: the channel and encoder configuration exist, and the
/// channel is offline and no other composition broadcasts to it.
fn check_channel(ctx: &Ctx<'_>, channel: &Value) -> Result<(), ApiError> {
    let channel_arn = text(channel, "channelArn");
    let channel_id = resource::id_in(ctx, CHANNEL, channel_arn)?;
    if ctx.region.get(CHANNEL.resource_type, channel_id).is_none() {
        return Err(resource::not_found(CHANNEL, channel_arn));
    }
    let encoder = text(channel, "encoderConfigurationArn");
    if !encoder.is_empty() {
        id_of(ctx, ENCODER, encoder)?;
    }
    if ctx.region.live.contains_key(channel_id) {
        return Err(ApiError::conflict(format!(
            "channel `{channel_arn}` is broadcasting; a composition's channel must be offline (stop its stream first)"
        )));
    }
    let used = resource::all_of_type(ctx.region, COMPOSITION)
        .filter(|c| !is_over(state(c)))
        .find(|c| channel_arns(c).iter().any(|a| a == channel_arn));
    if let Some(other) = used {
        return Err(ApiError::conflict(format!(
            "channel `{channel_arn}` is the destination of composition `{}`",
            text(other, "arn")
        )));
    }
    Ok(())
}

fn channel_arns(composition: &Value) -> Vec<String> {
    composition
        .get("destinations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.pointer("/configuration/channel/channelArn"))
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

pub(super) fn stop(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let id = id_of(ctx, COMPOSITION, text(input, "arn"))?.to_owned();
    begin_stop(ctx, &id, now);
    Ok(object())
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(ctx, COMPOSITION, text(input, "arn"))?;
    // Invariant: `id_of` found it.
    Ok(wrap(
        "composition",
        ctx.region.get(COMPOSITION, id).cloned().expect("found"),
    ))
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let by_stage = text(input, "filterByStageArn").to_owned();
    let by_encoder = text(input, "filterByEncoderConfigurationArn").to_owned();
    let empty = BTreeMap::new();
    let store = ctx.region.store(COMPOSITION).unwrap_or(&empty);
    resource::page(
        op,
        input,
        store,
        |c| {
            (by_stage.is_empty() || text(c, "stageArn") == by_stage)
                && (by_encoder.is_empty()
                    || c.get("destinations")
                        .is_some_and(|d| d.to_string().contains(&format!("\"{by_encoder}\""))))
        },
        summary,
    )
}

/// A composition as `CompositionSummary`: its destinations as `DestinationSummary`.
fn summary(composition: &Value) -> Value {
    let mut out = resource::project(composition, shape("CompositionSummary"));
    if let Some(Value::Array(destinations)) = out.get_mut("destinations") {
        for destination in destinations.iter_mut() {
            *destination = resource::project(destination, shape("DestinationSummary"));
        }
    }
    out
}

/// Stops every composition of a stage (DeleteStage).
pub(crate) fn stop_for_stage(ctx: &mut Ctx<'_>, stage_arn: &str, now: u64) {
    let ids: Vec<String> = ctx
        .region
        .store(COMPOSITION)
        .into_iter()
        .flatten()
        .filter(|(_, c)| text(c, "stageArn") == stage_arn && !is_over(state(c)))
        .map(|(id, _)| id.clone())
        .collect();
    for id in ids {
        begin_stop(ctx, &id, now);
    }
}

/// Applies every lifecycle change due by `now`, in time order per composition.
pub(crate) fn advance(ctx: &mut Ctx<'_>, now: u64) {
    let ids: Vec<String> = ctx.region.realtime.compositions.keys().cloned().collect();
    for id in ids {
        // At most one step of each kind is due: STARTING → ACTIVE → STOPPING → STOPPED → gone.
        for _ in 0..4 {
            if !step(ctx, &id, now) {
                break;
            }
        }
    }
}

/// One lifecycle step of a composition, if one is due; whether it took one.
fn step(ctx: &mut Ctx<'_>, id: &str, now: u64) -> bool {
    let Some(timers) = ctx.region.realtime.compositions.get(id).cloned() else {
        return false;
    };
    let Some(composition) = ctx.region.get(COMPOSITION, id) else {
        ctx.region.realtime.compositions.remove(id);
        return false;
    };
    let current = state(composition).to_owned();
    let stage_id = arn::parse(text(composition, "stageArn"))
        .map(|a| a.resource_id.to_owned())
        .unwrap_or_default();
    let (occupied, empty_since) = participants::occupancy(ctx, &stage_id);
    // The moment the idle timeout started: the later of the start and the stage emptying.
    let idle_from = timers.started.max(empty_since.unwrap_or(timers.started));
    match current.as_str() {
        "STARTING" | "ACTIVE" => {
            let deadline = timers.started + MAX_DURATION_MS;
            if !occupied && now >= idle_from + IDLE_TIMEOUT_MS {
                begin_stop(ctx, id, idle_from + IDLE_TIMEOUT_MS);
                true
            } else if now >= deadline {
                begin_stop(ctx, id, deadline);
                true
            } else if current == "STARTING" && occupied {
                activate(ctx, id, now);
                true
            } else {
                false
            }
        }
        "STOPPING" => {
            let since = timers.stopping_since.unwrap_or(now);
            if now >= since + STOPPING_MS {
                finish(ctx, id, since + STOPPING_MS);
                true
            } else {
                false
            }
        }
        _ => {
            let stopped = timers.stopped_at.unwrap_or(now);
            if now >= stopped + STOPPED_KEPT_MS {
                ctx.region.remove(COMPOSITION, id);
                ctx.region.realtime.compositions.remove(id);
            }
            false
        }
    }
}

fn composition_event(
    ctx: &mut Ctx<'_>,
    composition_arn: &str,
    name: &str,
    destination: Option<&str>,
) {
    let mut detail = serde_json::json!({ "event_name": name });
    if let Some(id) = destination {
        set(&mut detail, "id", Value::from(id));
    }
    event(ctx, "IVS Composition State Change", composition_arn, detail);
}

/// STARTING → ACTIVE: each destination starts; a channel goes live.
fn activate(ctx: &mut Ctx<'_>, id: &str, now: u64) {
    let Some(composition) = ctx.region.get(COMPOSITION, id).cloned() else {
        return;
    };
    let composition_arn = text(&composition, "arn").to_owned();
    let time = clock::iso8601(now / 1000);
    let mut destinations = composition
        .get("destinations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut outcomes = Vec::new();
    for destination in &mut destinations {
        let channel = destination
            .pointer("/configuration/channel/channelArn")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let ok = match channel {
            Some(channel_arn) => ops::start_stream(ctx, &channel_arn, None, 0).is_ok(),
            None => true,
        };
        let destination_id = text(destination, "id").to_owned();
        if ok {
            set(destination, "state", Value::from("ACTIVE"));
            set(destination, "startTime", Value::from(time.as_str()));
        } else {
            set(destination, "state", Value::from("FAILED"));
            set(destination, "endTime", Value::from(time.as_str()));
        }
        outcomes.push((destination_id, ok));
    }
    let any_ok = outcomes.iter().any(|(_, ok)| *ok);
    if let Some(stored) = ctx.region.get_mut(COMPOSITION, id) {
        set(stored, "destinations", Value::Array(destinations));
        if any_ok {
            set(stored, "state", Value::from("ACTIVE"));
        } else {
            set(stored, "state", Value::from("FAILED"));
            set(stored, "endTime", Value::from(time.as_str()));
        }
    }
    if !any_ok {
        if let Some(timers) = ctx.region.realtime.compositions.get_mut(id) {
            timers.stopped_at = Some(now);
        }
    }
    composition_event(
        ctx,
        &composition_arn,
        if any_ok {
            "Session Start"
        } else {
            "Session Failure"
        },
        None,
    );
    for (destination_id, ok) in outcomes {
        let name = if ok {
            "Destination Start"
        } else {
            "Destination Failure"
        };
        composition_event(ctx, &composition_arn, name, Some(&destination_id));
    }
}

/// → STOPPING at `at`: the broadcasts stop.
fn begin_stop(ctx: &mut Ctx<'_>, id: &str, at: u64) {
    let Some(composition) = ctx.region.get(COMPOSITION, id).cloned() else {
        return;
    };
    if matches!(state(&composition), "STOPPING" | "STOPPED" | "FAILED") {
        return;
    }
    let mut destinations = composition
        .get("destinations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for destination in &mut destinations {
        let was_active = text(destination, "state") == "ACTIVE";
        if was_active {
            if let Some(channel_arn) = destination
                .pointer("/configuration/channel/channelArn")
                .and_then(Value::as_str)
                .map(str::to_owned)
            {
                // The composition's own broadcast; already stopped by StopStream otherwise.
                let _ = ops::stop_stream(ctx, &channel_arn);
            }
        }
        if text(destination, "state") != "FAILED" {
            set(destination, "state", Value::from("STOPPING"));
        }
    }
    if let Some(stored) = ctx.region.get_mut(COMPOSITION, id) {
        set(stored, "destinations", Value::Array(destinations));
        set(stored, "state", Value::from("STOPPING"));
    }
    if let Some(timers) = ctx.region.realtime.compositions.get_mut(id) {
        timers.stopping_since = Some(at);
    }
}

/// STOPPING → STOPPED at `at`.
fn finish(ctx: &mut Ctx<'_>, id: &str, at: u64) {
    let time = clock::iso8601(at / 1000);
    let Some(stored) = ctx.region.get_mut(COMPOSITION, id) else {
        return;
    };
    let composition_arn = text(stored, "arn").to_owned();
    let mut ended = Vec::new();
    if let Some(Value::Array(destinations)) = stored.get_mut("destinations") {
        for destination in destinations.iter_mut() {
            if text(destination, "state") == "STOPPING" {
                set(destination, "state", Value::from("STOPPED"));
                set(destination, "endTime", Value::from(time.as_str()));
                ended.push(text(destination, "id").to_owned());
            }
        }
    }
    set(stored, "state", Value::from("STOPPED"));
    set(stored, "endTime", Value::from(time.as_str()));
    if let Some(timers) = ctx.region.realtime.compositions.get_mut(id) {
        timers.stopped_at = Some(at);
    }
    for destination_id in ended {
        composition_event(
            ctx,
            &composition_arn,
            "Destination End",
            Some(&destination_id),
        );
    }
    composition_event(ctx, &composition_arn, "Session End", None);
    forget_oldest_stopped(ctx);
}

/// Deletes the oldest stopped compositions beyond [`MAX_STOPPED_KEPT`].
fn forget_oldest_stopped(ctx: &mut Ctx<'_>) {
    let mut stopped: Vec<(u64, String)> = ctx
        .region
        .realtime
        .compositions
        .iter()
        .filter_map(|(id, t)| t.stopped_at.map(|at| (at, id.clone())))
        .collect();
    if stopped.len() <= MAX_STOPPED_KEPT {
        return;
    }
    stopped.sort();
    for (_, id) in &stopped[..stopped.len() - MAX_STOPPED_KEPT] {
        ctx.region.remove(COMPOSITION, id);
        ctx.region.realtime.compositions.remove(id);
    }
}
