//! A stateful, in-memory IVS: what you create you can get, list, tag and delete; invalid requests
//! fail as IVS fails them; a control call takes a channel live.
//!
//! The split:
//! - `mod.rs` (this file): [`Emulator`], its options, and the request path: assemble the input
//!   from body, path label and query → validate it against the model (`ivs::validate`) → run the
//!   operation → shape the answer (status from the catalog, IVS-style errors).
//! - `state.rs`: the account's regions, the resource stores, live streams, sessions, seeded ids.
//! - `resource.rs`: what every resource family shares, derived from the model: building a resource
//!   from its create input and documented defaults, projecting it onto a summary shape, finding it
//!   by ARN, and paging a store.
//! - `ops/`: the operations, one file per resource family (mini-redis `cmd/` style).
//! - `control.rs`: starting and stopping streams, reset, and the state as JSON, for the control plane.
//! - `snapshot.rs`: the state as one versioned document (`GET /_ivs-vcr/state`) and its restore
//!   (`POST /_ivs-vcr/state`), checked whole and swapped in under the lock; `state_file.rs`:
//!   `--state-file`, that document (and the signing key) loaded at start and saved atomically.
//!
//! Everything IVS's model states (shapes, constraints, defaults, pagination members, error
//! statuses) comes from the generated catalog; behaviour the documentation states is cited where
//! it is implemented, and behaviour that is inferred says so. A second IVS API (Chat, Real-Time:
//! same rest-json, same SigV4) is another model and another folder (`chat/`, `realtime/`), not a
//! rewrite.

mod chat;
pub(crate) mod control;
pub(crate) mod live;
mod observe;
mod ops;
mod rates;
pub(crate) mod realtime;
mod resource;
pub(crate) mod snapshot;
mod state;
pub(crate) mod state_file;
mod tagging;

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::cassette::RecordedRequest;
use crate::ivs::{self, ErrorType, Operation, Service};
use crate::live::chat::{ChatSink, NoChat};
use crate::live::events::{Event, EventSink, NoEvents};
use crate::normalize;

use state::{Ids, Region};

/// The account the emulator answers as, unless `--account` says otherwise.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// How the emulator is set up.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// The default account: the 12-digit id of a request whose access key id is neither a
    /// 12-digit id itself nor mapped in [`EmulatorOptions::account_for`].
    pub account: String,
    /// Access key ids mapped to accounts (`--account-for KEY=ACCOUNT`).
    pub account_for: std::collections::BTreeMap<String, String>,
    /// The seed of the id generator: the same calls in the same order give the same ids.
    pub seed: u64,
    /// How much state the emulator keeps beyond IVS's own quotas.
    pub limits: EmulatorLimits,
    /// Whether each operation's documented call rate is enforced (`rates`).
    pub rate_limits: bool,
    /// Where channels' `playbackUrl` points: `None` keeps IVS's form
    /// (`https://<host>.<region>.playback.live-video.net/api/video/v1/…`); `Some(base)` (e.g.
    /// `http://127.0.0.1:7475`) puts the same path on the emulator's playback server.
    pub playback_base: Option<String>,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            account: DEFAULT_ACCOUNT.to_owned(),
            account_for: Default::default(),
            seed: 0,
            limits: EmulatorLimits::default(),
            rate_limits: false,
            playback_base: None,
        }
    }
}

/// Bounds on what the emulator keeps, so that a client cannot grow it without end: IVS's quotas
/// bound resources per region, and these bound the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatorLimits {
    /// Regions that may hold state. Any `words-N` name passes the region syntax, so without a
    /// bound every new name in a SigV4 scope would add a region; a request for one more gets a
    /// ValidationException naming the limit. Default [`EmulatorLimits::DEFAULT_MAX_REGIONS`],
    /// more than AWS has.
    pub max_regions: usize,
    /// Accounts that may hold state: every 12-digit access key id is an account, so without a
    /// bound every new key would add one; a request of one more gets a ValidationException
    /// naming the limit. Default [`EmulatorLimits::DEFAULT_MAX_ACCOUNTS`].
    pub max_accounts: usize,
    /// Stream sessions kept per channel, newest first; older ones are forgotten, as IVS lists a
    /// channel's sessions of the past 60 days only. Default
    /// [`EmulatorLimits::DEFAULT_MAX_SESSIONS_PER_CHANNEL`], one ListStreamSessions page.
    pub max_sessions_per_channel: usize,
    /// Viewer-session revocations kept per region, the oldest forgotten first. Default
    /// [`EmulatorLimits::DEFAULT_MAX_REVOCATIONS`].
    pub max_revocations: usize,
}

