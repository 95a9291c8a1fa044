//! What the data plane asks of the emulator: RTMP ingest takes channels live and offline and
//! reports what it measured, and the playback server asks what a channel's playback requires.
//! Every change goes through the same operations as the control plane's (`ops::start_stream`,
//! `ops::stop_stream`), so a publish makes the same stream, session and events as a control call.

use std::sync::Arc;

use serde_json::Value;

use super::resource::{CHANNEL, POLICY, STREAM_KEY};
use super::state::text;
use super::{ops, ApiError, Emulator};
use crate::live::media::StreamInfo;

/// Whose stream key a publish named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOwner {
    /// A channel's current key: the channel's ARN.
    Channel(String),
    /// An IVS Real-Time ingest configuration's key (`rt_…`): its stage is looked up by
    /// `Emulator::publish_with_key`.
    RealTime,
    /// No key of the account (never made, or deleted).
    Unknown,
}

/// A channel taken live by ingest.
#[derive(Debug)]
pub(crate) struct Ingesting {
    pub stream_id: String,
    /// The channel's `latencyMode` (`LOW` or `NORMAL`).
    pub latency_mode: String,
}

/// What a channel's playback requires.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlaybackRules {
    pub channel_arn: String,
    /// `authorized`: a private channel, played only with a token.
    pub authorized: bool,
    /// The public keys (DER) of the region's playback key pairs, any of which may sign a token.
    pub keys: Vec<Vec<u8>>,
    /// Revoked viewer sessions of this channel: (viewer id, versions up to and including).
    pub revoked: Vec<(String, i64)>,
    /// The playback restriction policy's allowed origins and strictness, when it has one.
    pub policy: Option<(Vec<String>, bool)>,
}

impl Emulator {
    /// The encoders connected through ingest, whose connections the stop path drops.
    pub(crate) fn encoders(&self) -> &Arc<crate::live::media::Encoders> {
        &self.encoders
    }

    /// Whose key `key` is. IVS's keys name their region (`sk_<region>_<id>_<secret>`), so the
    /// lookup reads one region's keys; a key of another form (replayed from a recording) is
    /// looked for in every region.
    pub(crate) fn stream_key_owner(&self, key: &str) -> KeyOwner {
        if key.starts_with("rt_") {
            return KeyOwner::RealTime;
        }
        let world = self.lock();
        let matches =
            |stored: &Value| constant_time_eq(text(stored, "value").as_bytes(), key.as_bytes());
        let mut parts = key.splitn(4, '_');
        if let (Some("sk"), Some(region), Some(id)) = (parts.next(), parts.next(), parts.next()) {
            // Every account: a key names its region, not its account.
            if let Some(stored) = world
                .accounts
                .values()
                .filter_map(|a| a.regions.get(region))
                .filter_map(|r| r.get(STREAM_KEY.resource_type, id))
                .find(|k| matches(k))
            {
                return KeyOwner::Channel(text(stored, "channelArn").to_owned());
            }
        }
        for region in world.accounts.values().flat_map(|a| a.regions.values()) {
            if let Some(stored) = region
                .store(STREAM_KEY.resource_type)
                .and_then(|s| s.values().find(|k| matches(k)))
            {
                return KeyOwner::Channel(text(stored, "channelArn").to_owned());
            }
        }
        KeyOwner::Unknown
    }

