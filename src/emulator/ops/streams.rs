//! Live streams, stream sessions, timed metadata, ad breaks and viewer-session revocations.
//!
//! Nothing can push video to an emulator, so a channel goes live through the control plane
//! ([`start_stream`], as an encoder connecting would) and goes offline through StopStream or
//! [`stop_stream`]. A start opens a stream session and a stop ends it.
//!
//! Documented: GetStream, StopStream, PutMetadata and InsertAdBreak on a channel that is not live
//! are ChannelNotBroadcasting; GetStreamSession without `streamId` answers the latest session;
//! PutMetadata takes at most 1 KB, at most 5 calls per second per channel and 155 per second per
//! account (ThrottlingException beyond either).
//! Inferred: the account's 155 are counted across its regions, as "per account" reads; the
//! documentation does not say whether IVS counts them per region, as it does its quotas.
//! Documented: ListStreamSessions lists "streams that a channel has had for up to 60 days"
//! (<https://docs.aws.amazon.com/ivs/latest/userguide/stream-health.html>), so IVS forgets old
//! sessions; the emulator keeps the newest `EmulatorLimits::max_sessions_per_channel` (100 by
//! default, one page) and forgets the oldest beyond, which in a test's lifetime is the closest to
//! that retention a count can be.
//! Inferred: a revocation is an action, never read back, so the emulator keeps only the newest
//! `EmulatorLimits::max_revocations` per region (forgetting the oldest, never refusing one).
//! Documented: a start sends IVS Stream State Change `Session Created` then `Stream Start`, a stop
//! `Stream End` then `Session Ended`, a stream that starves IVS Stream Health Change `Starvation
//! Start` and one that recovers `Starvation End`, and a channel with a recording configuration IVS
//! Recording State Change `Recording Start` and `Recording End` (`stream_events.rs` builds them).
//! The session's `truncatedEvents` list the same events as StreamEvent (`name`, `type`,
//! `eventTime`), newest first and at most 500: "The list is sorted by most recent events and
//! contains up to 500 events" (the model's `StreamSession.truncatedEvents`). A recording configuration's `recordingReconnectWindowSeconds` merges a stream
//! that starts again within the window into the same recording (same S3 prefix), and "Recording
//! End events ... are delayed by at least recordingReconnectWindowSeconds"
//! (<https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/record-to-s3.html>); at most 20
//! streams are merged. Inferred: a merged stream sends no second Recording Start (the recording
//! goes on); the documented conditions on the streams' media (same resolution, frame rate, codecs,
//! bitrate within 50%) are not checked, as the control call has no media; a configuration that is
//! not ACTIVE gives a Recording Start Failure whose reason is its state; health `UNKNOWN` sends no
//! health event. An ad break on a channel with no ad configuration is a ConflictException.

use serde_json::Value;

use crate::clock;
use crate::emulator::resource::{self, CHANNEL, RECORDING};
use crate::emulator::state::{object, set, text, Live, PendingRecording, Recording, Session};
use crate::emulator::Later;
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{ErrorType, Operation};

use super::stream_events::{self as events, RECORDING_STATE, STREAM_HEALTH, STREAM_STATE};

fn channel_id(ctx: &Ctx<'_>, arn: &str) -> Result<String, ApiError> {
    let id = resource::id_in(ctx, CHANNEL, arn)?.to_owned();
    if ctx.region.get(CHANNEL.resource_type, &id).is_none() {
        return Err(resource::not_found(CHANNEL, arn));
    }
    Ok(id)
}

fn not_broadcasting(arn: &str) -> ApiError {
    ApiError::new(
        ErrorType::ChannelNotBroadcasting,
        format!("channel `{arn}` is not live (start a stream with POST /_ivs-vcr/streams/start)"),
    )
}

