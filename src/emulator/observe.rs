//! Learning from replayed answers: with `--on-miss emulate`, what a cassette answered is taken
//! into the emulator's state, so that a replayed CreateChannel's channel is there for an emulated
//! GetChannel, and a replayed DeleteChannel's channel is gone for an emulated one.
//!
//! A resource is filed in the account its ARN names (a cassette's own, or
//! `000000000000` when it was recorded with `--scrub-account`), so a client signing with that
//! account's id (or mapped to it with `--account-for`) finds it; the default account's clients
//! find what was recorded in the default account.
//!
//! Only successful answers teach. A resource is recognised by the members IVS answers it under
//! (`channel`, `streamKey`, …, and the lists of BatchGet calls) and filed by its ARN's region and
//! id; a successful Delete removes what its request's `arn` named.
//!
//! Chat answers a room or logging configuration as the whole body (CreateRoom, GetRoom,
//! UpdateRoom, and the same for logging configurations), and its List calls under `rooms` and
//! `loggingConfigurations`; its Delete calls name the resource in `identifier`. What to keep of
//! them is `chat::learn`'s to decide, so the data plane hears of a replayed room too.

use serde_json::Value;

use super::resource::{Family, CHANNEL, FAMILIES, STREAM_KEY};
use super::state::text;
use super::{chat, Emulator};
use crate::cassette::RecordedRequest;
use crate::ivs::{arn, Service};
use crate::normalize;

