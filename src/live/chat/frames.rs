//! The JSON frames of the Chat Messaging API: what a client publishes (`SEND_MESSAGE`,
//! `DELETE_MESSAGE`, `DISCONNECT_USER`) and what the room sends it (`MESSAGE`, `EVENT`,
//! `ERROR`). Pure: no IO, no state; `socket` reads with [`parse`] and `hub` writes with the
//! builders here.
//!
//! The formats are AWS's "Amazon IVS Chat Messaging API Reference":
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/actions-sendmessage-publish.html>,
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/actions-deletemessage-publish.html>,
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/actions-disconnectuser-publish.html>,
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/actions-message-subscribe.html>,
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/actions-event-subscribe.html> and
//! <https://docs.aws.amazon.com/ivs/latest/chatmsgapireference/error-messages.html> (the error
//! codes: 400 malformed, 401 expired, 403 capability, 404 room, 406 review, 413 too large, 429
//! rate, 500 general).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// `ErrorCode` 400: the request is malformed or invalid.
pub(crate) const BAD_REQUEST: u16 = 400;
/// `ErrorCode` 403: the connection's capabilities do not permit this action.
pub(crate) const FORBIDDEN: u16 = 403;
/// `ErrorCode` 404: the room cannot be found.
pub(crate) const NOT_FOUND: u16 = 404;
/// `ErrorCode` 406: the message review handler rejected the message.
pub(crate) const NOT_ACCEPTABLE: u16 = 406;
/// `ErrorCode` 413: the request has fields that are too large.
pub(crate) const PAYLOAD_TOO_LARGE: u16 = 413;
/// `ErrorCode` 429: over the room's rate.
pub(crate) const TOO_MANY_REQUESTS: u16 = 429;

/// The capability each action needs, as `CreateChatToken` names it.
pub(crate) const SEND_MESSAGE: &str = "SEND_MESSAGE";
pub(crate) const DELETE_MESSAGE: &str = "DELETE_MESSAGE";
pub(crate) const DISCONNECT_USER: &str = "DISCONNECT_USER";

/// One publish frame, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// `SEND_MESSAGE`: `Content` (required), `Attributes`, `RequestId`.
    SendMessage {
        request_id: Option<String>,
        content: String,
        attributes: BTreeMap<String, String>,
    },
    /// `DELETE_MESSAGE`: `Id` (required), `Reason`, `RequestId`.
    DeleteMessage {
        request_id: Option<String>,
        id: String,
        reason: Option<String>,
    },
    /// `DISCONNECT_USER`: `UserId` (required), `Reason`, `RequestId`.
    DisconnectUser {
        request_id: Option<String>,
        user_id: String,
        reason: Option<String>,
    },
}

impl Request {
    /// The `Action` value, as the summary counts it.
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Request::SendMessage { .. } => SEND_MESSAGE,
            Request::DeleteMessage { .. } => DELETE_MESSAGE,
            Request::DisconnectUser { .. } => DISCONNECT_USER,
        }
    }

    /// The capability the action needs: the action's own name (documented on each action's page).
    pub(crate) fn capability(&self) -> &'static str {
        self.action()
    }

    pub(crate) fn request_id(&self) -> Option<&str> {
        match self {
            Request::SendMessage { request_id, .. }
            | Request::DeleteMessage { request_id, .. }
            | Request::DisconnectUser { request_id, .. } => request_id.as_deref(),
        }
    }
}

/// A frame refused before it reached the room: the `ERROR` frame's code and message, and the
/// frame's `RequestId` when it had a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub code: u16,
    pub message: String,
    pub request_id: Option<String>,
}

