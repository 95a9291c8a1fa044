//! Fault injection: rules that make chosen operations of the IVS family (IVS, IVS Chat, IVS
//! Real-Time) fail, stall or lose their connection, so that tests can exercise the retry and error
//! handling every IVS client has to write.
//!
//! A [`FaultRule`] arrives as JSON on `POST /_ivs-vcr/faults` or as `key=value` pairs from
//! `--fault` ([`FaultRule::from_cli`]); both go through the same validation, so a rule that would
//! never fire or cannot be honoured is refused with a message naming the field. A [`FaultSet`] holds
//! the accepted rules, and the servers ask it once per downstream request, before matching,
//! emulating or forwarding ([`FaultSet::check`]): an injected fault is therefore never recorded.
//!
//! Design decisions:
//! - Rules are checked in the order they were added. A rule that only delays adds its delay and
//!   lets later rules act, so "every call takes 200 ms" and "the next two GetChannel calls are
//!   throttled" compose. The first rule that answers or drops the connection ends the check.
//! - `times` counts the uses of a rule, and a use is spent only when the rule fires (a `rate` roll
//!   that misses spends nothing). A spent rule stays listed with `remaining: 0` so a test can see it.
//! - `rate` draws from a splitmix64 generator per rule, seeded by the rule's `seed` (0 unless
//!   given). The same rules and the same sequence of requests always give the same faults, on any
//!   machine, with no crate and no global randomness.
//! - A rule names its operation by name alone when the name is one service's (`CreateRoom` is
//!   Chat's), or with `service` (`ivs`, `ivschat`, `ivs-realtime`, as cassettes write it). The tag
//!   operations, which every service names alike, apply to every service unless `service` says
//!   which, as they did before rules knew services. `error` must be one of the errors the rule's
//!   service models (Chat has no `ChannelNotBroadcasting`), so a rule never answers with an error
//!   its service cannot send.
//! - Error answers look like IVS's own: the model's status for the error name,
//!   `x-amzn-ErrorType: <Name>`, and a JSON body with `exceptionMessage` (IVS's member) and
//!   `message` (the member boto3, the CLI, the JS SDK and aws-sdk-rust show). They also carry
//!   `x-ivs-vcr-fault: <rule id>`, so a log or a test can tell an injected answer from a real one.
//! - `account` (a 12-digit id) narrows a rule to the requests of one account, as the emulator maps
//!   access keys to accounts (`emulator::account_of`: `--account-for`, a 12-digit key as itself,
//!   else the default account), so workers of one shared server inject faults into their own
//!   account alone. The caller passes the request's account as a closure, and [`FaultSet::check`]
//!   calls it only when a rule with `account` applies to the request's operation: servers with no
//!   such rule never read the access key.
//! - This module derives serde for its own JSON (the control plane's rules and their listing);
//!   cassettes stay the only YAML.
//!
//! Pure apart from the lock: the caller performs the delay, writes the answer or drops the connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode};
use serde::{Deserialize, Serialize};

use crate::ivs::{ErrorType, Service};
use crate::seeded::SplitMix64;

/// The `x-amzn-ErrorType` of an error given by `status` alone.
pub const GENERIC_ERROR_TYPE: &str = "IvsVcrInjectedFaultException";

/// The response header carrying the id of the rule that produced an injected answer.
pub const FAULT_HEADER: &str = "x-ivs-vcr-fault";

/// The response header that tells SDKs how long to wait before retrying, in milliseconds.
pub const RETRY_AFTER_HEADER: &str = "x-amz-retry-after";

/// How many rules a [`FaultSet`] holds unless the operator says otherwise (`--max-fault-rules`):
/// every request scans them under one lock, so their number is bounded.
pub const DEFAULT_MAX_RULES: usize = 1_000;

/// The longest `delay_ms` accepted: ten minutes, longer than any SDK's default timeout.
pub const MAX_DELAY_MS: u64 = 600_000;

