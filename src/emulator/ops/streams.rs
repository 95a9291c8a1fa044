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
//! Inferred: the session events' names (`Session Created`, `Stream Start`, `Stream End`,
//! `Session Ended`, type `IVS Stream State Change`, as IVS's EventBridge events name them); an
//! ad break on a channel with no ad configuration is a ConflictException.

use serde_json::Value;

use crate::clock;
use crate::emulator::resource::{self, CHANNEL, RECORDING};
use crate::emulator::state::{object, set, text, Live, Session};
use crate::emulator::{ApiError, Ctx};
use crate::ivs::{ErrorType, Operation};

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
    serde_json::json!({"name": name, "type": "IVS Stream State Change", "eventTime": time})
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
    if !matches!(health, "HEALTHY" | "STARVING" | "UNKNOWN") {
        return Err(ApiError::validation(format!(
            "health: {health:?} is not one of HEALTHY, STARVING, UNKNOWN"
        )));
    }
    // StreamId: `st-` and 23 characters, 26 in all, as the model's length bounds say.
    let stream_id = format!("st-{}", ctx.ids.alnum(23));
    let now = clock::now();
    // Invariant: `channel_id` checked that the channel exists.
    let channel = ctx
        .region
        .get(CHANNEL.resource_type, &id)
        .cloned()
        .expect("channel exists");
    let recording = match text(&channel, "recordingConfigurationArn") {
        "" => None,
        arn => resource::find(ctx, RECORDING, arn).ok().cloned(),
    };
    let live = Live {
        stream_id: stream_id.clone(),
        start_time: now.clone(),
        health: health.to_owned(),
        viewer_count,
    };
    let sessions = ctx.region.sessions.entry(id.clone()).or_default();
    sessions.push(Session {
        stream_id,
        start_time: now.clone(),
        end_time: None,
        channel,
        recording,
        events: vec![event("Session Created", &now), event("Stream Start", &now)],
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

/// Takes a channel offline and ends its stream session.
pub(crate) fn stop_stream(ctx: &mut Ctx<'_>, channel_arn: &str) -> Result<Value, ApiError> {
    let (id, _) = live_of(ctx, channel_arn)?;
    ctx.region.live.remove(&id);
    // An encoder connected through ingest is dropped, as StopStream "disconnects the incoming
    // RTMPS stream" (IVS API reference, StopStream).
    ctx.stopped.push(channel_arn.to_owned());
    let now = clock::now();
    if let Some(session) = ctx
        .region
        .sessions
        .get_mut(&id)
        .and_then(|sessions| sessions.last_mut())
    {
        session.end_time = Some(now.clone());
        session.events.push(event("Stream End", &now));
        session.events.push(event("Session Ended", &now));
    }
    Ok(object())
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
        "truncatedEvents": session.events,
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