/// Parses one text frame. Every refusal is a 400 (inferred: the reference documents 400 as "the
/// request is malformed or invalid" without listing cases), naming what to send instead.
pub(crate) fn parse(text: &str) -> Result<Request, Refused> {
    let refuse = |message: String, request_id: Option<String>| Refused {
        code: BAD_REQUEST,
        message,
        request_id,
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|err| refuse(format!("frame is not JSON: {err}"), None))?;
    let Value::Object(object) = value else {
        return Err(refuse(
            "frame is not a JSON object; send {\"Action\": \"SEND_MESSAGE\", \"Content\": \"…\"}"
                .to_owned(),
            None,
        ));
    };
    let request_id = match object.get("RequestId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(refuse("`RequestId` must be a string".to_owned(), None)),
    };
    let string = |name: &str, required: bool| -> Result<Option<String>, Refused> {
        match object.get(name) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            None | Some(Value::Null) if !required => Ok(None),
            None | Some(Value::Null) => {
                Err(refuse(format!("`{name}` is required"), request_id.clone()))
            }
            Some(_) => Err(refuse(
                format!("`{name}` must be a string"),
                request_id.clone(),
            )),
        }
    };
    let action = string("Action", true)?.unwrap_or_default();
    match action.as_str() {
        SEND_MESSAGE => {
            let attributes = match object.get("Attributes") {
                None | Some(Value::Null) => BTreeMap::new(),
                Some(Value::Object(map)) => string_map(map).ok_or_else(|| {
                    refuse(
                        "`Attributes` must map strings to strings".to_owned(),
                        request_id.clone(),
                    )
                })?,
                Some(_) => {
                    return Err(refuse(
                        "`Attributes` must map strings to strings".to_owned(),
                        request_id.clone(),
                    ))
                }
            };
            Ok(Request::SendMessage {
                content: string("Content", true)?.unwrap_or_default(),
                attributes,
                request_id,
            })
        }
        DELETE_MESSAGE => Ok(Request::DeleteMessage {
            id: string("Id", true)?.unwrap_or_default(),
            reason: string("Reason", false)?,
            request_id,
        }),
        DISCONNECT_USER => Ok(Request::DisconnectUser {
            user_id: string("UserId", true)?.unwrap_or_default(),
            reason: string("Reason", false)?,
            request_id,
        }),
        other => Err(refuse(
            format!(
                "unknown `Action` `{}`; the actions are SEND_MESSAGE, DELETE_MESSAGE and DISCONNECT_USER",
                truncate(other, 64)
            ),
            request_id,
        )),
    }
}

fn string_map(map: &Map<String, Value>) -> Option<BTreeMap<String, String>> {
    map.iter()
        .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
        .collect()
}

/// The first `max` characters of `text`, for echoing a client's value in an error.
fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((idx, _)) => &text[..idx],
        None => text,
    }
}

/// A `MESSAGE` frame (Message (Subscribe)).
pub(crate) struct Message<'a> {
    pub id: &'a str,
    pub request_id: Option<&'a str>,
    pub content: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
    pub sender_user_id: &'a str,
    pub sender_attributes: &'a BTreeMap<String, String>,
    pub send_time: &'a str,
}

/// The `MESSAGE` frame as JSON.
pub(crate) fn message(m: &Message<'_>) -> Value {
    let mut frame = json!({
        "Type": "MESSAGE",
        "Id": m.id,
        "Content": m.content,
        "Attributes": m.attributes,
        "Sender": {"UserId": m.sender_user_id, "Attributes": m.sender_attributes},
        "SendTime": m.send_time,
    });
    if let Some(request_id) = m.request_id {
        frame["RequestId"] = Value::from(request_id);
    }
    frame
}

/// An `EVENT` frame (Event (Subscribe)).
pub(crate) fn event(
    id: &str,
    request_id: Option<&str>,
    event_name: &str,
    attributes: &BTreeMap<String, String>,
    send_time: &str,
) -> Value {
    let mut frame = json!({
        "Type": "EVENT",
        "Id": id,
        "EventName": event_name,
        "Attributes": attributes,
        "SendTime": send_time,
    });
    if let Some(request_id) = request_id {
        frame["RequestId"] = Value::from(request_id);
    }
    frame
}

/// An `ERROR` frame (Error Messages). `Id` names the operation that failed: IVS generates one
/// when the operation had none of its own.
pub(crate) fn error(id: &str, request_id: Option<&str>, code: u16, message: &str) -> Value {
    let mut frame = json!({
        "Type": "ERROR",
        "Id": id,
        "ErrorCode": code,
        "ErrorMessage": message,
    });
    if let Some(request_id) = request_id {
        frame["RequestId"] = Value::from(request_id);
    }
    frame
}

/// The `aws:DELETE_MESSAGE` event's attributes: `MessageId`, the deprecated `MessageID` it
/// replaced (both documented), and `Reason` when given.
pub(crate) fn delete_attributes(
    message_id: &str,
    reason: Option<&str>,
) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::from([
        ("MessageId".to_owned(), message_id.to_owned()),
        ("MessageID".to_owned(), message_id.to_owned()),
    ]);
    if let Some(reason) = reason {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    attributes
}

/// The `aws:DISCONNECT_USER` event's attributes, `UserId` and `Reason` (as the SDKs'
/// `DisconnectUserEvent` reads them).
pub(crate) fn disconnect_attributes(
    user_id: &str,
    reason: Option<&str>,
) -> BTreeMap<String, String> {
    let mut attributes = BTreeMap::from([("UserId".to_owned(), user_id.to_owned())]);
    if let Some(reason) = reason {
        attributes.insert("Reason".to_owned(), reason.to_owned());
    }
    attributes
}