/// The keys `--fault` and the JSON rule accept.
pub const RULE_KEYS: [&str; 12] = [
    "account",
    "service",
    "operation",
    "error",
    "status",
    "times",
    "rate",
    "delay_ms",
    "connection",
    "retry_after_ms",
    "message",
    "seed",
];

/// One fault rule, as `POST /_ivs-vcr/faults` takes it.
///
/// Build it with [`FaultRule::from_json`] or [`FaultRule::from_cli`]; [`FaultSet::add`] validates
/// it again, so a rule built by hand cannot skip the checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The 12-digit account whose requests the rule applies to (by their access key id, as the
    /// emulator chooses accounts); none means every account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The service the rule applies to, by its id (`ivs`, `ivschat`, `ivs-realtime`); none means
    /// the service `operation` names, or every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The operation the rule applies to (`GetChannel`, `CreateRoom`); none means every operation
    /// (of `service`, when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// An error its service models (`ThrottlingException`); the answer gets the model's status for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// An error status (400–599). Alone, it gives a generic error of that status; with `error`, it
    /// replaces the model's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How many times the rule fires before it is spent; none means no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    /// The probability (0–1) that the rule fires on a request it applies to; none means always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// A delay before the answer, in milliseconds. Alone, the request then goes on as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Drop the connection instead of answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionFault>,
    /// Sent as `x-amz-retry-after` (milliseconds) with the error answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The error message; by default it names ivs-vcr and the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The seed of the `rate` draws (0 by default): the same seed gives the same faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// How an injected fault ends the connection instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectionFault {
    /// Close the connection with a TCP reset (SO_LINGER 0), as a crashed peer or a middlebox does.
    Reset,
    /// Close the connection without sending a byte of the answer.
    Empty,
}

/// The services a rule applies to: one bit per [`Service`], in the order of [`Service::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(u8);

impl Scope {
    /// Every service.
    pub const ALL: Scope = Scope((1 << Service::ALL.len()) - 1);

    /// One service.
    pub fn only(service: Service) -> Scope {
        Scope(1 << service_bit(service))
    }

    /// Whether the scope covers `service`.
    pub fn contains(self, service: Service) -> bool {
        self.0 & (1 << service_bit(service)) != 0
    }

