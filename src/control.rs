//! The control plane: `/_ivs-vcr/…` on both servers, a prefix no IVS path can take (IVS paths are
//! `/<Operation>` and `/tags/<arn>`).
//!
//! | call | what it does |
//! |---|---|
//! | `GET /_ivs-vcr/health` | `{"status": "ok", "mode": "emulate" \| "replay" \| "record"}` |
//! | `POST /_ivs-vcr/reset` (and moto's `POST /moto-api/reset`) | empties the emulator, rewinds sequence cursors, clears faults, returns the clock to the wall clock, closes every chat socket, forgets the events kept |
//! | `POST /_ivs-vcr/reset?account=ID` | empties one account's state (its ids start again) and forgets its summary counts; nothing shared is touched |
//! | `GET /_ivs-vcr/state` | the emulator's resources, as JSON: `{account, regions}` of the default account (as before accounts), per region Real-Time's stage sessions and their participants under `stageSessions`, `accounts: {<id>: {regions}}` for every account with state, and under `chat` the rooms' live connections and recent messages |
//! | `GET /_ivs-vcr/state?account=ID` | one account's: `{account, regions}` (and `chat`) |
//! | (both `GET /_ivs-vcr/state` forms) | are also the state document (`emulator::snapshot`): `format`, `version`, `scope`, `clock` and `world`, what a restore reads |
//! | `POST /_ivs-vcr/state` (a document from GET, up to 64 MiB) | restores it: the whole emulator, or one account for a `?account=` document; checked whole first, so a refused document (400) changes nothing: `{restored, scope, accounts, streamsEnded}` |
//! | `POST /_ivs-vcr/state/save` | writes the state to `--state-file` now: `{path, bytes}`; 409 without `--state-file` |
//! | `POST /_ivs-vcr/streams/start` `{"channelArn", "health"?, "viewerCount"?}` | takes a channel live |
//! | `POST /_ivs-vcr/streams/stop` `{"channelArn"}` | takes it offline |
//! | `POST /_ivs-vcr/stages/join` `{"token", "publish"?, "subscribe"?}` | joins a Real-Time participant with its token: `{"participantId", "stageArn", "sessionId"}`; joining again with a connected participant's token changes what it publishes and subscribes to; `{"streamKey"}` instead publishes as an RTMP(S) encoder with an ingest configuration's key |
//! | `POST /_ivs-vcr/stages/leave` `{"participantId", "stageArn"?}` | the participant leaves its stage: `{}` |
//! | `POST /_ivs-vcr/streams/update` `{"channelArn", "health"?, "viewerCount"?}` | changes a live stream's health (sending IVS Stream Health Change) or viewer count |
//! | `GET /_ivs-vcr/events` (`?since=N`, `?detail-type=…`, `?account=ID`) | the EventBridge events sent, oldest first, in EventBridge's envelope: `{"events", "last", "delivery"}`; `last` is the number to pass as `since` next time (events are numbered from 1, again after a reset, across accounts); `?account=` lists only the events of requests made in that account (the envelope's `account`) |
//! | `GET /_ivs-vcr/summary` | per operation: matched, unmatched (with reports), unused, emulated, faulted; under `chat`, WebSocket actions, errors and connections; under `accounts`, each account's part as `?account=` gives it |
//! | `GET /_ivs-vcr/summary?account=ID` | one account's part: `{mode, account, operations: {<op>: {emulated, faulted}}, n_emulated, n_faulted}`; cassette counts (matched, unmatched, unused) are server-wide only |
//! | `GET`/`POST`/`DELETE /_ivs-vcr/faults` | lists, adds or clears injected faults; a rule with `account` (12 digits) applies to that account's requests only |
//! | `GET`/`DELETE /_ivs-vcr/faults?account=ID` | lists or clears only the rules that name that account (`{"faults", "account"}`; DELETE adds `removed`): one worker's, on a shared server |
//! | `GET /_ivs-vcr/clock`, `POST` `{"advance_seconds": N}` or `{"time": "…Z"}` | reads or moves the emulator's clock forward (`clock`); reset returns it to the wall clock |
//!
//! Answers are JSON; a bad control request gets a 4xx whose `message` says what to send instead.
//! The servers call [`handle`] before anything else, so the control plane works whatever the
//! cassettes say, and no control request is ever matched, recorded or forwarded.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::emulator::Emulator;
use crate::fault::{FaultRule, FaultSet};
use crate::http::{error_response, json_response, HttpResponse};
use http::StatusCode;