impl EmulatorLimits {
    /// The default of [`EmulatorLimits::max_regions`].
    pub const DEFAULT_MAX_REGIONS: usize = 64;
    /// The default of [`EmulatorLimits::max_accounts`].
    pub const DEFAULT_MAX_ACCOUNTS: usize = 1_000;
    /// The default of [`EmulatorLimits::max_sessions_per_channel`].
    pub const DEFAULT_MAX_SESSIONS_PER_CHANNEL: usize = 100;
    /// The default of [`EmulatorLimits::max_revocations`].
    pub const DEFAULT_MAX_REVOCATIONS: usize = 10_000;
}

impl Default for EmulatorLimits {
    fn default() -> Self {
        EmulatorLimits {
            max_regions: Self::DEFAULT_MAX_REGIONS,
            max_accounts: Self::DEFAULT_MAX_ACCOUNTS,
            max_sessions_per_channel: Self::DEFAULT_MAX_SESSIONS_PER_CHANNEL,
            max_revocations: Self::DEFAULT_MAX_REVOCATIONS,
        }
    }
}

/// An error of a service of the family: the modeled error type, the text that says what was
/// wrong, and the other members the service's error shape carries (Chat's `resourceId`,
/// `resourceType`, `reason`, `limit`; none for IVS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub kind: ErrorType,
    pub message: String,
    pub fields: Vec<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> ApiError {
        ApiError {
            kind,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The error with one more member in its body.
    pub fn with_field(mut self, name: &'static str, value: Value) -> ApiError {
        self.fields.push((name, value));
        self
    }

    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::ValidationException, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::ResourceNotFoundException, message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorType::ConflictException, message)
    }
}

/// The emulator's answer to one request, before HTTP.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    /// The operation answered.
    pub operation: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The error type for `x-amzn-ErrorType`, on errors.
    pub error: Option<&'static str>,
    /// The JSON body, serialized; `None` for the 204 operations.
    pub body: Option<bytes::Bytes>,
}

impl Answer {
    /// An error answer in the form of the operation's service: IVS's error shapes carry
    /// `exceptionMessage` (the emulator adds `message` beside it for the clients that read only
    /// that); Chat's carry `message` and no `exceptionMessage`, and its ValidationException
    /// requires `reason`, which errors found by the shared model validation lack. Real-Time's
    /// error shapes are IVS's (`exceptionMessage` in the body, the same header members), so its
    /// errors take IVS's form.
    fn error(op: &'static Operation, err: ApiError) -> Answer {
        let body = match op.service {
            Service::IvsChat => {
                let mut body = serde_json::json!({ "message": err.message });
                if err.kind == ErrorType::ValidationException
                    && err.fields.iter().all(|(name, _)| *name != "reason")
                {
                    state::set(&mut body, "reason", "FIELD_VALIDATION_FAILED".into());
                }
                for (name, value) in err.fields {
                    state::set(&mut body, name, value);
                }
                json_bytes(&body)
            }
            _ if err.fields.is_empty() => crate::http::ivs_error_body(&err.message),
            _ => {
                let mut body =
                    serde_json::json!({ "exceptionMessage": err.message, "message": err.message });
                for (name, value) in err.fields {
                    state::set(&mut body, name, value);
                }
                json_bytes(&body)
            }
        };
        Answer {
            operation: op.name,
            status: err.kind.status(),
            error: Some(err.kind.name()),
            body: Some(body),
        }
    }
}