    /// The services covered, in the order of [`Service::ALL`].
    pub fn services(self) -> impl Iterator<Item = Service> {
        Service::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    fn with(self, service: Service) -> Scope {
        Scope(self.0 | Scope::only(service).0)
    }
}

/// Why a fault rule was refused. The messages name the field as the rule spells it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FaultError {
    /// The JSON is not a rule: a wrong type, an unknown key, an unknown `connection`.
    #[error("invalid fault rule: {source}")]
    Json {
        /// What serde_json found.
        #[source]
        source: serde_json::Error,
    },
    /// `error` names no error the rule's service models.
    #[error(
        "error: `{name}` is not {}{}; expected one of {}",
        error_owner(*.services),
        did_you_mean(*.suggestion),
        expected_errors(*.services)
    )]
    UnknownError {
        /// The name given.
        name: String,
        /// The services the rule applies to, as a [`Scope`] mask.
        services: Scope,
        /// The error it most likely misspells, if any.
        suggestion: Option<&'static str>,
    },
    /// `operation` names no operation of the rule's service (or of any service).
    #[error("operation: `{name}` is not an {} operation{}", operation_owner(*.service), did_you_mean(*.suggestion))]
    UnknownOperation {
        /// The name given.
        name: String,
        /// The service given with `service`, if any.
        service: Option<Service>,
        /// The operation it most likely misspells, if any.
        suggestion: Option<&'static str>,
    },
    /// `service` names no service of the family.
    #[error(
        "service: `{name}` is not a service ivs-vcr serves; expected one of {}",
        service_ids()
    )]
    UnknownService {
        /// The id given.
        name: String,
    },
    /// `account` is not a 12-digit account id.
    #[error("account: `{account}` is not a 12-digit AWS account id (such as `111122223333`); leave `account` out for every account")]
    BadAccount {
        /// The account given.
        account: String,
    },
    /// `status` is not an error status.
    #[error("status: {status} is not an error status (400–599)")]
    StatusOutOfRange {
        /// The status given.
        status: u16,
    },
    /// `rate` is not a probability.
    #[error("rate: {rate} is outside 0–1")]
    RateOutOfRange {
        /// The rate given.
        rate: f64,
    },
    /// `times: 0` would never fire.
    #[error("times: 0 would never fire; leave `times` out for no limit")]
    ZeroTimes,
    /// `delay_ms` is longer than [`MAX_DELAY_MS`].
    #[error("delay_ms: {delay_ms} is over the limit of {MAX_DELAY_MS}")]
    DelayTooLong {
        /// The delay given.
        delay_ms: u64,
    },
    /// Two fields that cannot go together.
    #[error("`{field}` cannot be combined with `{other}`")]
    Conflict {
        /// The field that rules the other out.
        field: &'static str,
        /// The field it rules out.
        other: &'static str,
    },
    /// A field that only means something with an error answer.
    #[error("`{field}` needs `error` or `status`")]
    NeedsError {
        /// The field given without an error.
        field: &'static str,
    },
    /// A rule with nothing to do.
    #[error("a fault needs at least one of `error`, `status`, `connection` or `delay_ms`")]
    NoEffect,
    /// The set already holds as many rules as it may.
    #[error("the server already holds {limit} fault rules, its limit (`--max-fault-rules`); spent rules count until `DELETE /_ivs-vcr/faults` clears them")]
    TooManyRules {
        /// The limit.
        limit: usize,
    },
    /// A `--fault` part that is not `key=value`.
    #[error("`--fault` takes key=value pairs separated by commas, such as `operation=GetChannel,error=ThrottlingException,times=2`; got `{part}`")]
    CliSyntax {
        /// The part that has no `=`.
        part: String,
    },
    /// A `--fault` key that is not a rule field.
    #[error("unknown fault key `{key}`{}; expected one of {}", did_you_mean(*.suggestion), RULE_KEYS.join(", "))]
    CliKey {
        /// The key given.
        key: String,
        /// The key it most likely misspells, if any.
        suggestion: Option<&'static str>,
    },
    /// A `--fault` key given twice.
    #[error("fault key `{key}` is given twice")]
    CliDuplicate {
        /// The repeated key.
        key: String,
    },
    /// A `--fault` value of the wrong kind.
    #[error("{key}: expected {expected}, got `{value}`")]
    CliValue {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
}

/// What a request meets when a rule fires: an optional delay, then one [`FaultOutcome`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaultAction {
    /// Wait this long first (the sum of the delays of every rule that fired).
    pub delay: Option<Duration>,
    /// What happens after the delay.
    pub outcome: FaultOutcome,
}

/// What happens to a request after an injected delay.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultOutcome {
    /// Serve the request as usual (the rules only delayed it).
    Continue,
    /// Answer with an injected error instead of serving the request.
    Respond(FaultResponse),
    /// End the connection without an answer.
    Drop(ConnectionFault),
}

/// An injected error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultResponse {
    /// The id of the rule that produced it.
    pub rule_id: u64,
    /// The HTTP status.
    pub status: StatusCode,
    /// The `x-amzn-ErrorType`.
    pub error_type: String,
    /// The text under `exceptionMessage` and `message`.
    pub message: String,
    /// Sent as `x-amz-retry-after`, in milliseconds.
    pub retry_after: Option<Duration>,
}

/// A rule as `GET /_ivs-vcr/faults` lists it and `POST` answers it: the rule, its id, and how much
/// of it is left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultView {
    /// The rule's id, unique within its set until [`FaultSet::clear`].
    pub id: u64,
    /// The rule as given.
    #[serde(flatten)]
    pub rule: FaultRule,
    /// Uses left; `null` for a rule with no `times` limit.
    pub remaining: Option<u64>,
    /// How many times the rule has fired.
    pub hits: u64,
}