    /// Takes a channel live for an encoder that published: the control call's start, plus a
    /// handle the stop path notifies. A channel already live (another encoder, or the control
    /// plane) refuses with a ConflictException. `stop` is notified when the stop path drops the
    /// encoder.
    pub(crate) fn start_ingest(
        &self,
        channel_arn: &str,
        stop: Arc<tokio::sync::Notify>,
    ) -> Result<Ingesting, ApiError> {
        let (account, region) = super::control::region_of(channel_arn)?;
        self.with_account_region(account, region, |ctx| {
            let started = ops::start_stream(ctx, channel_arn, None, 0)?;
            let stream_id = started
                .pointer("/stream/streamId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let channel = super::resource::find(ctx, CHANNEL, channel_arn)?;
            let latency_mode = text(channel, "latencyMode").to_owned();
            // Under the state lock: a stop cannot come between the start and the registration.
            ctx.encoders.register(channel_arn, &stream_id, stop);
            let id = channel_arn.rsplit('/').next().unwrap_or_default();
            if let Some(live) = ctx.region.live.get_mut(id) {
                live.encoder = true;
            }
            Ok(Ingesting {
                stream_id,
                latency_mode,
            })
        })?
    }

    /// Publishes an RTMP encoder into the stage of a Real-Time ingest configuration's key: the
    /// control plane's `{"streamKey"}` join, plus a handle that whatever disconnects the
    /// participant (DisconnectParticipant, DeleteStage, a forced DeleteIngestConfiguration)
    /// notifies. `{participantId, stageArn, sessionId}`, or why the key is refused.
    pub(crate) fn start_stage_ingest(
        &self,
        stream_key: &str,
        stop: Arc<tokio::sync::Notify>,
    ) -> Result<Value, ApiError> {
        self.publish_into_stage(stream_key, Some(stop))
    }

    /// The encoder of a stage participant left on its own (not dropped by the emulator): the
    /// participant leaves the stage, and the encoder's handle is forgotten. A participant that is
    /// no longer connected (its stage deleted, or its account reset) has nothing to leave.
    pub(crate) fn end_stage_ingest(&self, participant_id: &str, stage_arn: &str, session_id: &str) {
        if let Err(err) = self.leave_stage(participant_id, Some(stage_arn)) {
            tracing::debug!(side = %crate::http::Side::Internal, stage = %stage_arn, participant = %participant_id, "RTMP publisher's participant had left: {}", err.message);
        }
        let key = super::realtime::encoder_key(stage_arn, participant_id);
        self.encoders.unregister(&key, session_id);
    }

    /// Records what ingest measured of a stream, for GetStreamSession's ingest configuration.
    pub(crate) fn update_ingest(&self, channel_arn: &str, stream_id: &str, info: &StreamInfo) {
        let Ok((account, region)) = super::control::region_of(channel_arn) else {
            return;
        };
        let id = channel_arn.rsplit('/').next().unwrap_or_default();
        let _ = self.with_account_region(account, region, |ctx| {
            if let Some(session) = ctx
                .region
                .sessions
                .get_mut(id)
                .and_then(|s| s.iter_mut().rev().find(|s| s.stream_id == stream_id))
            {
                session.ingest = Some(info.clone());
            }
        });
    }

    /// Ends the stream of an encoder that left, unless it already ended (StopStream).
    pub(crate) fn end_ingest(&self, channel_arn: &str, stream_id: &str) {
        self.encoders.unregister(channel_arn, stream_id);
        let Ok((account, region)) = super::control::region_of(channel_arn) else {
            return;
        };
        let id = channel_arn.rsplit('/').next().unwrap_or_default();
        let _ = self.with_account_region(account, region, |ctx| {
            if ctx
                .region
                .live
                .get(id)
                .is_some_and(|l| l.stream_id == stream_id)
            {
                let _ = ops::stop_stream(ctx, channel_arn);
            }
        });
    }

    /// Sets the health of an ingested stream, while it is the channel's live one: through the
    /// control plane's update, so a change sends IVS Stream Health Change as it does.
    pub(crate) fn set_stream_health(&self, channel_arn: &str, stream_id: &str, health: &str) {
        let Ok((account, region)) = super::control::region_of(channel_arn) else {
            return;
        };
        let id = channel_arn.rsplit('/').next().unwrap_or_default();
        let _ = self.with_account_region(account, region, |ctx| {
            if ctx
                .region
                .live
                .get(id)
                .is_some_and(|l| l.stream_id == stream_id)
            {
                let _ = ops::update_stream(ctx, channel_arn, Some(health), None);
            }
        });
    }

    /// What playback of a channel requires, by the name its playback URL gives it
    /// (`<region>.<account>.channel.<id>`); `None` when no such channel exists.
    pub(crate) fn playback_rules(&self, name: &str) -> Option<PlaybackRules> {
        let mut parts = name.splitn(4, '.');
        let (region, account, kind, id) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if kind != "channel" {
            return None;
        }
        let world = self.lock();
        let state = world.accounts.get(account)?.regions.get(region)?;
        let channel = state.get(CHANNEL.resource_type, id)?;
        let channel_arn = text(channel, "arn").to_owned();
        let policy = match text(channel, "playbackRestrictionPolicyArn") {
            "" => None,
            arn => state
                .get(
                    POLICY.resource_type,
                    arn.rsplit('/').next().unwrap_or_default(),
                )
                .map(|p| {
                    let origins = p
                        .get("allowedOrigins")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    let strict = p
                        .get("enableStrictOriginEnforcement")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    (origins, strict)
                }),
        };
        Some(PlaybackRules {
            authorized: channel
                .get("authorized")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            keys: state.public_keys.values().cloned().collect(),
            revoked: state
                .revocations
                .iter()
                .filter(|(arn, _, _)| *arn == channel_arn)
                .map(|(_, viewer, version)| (viewer.clone(), *version))
                .collect(),
            channel_arn,
            policy,
        })
    }
}

/// Equality that takes as long whatever the first difference: a stream key is a secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