/// The length of a message's `Content` as `maximumMessageLength` counts it: Unicode code points
/// ("Maximum: 500 unicode code points" on SendMessage's page).
pub(crate) fn content_length(content: &str) -> usize {
    content.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(frame: &str, expected: Result<Request, (u16, &str)>) {
        let got = parse(frame).map_err(|r| (r.code, r.message));
        let expected = expected.map_err(|(c, m)| (c, m.to_owned()));
        assert_eq!(got, expected, "frame:\n{frame}");
    }

    #[test]
    fn publish_frames_parse_with_their_documented_members() {
        check(
            r#"{"Action":"SEND_MESSAGE","RequestId":"r1","Content":"hi","Attributes":{"a":"b"}}"#,
            Ok(Request::SendMessage {
                request_id: Some("r1".into()),
                content: "hi".into(),
                attributes: BTreeMap::from([("a".into(), "b".into())]),
            }),
        );
        check(
            r#"{"Action":"SEND_MESSAGE","Content":""}"#,
            Ok(Request::SendMessage {
                request_id: None,
                content: String::new(),
                attributes: BTreeMap::new(),
            }),
        );
        check(
            r#"{"Action":"DELETE_MESSAGE","Id":"abcdefghijkl","Reason":"spam"}"#,
            Ok(Request::DeleteMessage {
                request_id: None,
                id: "abcdefghijkl".into(),
                reason: Some("spam".into()),
            }),
        );
        check(
            r#"{"Action":"DISCONNECT_USER","UserId":"u2","RequestId":"x"}"#,
            Ok(Request::DisconnectUser {
                request_id: Some("x".into()),
                user_id: "u2".into(),
                reason: None,
            }),
        );
    }

    #[test]
    fn malformed_frames_are_refused_with_400_and_what_to_send() {
        check(
            "not json",
            Err((400, "frame is not JSON: expected ident at line 1 column 2")),
        );
        check(
            "[1]",
            Err((
                400,
                "frame is not a JSON object; send {\"Action\": \"SEND_MESSAGE\", \"Content\": \"…\"}",
            )),
        );
        check(r#"{"Content":"x"}"#, Err((400, "`Action` is required")));
        check(
            r#"{"Action":"SHOUT"}"#,
            Err((
                400,
                "unknown `Action` `SHOUT`; the actions are SEND_MESSAGE, DELETE_MESSAGE and DISCONNECT_USER",
            )),
        );
        check(
            r#"{"Action":"SEND_MESSAGE"}"#,
            Err((400, "`Content` is required")),
        );
        check(
            r#"{"Action":"SEND_MESSAGE","Content":"x","Attributes":{"n":1}}"#,
            Err((400, "`Attributes` must map strings to strings")),
        );
        check(
            r#"{"Action":"DELETE_MESSAGE"}"#,
            Err((400, "`Id` is required")),
        );
        check(
            r#"{"Action":"DISCONNECT_USER","UserId":7}"#,
            Err((400, "`UserId` must be a string")),
        );
    }

    #[test]
    fn a_refusal_keeps_the_request_id_it_could_read() {
        let refused = parse(r#"{"Action":"NOPE","RequestId":"r9"}"#).unwrap_err();
        assert_eq!(refused.request_id.as_deref(), Some("r9"));
    }

    #[test]
    fn subscribe_frames_carry_the_documented_members() {
        let attrs = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        let sender = BTreeMap::new();
        let frame = message(&Message {
            id: "AAAAAAAAAAAA",
            request_id: Some("r1"),
            content: "hello",
            attributes: &attrs,
            sender_user_id: "u1",
            sender_attributes: &sender,
            send_time: "2024-01-01T00:00:00.000Z",
        });
        assert_eq!(
            frame,
            json!({"Type": "MESSAGE", "Id": "AAAAAAAAAAAA", "RequestId": "r1", "Content": "hello",
                   "Attributes": {"k": "v"}, "Sender": {"UserId": "u1", "Attributes": {}},
                   "SendTime": "2024-01-01T00:00:00.000Z"})
        );
        assert_eq!(
            event(
                "E",
                None,
                "aws:DELETE_MESSAGE",
                &delete_attributes("M", Some("r")),
                "t"
            ),
            json!({"Type": "EVENT", "Id": "E", "EventName": "aws:DELETE_MESSAGE",
                   "Attributes": {"MessageId": "M", "MessageID": "M", "Reason": "r"}, "SendTime": "t"})
        );
        assert_eq!(
            error("E", Some("r"), 413, "too long"),
            json!({"Type": "ERROR", "Id": "E", "RequestId": "r", "ErrorCode": 413, "ErrorMessage": "too long"})
        );
    }

    #[test]
    fn content_length_counts_code_points() {
        assert_eq!(content_length("héllo"), 5);
        assert_eq!(content_length("👋👋"), 2);
    }
}
