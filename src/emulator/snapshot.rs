//! The emulator's state as one versioned JSON document, taken and restored over the control plane
//! (`GET`/`POST /_ivs-vcr/state`) and kept in `--state-file` (`state_file.rs`), as moto's recorder
//! and LocalStack's pods let a suite seed a known account.
//!
//! The document, version 1:
//!
//! ```json
//! {"format": "ivs-vcr/state", "version": 1, "scope": "all",
//!  "clock": {"epochMillis": 1767225600000, "now": "2026-01-01T00:00:00.000Z"},
//!  "account": "123456789012", "regions": {…}, "accounts": {…},
//!  "world": {"accounts": {"123456789012": {"regions": {…}, "ids": "…", "metadataCalls": []}}}}
//! ```
//!
//! - `account`, `regions` and `accounts` (and `chat`, which the control plane adds) are the
//!   readable view GET always gave (`control.rs`'s [`Emulator::state`]): every resource type's
//!   list, `live`, `stageSessions`. They are a view: a restore ignores them.
//! - `world` is what a restore reads, each account's state as the emulator keeps it, serialized by
//!   serde (`state.rs`, `realtime`): the resource stores, stream sessions, live streams, viewer
//!   revocations, pending recordings, playback public keys (DER as base64), Real-Time's stage
//!   lives, composition timers, replicas and revoked tokens, and the id generator's state (a
//!   decimal string), so the next id after a restore is the one it would have been.
//! - `clock.epochMillis` is the emulator's time when the snapshot was taken; a restore moves the
//!   clock forward to it when the clock is behind (it never moves back), so times kept in the
//!   state are never in the future.
//! - `scope` is `all`, or `account` for `GET /_ivs-vcr/state?account=ID`, whose `world` holds that
//!   one account: restoring it replaces that account alone.
//!
//! Not state, and so not in the document: Get answers kept for speed, the call-rate windows,
//! the EventBridge events already sent (and those held for later, like a Recording End waiting
//! out its reconnect window), chat tokens and open chat connections, and RTMP encoders. The
//! emulator's signing key is never in it: only the state file carries it (`signingKey`).
//!
//! A restore checks the whole document first (format, version, shape, the emulator's limits),
//! then swaps the accounts in under the state lock: a refused document changes nothing. After
//! the swap, the data plane follows: a whole restore closes every chat connection and forgets
//! every chat token (a one-account restore drops that account's old rooms), the restored rooms
//! are announced to the chat data plane, RTMP encoders of the replaced state are dropped, and a
//! restored stream an encoder fed is ended (a restored process has no encoder; streams started
//! through the control plane stay live).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::state::text;
use super::{chat, ops, Account, Emulator};
use crate::ivs::arn;

/// The `format` of every state document.
pub(crate) const FORMAT: &str = "ivs-vcr/state";
/// The version this build writes, and the newest it reads.
pub(crate) const VERSION: u64 = 1;
/// The largest `POST /_ivs-vcr/state` body: a thousand busy accounts' worth, far above a test
/// suite's seed, and a bound on what one request makes the server hold.
pub(crate) const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;
/// The farthest ahead of the emulator's clock a document's clock may be: ten years, as
/// `POST /_ivs-vcr/clock` allows.
const MAX_CLOCK_AHEAD_MS: u64 = 10 * 365 * 86_400 * 1000;

/// Why a state document was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RestoreError {
    /// Not a JSON object with `format` `ivs-vcr/state`.
    #[error("not an ivs-vcr state document: `format` must be `{FORMAT}`; send what GET /_ivs-vcr/state returned")]
    Format,
    /// A version newer than this build reads.
    #[error("state format version {found} is newer than this ivs-vcr reads (version {VERSION}); upgrade ivs-vcr to load it")]
    Newer {
        /// The document's version.
        found: u64,
    },
    /// `version` is missing or not a whole number from 1.
    #[error("`version` must be a whole number from 1 to {VERSION}")]
    Version,
    /// A member other than `world` is wrong.
    #[error("{0}")]
    Member(String),
    /// `world` is not the shape this version writes.
    #[error("`world` is not an ivs-vcr state of version {VERSION}: {0}")]
    Shape(String),
    /// The document holds more than the emulator's limits allow.
    #[error("{0}")]
    Limit(String),
}

/// What a parsed document restores.
struct Parsed {
    /// `Some(id)` for a one-account document.
    only: Option<String>,
    clock_ms: u64,
    accounts: BTreeMap<String, Account>,
}