/// The fault rules of one server, shared by its connections.
#[derive(Debug)]
pub struct FaultSet {
    /// How many rules are held, read without the lock so that a server with no faults pays one
    /// atomic load per request.
    n_rules: AtomicUsize,
    /// How many rules it may hold.
    max_rules: usize,
    inner: Mutex<Rules>,
}

impl Default for FaultSet {
    fn default() -> Self {
        FaultSet::with_max_rules(DEFAULT_MAX_RULES)
    }
}

#[derive(Debug, Default)]
struct Rules {
    next_id: u64,
    entries: Vec<Entry>,
}

/// An accepted rule with its state.
#[derive(Debug)]
struct Entry {
    id: u64,
    rule: FaultRule,
    /// The services whose requests the rule applies to.
    scope: Scope,
    effect: Effect,
    remaining: Option<u64>,
    hits: u64,
    rng: SplitMix64,
}

/// What a validated rule does when it fires.
#[derive(Debug, Clone)]
enum Effect {
    Continue,
    Respond {
        status: StatusCode,
        error_type: String,
        message: Option<String>,
        retry_after: Option<Duration>,
    },
    Drop(ConnectionFault),
}

impl FaultRule {
    /// Parses and validates a rule from its JSON form.
    pub fn from_json(json: &[u8]) -> Result<FaultRule, FaultError> {
        let rule: FaultRule =
            serde_json::from_slice(json).map_err(|source| FaultError::Json { source })?;
        rule.validate()?;
        Ok(rule)
    }

    /// Parses and validates a rule from `--fault`'s form: `key=value` pairs separated by commas,
    /// with the keys of the JSON form (`operation=GetChannel,error=ThrottlingException,times=2`).
    /// A `message` cannot contain a comma here.
    pub fn from_cli(text: &str) -> Result<FaultRule, FaultError> {
        let mut fields = serde_json::Map::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| FaultError::CliSyntax {
                    part: part.to_owned(),
                })?;
            let json = cli_value(key, value)?;
            if fields.insert(key.to_owned(), json).is_some() {
                return Err(FaultError::CliDuplicate {
                    key: key.to_owned(),
                });
            }
        }
        let rule: FaultRule = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|source| FaultError::Json { source })?;
        rule.validate()?;
        Ok(rule)
    }

    /// Checks the rule: known names, values in range, and fields that make sense together.
    pub fn validate(&self) -> Result<(), FaultError> {
        self.effect().map(|_| ())
    }

    /// The services the rule applies to: the one `service` names; else those that have an
    /// operation named `operation` (one, except for the tag operations every service shares);
    /// else every service.
    fn scope(&self) -> Result<Scope, FaultError> {
        let service = match &self.service {
            Some(id) => Some(
                Service::from_id(id)
                    .ok_or_else(|| FaultError::UnknownService { name: id.clone() })?,
            ),
            None => None,
        };
        let Some(name) = &self.operation else {
            return Ok(service.map_or(Scope::ALL, Scope::only));
        };
        let candidates = match service {
            Some(service) => Scope::only(service),
            None => Scope::ALL,
        };
        let scope = candidates
            .services()
            .filter(|s| s.catalog().operation(name).is_some())
            .fold(Scope(0), Scope::with);
        if scope.0 == 0 {
            return Err(FaultError::UnknownOperation {
                name: name.clone(),
                service,
                suggestion: crate::ivs::nearest_name(
                    name,
                    candidates
                        .services()
                        .flat_map(|s| s.catalog().operations)
                        .map(|op| op.name),
                ),
            });
        }
        Ok(scope)
    }

    /// Validates the rule and resolves what it does when it fires, and for which services.
    fn effect(&self) -> Result<(Scope, Effect), FaultError> {
        if let Some(account) = &self.account {
            if !crate::emulator::is_account_id(account) {
                return Err(FaultError::BadAccount {
                    account: account.clone(),
                });
            }
        }
        let scope = self.scope()?;
        let effect = self.effect_in(scope)?;
        Ok((scope, effect))
    }

    /// What the rule does, its `error` checked against the errors of the services in `scope`.
    fn effect_in(&self, scope: Scope) -> Result<Effect, FaultError> {
        let error = match &self.error {
            Some(name) => Some(
                service_errors(scope)
                    .find(|e| e.name() == name)
                    .ok_or_else(|| FaultError::UnknownError {
                        name: name.clone(),
                        services: scope,
                        suggestion: crate::ivs::nearest_name(
                            name,
                            service_errors(scope).map(|e| e.name()),
                        ),
                    })?,
            ),
            None => None,
        };
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(FaultError::StatusOutOfRange { status });
            }
        }
        if let Some(rate) = self.rate {
            // `contains` is false for NaN, so NaN is refused too.
            if !(0.0..=1.0).contains(&rate) {
                return Err(FaultError::RateOutOfRange { rate });
            }
        }
        if self.times == Some(0) {
            return Err(FaultError::ZeroTimes);
        }
        if let Some(delay_ms) = self.delay_ms {
            if delay_ms > MAX_DELAY_MS {
                return Err(FaultError::DelayTooLong { delay_ms });
            }
        }
        if let Some(connection) = self.connection {
            for (given, other) in [
                (self.error.is_some(), "error"),
                (self.status.is_some(), "status"),
                (self.retry_after_ms.is_some(), "retry_after_ms"),
                (self.message.is_some(), "message"),
            ] {
                if given {
                    return Err(FaultError::Conflict {
                        field: "connection",
                        other,
                    });
                }
            }
            return Ok(Effect::Drop(connection));
        }
        let status = match (error, self.status) {
            (_, Some(status)) => Some(status),
            (Some(error), None) => Some(error.status()),
            (None, None) => None,
        };
        let Some(status) = status else {
            for (given, field) in [
                (self.retry_after_ms.is_some(), "retry_after_ms"),
                (self.message.is_some(), "message"),
            ] {
                if given {
                    return Err(FaultError::NeedsError { field });
                }
            }
            if self.delay_ms.is_none() {
                return Err(FaultError::NoEffect);
            }
            return Ok(Effect::Continue);
        };
        Ok(Effect::Respond {
            // Invariant: 400..=599 were checked above, and every model status is in that range.
            status: StatusCode::from_u16(status).expect("error status in 400..=599"),
            error_type: error.map_or(GENERIC_ERROR_TYPE, ErrorType::name).to_owned(),
            message: self.message.clone(),
            retry_after: self.retry_after_ms.map(Duration::from_millis),
        })
    }
}

