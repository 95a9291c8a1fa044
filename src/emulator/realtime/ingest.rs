//! Ingest configurations: RTMP(S) publishing into a stage with a stream key.
//!
//! Documented (the model): "If this is set to RTMP, insecureIngest must be set to true"
//! (`ingestProtocol`; CreateIngestConfiguration lists no ConflictException, so it is a
//! ValidationException); `insecureIngest` and `redundantIngest` default to false; the state is
//! "ACTIVE if a publisher currently is publishing"; `redundantIngestCredentials` are "present
//! only when redundantIngest is set to true"; "Only the stage ARN attached to the
//! IngestConfiguration can be updated. An IngestConfiguration that is active cannot be updated"
//! (UpdateIngestConfiguration); one "cannot be deleted if the publisher is actively streaming to a
//! stage, unless force is set to true", and then "the participant is disconnected from the stage"
//! (DeleteIngestConfiguration); "Only one filter (by stage ARN or by state) can be used at a
//! time" (ListIngestConfigurations); the stream key matches `rt_<digits>_<region>_<id>_<secret>`
//! (the model's `StreamKey` pattern).
//!
//! Inferred: the key is `rt_<account>_<region>_<configuration id>_<36 alphanumerics>` (the
//! redaction in `redact::shape` takes the same form whole); a configuration stays INACTIVE until
//! something publishes with it (nothing can until RTMP ingest into stages lands); `name`,
//! `userId` and `stageArn` are `""` when not given; a `stageArn` of no existing stage is a
//! ValidationException; ingest configurations are bounded at [`MAX_INGEST`] per region.
//!
//! An RTMP encoder publishing with a key is registered with the emulator's encoders under
//! [`encoder_key`]; whatever disconnects its participant (DisconnectParticipant, DeleteStage,
//! DeleteIngestConfiguration with `force`, the control plane's leave) drops its connection, as
//! StopStream drops a channel's encoder. Documented: the participant "is disconnected"
//! (DeleteIngestConfiguration's `force`), DeleteStage is "disconnecting all participants", and
//! DisconnectParticipant's `participantId` is one "returned by … CreateIngestConfiguration (for
//! streams using RTMP ingest)" (the model; <https://docs.aws.amazon.com/ivs/latest/RealTimeAPIReference/API_DisconnectParticipant.html>).
//! Inferred: for an RTMP encoder, being disconnected is its connection closing (the guides say no
//! more; an encoder sees the same as for IVS's StopStream, "Disconnects the incoming RTMPS
//! stream").

use serde_json::Value;

use super::{check_attributes, id_of, mint, participants, quota, tags_of, wrap, INGEST, STAGE};
use crate::emulator::resource;
use crate::emulator::state::{object, set, text};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::Operation;

/// Ingest configurations per region (a bound; see the module doc).
const MAX_INGEST: usize = 1_000;

/// The name an RTMP encoder publishing as `participant_id` into a stage is registered under with
/// the emulator's encoders (`live::media::Encoders`, whose other names are channel ARNs: a
/// stage ARN followed by `/participant/…` is never one).
pub(crate) fn encoder_key(stage_arn: &str, participant_id: &str) -> String {
    format!("{stage_arn}/participant/{participant_id}")
}

/// The random tail of an ingest stream key: 30 alphanumerics, as in AWS's example
/// `rt_123456789012_us-west-2_AbCdEfGh1234_abcd1234efgh5678ijkl9012MNOP34`
/// (aws/aws-cli, `awscli/examples/ivs-realtime/get-ingest-configuration.rst`), the same length
/// as the tail of IVS channel stream keys; the model says only `rt_[0-9]+_[a-z0-9-]+_[a-zA-Z0-9-]+_.+`.
const RT_KEY_SECRET_LEN: usize = 30;

fn stream_key(ctx: &mut Ctx<'_>, id: &str) -> String {
    format!(
        "rt_{}_{}_{id}_{}",
        ctx.account,
        ctx.region_name,
        ctx.ids.alnum(RT_KEY_SECRET_LEN)
    )
}

/// A `stageArn` member: `""`, or a stage of this region.
fn check_stage(ctx: &Ctx<'_>, stage_arn: &str) -> Result<(), ApiError> {
    if stage_arn.is_empty() {
        return Ok(());
    }
    id_of(ctx, STAGE, stage_arn)
        .map(|_| ())
        .map_err(|e| ApiError::validation(format!("stageArn: {}", e.message)))
}