/// The `world` member.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct World {
    accounts: BTreeMap<String, Account>,
}

impl Emulator {
    /// The state document (see the module doc): of every account, or of `account` alone.
    pub(crate) fn snapshot(&self, account: Option<&str>) -> Value {
        // The readable view first: it applies Real-Time's time-driven changes, which the world
        // then carries.
        let mut doc = self.state(account);
        let clock_ms = crate::clock::now_millis();
        let world = {
            let world = self.lock();
            let accounts: BTreeMap<&String, &Account> = match account {
                Some(id) => world.accounts.get_key_value(id).into_iter().collect(),
                None => world.accounts.iter().collect(),
            };
            // Invariant: the state is strings, whole numbers and JSON values, which serialize.
            serde_json::to_value(json!({ "accounts": accounts })).expect("state serializes")
        };
        if let Value::Object(map) = &mut doc {
            map.insert("format".into(), FORMAT.into());
            map.insert("version".into(), VERSION.into());
            map.insert(
                "scope".into(),
                if account.is_some() { "account" } else { "all" }.into(),
            );
            map.insert(
                "clock".into(),
                json!({"epochMillis": clock_ms, "now": crate::clock::iso8601_millis(clock_ms)}),
            );
            map.insert("world".into(), world);
        }
        doc
    }

    /// Restores a state document: the whole emulator, or one account for a `scope: account`
    /// document. `{restored, scope, accounts, streamsEnded}`, or why nothing changed.
    pub(crate) fn restore(&self, doc: Value) -> Result<Value, RestoreError> {
        let parsed = parse(doc, self.options.limits)?;
        let ids: Vec<String> = parsed.accounts.keys().cloned().collect();
        let (old, whole) = {
            let mut world = self.lock();
            match &parsed.only {
                None => (
                    std::mem::replace(&mut world.accounts, parsed.accounts),
                    true,
                ),
                Some(id) => {
                    let others =
                        world.accounts.len() - usize::from(world.accounts.contains_key(id));
                    let limit = self.options.limits.max_accounts;
                    if others + 1 > limit {
                        return Err(RestoreError::Limit(format!(
                            "restoring account `{id}` would make {} accounts with state, over the emulator's limit of {limit} (`--max-accounts`)",
                            others + 1
                        )));
                    }
                    let mut accounts = parsed.accounts;
                    let old: BTreeMap<String, Account> = world
                        .accounts
                        .remove(id)
                        .map(|a| (id.clone(), a))
                        .into_iter()
                        .collect();
                    world.accounts.append(&mut accounts);
                    (old, false)
                }
            }
        };
        if parsed.clock_ms > crate::clock::now_millis() {
            // Forward only, and checked against the limit in `parse`.
            let _ = crate::clock::set(parsed.clock_ms);
        }
        if whole {
            self.encoders.disconnect_all();
            self.chat.reset();
        } else {
            for (id, account) in &old {
                for (name, region) in &account.regions {
                    for (channel, live) in &region.live {
                        if live.encoder {
                            self.encoders
                                .disconnect(&arn::mint(name, id, "channel", channel));
                        }
                    }
                    for room in region
                        .store(chat::ROOM)
                        .into_iter()
                        .flat_map(|s| s.values())
                    {
                        self.chat.room_deleted(text(room, "arn"));
                    }
                }
            }
        }
        let mut ended = Vec::new();
        for id in &ids {
            let regions: Vec<String> = self
                .lock()
                .accounts
                .get(id)
                .map(|a| a.regions.keys().cloned().collect())
                .unwrap_or_default();
            for name in regions {
                // The region exists, so no limit refuses this.
                let _ = self.with_account_region(id, &name, |ctx| {
                    chat::announce_rooms(ctx);
                    let fed: Vec<String> = ctx
                        .region
                        .live
                        .iter()
                        .filter(|(_, live)| live.encoder)
                        .map(|(channel, _)| arn::mint(&name, id, "channel", channel))
                        .collect();
                    for channel_arn in fed {
                        if ops::stop_stream(ctx, &channel_arn).is_ok() {
                            ended.push(channel_arn);
                        }
                    }
                });
            }
        }
        Ok(json!({
            "restored": true,
            "scope": if whole { "all" } else { "account" },
            "accounts": ids,
            "streamsEnded": ended,
        }))
    }
}