impl FaultResponse {
    /// The answer as `(status, headers, body)`; see [`error_parts`].
    pub fn to_parts(&self) -> (StatusCode, HeaderMap, Bytes) {
        let (status, mut headers, body) = error_parts(
            self.status,
            &self.error_type,
            &self.message,
            self.retry_after,
        );
        headers.insert(HeaderName::from_static(FAULT_HEADER), self.rule_id.into());
        (status, headers, body)
    }
}

/// An IVS-style error answer as `(status, headers, body)`: `Content-Type: application/json`,
/// `x-amzn-ErrorType: <error_type>`, `x-amz-retry-after` (milliseconds) when given, and the body
/// `{"exceptionMessage": message, "message": message}`.
pub fn error_parts(
    status: StatusCode,
    error_type: &str,
    message: &str,
    retry_after: Option<Duration>,
) -> (StatusCode, HeaderMap, Bytes) {
    // The same form as the emulator's own errors, so an injected fault looks like IVS's.
    let (status, mut headers, body) = crate::http::ivs_answer(
        status,
        Some(error_type),
        Some(crate::http::ivs_error_body(message)),
        None,
    );
    if let Some(retry_after) = retry_after {
        let millis = u64::try_from(retry_after.as_millis()).unwrap_or(u64::MAX);
        headers.insert(HeaderName::from_static(RETRY_AFTER_HEADER), millis.into());
    }
    (status, headers, body)
}

impl FaultSet {
    /// An empty set that holds up to [`DEFAULT_MAX_RULES`] rules.
    pub fn new() -> FaultSet {
        FaultSet::default()
    }