pub(super) fn create(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let protocol = text(input, "ingestProtocol").to_owned();
    let insecure = input
        .get("insecureIngest")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if protocol == "RTMP" && !insecure {
        return Err(ApiError::validation(
            "insecureIngest: must be true when ingestProtocol is RTMP (or use RTMPS)",
        ));
    }
    check_attributes("attributes", input.get("attributes"))?;
    let stage_arn = text(input, "stageArn").to_owned();
    check_stage(ctx, &stage_arn)?;
    if ctx.region.count(INGEST) >= MAX_INGEST {
        return Err(quota("ingest configurations", MAX_INGEST));
    }
    let redundant = input
        .get("redundantIngest")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (arn, id) = mint(ctx, INGEST);
    let key = stream_key(ctx, &id);
    let participant_id = ctx.ids.alnum(12);
    let mut config = object();
    set(
        &mut config,
        "name",
        input
            .get("name")
            .cloned()
            .unwrap_or_else(|| Value::from("")),
    );
    set(&mut config, "arn", Value::from(arn));
    set(&mut config, "ingestProtocol", Value::from(protocol));
    set(&mut config, "streamKey", Value::from(key));
    set(&mut config, "stageArn", Value::from(stage_arn));
    set(&mut config, "participantId", Value::from(participant_id));
    set(&mut config, "state", Value::from("INACTIVE"));
    set(&mut config, "userId", Value::from(text(input, "userId")));
    set(&mut config, "redundantIngest", Value::Bool(redundant));
    if redundant {
        let backup_participant = ctx.ids.alnum(12);
        let backup_key = stream_key(ctx, &id);
        set(
            &mut config,
            "redundantIngestCredentials",
            serde_json::json!([{"participantId": backup_participant, "streamKey": backup_key}]),
        );
    }
    set(
        &mut config,
        "attributes",
        input
            .get("attributes")
            .filter(|a| a.is_object())
            .cloned()
            .unwrap_or_else(object),
    );
    set(&mut config, "tags", tags_of(input));
    ctx.region.insert(INGEST, id, config.clone());
    Ok(wrap("ingestConfiguration", config))
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let id = id_of(ctx, INGEST, text(input, "arn"))?;
    // Invariant: `id_of` found it.
    Ok(wrap(
        "ingestConfiguration",
        ctx.region.get(INGEST, id).cloned().expect("found"),
    ))
}

pub(super) fn update(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = id_of(ctx, INGEST, arn)?.to_owned();
    // Invariant: `id_of` found it.
    if text(ctx.region.get(INGEST, &id).expect("found"), "state") == "ACTIVE" {
        return Err(ApiError::conflict(format!(
            "ingest configuration `{arn}` is active (a publisher is streaming with it); an active ingest configuration cannot be updated"
        )));
    }
    let stage_arn = input.get("stageArn").and_then(Value::as_str);
    if let Some(stage_arn) = stage_arn {
        check_stage(ctx, stage_arn)?;
    }
    let redundant = input.get("redundantIngest").and_then(Value::as_bool);
    let backup = match redundant {
        Some(true) => {
            let participant = ctx.ids.alnum(12);
            let key = stream_key(ctx, &id);
            Some(serde_json::json!([{"participantId": participant, "streamKey": key}]))
        }
        _ => None,
    };
    // Invariant: `id_of` found it above, and nothing removed it since.
    let config = ctx.region.get_mut(INGEST, &id).expect("found");
    if let Some(stage_arn) = stage_arn {
        set(config, "stageArn", Value::from(stage_arn));
    }
    if let Some(redundant) = redundant {
        let was = config.get("redundantIngest").and_then(Value::as_bool) == Some(true);
        set(config, "redundantIngest", Value::Bool(redundant));
        if !redundant {
            if let Value::Object(map) = config {
                map.remove("redundantIngestCredentials");
            }
        } else if !was {
            if let Some(backup) = backup {
                set(config, "redundantIngestCredentials", backup);
            }
        }
    }
    Ok(wrap("ingestConfiguration", config.clone()))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, input: &Value, now: u64) -> Result<Value, ApiError> {
    let arn = text(input, "arn");
    let id = id_of(ctx, INGEST, arn)?.to_owned();
    // Invariant: `id_of` found it above, and nothing removed it since.
    let config = ctx.region.get(INGEST, &id).cloned().expect("found");
    if text(&config, "state") == "ACTIVE" {
        let force = input.get("force").and_then(Value::as_bool).unwrap_or(false);
        if !force {
            return Err(ApiError::conflict(format!(
                "ingest configuration `{arn}` is active (a publisher is streaming with it); stop publishing first, or delete with force: true"
            )));
        }
        let stage_arn = text(&config, "stageArn");
        if !stage_arn.is_empty() {
            // The primary publisher and, with redundant ingest, the backup one (inferred: the
            // reference speaks of "the participant", and both publish with this configuration).
            for participant_id in participants::ingest_participants(&config) {
                let request = serde_json::json!({
                    "stageArn": stage_arn,
                    "participantId": participant_id,
                });
                // The publisher may already be gone; the deletion goes ahead either way.
                let _ = participants::disconnect(ctx, &request, now);
            }
        }
    }
    ctx.region.remove(INGEST, &id);
    Ok(object())
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let by_stage = text(input, "filterByStageArn").to_owned();
    let by_state = text(input, "filterByState").to_owned();
    if !by_stage.is_empty() && !by_state.is_empty() {
        return Err(ApiError::validation(
            "only one filter (filterByStageArn or filterByState) can be used at a time",
        ));
    }
    let item = resource::item_shape(op);
    let empty = std::collections::BTreeMap::new();
    let store = ctx.region.store(INGEST).unwrap_or(&empty);
    resource::page(
        op,
        input,
        store,
        |c| {
            (by_stage.is_empty() || text(c, "stageArn") == by_stage)
                && (by_state.is_empty() || text(c, "state") == by_state)
        },
        |c| resource::project(c, item),
    )
}
