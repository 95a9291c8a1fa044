//! The EventBridge events of a channel's streams and recordings, as "Using Amazon EventBridge with
//! IVS Low-Latency Streaming" documents them
//! (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/eventbridge.html>), pushed into
//! the operation's context (`Ctx::events`); `streams.rs` decides when.
//!
//! Documented, from the guide's examples: every event's `resources` is the channel's ARN (the
//! account-wide limit breaches have none); IVS Stream State Change and IVS Stream Health Change
//! carry `{event_name, channel_name, stream_id}`; IVS Recording State Change carries
//! `{channel_name, stream_id, recording_status, recording_status_reason,
//! recording_s3_bucket_name, recording_s3_key_prefix, recording_duration_ms,
//! recording_session_id}`, and Recording End also `recording_session_stream_ids`; a Recording
//! Start Failure has an empty key prefix and its reason in `recording_status_reason`. The S3
//! prefix is `ivs/v1/<account>/<channel id>/<year>/<month>/<day>/<hours>/<minutes>/<recording id>`
//! with the UTC time the recording starts, numbers unpadded (`2020/6/23/20/12`), per "IVS
//! Auto-Record to Amazon S3" (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/record-to-s3.html>).
//! Inferred: the recording id and `recording_session_id` are 12 characters of `[A-Za-z0-9]`, as
//! in the guides' examples (`j8Z9O91ndcVs`); `recording_duration_ms` is 0 at the start (as the
//! example shows) and the time the recording's streams were live at the end; a Recording Start
//! Failure carries no `recording_session_id` (the guide's example is cut before its end).
//! Not sent: IVS Limit Breach, since the emulator enforces no concurrent-broadcast or viewer
//! quota and the model states no per-type ingest limit (ingest that measures one would push the
//! documented `{limit_name, limit_value, exceeded_by, limit_unit, channel_name, stream_id}`);
//! Stream Failure and Stream Takeover (no transcoding capacity, no takeover); Recording End
//! Failure (nothing fails as an S3 write does).

use serde_json::{json, Value};

use crate::clock;
use crate::emulator::state::{text, Recording};
use crate::emulator::Ctx;
use crate::live::events::Event;

pub(super) const STREAM_STATE: &str = "IVS Stream State Change";
pub(super) const STREAM_HEALTH: &str = "IVS Stream Health Change";
pub(super) const RECORDING_STATE: &str = "IVS Recording State Change";

/// An IVS Stream State Change or IVS Stream Health Change event of `channel`'s stream.
pub(super) fn stream(
    ctx: &mut Ctx<'_>,
    detail_type: &'static str,
    channel: &Value,
    stream_id: &str,
    name: &str,
) {
    let detail = json!({
        "event_name": name,
        "channel_name": text(channel, "name"),
        "stream_id": stream_id,
    });
    push(ctx, detail_type, channel, detail);
}

fn push(ctx: &mut Ctx<'_>, detail_type: &'static str, channel: &Value, detail: Value) {
    let event = Event::ivs(
        detail_type,
        ctx.region_name,
        vec![text(channel, "arn").to_owned()],
        detail,
    );
    ctx.events.push(event);
}

/// A recording of `channel`'s stream `stream_id` to `config`, starting now: its id and prefix.
pub(super) fn new_recording(
    ctx: &mut Ctx<'_>,
    channel_id: &str,
    stream_id: &str,
    config: &Value,
) -> Recording {
    let (year, month, day, hour, minute) = clock::civil_minute(clock::now_millis() / 1000);
    let recording_id = ctx.ids.alnum(12);
    let prefix = format!(
        "ivs/v1/{}/{channel_id}/{year}/{month}/{day}/{hour}/{minute}/{recording_id}",
        ctx.account
    );
    Recording {
        session_id: ctx.ids.alnum(12),
        config_arn: text(config, "arn").to_owned(),
        bucket: bucket_of(config).to_owned(),
        prefix,
        window_secs: config
            .get("recordingReconnectWindowSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        stream_ids: vec![stream_id.to_owned()],
        recorded_ms: 0,
    }
}

/// The S3 bucket of a recording configuration.
pub(super) fn bucket_of(config: &Value) -> &str {
    config
        .pointer("/destinationConfiguration/s3/bucketName")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// An IVS Recording State Change event: `status` of `recording`, for `channel`'s stream.
pub(super) fn recording(
    ctx: &mut Ctx<'_>,
    channel: &Value,
    stream_id: &str,
    status: &str,
    recording: &Recording,
    duration_ms: u64,
) -> Event {
    let mut detail = json!({
        "channel_name": text(channel, "name"),
        "stream_id": stream_id,
        "recording_status": status,
        "recording_status_reason": "",
        "recording_s3_bucket_name": recording.bucket,
        "recording_s3_key_prefix": recording.prefix,
        "recording_duration_ms": duration_ms,
        "recording_session_id": recording.session_id,
    });
    if status == "Recording End" {
        detail["recording_session_stream_ids"] = json!(recording.stream_ids);
    }
    Event::ivs(
        RECORDING_STATE,
        ctx.region_name,
        vec![text(channel, "arn").to_owned()],
        detail,
    )
}

/// The Recording Start Failure of `channel`'s stream: nothing is recorded, for `reason`.
pub(super) fn recording_start_failure(
    ctx: &mut Ctx<'_>,
    channel: &Value,
    stream_id: &str,
    bucket: &str,
    reason: &str,
) {
    let detail = json!({
        "channel_name": text(channel, "name"),
        "stream_id": stream_id,
        "recording_status": "Recording Start Failure",
        "recording_status_reason": reason,
        "recording_s3_bucket_name": bucket,
        "recording_s3_key_prefix": "",
        "recording_duration_ms": 0,
    });
    push(ctx, RECORDING_STATE, channel, detail);
}