fn live_of<'r>(ctx: &'r Ctx<'_>, arn: &str) -> Result<(String, &'r Live), ApiError> {
    let id = channel_id(ctx, arn)?;
    match ctx.region.live.get(&id) {
        Some(live) => Ok((id, live)),
        None => Err(not_broadcasting(arn)),
    }
}

fn event(name: &str, time: &str) -> Value {
    typed_event(name, STREAM_STATE, time)
}

fn typed_event(name: &str, detail_type: &str, time: &str) -> Value {
    serde_json::json!({"name": name, "type": detail_type, "eventTime": time})
}

/// How much later than its reconnect window a held Recording End is sent: the window is "at
/// least" the delay, and a stream that starts again just inside it must cancel the event first.
const RECONNECT_SLACK: std::time::Duration = std::time::Duration::from_millis(500);

/// IVS merges at most this many streams into one recording.
const MAX_MERGED_STREAMS: usize = 20;

/// Checks a StreamHealth value.
fn check_health(health: &str) -> Result<(), ApiError> {
    if matches!(health, "HEALTHY" | "STARVING" | "UNKNOWN") {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "health: {health:?} is not one of HEALTHY, STARVING, UNKNOWN"
        )))
    }
}

fn stream_json(ctx: &Ctx<'_>, channel_id: &str, live: &Live) -> Value {
    let channel = ctx.region.get(CHANNEL.resource_type, channel_id);
    serde_json::json!({
        "channelArn": channel.map(|c| text(c, "arn")).unwrap_or_default(),
        "streamId": live.stream_id,
        "playbackUrl": channel.map(|c| text(c, "playbackUrl")).unwrap_or_default(),
        "startTime": live.start_time,
        "state": "LIVE",
        "health": live.health,
        "viewerCount": live.viewer_count,
    })
}

/// Takes a channel live, as an encoder connecting would: a new stream and stream session.
/// `health` is one of the model's StreamHealth values (HEALTHY unless given).
pub(crate) fn start_stream(
    ctx: &mut Ctx<'_>,
    channel_arn: &str,
    health: Option<&str>,
    viewer_count: i64,
) -> Result<Value, ApiError> {
    let id = channel_id(ctx, channel_arn)?;
    if ctx.region.live.contains_key(&id) {
        return Err(ApiError::conflict(format!(
            "channel `{channel_arn}` is already live"
        )));
    }
    let health = health.unwrap_or("HEALTHY");
    check_health(health)?;
    // StreamId: `st-` and 23 characters, 26 in all, as the model's length bounds say.
    let stream_id = format!("st-{}", ctx.ids.alnum(23));
    let now = clock::now();
    let now_ms = clock::now_millis();
    // Invariant: `channel_id` checked that the channel exists.
    let channel = ctx
        .region
        .get(CHANNEL.resource_type, &id)
        .cloned()
        .expect("channel exists");
    let config = match text(&channel, "recordingConfigurationArn") {
        "" => None,
        arn => resource::find(ctx, RECORDING, arn).ok().cloned(),
    };
    let mut session_events = vec![event("Session Created", &now), event("Stream Start", &now)];
    events::stream(ctx, STREAM_STATE, &channel, &stream_id, "Session Created");
    events::stream(ctx, STREAM_STATE, &channel, &stream_id, "Stream Start");
    if health == "STARVING" {
        events::stream(ctx, STREAM_HEALTH, &channel, &stream_id, "Starvation Start");
        session_events.push(typed_event("Starvation Start", STREAM_HEALTH, &now));
    }
    let recording = config
        .as_ref()
        .and_then(|config| start_recording(ctx, &id, &channel, &stream_id, config, now_ms));
    if let Some(recording) = &recording {
        let name = if recording.stream_ids.len() == 1 {
            "Recording Start"
        } else {
            // Merged into a recording whose Recording End is held back: it is not sent.
            ctx.later.push(Later::Cancel(recording.session_id.clone()));
            ""
        };
        if !name.is_empty() {
            let event = events::recording(ctx, &channel, &stream_id, name, recording, 0);
            ctx.events.push(event);
            session_events.push(typed_event(name, RECORDING_STATE, &now));
        }
    }
    let live = Live {
        stream_id: stream_id.clone(),
        start_time: now.clone(),
        health: health.to_owned(),
        viewer_count,
        recording,
        started_ms: now_ms,
        encoder: false,
    };
    let sessions = ctx.region.sessions.entry(id.clone()).or_default();
    sessions.push(Session {
        stream_id,
        start_time: now.clone(),
        end_time: None,
        channel,
        recording: config,
        events: session_events,
        ingest: None,
    });
    // The new session is the live one and always stays.
    let excess = sessions
        .len()
        .saturating_sub(ctx.limits.max_sessions_per_channel.max(1));
    sessions.drain(..excess);
    let stream = stream_json(ctx, &id, &live);
    ctx.region.live.insert(id, live);
    Ok(resource::wrap("stream", stream))
}