/// Everything one operation needs: the region's state, where it is, and the id generator.
pub(crate) struct Ctx<'a> {
    pub region: &'a mut Region,
    pub region_name: &'a str,
    pub account: &'a str,
    pub ids: &'a mut Ids,
    /// When the account's PutMetadata calls of the last second came, across its regions: IVS
    /// allows 155 a second per account.
    pub account_metadata_calls: &'a mut std::collections::VecDeque<u64>,
    /// The bounds on kept state.
    pub limits: EmulatorLimits,
    /// What Chat operations ask of the data plane, delivered once the state lock is released.
    pub chat: Vec<chat::Effect>,
    /// The EventBridge events the operation made, delivered once the state lock is released.
    pub events: Vec<Event>,
    /// The emulator's own key, which signs the Real-Time participant tokens it issues.
    pub signer: &'a crate::jwt::Signer,
    /// Events to send later (or no longer), handed to the sink with `events`.
    pub later: Vec<Later>,
    /// The encoders the operation stopped, by the name they are registered under (a channel
    /// ARN, or a Real-Time publisher's `realtime::encoder_key`): their connections (if any are
    /// connected through ingest) are dropped once the state lock is released.
    pub stopped: Vec<String>,
    /// The encoders connected through ingest, for the operations that register one.
    pub encoders: &'a Arc<crate::live::media::Encoders>,
    /// See [`EmulatorOptions::playback_base`].
    pub playback_base: Option<&'a str>,
}

/// An event to send after a while unless cancelled first, or the cancellation: IVS holds a
/// recording's Recording End for `recordingReconnectWindowSeconds` in case the stream comes back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Later {
    /// Send `event` after `after`, unless `key` is cancelled before.
    Emit {
        event: Event,
        after: std::time::Duration,
        key: String,
    },
    /// Do not send the event scheduled under this key.
    Cancel(String),
}

/// The emulated account, shared by every connection.
#[derive(Debug)]
pub struct Emulator {
    options: EmulatorOptions,
    world: Mutex<World>,
    /// Where Chat's effects on live connections go ([`NoChat`] unless a data plane is attached).
    chat: Arc<dyn ChatSink>,
    /// Where the account's EventBridge events go ([`NoEvents`] unless a sink is attached).
    events: Arc<dyn EventSink>,
    /// The recent calls per operation, when call rates are enforced.
    rates: rates::Rates,
    /// The key Real-Time participant tokens are signed with: generated at start, kept across
    /// resets (a token is verified only against it and the imported public keys).
    signer: crate::jwt::Signer,
    /// The encoders connected through RTMP ingest, which the stop path drops.
    encoders: Arc<crate::live::media::Encoders>,
}

/// Every account's state, by 12-digit account id; an account has state once a request of it
/// changed something.
#[derive(Debug, Default)]
struct World {
    accounts: std::collections::BTreeMap<String, Account>,
}

/// One account's state: its regions, its id generator and its PutMetadata calls (in a
/// snapshot as it is: `snapshot.rs`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Account {
    regions: std::collections::BTreeMap<String, Region>,
    ids: Ids,
    /// The account's recent PutMetadata calls (see [`Ctx::account_metadata_calls`]).
    metadata_calls: std::collections::VecDeque<u64>,
}

impl Account {
    /// An empty account. The default account's ids come from `seed` itself, as they did before
    /// there were accounts (the bundled expectations rely on them); another account's from
    /// `seed` and its id, so that each account's ids are reproducible whatever the others do.
    fn new(seed: u64, account: &str, default_account: &str) -> Account {
        let seed = if account == default_account {
            seed
        } else {
            xxhash_rust::xxh3::xxh3_64_with_seed(account.as_bytes(), seed)
        };
        Account {
            regions: Default::default(),
            ids: Ids::new(seed),
            metadata_calls: Default::default(),
        }
    }
}

/// The account a request's access key id chooses, as LocalStack chooses it: the operator's
/// mapping first, then a 12-digit key as the account id itself, else the default account.
pub(crate) fn account_of<'a>(options: &'a EmulatorOptions, access_key: Option<&'a str>) -> &'a str {
    let Some(key) = access_key else {
        return &options.account;
    };
    if let Some(mapped) = options.account_for.get(key) {
        return mapped;
    }
    if is_account_id(key) {
        return key;
    }
    &options.account
}

