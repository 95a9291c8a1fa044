//! Stages: Create (with up to 12 participant tokens), Get, Update, Delete, List.
//!
//! Documented: a stage's `endpoints` are where clients publish and subscribe (`whip`, `events`,
//! `rtmp`, `rtmps`; CreateStage and the RTMP publishing guide, which reads the RTMP(S) ingest
//! endpoint from them); `activeSessionId` is the session in progress, absent when none; the
//! `autoParticipantRecordingConfiguration` defaults ("Default: \"\"" storage, AUDIO_VIDEO,
//! thumbnails DISABLED every 60 s SEQUENTIAL, HLS segments of 6 s, no reconnect window,
//! replicas recorded), and "To disable individual participant recording, set this to \"\"; other
//! fields in this object will get reset to their default values" (the model); the configuration
//! "cannot be updated while recording is active" (UpdateStage); DeleteStage "Shuts down and
//! deletes the specified stage (disconnecting all participants)" and removes the stage ARN from
//! the ingest configurations that publish to it. A thumbnail `targetIntervalSeconds` is
//! "configurable only if recordingMode is INTERVAL" (`resource::check_thumbnail_interval`).
//!
//! Inferred: the endpoint hosts (`wss://global.events.live-video.net`,
//! `https://<12 hex>.global-bm.whip.live-video.net`, `rtmp(s)://<12 hex>.global-contribute.live-video.net[:443]/app/`)
//! follow the forms the API reference's examples show, with the account's prefix in the region
//! (`resource::endpoint_prefix`, which real tokens' `whip_url` shares with the account's channels); `name`
//! is `""` when not given; stages are bounded at [`MAX_STAGES`] per region (the quotas page's
//! stage quota could not be read in full here); compositions of a deleted stage stop.

use serde_json::Value;

use super::{
    compositions, fill_defaults, id_of, mint, participants, quota, shape, tags_of, tokens, wrap,
    INGEST, STAGE, STORAGE,
};
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::Operation;

/// Stages per region (inferred; see the module doc).
const MAX_STAGES: usize = 1_000;

/// The stage's individual participant recording configuration with its documented defaults;
/// a storage configuration it names must exist.
fn recording(ctx: &Ctx<'_>, given: Option<&Value>) -> Result<Value, ApiError> {
    let mut config = given
        .filter(|c| c.is_object())
        .cloned()
        .unwrap_or_else(|| serde_json::json!({ "storageConfigurationArn": "" }));
    let storage = text(&config, "storageConfigurationArn").to_owned();
    if storage.is_empty() {
        // "other fields in this object will get reset to their default values".
        config = serde_json::json!({ "storageConfigurationArn": "" });
    } else {
        id_of(ctx, STORAGE, &storage)?;
    }
    fill_defaults(shape("AutoParticipantRecordingConfiguration"), &mut config);
    // The documented defaults the catalog cannot type (lists, and prose without `Default:`).
    let defaults = serde_json::json!({
        "mediaTypes": ["AUDIO_VIDEO"],
        "thumbnailConfiguration": {},
        "recordingReconnectWindowSeconds": 0,
        "hlsConfiguration": {},
        "recordParticipantReplicas": true,
    });
    for (member, value) in defaults.as_object().into_iter().flatten() {
        if config.get(member).is_none_or(Value::is_null) {
            set(&mut config, member, value.clone());
        }
    }
    resource::check_thumbnail_interval(
        "autoParticipantRecordingConfiguration.thumbnailConfiguration",
        config.get("thumbnailConfiguration"),
        "DISABLED",
    )?;
    if let Some(thumbnails) = config.get_mut("thumbnailConfiguration") {
        fill_defaults(shape("ParticipantThumbnailConfiguration"), thumbnails);
        if thumbnails.get("storage").is_none() {
            set(thumbnails, "storage", serde_json::json!(["SEQUENTIAL"]));
        }
        if thumbnails.get("targetIntervalSeconds").is_none() {
            set(
                thumbnails,
                "targetIntervalSeconds",
                Value::from(resource::DEFAULT_THUMBNAIL_INTERVAL),
            );
        }
        if thumbnails.get("recordingMode").is_none() {
            set(thumbnails, "recordingMode", Value::from("DISABLED"));
        }
    }
    if let Some(hls) = config.get_mut("hlsConfiguration") {
        fill_defaults(shape("ParticipantRecordingHlsConfiguration"), hls);
        if hls.get("targetSegmentDurationSeconds").is_none() {
            set(hls, "targetSegmentDurationSeconds", Value::from(6));
        }
    }
    Ok(config)
}