/// The recording a stream starting now is part of: the channel's held one when the stream is back
/// within its reconnect window, else a new one; `None` (after a Recording Start Failure) when the
/// configuration cannot record.
fn start_recording(
    ctx: &mut Ctx<'_>,
    channel_id: &str,
    channel: &Value,
    stream_id: &str,
    config: &Value,
    now_ms: u64,
) -> Option<Recording> {
    if let Some(pending) = ctx.region.pending_recordings.remove(channel_id) {
        let held = pending.recording;
        let within = now_ms.saturating_sub(pending.ended_ms) <= held.window_secs * 1000;
        if within
            && held.config_arn == text(config, "arn")
            && held.stream_ids.len() < MAX_MERGED_STREAMS
        {
            let mut merged = held;
            merged.stream_ids.push(stream_id.to_owned());
            return Some(merged);
        }
        // Otherwise its Recording End is on its way (or already sent).
    }
    let state = text(config, "state");
    if state != "ACTIVE" {
        let bucket = events::bucket_of(config).to_owned();
        events::recording_start_failure(
            ctx,
            channel,
            stream_id,
            &bucket,
            &format!("the recording configuration is {state}, not ACTIVE"),
        );
        return None;
    }
    Some(events::new_recording(ctx, channel_id, stream_id, config))
}

/// Takes a channel offline and ends its stream session.
pub(crate) fn stop_stream(ctx: &mut Ctx<'_>, channel_arn: &str) -> Result<Value, ApiError> {
    let (id, _) = live_of(ctx, channel_arn)?;
    // Invariant: `live_of` found it.
    let live = ctx.region.live.remove(&id).expect("the channel is live");
    // An encoder connected through ingest is dropped, as StopStream "disconnects the incoming
    // RTMPS stream" (IVS API reference, StopStream).
    ctx.stopped.push(channel_arn.to_owned());
    let now = clock::now();
    let now_ms = clock::now_millis();
    let channel = ctx
        .region
        .get(CHANNEL.resource_type, &id)
        .cloned()
        .unwrap_or_default();
    events::stream(ctx, STREAM_STATE, &channel, &live.stream_id, "Stream End");
    events::stream(
        ctx,
        STREAM_STATE,
        &channel,
        &live.stream_id,
        "Session Ended",
    );
    let mut session_events = vec![event("Stream End", &now), event("Session Ended", &now)];
    if let Some(mut recording) = live.recording {
        recording.recorded_ms += now_ms.saturating_sub(live.started_ms);
        let end = events::recording(
            ctx,
            &channel,
            &live.stream_id,
            "Recording End",
            &recording,
            recording.recorded_ms,
        );
        if recording.window_secs == 0 {
            ctx.events.push(end);
            session_events.push(typed_event("Recording End", RECORDING_STATE, &now));
        } else {
            // Held for the reconnect window: a stream back in time cancels it and goes on.
            ctx.later.push(Later::Emit {
                event: end,
                after: std::time::Duration::from_secs(recording.window_secs) + RECONNECT_SLACK,
                key: recording.session_id.clone(),
            });
            ctx.region.pending_recordings.insert(
                id.clone(),
                PendingRecording {
                    recording,
                    ended_ms: now_ms,
                },
            );
        }
    }
    if let Some(session) = ctx
        .region
        .sessions
        .get_mut(&id)
        .and_then(|sessions| sessions.last_mut())
    {
        session.end_time = Some(now);
        session.events.extend(session_events);
    }
    Ok(object())
}

