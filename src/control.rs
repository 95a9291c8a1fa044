//! The control plane: `/_ivs-vcr/…` on both servers, a prefix no IVS path can take (IVS paths are
//! `/<Operation>` and `/tags/<arn>`).
//!
//! | call | what it does |
//! |---|---|
//! | `GET /_ivs-vcr/health` | `{"status": "ok", "mode": "emulate" \| "replay" \| "record"}` |
//! | `POST /_ivs-vcr/reset` (and moto's `POST /moto-api/reset`) | empties the emulator, rewinds sequence cursors, clears faults, closes every chat socket, forgets the events kept |
//! | `GET /_ivs-vcr/state` | the emulator's resources, as JSON, and under `chat` the rooms' live connections and recent messages |
//! | `POST /_ivs-vcr/streams/start` `{"channelArn", "health"?, "viewerCount"?}` | takes a channel live |
//! | `POST /_ivs-vcr/streams/stop` `{"channelArn"}` | takes it offline |
//! | `POST /_ivs-vcr/streams/update` `{"channelArn", "health"?, "viewerCount"?}` | changes a live stream's health (sending IVS Stream Health Change) or viewer count |
//! | `GET /_ivs-vcr/events` (`?since=N`, `?detail-type=…`) | the EventBridge events sent, oldest first, in EventBridge's envelope: `{"events", "last", "delivery"}`; `last` is the number to pass as `since` next time (events are numbered from 1, again after a reset) |
//! | `GET /_ivs-vcr/summary` | per operation: matched, unmatched (with reports), unused, emulated; under `chat`, WebSocket actions, errors and connections |
//! | `GET`/`POST`/`DELETE /_ivs-vcr/faults` | lists, adds or clears injected faults |
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
    /// Rewinds sequence cursors and forgets counts (the emulator and faults are reset by `handle`).
    fn rewind(&self);
    /// The summary so far, as JSON.
    fn summary(&self) -> Value;
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
        ("POST", "reset") => {
            if let Some(emulator) = plane.emulator() {
                emulator.reset();
            }
            plane.rewind();
            plane.faults().clear();
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
                let mut state = emulator.state();
                if let (Some(chat), Some(object)) = (plane.chat(), state.as_object_mut()) {
                    object.insert("chat".to_owned(), chat.snapshot());
                }
                Ok((200, state))
            }
            None => no_emulator(),
        },
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
            let (list, last) = events.list(since, first("detail-type").map(String::as_str));
            let list: Vec<Value> = list.iter().map(|e| Value::clone(e)).collect();
            Ok((
                200,
                json!({"events": list, "last": last, "delivery": events.delivery_counts()}),
            ))
        }
        ("GET", "summary") => {
            let mut summary = plane.summary();
            if let (Some(chat), Some(object)) = (plane.chat(), summary.as_object_mut()) {
                object.insert("chat".to_owned(), chat.summary());
            }
            Ok((200, summary))
        }
        ("GET", "faults") => Ok((200, json!({"faults": plane.faults().list()}))),
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
            "health" | "reset" | "state" | "streams/start" | "streams/stop" | "streams/update"
            | "events" | "summary" | "faults",
        ) => bad(
            405,
            "IvsVcrMethodNotAllowedException",
            format!("`{method} {path}` is not a control call; see GET {PREFIX}health for the list"),
        ),
        _ => bad(
            404,
            "IvsVcrUnknownControlException",
            format!(
                "`{method} {path}` is not a control call; the control plane answers GET {PREFIX}health, POST {PREFIX}reset, GET {PREFIX}state, POST {PREFIX}streams/start, POST {PREFIX}streams/stop, POST {PREFIX}streams/update, GET {PREFIX}events, GET {PREFIX}summary, and GET, POST or DELETE {PREFIX}faults"
            ),
        ),
    }
}

fn no_emulator() -> Reply {
    bad(
        409,
        "IvsVcrNoEmulatorException",
        "this server has no emulator: start `ivs-vcr replay` without --cassettes, or with --on-miss emulate",
    )
}