impl Emulator {
    /// Takes a replayed answer into the emulator's state (see the module doc).
    pub(crate) fn observe(&self, request: &RecordedRequest, status: u16, body: &[u8]) {
        if !(200..300).contains(&status) {
            return;
        }
        let operation = normalize::operation_name(&request.method, &request.path);
        match request.service {
            Service::Ivs => {}
            Service::IvsChat => return self.observe_chat(&operation, request, body),
            // Real-Time's replayed answers are not taken into the state (yet): a replayed stage
            // is not one the emulator can join.
            Service::IvsRealTime => return,
        }
        if operation.starts_with("Delete") {
            if let Some(target) = request.body.as_ref().map(|b| text(b, "arn")) {
                self.forget(target);
            }
            return;
        }
        let Ok(answer) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        for family in FAMILIES {
            if let Some(resource) = answer.get(family.member) {
                self.learn(family, resource);
            }
        }
        for (member, family) in [("channels", CHANNEL), ("streamKeys", STREAM_KEY)] {
            // BatchGet answers hold whole resources; List answers hold summaries, which would
            // overwrite what is known with less, so only unknown resources are taken from them.
            for resource in answer
                .get(member)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if operation.starts_with("BatchGet") || !self.knows(resource) {
                    self.learn(family, resource);
                }
            }
        }
    }

    /// Takes a replayed Chat answer into the state (see the module doc).
    fn observe_chat(&self, operation: &str, request: &RecordedRequest, body: &[u8]) {
        if operation.starts_with("Delete") {
            // DeleteMessage names a room too, and removes nothing.
            if matches!(operation, "DeleteRoom" | "DeleteLoggingConfiguration") {
                if let Some(target) = request.body.as_ref().map(|b| text(b, "identifier")) {
                    self.with_chat_resource(target, |ctx, resource_type, id| {
                        chat::forget(ctx, resource_type, id);
                    });
                }
            }
            return;
        }
        let Ok(answer) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let is_resource = [
            "CreateRoom",
            "GetRoom",
            "UpdateRoom",
            "CreateLoggingConfiguration",
            "GetLoggingConfiguration",
            "UpdateLoggingConfiguration",
        ]
        .contains(&operation);
        if is_resource {
            self.learn_chat(&answer, false);
        }
        for member in ["rooms", "loggingConfigurations"] {
            for summary in answer
                .get(member)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.learn_chat(summary, true);
            }
        }
    }

    /// Takes one Chat resource into the state, by its ARN; false when the value is none of this
    /// account's Chat resources.
    fn learn_chat(&self, resource: &Value, only_unknown: bool) -> bool {
        self.with_chat_resource(text(resource, "arn"), |ctx, resource_type, id| {
            chat::learn(ctx, resource_type, id, resource, only_unknown);
        })
    }

    /// Runs `f` on the region of a Chat ARN of this account, with the resource's type and id;
    /// false when the ARN is none of those.
    fn with_chat_resource(
        &self,
        resource_arn: &str,
        f: impl FnOnce(&mut super::Ctx<'_>, &'static str, &str),
    ) -> bool {
        let Some(account) = account_of_arn(resource_arn) else {
            return false;
        };
        let Some((resource_type, region, id)) = chat::parse_resource(account, resource_arn) else {
            return false;
        };
        // A region or account over the emulator's limits is not learned; a request there is
        // refused anyway.
        self.with_account_region(account, region, |ctx| f(ctx, resource_type, id))
            .is_ok()
    }

    /// Takes one resource, recognised by its ARN, into the state (`verify` seeds what a
    /// recording used but did not create). False when the value is no resource of the family's
    /// emulated services.
    pub(crate) fn seed(&self, resource: &Value) -> bool {
        if self.learn_chat(resource, false) {
            return true;
        }
        let family = arn::parse_ivs(text(resource, "arn"))
            .and_then(|a| super::resource::family_of(a.resource_type));
        match family {
            Some(family) => {
                self.learn(family, resource);
                true
            }
            None => false,
        }
    }

    /// Makes the resource an ARN names, with its service's defaults, when the state has none: a
    /// recording used it without ever showing it. A channel, a room or a logging configuration;
    /// any other ARN is left alone.
    pub(crate) fn seed_unseen(&self, resource_arn: &str) {
        let chat = account_of_arn(resource_arn)
            .and_then(|account| chat::parse_resource(account, resource_arn));
        let Some((_, _, id)) = chat else {
            return self.seed_channel(resource_arn);
        };
        let resource = serde_json::json!({"arn": resource_arn, "id": id});
        self.learn_chat(&resource, true);
    }

    /// Makes a channel with this ARN and IVS's defaults, when the state has none: a recording
    /// used it without ever showing it.
    pub(crate) fn seed_channel(&self, channel_arn: &str) {
        let Some(parsed) = arn::parse_ivs(channel_arn).filter(|a| a.resource_type == "channel")
        else {
            return;
        };
        if !super::is_account_id(parsed.account)
            || !crate::normalize::is_valid_region(parsed.region)
        {
            return;
        }
        // A region over the emulator's limit is not learned; a request there is refused anyway.
        let _ = self.with_account_region(parsed.account, parsed.region, |ctx| {
            if ctx.region.get("channel", parsed.resource_id).is_none() {
                super::ops::seed_channel(ctx, parsed.resource_id);
            }
        });
    }

    /// Whether a channel is live, and whether it has had a stream session.
    pub(crate) fn stream_state(&self, channel_arn: &str) -> (bool, bool) {
        let Some(parsed) = arn::parse_ivs(channel_arn) else {
            return (false, false);
        };
        self.peek_account_region(parsed.account, parsed.region, |region| {
            (
                region.live.contains_key(parsed.resource_id),
                region
                    .sessions
                    .get(parsed.resource_id)
                    .is_some_and(|s| !s.is_empty()),
            )
        })
        .unwrap_or((false, false))
    }

    fn learn(&self, family: Family, resource: &Value) {
        let Some(parsed) = arn::parse_ivs(text(resource, "arn")) else {
            return;
        };
        if parsed.resource_type != family.resource_type
            || !super::is_account_id(parsed.account)
            || !crate::normalize::is_valid_region(parsed.region)
        {
            return;
        }
        let id = parsed.resource_id.to_owned();
        let _ = self.with_account_region(parsed.account, parsed.region, |ctx| {
            if family.resource_type == STREAM_KEY.resource_type {
                if let Some(channel) = arn::parse_ivs(text(resource, "channelArn")) {
                    let keys = ctx
                        .region
                        .keys_by_channel
                        .entry(channel.resource_id.to_owned())
                        .or_default();
                    if !keys.contains(&id) {
                        keys.push(id.clone());
                    }
                }
            }
            ctx.region
                .insert(family.resource_type, id, resource.clone());
        });
    }

    fn knows(&self, resource: &Value) -> bool {
        let Some(parsed) = arn::parse_ivs(text(resource, "arn")) else {
            return true;
        };
        let Some(family) = super::resource::family_of(parsed.resource_type) else {
            return true;
        };
        self.peek_account_region(parsed.account, parsed.region, |region| {
            region
                .get(family.resource_type, parsed.resource_id)
                .is_some()
        })
        .unwrap_or(false)
    }

    fn forget(&self, target: &str) {
        let Some(parsed) = arn::parse_ivs(target) else {
            return;
        };
        let Some(family) = super::resource::family_of(parsed.resource_type) else {
            return;
        };
        // Nothing to forget in a region without state, and none is made for it.
        if self
            .peek_account_region(parsed.account, parsed.region, |_| ())
            .is_none()
        {
            return;
        }
        let _ = self.with_account_region(parsed.account, parsed.region, |ctx| {
            let removed = ctx.region.remove(family.resource_type, parsed.resource_id);
            let id = parsed.resource_id;
            if family.resource_type == CHANNEL.resource_type {
                // Everything a channel holds goes with it, as DeleteChannel takes it along.
                for key in ctx.region.keys_by_channel.remove(id).unwrap_or_default() {
                    ctx.region.remove(STREAM_KEY.resource_type, &key);
                }
                ctx.region.live.remove(id);
                ctx.region.sessions.remove(id);
                ctx.region.metadata_calls.remove(id);
            } else if family.resource_type == STREAM_KEY.resource_type {
                let channel = removed
                    .as_ref()
                    .and_then(|key| arn::parse_ivs(text(key, "channelArn")))
                    .map(|a| a.resource_id.to_owned());
                if let Some(keys) = channel.and_then(|c| ctx.region.keys_by_channel.get_mut(&c)) {
                    keys.retain(|k| k != id);
                }
            }
        });
    }
}

/// The 12-digit account an ARN of the family names, if it names one.
fn account_of_arn(resource_arn: &str) -> Option<&str> {
    arn::parse_family(resource_arn)
        .map(|a| a.account)
        .filter(|a| super::is_account_id(a))
}
