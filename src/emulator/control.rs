//! What the control plane (`/_ivs-vcr/…`) asks of the emulator: take a channel live or offline,
//! and show the account's state (every service's resources). A channel ARN names its own region, so these calls need no
//! SigV4 scope.

use serde_json::{Map, Value};

use super::{ops, ApiError, Emulator};
use crate::ivs::arn;

impl Emulator {
    /// Starts a stream on a channel, as an encoder connecting would.
    pub(crate) fn start_stream(
        &self,
        channel_arn: &str,
        health: Option<&str>,
        viewer_count: i64,
    ) -> Result<Value, ApiError> {
        let region = region_of(channel_arn)?;
        self.with_region(region, |ctx| {
            ops::start_stream(ctx, channel_arn, health, viewer_count)
        })?
    }

    /// Stops a channel's stream, as an encoder disconnecting would.
    pub(crate) fn stop_stream(&self, channel_arn: &str) -> Result<Value, ApiError> {
        let region = region_of(channel_arn)?;
        self.with_region(region, |ctx| ops::stop_stream(ctx, channel_arn))?
    }

    /// Changes a live stream's health or viewer count, as ingest measuring it would (a health
    /// change sends IVS Stream Health Change).
    pub(crate) fn update_stream(
        &self,
        channel_arn: &str,
        health: Option<&str>,
        viewer_count: Option<i64>,
    ) -> Result<Value, ApiError> {
        let region = region_of(channel_arn)?;
        self.with_region(region, |ctx| {
            ops::update_stream(ctx, channel_arn, health, viewer_count)
        })?
    }

    /// Every region's resources as JSON: `{account, regions: {<region>: {<type>: [..], live: [..]}}}`,
    /// each service's under the resource types its ARNs name (`channel`, `room`,
    /// `logging-configuration`, …), which no two services share.
    pub(crate) fn state(&self) -> Value {
        let world = self.lock();
        let mut regions = Map::new();
        for (name, region) in &world.regions {
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
                        "channelArn": arn::mint(name, &self.options.account, "channel", id),
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
            regions.insert(name.clone(), Value::Object(out));
        }
        serde_json::json!({"account": self.options.account, "regions": regions})
    }
}

pub(super) fn region_of(channel_arn: &str) -> Result<&str, ApiError> {
    arn::parse_ivs(channel_arn)
        .filter(|a| a.resource_type == "channel" && crate::normalize::is_valid_region(a.region))
        .map(|a| a.region)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "channelArn: `{channel_arn}` is not a channel ARN (arn:aws:ivs:<region>:<account>:channel/<id>)"
            ))
        })
}