/// Changes a live stream's health or viewer count, as ingest or the control plane sees them:
/// HEALTHY to STARVING sends Starvation Start, STARVING to HEALTHY Starvation End.
pub(crate) fn update_stream(
    ctx: &mut Ctx<'_>,
    channel_arn: &str,
    health: Option<&str>,
    viewer_count: Option<i64>,
) -> Result<Value, ApiError> {
    let (id, live) = live_of(ctx, channel_arn)?;
    if let Some(health) = health {
        check_health(health)?;
    }
    let (before, stream_id) = (live.health.clone(), live.stream_id.clone());
    let name = match (before.as_str(), health) {
        (b, Some("STARVING")) if b != "STARVING" => Some("Starvation Start"),
        ("STARVING", Some("HEALTHY")) => Some("Starvation End"),
        _ => None,
    };
    if let Some(live) = ctx.region.live.get_mut(&id) {
        if let Some(health) = health {
            live.health = health.to_owned();
        }
        if let Some(viewers) = viewer_count {
            live.viewer_count = viewers;
        }
    }
    if let Some(name) = name {
        let channel = ctx
            .region
            .get(CHANNEL.resource_type, &id)
            .cloned()
            .unwrap_or_default();
        events::stream(ctx, STREAM_HEALTH, &channel, &stream_id, name);
        let now = clock::now();
        if let Some(session) = ctx.region.sessions.get_mut(&id).and_then(|s| s.last_mut()) {
            session.events.push(typed_event(name, STREAM_HEALTH, &now));
        }
    }
    get(ctx, &serde_json::json!({ "channelArn": channel_arn }))
}

pub(super) fn get(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (id, live) = live_of(ctx, text(input, "channelArn"))?;
    Ok(resource::wrap("stream", stream_json(ctx, &id, live)))
}

pub(super) fn list(ctx: &mut Ctx<'_>, op: &Operation, input: &Value) -> Result<Value, ApiError> {
    let health = input
        .get("filterBy")
        .map(|f| text(f, "health").to_owned())
        .unwrap_or_default();
    let shape = resource::item_shape(op);
    let streams: std::collections::BTreeMap<String, Value> = ctx
        .region
        .live
        .iter()
        .map(|(id, live)| (id.clone(), stream_json(ctx, id, live)))
        .collect();
    resource::page(
        op,
        input,
        &streams,
        |s| health.is_empty() || text(s, "health") == health,
        |s| resource::project(s, shape),
    )
}

pub(super) fn stop(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    stop_stream(ctx, text(input, "channelArn"))
}

/// PutMetadata's documented limits: "at most 5 requests per second per channel are allowed, each
/// with a maximum 1 KB payload", and "at most 155 requests per second per account" (the
/// operation's documentation; the model bounds only the minimum).
const METADATA_MAX_BYTES: usize = 1024;
const METADATA_PER_SECOND: usize = 5;
const METADATA_PER_SECOND_PER_ACCOUNT: usize = 155;

/// Drops the calls of `calls` older than a second before `now`; how many are left.
/// Times are the emulator's clock's milliseconds (`clock::now_millis`), so moving the clock
/// opens a new window.
fn calls_in_the_last_second(calls: &mut std::collections::VecDeque<u64>, now: u64) -> usize {
    while calls
        .front()
        .is_some_and(|t| now.saturating_sub(*t) >= 1000)
    {
        calls.pop_front();
    }
    calls.len()
}