/// True for a 12-digit AWS account id.
pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

impl Emulator {
    /// An empty account.
    pub fn new(options: EmulatorOptions) -> Emulator {
        Emulator {
            world: Mutex::new(World::default()),
            options,
            chat: Arc::new(NoChat),
            events: Arc::new(NoEvents),
            rates: rates::Rates::default(),
            signer: crate::jwt::Signer::generate(),
            encoders: Arc::default(),
        }
    }

    /// The emulator with `sink` as the data plane the Chat operations reach (tokens, room
    /// settings, events, disconnections).
    pub(crate) fn with_chat_sink(mut self, sink: Arc<dyn ChatSink>) -> Emulator {
        self.chat = sink;
        self
    }

    /// The emulator signing Real-Time participant tokens with `signer` (a state file's key)
    /// instead of the key it generated.
    pub(crate) fn with_signer(mut self, signer: crate::jwt::Signer) -> Emulator {
        self.signer = signer;
        self
    }

    /// The emulator with `sink` taking the EventBridge events it makes.
    pub(crate) fn with_event_sink(mut self, sink: Arc<dyn EventSink>) -> Emulator {
        self.events = sink;
        self
    }

    /// Empties every region and restarts the id generator from its seed; the data plane closes
    /// every connection and forgets every token.
    pub fn reset(&self) {
        *self.lock() = World::default();
        self.chat.reset();
        self.events.reset();
        self.rates.reset();
        self.encoders.disconnect_all();
    }

