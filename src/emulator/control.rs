//! What the control plane (`/_ivs-vcr/…`) asks of the emulator: take a channel live or offline,
//! join and leave Real-Time stages, and show the account's state (every service's resources). A
//! channel ARN, and a participant token's stage, name their own region, so these calls need no
//! SigV4 scope.

use serde_json::{Map, Value};

use super::{ops, realtime, ApiError, Emulator};
use crate::ivs::arn;

impl Emulator {
    /// Starts a stream on a channel, as an encoder connecting would.
    pub(crate) fn start_stream(
        &self,
        channel_arn: &str,
        health: Option<&str>,
        viewer_count: i64,
    ) -> Result<Value, ApiError> {
        let (account, region) = region_of(channel_arn)?;
        self.with_account_region(account, region, |ctx| {
            ops::start_stream(ctx, channel_arn, health, viewer_count)
        })?
    }

    /// Stops a channel's stream, as an encoder disconnecting would.
    pub(crate) fn stop_stream(&self, channel_arn: &str) -> Result<Value, ApiError> {
        let (account, region) = region_of(channel_arn)?;
        self.with_account_region(account, region, |ctx| ops::stop_stream(ctx, channel_arn))?
    }

    /// Joins a participant to the stage its token is for (`POST /_ivs-vcr/stages/join`):
    /// `{participantId, stageArn, sessionId}`, or why the token is refused.
    pub(crate) fn join_stage(&self, request: &realtime::JoinRequest) -> Result<Value, ApiError> {
        let (account, region, stage_arn) = realtime::tokens::stage_of(&request.token)?;
        if self
            .peek_account_region(&account, &region, |_| ())
            .is_none()
        {
            // A region with no state has no stage; looking must not leave one behind.
            return Err(realtime::not_found(realtime::STAGE, &stage_arn));
        }
        let now = crate::clock::now_millis();
        self.with_account_region(&account, &region, |ctx| realtime::join(ctx, request, now))?
    }

    /// Publishes into a stage with an ingest configuration's stream key, as an RTMP(S) encoder
    /// would (`POST /_ivs-vcr/stages/join` with `streamKey`): `{participantId, stageArn,
    /// sessionId}`. The key names its region (`rt_<account>_<region>_…`).
    pub(crate) fn publish_with_key(&self, stream_key: &str) -> Result<Value, ApiError> {
        self.publish_into_stage(stream_key, None)
    }

    /// [`Emulator::publish_with_key`], and with `encoder` (an RTMP encoder's handle), registers
    /// it under the state lock, so that nothing can disconnect the participant before the
    /// handle is there to be notified.
    pub(super) fn publish_into_stage(
        &self,
        stream_key: &str,
        encoder: Option<std::sync::Arc<tokio::sync::Notify>>,
    ) -> Result<Value, ApiError> {
        let mut fields = stream_key
            .strip_prefix("rt_")
            .unwrap_or_default()
            .split('_');
        let (account, region) = (fields.next(), fields.next());
        let (account, region) = account
            .zip(region)
            .filter(|(a, r)| super::is_account_id(a) && crate::normalize::is_valid_region(r))
            .ok_or_else(|| {
                ApiError::validation(
                    "streamKey: not an IVS Real-Time stream key (rt_<account>_<region>_<id>_<secret>, from CreateIngestConfiguration)",
                )
            })?;
        if self.peek_account_region(account, region, |_| ()).is_none() {
            return Err(ApiError::new(
                crate::ivs::ErrorType::AccessDeniedException,
                "streamKey: no ingest configuration of this region has this stream key (INVALID_STREAM_KEY)",
            ));
        }
        let now = crate::clock::now_millis();
        self.with_account_region(account, region, |ctx| {
            let joined = realtime::publish_with_key(ctx, stream_key, now)?;
            if let Some(stop) = encoder {
                let field = |name| joined.get(name).and_then(Value::as_str).unwrap_or_default();
                let key = realtime::encoder_key(field("stageArn"), field("participantId"));
                ctx.encoders.register(&key, field("sessionId"), stop);
            }
            Ok(joined)
        })?
    }