pub(super) fn put_metadata(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let (id, _) = live_of(ctx, text(input, "channelArn"))?;
    let n_bytes = text(input, "metadata").len();
    if n_bytes > METADATA_MAX_BYTES {
        return Err(ApiError::validation(format!(
            "metadata: {n_bytes} bytes, at most {METADATA_MAX_BYTES} (1 KB)"
        )));
    }
    let now = clock::now_millis();
    let calls = ctx.region.metadata_calls.entry(id).or_default();
    if calls_in_the_last_second(calls, now) >= METADATA_PER_SECOND {
        return Err(ApiError::new(
            ErrorType::ThrottlingException,
            format!(
                "at most {METADATA_PER_SECOND} PutMetadata calls per second per channel; batch the data into fewer calls"
            ),
        ));
    }
    if calls_in_the_last_second(ctx.account_metadata_calls, now) >= METADATA_PER_SECOND_PER_ACCOUNT
    {
        return Err(ApiError::new(
            ErrorType::ThrottlingException,
            format!(
                "at most {METADATA_PER_SECOND_PER_ACCOUNT} PutMetadata calls per second per account; batch the data into fewer calls"
            ),
        ));
    }
    calls.push_back(now);
    ctx.account_metadata_calls.push_back(now);
    Ok(object())
}

/// The most events a session's `truncatedEvents` lists (module doc).
const MAX_TRUNCATED_EVENTS: usize = 500;

fn session_json(session: &Session) -> Value {
    let (video, audio) = match &session.ingest {
        Some(info) => (measured_video(info), measured_audio(info)),
        None => (video(), audio()),
    };
    // `ingestConfigurations` leaves the deprecated `avcProfile` and `avcLevel` empty: "populated
    // only when VideoConfiguration is part of the deprecated IngestConfiguration" (the model).
    let mut current = video.clone();
    set(&mut current, "avcProfile", Value::from(""));
    set(&mut current, "avcLevel", Value::from(""));
    let mut out = serde_json::json!({
        "streamId": session.stream_id,
        "startTime": session.start_time,
        "channel": session.channel,
        "ingestConfiguration": {
            "video": video,
            "audio": audio,
        },
        "ingestConfigurations": {
            "videoConfigurations": [current],
            "audioConfigurations": [audio],
        },
        "truncatedEvents": session.events.iter().rev().take(MAX_TRUNCATED_EVENTS).collect::<Vec<_>>(),
    });
    if let Some(end) = &session.end_time {
        set(&mut out, "endTime", Value::from(end.as_str()));
    }
    if let Some(recording) = &session.recording {
        set(&mut out, "recordingConfiguration", recording.clone());
    }
    out
}

/// What an encoder reports, for a stream started through the control plane: the emulator's
/// stand-in is a typical 1080p30 H.264/AAC feed.
fn video() -> Value {
    serde_json::json!({
        "avcProfile": "Main", "avcLevel": "4.1", "codec": "avc1.4D4029", "encoder": "ivs-vcr",
        "targetBitrate": 6_000_000, "targetFramerate": 30, "videoHeight": 1080, "videoWidth": 1920,
        "level": "4.1", "profile": "Main", "track": "Track0",
    })
}

fn audio() -> Value {
    serde_json::json!({
        "codec": "mp4a.40.2", "targetBitrate": 160_000, "sampleRate": 48_000, "channels": 2,
        "track": "Track0",
    })
}

/// The video configuration ingest measured of an RTMP stream.
fn measured_video(info: &crate::live::media::StreamInfo) -> Value {
    serde_json::json!({
        "avcProfile": info.profile, "avcLevel": info.level, "codec": info.video_codec,
        "encoder": info.encoder, "targetBitrate": info.video_bitrate.min(i32::MAX as u64),
        "targetFramerate": info.frame_rate.round() as i64, "videoHeight": info.height,
        "videoWidth": info.width, "level": info.level, "profile": info.profile, "track": "Track0",
    })
}