/// The path prefix of the control plane.
pub const PREFIX: &str = "/_ivs-vcr/";

/// moto's reset call, accepted so that a moto-style suite runs unchanged.
const MOTO_RESET: &str = "/moto-api/reset";

/// Whether a request path belongs to the control plane.
pub(crate) fn is_control(path: &str) -> bool {
    path.starts_with(PREFIX) || path == MOTO_RESET || path == "/_ivs-vcr"
}

/// What a server lends the control plane.
pub(crate) trait Plane: Send + Sync {
    /// `emulate`, `replay` or `record`.
    fn mode(&self) -> &'static str;
    /// The emulator, when the server has one.
    fn emulator(&self) -> Option<&Emulator>;
    /// Where the emulator's state is saved (`--state-file`), when the operator gave a file.
    fn state_file(&self) -> Option<&std::path::Path> {
        None
    }
    /// Rewinds sequence cursors and forgets counts (the emulator and faults are reset by `handle`).
    fn rewind(&self);
    /// The summary so far, as JSON.
    fn summary(&self) -> Value;
    /// One account's part of the summary, when the server has accounts (an emulator).
    fn account_summary(&self, _account: &str) -> Option<Value> {
        None
    }
    /// Forgets what the summary counted of one account (its state is reset by `handle`).
    fn forget_account(&self, _account: &str) {}
    /// The server's injected faults.
    fn faults(&self) -> &FaultSet;
    /// The chat data plane, when the server serves the chat socket.
    fn chat(&self) -> Option<&crate::live::chat::ChatHub> {
        None
    }
    /// The EventBridge events the server's emulator sent, when it keeps them.
    fn events(&self) -> Option<&crate::live::events::EventBus> {
        None
    }
    /// Where encoders publish and players play, when the server has RTMP ingest or playback:
    /// `{"rtmp": "rtmp://…/app/<streamKey>", "playback": "http://…"}`.
    fn live(&self) -> Option<Value> {
        None
    }
}

/// A control-plane answer: status and JSON body, or a refusal.
type Reply = Result<(u16, Value), Refusal>;

/// A bad control request: answered as every ivs-vcr error is (`http::error_response`).
struct Refusal {
    status: u16,
    error: &'static str,
    message: String,
}

fn bad(status: u16, error: &'static str, message: impl Into<String>) -> Reply {
    Err(Refusal {
        status,
        error,
        message: message.into(),
    })
}

/// The `account` query parameter: one 12-digit account id.
fn account_param(query: &BTreeMap<String, Vec<String>>) -> Result<&str, Refusal> {
    match query.get("account").map(Vec::as_slice) {
        Some([account]) if crate::emulator::is_account_id(account) => Ok(account),
        _ => Err(Refusal {
            status: 400,
            error: "IvsVcrBadRequestException",
            message: "`account` must be one 12-digit AWS account id (`?account=123456789012`)"
                .to_owned(),
        }),
    }
}

/// Answers one control-plane request.
pub(crate) fn handle(
    plane: &dyn Plane,
    method: &str,
    path: &str,
    query: &BTreeMap<String, Vec<String>>,
    raw: &[u8],
) -> HttpResponse {
    match reply(plane, method, path, query, raw) {
        Ok((status, body)) => json_response(status, &body, None, "control"),
        Err(refusal) => error_response(
            StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::BAD_REQUEST),
            refusal.error,
            &refusal.message,
        ),
    }
}