    /// A participant leaves its stage (`POST /_ivs-vcr/stages/leave`): the stage named, or the
    /// one it is connected to in any region with state.
    pub(crate) fn leave_stage(
        &self,
        participant_id: &str,
        stage_arn: Option<&str>,
    ) -> Result<Value, ApiError> {
        let now = crate::clock::now_millis();
        if let Some(stage_arn) = stage_arn {
            let (account, region) = arn::parse_ivs(stage_arn)
                .filter(|a| {
                    a.resource_type == realtime::STAGE
                        && crate::normalize::is_valid_region(a.region)
                        && super::is_account_id(a.account)
                })
                .map(|a| (a.account, a.region))
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "stageArn: `{}` is not a stage ARN (arn:aws:ivs:<region>:<account>:stage/<id>)",
                        crate::redact::printable(stage_arn)
                    ))
                })?;
            return self.with_account_region(account, region, |ctx| {
                realtime::leave(ctx, participant_id, Some(stage_arn), now)
            })?;
        }
        let places: Vec<(String, String)> = self
            .lock()
            .accounts
            .iter()
            .flat_map(|(id, a)| a.regions.keys().map(|r| (id.clone(), r.clone())))
            .collect();
        for (account, region) in &places {
            match self.with_account_region(account, region, |ctx| {
                realtime::leave(ctx, participant_id, None, now)
            })? {
                Err(err) if err.kind == crate::ivs::ErrorType::ResourceNotFoundException => {}
                done => return done,
            }
        }
        Err(ApiError::not_found(format!(
            "participant `{}` is not connected to any stage; join first (POST /_ivs-vcr/stages/join)",
            crate::redact::printable(participant_id)
        )))
    }

    /// Changes a live stream's health or viewer count, as ingest measuring it would (a health
    /// change sends IVS Stream Health Change).
    pub(crate) fn update_stream(
        &self,
        channel_arn: &str,
        health: Option<&str>,
        viewer_count: Option<i64>,
    ) -> Result<Value, ApiError> {
        let (account, region) = region_of(channel_arn)?;
        self.with_account_region(account, region, |ctx| {
            ops::update_stream(ctx, channel_arn, health, viewer_count)
        })?
    }

    /// Every region's resources as JSON. With `account`, that account's alone:
    /// `{account, regions: {<region>: {<type>: [..], live: [..]}}}`, each service's under the
    /// resource types its ARNs name (`channel`, `room`, `logging-configuration`, …), which no two
    /// services share. Without, the default account in that form (as before there were
    /// accounts), plus `accounts: {<id>: {regions: …}}` for every account with state, the default
    /// one included.
    pub(crate) fn state(&self, account: Option<&str>) -> Value {
        if let Some(account) = account {
            return serde_json::json!({"account": account, "regions": self.account_state(account)});
        }
        let mut accounts = Map::new();
        for id in self.accounts() {
            let regions = self.account_state(&id);
            accounts.insert(id, serde_json::json!({ "regions": regions }));
        }
        let default = &self.options.account;
        let regions = accounts
            .get(default)
            .and_then(|a| a.get("regions"))
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        serde_json::json!({"account": default, "regions": regions, "accounts": accounts})
    }

    /// One account's regions as JSON (see [`Emulator::state`]); empty when it has no state.
    fn account_state(&self, account: &str) -> Value {
        // Real-Time's time-driven changes (a composition's idle timeout, STOPPING → STOPPED) are
        // applied on read, so the state shows them as a Get would.
        let now = crate::clock::now_millis();
        let names: Vec<String> = self
            .lock()
            .accounts
            .get(account)
            .map(|a| a.regions.keys().cloned().collect())
            .unwrap_or_default();
        for name in &names {
            // The regions exist, so no limit can refuse this.
            let _ = self.with_account_region(account, name, |ctx| realtime::advance(ctx, now));
        }
        let world = self.lock();
        let mut regions = Map::new();
        let Some(state) = world.accounts.get(account) else {
            return Value::Object(regions);
        };
        for (name, region) in &state.regions {
            let mut out = Map::new();
            // Every store, not a list of types kept here, so a service's new resource type shows
            // without an edit.
            for (resource_type, store) in &region.stores {
                if !store.is_empty() {
                    let items = store.values().cloned().collect();
                    out.insert((*resource_type).to_owned(), Value::Array(items));
                }
            }
            let live: Vec<Value> = region
                .live
                .iter()
                .map(|(id, live)| {
                    serde_json::json!({
                        "channelArn": arn::mint(name, account, "channel", id),
                        "streamId": live.stream_id,
                        "startTime": live.start_time,
                        "health": live.health,
                        "viewerCount": live.viewer_count,
                    })
                })
                .collect();
            if !live.is_empty() {
                out.insert("live".to_owned(), Value::Array(live));
            }
            if !region.realtime.stages.is_empty() {
                out.insert(
                    "stageSessions".to_owned(),
                    region.realtime.snapshot(name, account),
                );
            }
            regions.insert(name.clone(), Value::Object(out));
        }
        Value::Object(regions)
    }
}

/// The account and region of a channel ARN.
pub(super) fn region_of(channel_arn: &str) -> Result<(&str, &str), ApiError> {
    arn::parse_ivs(channel_arn)
        .filter(|a| {
            a.resource_type == "channel"
                && crate::normalize::is_valid_region(a.region)
                && super::is_account_id(a.account)
        })
        .map(|a| (a.account, a.region))
        .ok_or_else(|| {
            ApiError::validation(format!(
                "channelArn: `{channel_arn}` is not a channel ARN (arn:aws:ivs:<region>:<account>:channel/<id>)"
            ))
        })
}