    /// An empty set that holds up to `max_rules` rules.
    pub fn with_max_rules(max_rules: usize) -> FaultSet {
        FaultSet {
            n_rules: AtomicUsize::new(0),
            max_rules,
            inner: Mutex::default(),
        }
    }

    /// Validates a rule and adds it after the others; returns its listing, with its new id.
    /// Refused with [`FaultError::TooManyRules`] when the set is full.
    pub fn add(&self, rule: FaultRule) -> Result<FaultView, FaultError> {
        let (scope, effect) = rule.effect()?;
        let mut rules = self.lock();
        if rules.entries.len() >= self.max_rules {
            return Err(FaultError::TooManyRules {
                limit: self.max_rules,
            });
        }
        rules.next_id += 1;
        let entry = Entry {
            id: rules.next_id,
            scope,
            remaining: rule.times,
            hits: 0,
            rng: SplitMix64::new(rule.seed.unwrap_or(0)),
            effect,
            rule,
        };
        let view = entry.view();
        rules.entries.push(entry);
        self.n_rules.store(rules.entries.len(), Ordering::Release);
        Ok(view)
    }

    /// Every rule, in the order they are checked, spent ones included.
    pub fn list(&self) -> Vec<FaultView> {
        self.lock().entries.iter().map(Entry::view).collect()
    }

    /// The rules that name `account`, in the order they are checked, spent ones included.
    pub fn list_account(&self, account: &str) -> Vec<FaultView> {
        (self.lock().entries.iter())
            .filter(|e| e.rule.account.as_deref() == Some(account))
            .map(Entry::view)
            .collect()
    }

    /// Removes the rules that name `account` (`DELETE /_ivs-vcr/faults?account=ID`), leaving the
    /// others and their ids; returns how many were removed.
    pub fn clear_account(&self, account: &str) -> usize {
        let mut rules = self.lock();
        let before = rules.entries.len();
        (rules.entries).retain(|e| e.rule.account.as_deref() != Some(account));
        self.n_rules.store(rules.entries.len(), Ordering::Release);
        before - rules.entries.len()
    }

    /// Removes every rule and starts ids from 1 again.
    pub fn clear(&self) {
        let mut rules = self.lock();
        *rules = Rules::default();
        self.n_rules.store(0, Ordering::Release);
    }

    /// Whether the set holds no rule.
    pub fn is_empty(&self) -> bool {
        self.n_rules.load(Ordering::Acquire) == 0
    }