fn reply(
    plane: &dyn Plane,
    method: &str,
    path: &str,
    query: &BTreeMap<String, Vec<String>>,
    raw: &[u8],
) -> Reply {
    let route = if path == MOTO_RESET {
        "reset"
    } else {
        path.strip_prefix(PREFIX)
            .unwrap_or("")
            .trim_end_matches('/')
    };
    let body: Value = if raw.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(raw) {
            Ok(value) => value,
            Err(err) => {
                return bad(
                    400,
                    "IvsVcrBadRequestException",
                    format!("control request body is not JSON: {err}"),
                )
            }
        }
    };
    match (method, route) {
        ("GET", "health") => {
            let mut health = json!({"status": "ok", "mode": plane.mode()});
            if let (Some(live), Some(object)) = (plane.live(), health.as_object_mut()) {
                object.insert("live".to_owned(), live);
            }
            Ok((200, health))
        }
        ("POST", "reset") if query.contains_key("account") => {
            // One account's state, for a worker that is done with its own; everything shared
            // (cursors, faults, the clock, the data plane) stays.
            let account = account_param(query)?;
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            emulator.reset_account(account);
            plane.forget_account(account);
            Ok((200, json!({"reset": true, "account": account})))
        }
        ("POST", "reset") => {
            if let Some(emulator) = plane.emulator() {
                emulator.reset();
            }
            plane.rewind();
            plane.faults().clear();
            crate::clock::reset();
            if let Some(events) = plane.events() {
                crate::live::events::EventSink::reset(events);
            }
            if let Some(chat) = plane.chat() {
                // Every socket is closed and every unused token forgotten.
                crate::live::chat::ChatSink::reset(chat);
                chat.forget_counts();
            }
            Ok((200, json!({"reset": true})))
        }
        ("GET", "state") => match plane.emulator() {
            Some(emulator) => {
                let account = match query.contains_key("account") {
                    true => Some(account_param(query)?),
                    false => None,
                };
                let mut state = emulator.snapshot(account);
                if let (Some(chat), Some(object)) = (plane.chat(), state.as_object_mut()) {
                    object.insert("chat".to_owned(), chat.snapshot());
                }
                Ok((200, state))
            }
            None => no_emulator(),
        },
        ("POST", "state") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            match emulator.restore(body) {
                Ok(done) => Ok((200, done)),
                Err(err) => bad(400, "ValidationException", format!("state not restored, nothing changed: {err}")),
            }
        }
        ("POST", "state/save") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            let Some(path) = plane.state_file() else {
                return bad(
                    409,
                    "IvsVcrNoStateFileException",
                    "this server has no state file: start it with --state-file PATH (GET /_ivs-vcr/state takes a snapshot without one)",
                );
            };
            match crate::emulator::state_file::save(emulator, path) {
                Ok(bytes) => Ok((200, json!({"path": path.display().to_string(), "bytes": bytes}))),
                Err(err) => bad(500, "IvsVcrStateFileException", crate::http::error_chain(&err)),
            }
        }
        ("POST", "streams/start") | ("POST", "streams/stop") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            let Some(arn) = body.get("channelArn").and_then(Value::as_str) else {
                return bad(
                    400,
                    "ValidationException",
                    "send {\"channelArn\": \"arn:aws:ivs:<region>:<account>:channel/<id>\"}",
                );
            };
            let result = if route == "streams/start" {
                let viewers = body.get("viewerCount").and_then(Value::as_i64).unwrap_or(0);
                emulator.start_stream(arn, body.get("health").and_then(Value::as_str), viewers)
            } else {
                emulator.stop_stream(arn)
            };
            match result {
                Ok(value) => Ok((200, value)),
                Err(err) => bad(err.kind.status(), err.kind.name(), err.message),
            }
        }
        ("POST", "stages/join") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            let flag = |name: &str| body.get(name).and_then(Value::as_bool);
            let token = body.get("token").and_then(Value::as_str);
            let stream_key = body.get("streamKey").and_then(Value::as_str);
            let flags_ok = body.get("publish").is_none_or(Value::is_boolean)
                && body.get("subscribe").is_none_or(Value::is_boolean);
            let result = match (token, stream_key, flags_ok) {
                (Some(token), None, true) => {
                    emulator.join_stage(&crate::emulator::realtime::JoinRequest {
                        token: token.to_owned(),
                        publish: flag("publish"),
                        subscribe: flag("subscribe"),
                    })
                }
                (None, Some(key), true) => emulator.publish_with_key(key),
                _ => {
                    return bad(
                        400,
                        "ValidationException",
                        "send {\"token\": \"<participant token>\", \"publish\"?: true|false, \"subscribe\"?: true|false}, or {\"streamKey\": \"<ingest configuration stream key>\"} to publish as an RTMP(S) encoder would",
                    )
                }
            };
            match result {
                Ok(value) => Ok((200, value)),
                Err(err) => bad(err.kind.status(), err.kind.name(), err.message),
            }
        }
        ("POST", "stages/leave") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            let (Some(participant), true) = (
                body.get("participantId").and_then(Value::as_str),
                body.get("stageArn").is_none_or(Value::is_string),
            ) else {
                return bad(
                    400,
                    "ValidationException",
                    "send {\"participantId\": \"<id from /_ivs-vcr/stages/join>\", \"stageArn\"?: \"arn:aws:ivs:<region>:<account>:stage/<id>\"}",
                );
            };
            match emulator.leave_stage(participant, body.get("stageArn").and_then(Value::as_str)) {
                Ok(value) => Ok((200, value)),
                Err(err) => bad(err.kind.status(), err.kind.name(), err.message),
            }
        }
        ("POST", "streams/update") => {
            let Some(emulator) = plane.emulator() else {
                return no_emulator();
            };
            let Some(arn) = body.get("channelArn").and_then(Value::as_str) else {
                return bad(
                    400,
                    "ValidationException",
                    "send {\"channelArn\": \"arn:aws:ivs:<region>:<account>:channel/<id>\", \"health\": \"STARVING\"} (health, viewerCount or both)",
                );
            };
            let health = body.get("health").and_then(Value::as_str);
            let viewers = body.get("viewerCount").and_then(Value::as_i64);
            match emulator.update_stream(arn, health, viewers) {
                Ok(value) => Ok((200, value)),
                Err(err) => bad(err.kind.status(), err.kind.name(), err.message),
            }
        }
        ("GET", "events") => {
            let Some(events) = plane.events() else {
                return Ok((200, json!({"events": [], "last": 0})));
            };
            let first = |name: &str| query.get(name).and_then(|v| v.first());
            let since = match first("since").map(|s| s.parse::<u64>()) {
                None => 0,
                Some(Ok(n)) => n,
                Some(Err(_)) => {
                    return bad(
                        400,
                        "ValidationException",
                        "since: give the `last` number of an earlier answer (a whole number)",
                    )
                }
            };
            let account = match query.contains_key("account") {
                true => Some(account_param(query)?),
                false => None,
            };
            let filter = crate::live::events::EventFilter {
                detail_type: first("detail-type").map(String::as_str),
                account,
            };
            let (list, last) = events.list(since, filter);
            let list: Vec<Value> = list.iter().map(|e| Value::clone(e)).collect();
            Ok((
                200,
                json!({"events": list, "last": last, "delivery": events.delivery_counts()}),
            ))
        }
        ("GET", "summary") if query.contains_key("account") => {
            // One worker's part: what the emulator answered (and faults answered) in its account.
            let account = account_param(query)?;
            match plane.account_summary(account) {
                Some(summary) => Ok((200, summary)),
                None => no_emulator(),
            }
        }
        ("GET", "summary") => {
            let mut summary = plane.summary();
            if let (Some(chat), Some(object)) = (plane.chat(), summary.as_object_mut()) {
                object.insert("chat".to_owned(), chat.summary());
            }
            Ok((200, summary))
        }
        ("GET", "clock") => Ok((200, clock_view())),
        ("POST", "clock") => move_clock(&body),
        ("GET", "faults") if query.contains_key("account") => {
            let account = account_param(query)?;
            let list = plane.faults().list_account(account);
            Ok((200, json!({"faults": list, "account": account})))
        }
        ("GET", "faults") => Ok((200, json!({"faults": plane.faults().list()}))),
        ("DELETE", "faults") if query.contains_key("account") => {
            let account = account_param(query)?;
            let removed = plane.faults().clear_account(account);
            Ok((
                200,
                json!({"faults": [], "account": account, "removed": removed}),
            ))
        }
        ("DELETE", "faults") => {
            plane.faults().clear();
            Ok((200, json!({"faults": []})))
        }
        ("POST", "faults") => match FaultRule::from_json(raw).and_then(|rule| plane.faults().add(rule)) {
            Ok(view) => Ok((201, serde_json::to_value(view).unwrap_or_default())),
            Err(err) => bad(400, "ValidationException", err.to_string()),
        },
        (
            _,
            "health" | "reset" | "state" | "state/save" | "streams/start" | "streams/stop" | "streams/update"
            | "stages/join" | "stages/leave" | "events" | "summary" | "faults" | "clock",
        ) => bad(
            405,
            "IvsVcrMethodNotAllowedException",
            format!("`{method} {path}` is not a control call; see GET {PREFIX}health for the list"),
        ),
        _ => bad(
            404,
            "IvsVcrUnknownControlException",
            format!(
                "`{method} {path}` is not a control call; the control plane answers GET {PREFIX}health, POST {PREFIX}reset, GET or POST {PREFIX}state, POST {PREFIX}state/save, POST {PREFIX}streams/start, POST {PREFIX}streams/stop, POST {PREFIX}streams/update, POST {PREFIX}stages/join, POST {PREFIX}stages/leave, GET {PREFIX}events, GET {PREFIX}summary, GET or POST {PREFIX}clock, and GET, POST or DELETE {PREFIX}faults"
            ),
        ),
    }
}