    /// Hands Chat's effects to the data plane, in the order the operation made them.
    fn deliver(&self, effects: Vec<chat::Effect>) {
        for effect in effects {
            match effect {
                chat::Effect::Token(grant) => self.chat.token_issued(grant),
                chat::Effect::Room(room) => self.chat.room_changed(room),
                chat::Effect::RoomDeleted(arn) => self.chat.room_deleted(&arn),
                chat::Effect::Event(room, event) => self.chat.send_event(&room, event),
                chat::Effect::DeleteMessage(room, event) => {
                    self.chat.delete_message(&room, event);
                }
                chat::Effect::Disconnect(room, user, event) => {
                    self.chat.disconnect_user(&room, &user, event);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        // A panic while holding the lock leaves state that was valid before the operation began:
        // operations validate first and change state last.
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Empties one account (`POST /_ivs-vcr/reset?account=ID`): its next ids are its first
    /// again. The data plane and the rate windows are shared, and stay.
    pub(crate) fn reset_account(&self, account: &str) {
        self.lock().accounts.remove(account);
    }

    /// The account a request signed with `access_key` is answered in ([`account_of`]).
    pub(crate) fn account_of<'a>(&'a self, access_key: Option<&'a str>) -> &'a str {
        account_of(&self.options, access_key)
    }

    /// The accounts with state, by id.
    pub(crate) fn accounts(&self) -> Vec<String> {
        self.lock().accounts.keys().cloned().collect()
    }

    /// Reads one region's state of an account, if the region has any; never creates one (a
    /// lookup of an unknown region must not leave state behind).
    pub(crate) fn peek_account_region<T>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&Region) -> T,
    ) -> Option<T> {
        self.lock()
            .accounts
            .get(account)
            .and_then(|a| a.regions.get(region))
            .map(f)
    }

    /// Runs `f` on one region's state of the default account; see
    /// [`Emulator::with_account_region`].
    pub(crate) fn with_region<T>(
        &self,
        region: &str,
        f: impl FnOnce(&mut Ctx<'_>) -> T,
    ) -> Result<T, ApiError> {
        self.with_account_region(&self.options.account, region, f)
    }

    /// Runs `f` on one region's state of an account; a ValidationException when the account has
    /// no state yet and [`EmulatorLimits::max_accounts`] accounts already do, or the region has
    /// none yet and [`EmulatorLimits::max_regions`] regions of the account already do.
    pub(crate) fn with_account_region<T>(
        &self,
        account: &str,
        region: &str,
        f: impl FnOnce(&mut Ctx<'_>) -> T,
    ) -> Result<T, ApiError> {
        let mut world = self.lock();
        if !world.accounts.contains_key(account) {
            let limit = self.options.limits.max_accounts;
            if world.accounts.len() >= limit {
                return Err(ApiError::validation(format!(
                    "account `{}` would be account {} with state, over the emulator's limit of {limit} (`--max-accounts`); reset accounts that are done (POST /_ivs-vcr/reset?account=ID) or raise the limit",
                    crate::redact::printable(account),
                    limit + 1
                )));
            }
            let fresh = Account::new(self.options.seed, account, &self.options.account);
            world.accounts.insert(account.to_owned(), fresh);
        }
        // Invariant: inserted just above when missing.
        let Account {
            regions,
            ids,
            metadata_calls,
        } = world.accounts.get_mut(account).expect("account exists");
        // Looked up before inserting, so that the common case allocates no key.
        if !regions.contains_key(region) {
            let limit = self.options.limits.max_regions;
            if regions.len() >= limit {
                return Err(ApiError::validation(format!(
                    "`{}` would be region {} with state, over the emulator's limit of {limit} (`--max-regions`)",
                    crate::redact::printable(region),
                    limit + 1
                )));
            }
            regions.insert(region.to_owned(), Region::default());
        }
        // Invariant: inserted just above when missing.
        let state = regions.get_mut(region).expect("region exists");
        let mut ctx = Ctx {
            region: state,
            region_name: region,
            account,
            ids,
            account_metadata_calls: metadata_calls,
            limits: self.options.limits,
            chat: Vec::new(),
            events: Vec::new(),
            signer: &self.signer,
            later: Vec::new(),
            stopped: Vec::new(),
            encoders: &self.encoders,
            playback_base: self.options.playback_base.as_deref(),
        };
        let out = f(&mut ctx);
        let effects = std::mem::take(&mut ctx.chat);
        let events = std::mem::take(&mut ctx.events);
        let later = std::mem::take(&mut ctx.later);
        let stopped = std::mem::take(&mut ctx.stopped);
        if !effects.is_empty() || !events.is_empty() || !later.is_empty() || !stopped.is_empty() {
            // After the state changed and the lock is released: a sink that takes a while (or
            // calls back into the emulator) never holds other requests up.
            drop(world);
            self.deliver(effects);
            for event in events {
                self.events.emit(account, event);
            }
            for later in later {
                match later {
                    Later::Emit { event, after, key } => {
                        self.events.emit_later(account, event, after, key);
                    }
                    Later::Cancel(key) => self.events.cancel(&key),
                }
            }
            for encoder in stopped {
                self.encoders.disconnect(&encoder);
            }
        }
        Ok(out)
    }

    /// Answers one IVS request. `None` when the request names no IVS operation (the caller's
    /// route check answers it).
    /// `access_key` is the id of the request's SigV4 credential, which picks the account
    /// ([`account_of`]).
    pub(crate) fn answer(&self, req: &RecordedRequest, access_key: Option<&str>) -> Option<Answer> {
        let op = req
            .service
            .catalog()
            .check_route(&req.method, &req.path)
            .ok()?;
        let account = account_of(&self.options, access_key);
        if let Some(throttled) = self.throttle(op, account, &req.region) {
            return Some(throttled);
        }
        if let Some(body) = self.get_fast(op, account, req) {
            return Some(Answer {
                operation: op.name,
                status: op.success_status,
                error: None,
                body: Some(body),
            });
        }
        Some(match self.run(op, account, req) {
            Ok(_) if op.success_status == 204 => Answer {
                operation: op.name,
                status: 204,
                error: None,
                body: None,
            },
            Ok(body) => Answer {
                operation: op.name,
                status: op.success_status,
                error: None,
                body: Some(json_bytes(&body)),
            },
            Err(err) => Answer::error(op, err),
        })
    }

    /// [`Emulator::answer`] with the access key first, for tests whose request is written out.
    #[cfg(test)]
    pub(crate) fn answer_as(
        &self,
        access_key: Option<&str>,
        req: &RecordedRequest,
    ) -> Option<Answer> {
        self.answer(req, access_key)
    }

    /// [`Emulator::answer`] for a request not yet parsed, when it is a Get call of a stored
    /// resource by its `arn`, the body's only member, read from the bytes
    /// (`normalize::flat_only_member`): the bulk of what applications send. `None` for anything
    /// else, which the general path answers, errors included; where both answer, they answer
    /// alike (`get_by_arn` serves both). Neither the body nor the SigV4 scope (`scope`: region and
    /// service, asked only then) is read for a call that is no IVS Get, and the access key id
    /// (`access_key`, which picks the account) only for an IVS Get by ARN.
    pub(crate) fn answer_get<'r>(
        &self,
        (method, path): (&str, &str),
        body: &[u8],
        scope: impl FnOnce() -> (&'r str, Option<&'r str>),
        access_key: impl FnOnce() -> Option<Cow<'r, str>>,
    ) -> Option<Answer> {
        let op = ivs::check_route(method, path).ok()?;
        let family = get_family(op)?;
        let arn = normalize::flat_only_member(body, "arn")?;
        let (region, service) = scope();
        if ivs::Service::route(service, path) != ivs::Service::Ivs {
            return None;
        }
        // Looked up before the rate is counted: a miss goes down the general path, which counts it.
        let access_key = access_key();
        let account = account_of(&self.options, access_key.as_deref());
        let body = self.get_by_arn(family, account, region, arn)?;
        if let Some(throttled) = self.throttle(op, account, region) {
            return Some(throttled);
        }
        Some(Answer {
            operation: op.name,
            status: op.success_status,
            error: None,
            body: Some(body),
        })
    }

    /// The throttled answer to a call of `op` in `region`, when rate limits are on and the
    /// operation's documented rate is spent for this second.
    fn throttle(&self, op: &'static Operation, account: &str, region: &str) -> Option<Answer> {
        if !self.options.rate_limits {
            return None;
        }
        let tps = self.rates.take(account, region, op.service, op.name)?;
        let mut err = ApiError::new(
            ErrorType::ThrottlingException,
            format!(
                "Rate exceeded: {} allows {tps} calls a second per account and region (its service quotas); ivs-vcr enforces documented rates because --rate-limits is on",
                op.name
            ),
        );
        if op.service == Service::IvsChat {
            // Chat's ThrottlingException requires these members; `resourceType` has one value.
            err = err
                .with_field("resourceId", Value::String(String::new()))
                .with_field("resourceType", "ROOM".into())
                .with_field("limit", tps.into());
        }
        Some(Answer::error(op, err))
    }

    /// The Get calls of a resource by its `arn`, answered without copying the resource: from the
    /// answer the region keeps for it since the last change, or serialized straight from the store
    /// under the lock. `None` sends the request down the general path.
    fn get_fast(
        &self,
        op: &'static Operation,
        account: &str,
        req: &RecordedRequest,
    ) -> Option<bytes::Bytes> {
        let family = get_family(op)?;
        let Some(Value::Object(body)) = &req.body else {
            return None;
        };
        match body.get("arn") {
            Some(Value::String(arn)) if body.len() == 1 => {
                self.get_by_arn(family, account, &req.region, arn)
            }
            _ => None,
        }
    }

    /// The answer to the Get call of `family`'s stored resource `arn` in `region`, or `None` when
    /// no such resource is stored.
    fn get_by_arn(
        &self,
        family: resource::Family,
        account: &str,
        region: &str,
        arn: &str,
    ) -> Option<bytes::Bytes> {
        // No validation here: only a stored resource is answered, and an `arn` that parses to a
        // stored resource's region, account, type and id is that resource's own ARN, which
        // passes the model's checks of the Get input (`stored_arns_pass_their_gets_validation`).
        // Anything else goes down the general path, which validates.
        let parsed = ivs::arn::parse_ivs(arn).filter(|a| {
            a.resource_type == family.resource_type && a.region == region && a.account == account
        })?;
        let mut world = self.lock();
        let account = world.accounts.get_mut(account)?;
        account.regions.get_mut(parsed.region)?.answer(
            family.resource_type,
            parsed.resource_id,
            |resource| json_bytes(&Wrapped(family.member, resource)),
        )
    }

    fn run(
        &self,
        op: &'static Operation,
        account: &str,
        req: &RecordedRequest,
    ) -> Result<Value, ApiError> {
        let input = input_of(op, req)?;
        if let Some(shape) = op.input {
            let problems = ivs::validate::problems(shape, &input);
            if !problems.is_empty() {
                return Err(ApiError::validation(validation_message(&problems)));
            }
        }
        if !normalize::is_valid_region(&req.region) {
            return Err(ApiError::validation(format!(
                "`{}` is not an AWS region name",
                req.region
            )));
        }
        // Every input of the family carrying `tags` (the creates, TagResource) or `tagKeys`
        // (UntagResource): the `aws:` prefix is AWS's own in every service.
        tagging::check_reserved(&input)?;
        match op.service {
            Service::Ivs => {
                self.with_account_region(account, &req.region, |ctx| ops::run(op, ctx, &input))?
            }
            Service::IvsChat => {
                self.with_account_region(account, &req.region, |ctx| chat::run(op, ctx, &input))?
            }
            Service::IvsRealTime => self
                .with_account_region(account, &req.region, |ctx| realtime::run(op, ctx, &input))?,
        }
    }
}

/// The family whose Get call `op` is (`GetChannel`: channels), if it is one.
fn get_family(op: &Operation) -> Option<resource::Family> {
    resource::FAMILIES
        .into_iter()
        .find(|f| op.name.strip_prefix("Get") == Some(f.shape))
}

/// `{member: value}`, serialized without building the object.
struct Wrapped<'a>(&'a str, &'a Value);

impl serde::Serialize for Wrapped<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// JSON bytes of a value.
fn json_bytes(value: &impl serde::Serialize) -> bytes::Bytes {
    // Invariant: a `Value` (or a map of one) always serializes: its keys are strings and its
    // numbers finite. `to_vec` writes bytes directly, where `to_string` goes through `fmt::Write`.
    bytes::Bytes::from(serde_json::to_vec(value).expect("JSON values serialize"))
}

/// An answer as IVS sends it, marked `x-ivs-vcr-match: <matched>` when given (see
/// `http::ivs_answer`).
pub(crate) fn http_parts(
    answer: &Answer,
    matched: Option<&'static str>,
) -> (http::StatusCode, http::HeaderMap, bytes::Bytes) {
    let status = http::StatusCode::from_u16(answer.status)
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    crate::http::ivs_answer(status, answer.error, answer.body.clone(), matched)
}

/// IVS's own wording for the count, then each problem.
fn validation_message(problems: &[String]) -> String {
    let n = problems.len();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        problems.join("; ")
    )
}

/// The operation's input as one JSON object: the body's members, the `/tags/{resourceArn}` label
/// (percent-decoded) and the `tagKeys` query values, under their member names.
fn input_of<'r>(op: &Operation, req: &'r RecordedRequest) -> Result<Cow<'r, Value>, ApiError> {
    if op.route != ivs::Route::Tags {
        // The common case: the body is the input, borrowed as it is.
        return match &req.body {
            Some(body @ Value::Object(_)) => Ok(Cow::Borrowed(body)),
            None => Ok(Cow::Owned(Value::Object(Default::default()))),
            Some(_) => Err(ApiError::validation(
                "the request body must be a JSON object",
            )),
        };
    }
    let mut input = match &req.body {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(ApiError::validation(
                "the request body must be a JSON object",
            ))
        }
    };
    let arn = normalize::decoded_path(&req.path);
    let arn = arn.strip_prefix("/tags/").unwrap_or(&arn).to_owned();
    input.insert("resourceArn".to_owned(), Value::String(arn));
    if let Some(keys) = req.query.get("tagKeys") {
        input.insert(
            "tagKeys".to_owned(),
            Value::Array(keys.iter().cloned().map(Value::String).collect()),
        );
    }
    Ok(Cow::Owned(Value::Object(input)))
}

#[cfg(test)]
mod tests;