/// The audio configuration ingest measured; empty members for a stream without audio.
fn measured_audio(info: &crate::live::media::StreamInfo) -> Value {
    serde_json::json!({
        "codec": info.audio_codec, "targetBitrate": info.audio_bitrate.min(i32::MAX as u64),
        "sampleRate": info.sample_rate, "channels": info.channels, "track": "Track0",
    })
}

pub(super) fn get_session(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "channelArn");
    let id = channel_id(ctx, arn)?;
    let sessions = ctx
        .region
        .sessions
        .get(&id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let wanted = text(input, "streamId");
    let session = if wanted.is_empty() {
        sessions.last()
    } else {
        sessions.iter().find(|s| s.stream_id == wanted)
    };
    match session {
        Some(session) => Ok(resource::wrap("streamSession", session_json(session))),
        None if wanted.is_empty() => Err(ApiError::not_found(format!(
            "channel `{arn}` has no stream sessions"
        ))),
        None => Err(ApiError::not_found(format!(
            "channel `{arn}` has no stream session `{wanted}`"
        ))),
    }
}

pub(super) fn list_sessions(
    ctx: &mut Ctx<'_>,
    op: &Operation,
    input: &Value,
) -> Result<Value, ApiError> {
    let id = channel_id(ctx, text(input, "channelArn"))?;
    // Newest first, keyed so that key order is that order and a token is plain digits.
    let sessions = ctx
        .region
        .sessions
        .get(&id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let keyed: std::collections::BTreeMap<String, Value> = sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut summary = serde_json::json!({
                "streamId": s.stream_id,
                "startTime": s.start_time,
                "hasErrorEvent": false,
            });
            if let Some(end) = &s.end_time {
                set(&mut summary, "endTime", Value::from(end.as_str()));
            }
            (format!("{:010}", u32::MAX as usize - i), summary)
        })
        .collect();
    resource::page(op, input, &keyed, |_| true, Value::clone)
}

pub(super) fn insert_ad_break(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "channelArn");
    let (id, _) = live_of(ctx, arn)?;
    let channel = ctx.region.get(CHANNEL.resource_type, &id);
    if channel.is_none_or(|c| text(c, "adConfigurationArn").is_empty()) {
        return Err(ApiError::conflict(format!(
            "channel `{arn}` has no ad configuration; set adConfigurationArn with UpdateChannel first"
        )));
    }
    let ad_break_id = match text(input, "adBreakId") {
        "" => ctx.ids.alnum(12),
        given => given.to_owned(),
    };
    let start = match text(input, "targetStartAt") {
        "" => clock::now(),
        given => given.to_owned(),
    };
    Ok(serde_json::json!({"adBreakId": ad_break_id, "targetStartAt": start}))
}

pub(super) fn revoke(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let arn = text(input, "channelArn");
    channel_id(ctx, arn)?;
    let version = input
        .get("viewerSessionVersionsLessThanOrEqualTo")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let revocations = &mut ctx.region.revocations;
    revocations.push_back((arn.to_owned(), text(input, "viewerId").to_owned(), version));
    while revocations.len() > ctx.limits.max_revocations {
        revocations.pop_front();
    }
    Ok(object())
}

pub(super) fn batch_revoke(ctx: &mut Ctx<'_>, input: &Value) -> Result<Value, ApiError> {
    let mut errors = Vec::new();
    for session in input
        .get("viewerSessions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Err(err) = revoke(ctx, session) {
            errors.push(serde_json::json!({
                "channelArn": text(session, "channelArn"),
                "viewerId": text(session, "viewerId"),
                "code": err.kind.name(),
                "message": err.message,
            }));
        }
    }
    Ok(serde_json::json!({"errors": errors}))
}