    /// What a request for `service`'s `operation` meets, spending one use of each rule that fires;
    /// `None` when no rule fires. Runs once per downstream request, before any matching, emulation
    /// or forwarding. `account` gives the request's account; it is called at most once, and only
    /// when a rule with `account` applies to `operation`.
    pub fn check<A: AsRef<str>>(
        &self,
        service: Service,
        operation: &str,
        account: impl FnOnce() -> A,
    ) -> Option<FaultAction> {
        if self.is_empty() {
            return None;
        }
        let account = std::cell::LazyCell::new(account);
        let request = Request {
            service,
            operation,
            account: &|| account.as_ref(),
        };
        let mut rules = self.lock();
        let mut delay: Option<Duration> = None;
        for entry in rules.entries.iter_mut() {
            if !entry.fires(&request) {
                continue;
            }
            if let Some(ms) = entry.rule.delay_ms {
                delay = Some(delay.unwrap_or_default() + Duration::from_millis(ms));
            }
            let outcome = match &entry.effect {
                Effect::Continue => continue,
                Effect::Drop(connection) => FaultOutcome::Drop(*connection),
                Effect::Respond {
                    status,
                    error_type,
                    message,
                    retry_after,
                } => FaultOutcome::Respond(FaultResponse {
                    rule_id: entry.id,
                    status: *status,
                    error_type: error_type.clone(),
                    message: message.clone().unwrap_or_else(|| {
                        format!(
                            "{error_type} injected by ivs-vcr fault #{} on {operation}",
                            entry.id
                        )
                    }),
                    retry_after: *retry_after,
                }),
            };
            return Some(FaultAction { delay, outcome });
        }
        delay.map(|delay| FaultAction {
            delay: Some(delay),
            outcome: FaultOutcome::Continue,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rules> {
        // A panic while the lock is held cannot leave the rules half-updated (each update is one
        // assignment), so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What [`Entry::fires`] knows of a request.
struct Request<'a> {
    service: Service,
    operation: &'a str,
    /// The request's account, worked out on first use.
    account: &'a dyn Fn() -> &'a str,
}

impl Entry {
    /// Whether the rule fires on this request; if so, one use is spent. The account is asked
    /// last of what a rule matches on, so that a rule for another operation never reads it.
    fn fires(&mut self, request: &Request<'_>) -> bool {
        if !self.scope.contains(request.service) {
            return false;
        }
        if self
            .rule
            .operation
            .as_deref()
            .is_some_and(|op| op != request.operation)
        {
            return false;
        }
        if (self.rule.account.as_deref()).is_some_and(|account| account != (request.account)()) {
            return false;
        }
        if self.remaining == Some(0) {
            return false;
        }
        if let Some(rate) = self.rule.rate {
            if self.rng.next_unit() >= rate {
                return false;
            }
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        self.hits += 1;
        true
    }

    fn view(&self) -> FaultView {
        FaultView {
            id: self.id,
            rule: self.rule.clone(),
            remaining: self.remaining,
            hits: self.hits,
        }
    }
}

/// The JSON value of one `--fault` pair, typed by its key.
fn cli_value(key: &str, value: &str) -> Result<serde_json::Value, FaultError> {
    let bad = |expected| FaultError::CliValue {
        key: key.to_owned(),
        value: value.to_owned(),
        expected,
    };
    Ok(match key {
        "account" | "service" | "operation" | "error" | "connection" | "message" => value.into(),
        "status" => value
            .parse::<u16>()
            .map_err(|_| bad("an HTTP status such as 503"))?
            .into(),
        "times" | "delay_ms" | "retry_after_ms" | "seed" => value
            .parse::<u64>()
            .map_err(|_| bad("a whole number"))?
            .into(),
        "rate" => {
            let rate = value
                .parse::<f64>()
                .map_err(|_| bad("a number from 0 to 1"))?;
            serde_json::Number::from_f64(rate)
                .ok_or_else(|| bad("a number from 0 to 1"))?
                .into()
        }
        _ => {
            return Err(FaultError::CliKey {
                key: key.to_owned(),
                suggestion: crate::ivs::nearest_name(key, RULE_KEYS.iter().copied()),
            })
        }
    })
}

/// The place of `service` in [`Service::ALL`].
fn service_bit(service: Service) -> u32 {
    // Invariant: `Service::ALL` lists every variant.
    Service::ALL
        .iter()
        .position(|s| *s == service)
        .expect("every service is in `ALL`") as u32
}

/// The errors the services in `scope` model (those some operation of theirs lists), sorted by name.
fn service_errors(scope: Scope) -> impl Iterator<Item = ErrorType> {
    ErrorType::ALL.into_iter().filter(move |error| {
        scope
            .services()
            .flat_map(|s| s.catalog().operations)
            .any(|op| op.errors.contains(error))
    })
}

fn expected_errors(scope: Scope) -> String {
    service_errors(scope)
        .map(ErrorType::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How an error message names the services of a rule: `an IVS Chat error`, or for a rule on every
/// service, `an error of the IVS family`.
fn error_owner(scope: Scope) -> String {
    let mut services = scope.services();
    match (services.next(), services.next()) {
        (Some(service), None) => format!("an {service} error"),
        _ => "an error of the IVS family".to_owned(),
    }
}

fn operation_owner(service: Option<Service>) -> String {
    service.map_or_else(|| "IVS family".to_owned(), |s| s.to_string())
}

fn service_ids() -> String {
    Service::ALL
        .iter()
        .map(|s| format!("`{}`", s.id()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