/// Checks a whole document (see the module doc) against `limits`, changing nothing.
fn parse(doc: Value, limits: super::EmulatorLimits) -> Result<Parsed, RestoreError> {
    let Value::Object(mut doc) = doc else {
        return Err(RestoreError::Format);
    };
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(RestoreError::Format);
    }
    match doc.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(found) if found > VERSION => return Err(RestoreError::Newer { found }),
        _ => return Err(RestoreError::Version),
    }
    let clock_ms = doc
        .get("clock")
        .and_then(|c| c.get("epochMillis"))
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            RestoreError::Member(
                "`clock.epochMillis` must be the snapshot's time in milliseconds since the epoch"
                    .into(),
            )
        })?;
    if clock_ms.saturating_sub(crate::clock::now_millis()) > MAX_CLOCK_AHEAD_MS {
        return Err(RestoreError::Member(
            "`clock.epochMillis` is more than ten years ahead of the emulator's clock".into(),
        ));
    }
    let world = doc.remove("world").ok_or_else(|| {
        RestoreError::Member(
            "`world` is missing: send what GET /_ivs-vcr/state returned, whole".into(),
        )
    })?;
    let World { accounts } =
        serde_json::from_value(world).map_err(|e| RestoreError::Shape(e.to_string()))?;
    let only = match doc.get("scope").and_then(Value::as_str) {
        Some("all") => None,
        Some("account") => {
            let id = doc.get("account").and_then(Value::as_str).unwrap_or("");
            if accounts.len() != 1 || !accounts.contains_key(id) {
                return Err(RestoreError::Member(
                    "a `scope: account` document holds its `account` alone under `world.accounts`"
                        .into(),
                ));
            }
            Some(id.to_owned())
        }
        _ => {
            return Err(RestoreError::Member(
                "`scope` must be `all` (GET /_ivs-vcr/state) or `account` (GET /_ivs-vcr/state?account=ID)".into(),
            ))
        }
    };
    check_limits(&accounts, limits)?;
    Ok(Parsed {
        only,
        clock_ms,
        accounts,
    })
}

/// The emulator's limits, and what its requests could never have made: account ids and region
/// names of the right syntax, resources that are JSON objects.
fn check_limits(
    accounts: &BTreeMap<String, Account>,
    limits: super::EmulatorLimits,
) -> Result<(), RestoreError> {
    let over = |what: String| Err(RestoreError::Limit(what));
    if accounts.len() > limits.max_accounts {
        return over(format!(
            "{} accounts, over the emulator's limit of {} (`--max-accounts`)",
            accounts.len(),
            limits.max_accounts
        ));
    }
    for (id, account) in accounts {
        if !super::is_account_id(id) {
            return over(format!(
                "`{}` is not a 12-digit account id",
                crate::redact::printable(id)
            ));
        }
        if account.regions.len() > limits.max_regions {
            return over(format!(
                "account `{id}` has {} regions, over the emulator's limit of {} (`--max-regions`)",
                account.regions.len(),
                limits.max_regions
            ));
        }
        for (name, region) in &account.regions {
            if !crate::normalize::is_valid_region(name) {
                return over(format!(
                    "`{}` is not an AWS region name",
                    crate::redact::printable(name)
                ));
            }
            if let Some((channel, sessions)) = region
                .sessions
                .iter()
                .find(|(_, s)| s.len() > limits.max_sessions_per_channel)
            {
                return over(format!(
                    "channel `{channel}` of {name} has {} stream sessions, over the emulator's limit of {} (`--max-stream-sessions`)",
                    sessions.len(),
                    limits.max_sessions_per_channel
                ));
            }
            if region.revocations.len() > limits.max_revocations {
                return over(format!(
                    "{name} has {} viewer-session revocations, over the emulator's limit of {} (`--max-revocations`)",
                    region.revocations.len(),
                    limits.max_revocations
                ));
            }
            for (resource_type, store) in &region.stores {
                if let Some(id) = store.iter().find(|(_, r)| !r.is_object()).map(|(id, _)| id) {
                    return over(format!(
                        "{resource_type} `{}` of {name} is not a JSON object",
                        crate::redact::printable(id)
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The readable view's keys, for tests that compare the world alone.
#[cfg(test)]
pub(crate) fn world_of(doc: &Value) -> &serde_json::Map<String, Value> {
    doc.get("world")
        .and_then(Value::as_object)
        .expect("a state document has a world")
}

#[cfg(test)]
mod tests;