/// The emulator's clock: `{"now", "epochMillis", "aheadSeconds"}`.
fn clock_view() -> Value {
    let now = crate::clock::now_millis();
    json!({
        "now": crate::clock::iso8601_millis(now),
        "epochMillis": now,
        "aheadSeconds": crate::clock::offset().as_secs_f64(),
    })
}

/// The longest single move of the clock: ten years, far past any IVS timeout, and far from
/// overflowing a time.
const MAX_CLOCK_MOVE_SECS: f64 = 10.0 * 365.0 * 86_400.0;

/// `POST /_ivs-vcr/clock`: `{"advance_seconds": N}` or `{"time": "2030-01-01T00:00:00Z"}`.
fn move_clock(body: &Value) -> Reply {
    const HOW: &str = "send {\"advance_seconds\": N} (N ≥ 0, fractions allowed) or {\"time\": \"YYYY-MM-DDTHH:MM:SSZ\"}";
    let fields = body.as_object().map_or(0, serde_json::Map::len);
    match (body.get("advance_seconds"), body.get("time")) {
        (Some(secs), None) if fields == 1 => {
            let Some(secs) = secs
                .as_f64()
                .filter(|s| s.is_finite() && (0.0..=MAX_CLOCK_MOVE_SECS).contains(s))
            else {
                return bad(
                    400,
                    "ValidationException",
                    format!("advance_seconds must be a number from 0 to {MAX_CLOCK_MOVE_SECS} (ten years): the clock only moves forward; {HOW}"),
                );
            };
            crate::clock::advance(std::time::Duration::from_secs_f64(secs));
            Ok((200, clock_view()))
        }
        (None, Some(time)) if fields == 1 => {
            let Some(secs) = time.as_str().and_then(crate::clock::parse_iso8601) else {
                return bad(
                    400,
                    "ValidationException",
                    format!("time must be an ISO-8601 UTC time; {HOW}"),
                );
            };
            let target = secs.saturating_mul(1000);
            if target.saturating_sub(crate::clock::now_millis()) as f64 / 1000.0
                > MAX_CLOCK_MOVE_SECS
            {
                return bad(
                    400,
                    "ValidationException",
                    "time is more than ten years ahead of the emulator's clock",
                );
            }
            match crate::clock::set(target) {
                Ok(_) => Ok((200, clock_view())),
                Err(message) => bad(409, "ConflictException", message),
            }
        }
        _ => bad(400, "ValidationException", HOW),
    }
}

fn no_emulator() -> Reply {
    bad(
        409,
        "IvsVcrNoEmulatorException",
        "this server has no emulator: start `ivs-vcr replay` without --cassettes, or with --on-miss emulate",
    )
}