fn endpoints(prefix: &str) -> Value {
    serde_json::json!({
        "events": "wss://global.events.live-video.net",
        "whip": format!("https://{prefix}.global-bm.whip.live-video.net"),
        "rtmp": format!("rtmp://{prefix}.global-contribute.live-video.net/app/"),
        "rtmps": format!("rtmps://{prefix}.global-contribute.live-video.net:443/app/"),
    })
}

pub(super) fn create(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    if ctx.region.count(STAGE) >= MAX_STAGES {
        return Err(quota("stages", MAX_STAGES));
    }
    let configurations: Vec<Value> = input
        .get("participantTokenConfigurations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, configuration) in configurations.iter().enumerate() {
        super::check_attributes(
            &format!("participantTokenConfigurations.{i}.attributes"),
            configuration.get("attributes"),
        )?;
    }
    let recording = recording(ctx, input.get("autoParticipantRecordingConfiguration"))?;
    let (arn, id) = mint(ctx, STAGE);
    let prefix = resource::endpoint_prefix(ctx.account, ctx.region_name);
    let mut stage = object();
    set(&mut stage, "arn", Value::from(arn));
    set(
        &mut stage,
        "name",
        input
            .get("name")
            .cloned()
            .unwrap_or_else(|| Value::from("")),
    );
    set(&mut stage, "tags", tags_of(input));
    set(
        &mut stage,
        "autoParticipantRecordingConfiguration",
        recording,
    );
    set(&mut stage, "endpoints", endpoints(&prefix));
    ctx.region.insert(STAGE, id, stage.clone());
    let tokens: Vec<Value> = configurations
        .iter()
        .map(|configuration| tokens::issue(ctx, &stage, configuration, now))
        .collect();
    let mut out = wrap("stage", stage);
    set(&mut out, "participantTokens", Value::Array(tokens));
    Ok(out)
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(ctx, STAGE, text(input, "arn"))?;
    // Invariant: `id_of` found it.
    Ok(wrap(
        "stage",
        ctx.region.get(STAGE, id).cloned().expect("found"),
    ))
}

pub(super) fn update(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = id_of(ctx, STAGE, arn)?.to_owned();
    let recording = match input.get("autoParticipantRecordingConfiguration") {
        Some(given) if given.is_object() => {
            if participants::recording_active(ctx, &id) {
                return Err(ApiError::conflict(format!(
                    "stage `{arn}` is recording participants; autoParticipantRecordingConfiguration cannot be updated while recording is active"
                )));
            }
            Some(recording(ctx, Some(given))?)
        }
        _ => None,
    };
    // Invariant: `id_of` found it.
    let stage = ctx.region.get_mut(STAGE, &id).expect("found");
    if let Some(name) = input.get("name").filter(|n| n.is_string()) {
        set(stage, "name", name.clone());
    }
    if let Some(recording) = recording {
        set(stage, "autoParticipantRecordingConfiguration", recording);
    }
    Ok(wrap("stage", stage.clone()))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let arn = text(input, "arn").to_owned();
    let id = id_of(ctx, STAGE, &arn)?.to_owned();
    participants::close_stage(ctx, &id, now);
    compositions::stop_for_stage(ctx, &arn, now);
    let publishing_to_it: Vec<String> = resource::all_of_type(ctx.region, INGEST)
        .filter(|c| text(c, "stageArn") == arn && text(c, "state") == "ACTIVE")
        .filter_map(|c| crate::ivs::arn::parse(text(c, "arn")).map(|a| a.resource_id.to_owned()))
        .collect();
    for ingest_id in publishing_to_it {
        if let Some(config) = ctx.region.get_mut(INGEST, &ingest_id) {
            set(config, "stageArn", Value::from(""));
        }
    }
    ctx.region.remove(STAGE, &id);
    if let Some(life) = ctx.region.realtime.stages.remove(&id) {
        let n: usize = life.sessions.iter().map(|s| s.participants.len()).sum();
        ctx.region.realtime.n_participants -= n;
    }
    Ok(object())
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let item = resource::item_shape(op);
    let empty = std::collections::BTreeMap::new();
    let store = ctx.region.store(STAGE).unwrap_or(&empty);
    resource::page(op, input, store, |_| true, |s| resource::project(s, item))
}
