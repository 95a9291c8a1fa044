//! Unit tests of the Chat rules, driven through `Emulator::answer` as a server would, with a sink
//! that records what reaches the data plane.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::cassette::RecordedRequest;
use crate::emulator::{Answer, Emulator, EmulatorOptions};
use crate::ivs::Service;
use crate::live::chat::{ChatEvent, ChatGrant, ChatRoomConfig, ChatSink};

/// What the data plane was told, as one line per call.
#[derive(Debug, Default)]
struct Recording(Mutex<Vec<String>>);

impl Recording {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl ChatSink for Recording {
    fn token_issued(&self, grant: ChatGrant) {
        self.push(format!(
            "token {} {} {:?} {:?} {}",
            grant.room_arn,
            grant.user_id,
            grant.capabilities,
            grant.attributes,
            (grant.session_expires_at_ms - grant.token_expires_at_ms) / 60_000
        ));
    }
    fn room_changed(&self, room: ChatRoomConfig) {
        self.push(format!(
            "room {} {} {} {:?} {:?}",
            room.room_arn,
            room.maximum_message_length,
            room.maximum_message_rate_per_second,
            room.review_handler
                .map(|h| format!("{} {}", h.uri, h.fallback_result)),
            room.logging
                .iter()
                .map(|l| l.destination.to_string())
                .collect::<Vec<_>>()
        ));
    }
    fn room_deleted(&self, room_arn: &str) {
        self.push(format!("deleted {room_arn}"));
    }
    fn send_event(&self, room_arn: &str, event: ChatEvent) {
        self.push(format!(
            "event {room_arn} {} {:?}",
            event.event_name, event.attributes
        ));
    }
    fn delete_message(&self, room_arn: &str, event: ChatEvent) {
        self.push(format!(
            "delete {room_arn} {} {:?}",
            event.event_name, event.attributes
        ));
    }
    fn disconnect_user(&self, room_arn: &str, user_id: &str, event: ChatEvent) {
        self.push(format!(
            "disconnect {room_arn} {user_id} {} {:?}",
            event.event_name, event.attributes
        ));
    }
    fn reset(&self) {
        self.push("reset".to_owned());
    }
}

fn emulator() -> (Emulator, Arc<Recording>) {
    let sink = Arc::new(Recording::default());
    let emulator = Emulator::new(EmulatorOptions::default()).with_chat_sink(sink.clone());
    (emulator, sink)
}

fn call(e: &Emulator, op: &str, body: Value) -> Answer {
    e.answer_as(
        None,
        &RecordedRequest {
            service: Service::IvsChat,
            method: "POST".into(),
            path: format!("/{op}"),
            query: Default::default(),
            region: "us-west-2".into(),
            headers: Default::default(),
            body: Some(body),
        },
    )
    .expect("a Chat operation")
}

fn ok(answer: &Answer) -> Value {
    let body: Value = answer
        .body
        .as_ref()
        .map(|b| serde_json::from_slice(b).unwrap())
        .unwrap_or(Value::Null);
    assert!(answer.error.is_none(), "{answer:?} {body}");
    body
}

fn error(answer: &Answer) -> (&'static str, Value) {
    let body = serde_json::from_slice(answer.body.as_ref().unwrap()).unwrap();
    (answer.error.expect("an error"), body)
}

#[test]
fn a_room_gets_chat_arns_ids_and_its_documented_defaults() {
    let (e, sink) = emulator();
    let room = ok(&call(&e, "CreateRoom", json!({"name": "lobby"})));
    let arn = room["arn"].as_str().unwrap();
    let id = room["id"].as_str().unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(
        arn,
        format!("arn:aws:ivschat:us-west-2:123456789012:room/{id}")
    );
    assert_eq!(room["maximumMessageLength"], 500);
    assert_eq!(room["maximumMessageRatePerSecond"], 10);
    assert_eq!(room["loggingConfigurationIdentifiers"], json!([]));
    assert_eq!(room["tags"], json!({}));
    assert!(room.get("messageReviewHandler").is_none());
    assert_eq!(room["createTime"], room["updateTime"]);
    assert_eq!(sink.take(), [format!("room {arn} 500 10 None []")]);
    let got = ok(&call(&e, "GetRoom", json!({"identifier": arn})));
    assert_eq!(got, room);

    let handler = json!({"uri": "arn:aws:lambda:us-west-2:123456789012:function:review"});
    let updated = ok(&call(
        &e,
        "UpdateRoom",
        json!({"identifier": arn, "messageReviewHandler": handler, "maximumMessageLength": 20}),
    ));
    assert_eq!(updated["messageReviewHandler"]["fallbackResult"], "ALLOW");
    assert_eq!(updated["maximumMessageLength"], 20);
    assert_eq!(
        sink.take(),
        [format!(
            "room {arn} 20 10 Some(\"arn:aws:lambda:us-west-2:123456789012:function:review ALLOW\") []"
        )]
    );
    // An empty uri disassociates the handler (UpdateRoom's documentation).
    let cleared = ok(&call(
        &e,
        "UpdateRoom",
        json!({"identifier": arn, "messageReviewHandler": {"uri": ""}}),
    ));
    assert!(cleared.get("messageReviewHandler").is_none(), "{cleared}");
    sink.take();

    assert_eq!(
        ok(&call(&e, "DeleteRoom", json!({"identifier": arn}))),
        Value::Null
    );
    assert_eq!(sink.take(), [format!("deleted {arn}")]);
    let (kind, body) = error(&call(&e, "GetRoom", json!({"identifier": arn})));
    assert_eq!(kind, "ResourceNotFoundException");
    assert_eq!(body["resourceId"], id);
    assert_eq!(body["resourceType"], "ROOM");
}

#[test]
fn rooms_resolve_their_logging_configurations_and_refuse_missing_ones() {
    let (e, sink) = emulator();
    let missing = "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/abcdEFGH1234";
    let (kind, _) = error(&call(
        &e,
        "CreateRoom",
        json!({"loggingConfigurationIdentifiers": [missing]}),
    ));
    assert_eq!(kind, "ResourceNotFoundException");
    assert!(sink.take().is_empty(), "a refused call reaches no socket");

    let logging = ok(&call(
        &e,
        "CreateLoggingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "chat-logs"}}}),
    ));
    assert_eq!(logging["state"], "ACTIVE");
    let logging_arn = logging["arn"].as_str().unwrap();
    assert!(logging_arn.contains(":logging-configuration/"));
    let room = ok(&call(
        &e,
        "CreateRoom",
        json!({"loggingConfigurationIdentifiers": [logging_arn]}),
    ));
    assert_eq!(
        sink.take(),
        [format!(
            "room {} 500 10 None [\"{{\\\"s3\\\":{{\\\"bucketName\\\":\\\"chat-logs\\\"}}}}\"]",
            room["arn"].as_str().unwrap()
        )]
    );
    // A new destination reaches the rooms that log to it.
    ok(&call(
        &e,
        "UpdateLoggingConfiguration",
        json!({"identifier": logging_arn, "destinationConfiguration": {"firehose": {"deliveryStreamName": "chat"}}}),
    ));
    assert_eq!(sink.take().len(), 1);
    let (kind, body) = error(&call(
        &e,
        "CreateLoggingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "a-b"}, "firehose": {"deliveryStreamName": "c"}}}),
    ));
    assert_eq!(kind, "ValidationException");
    assert_eq!(body["reason"], "FIELD_VALIDATION_FAILED");
}

#[test]
fn logging_configurations_stop_at_the_documented_quota_of_ten() {
    let (e, _) = emulator();
    let create = || {
        call(
            &e,
            "CreateLoggingConfiguration",
            json!({"destinationConfiguration": {"cloudWatchLogs": {"logGroupName": "chat"}}}),
        )
    };
    for _ in 0..10 {
        ok(&create());
    }
    let (kind, body) = error(&create());
    assert_eq!(kind, "ServiceQuotaExceededException");
    assert_eq!(body["limit"], 10);
}

#[test]
fn a_chat_token_has_chat_s_shape_and_reaches_the_data_plane() {
    let (e, sink) = emulator();
    let room = ok(&call(&e, "CreateRoom", json!({})));
    let arn = room["arn"].as_str().unwrap();
    sink.take();
    let token = ok(&call(
        &e,
        "CreateChatToken",
        json!({"roomIdentifier": arn, "userId": "alice", "capabilities": ["SEND_MESSAGE"], "attributes": {"colour": "blue"}}),
    ));
    let text = token["token"].as_str().unwrap();
    assert!(text.starts_with("AQICAH") && text.len() >= 200, "{text}");
    // A WebSocket subprotocol is an HTTP token: no `/`, `=` or other separators.
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "{text}"
    );
    // The redaction recognises it by shape, whole.
    assert_eq!(
        crate::redact::redact_text(&format!("token {text} end")),
        format!("token {} end", crate::redact::secret_placeholder(text))
    );
    assert!(
        token["tokenExpirationTime"].as_str().unwrap()
            < token["sessionExpirationTime"].as_str().unwrap()
    );
    // Session 60 minutes (the default), token 1 minute: 59 minutes apart.
    assert_eq!(
        sink.take(),
        [format!(
            "token {arn} alice [\"SEND_MESSAGE\"] {{\"colour\": \"blue\"}} 59"
        )]
    );
    let again = ok(&call(
        &e,
        "CreateChatToken",
        json!({"roomIdentifier": arn, "userId": "bob", "sessionDurationInMinutes": 180}),
    ));
    assert_ne!(again["token"], token["token"]);
    assert_eq!(sink.take(), [format!("token {arn} bob [] {{}} 179")]);

    let (kind, _) = error(&call(
        &e,
        "CreateChatToken",
        json!({"roomIdentifier": arn, "userId": "c", "sessionDurationInMinutes": 181}),
    ));
    assert_eq!(kind, "ValidationException");
    let big = "x".repeat(1021);
    let (kind, _) = error(&call(
        &e,
        "CreateChatToken",
        json!({"roomIdentifier": arn, "userId": "c", "attributes": {"name": big}}),
    ));
    assert_eq!(kind, "ValidationException");
    assert!(sink.take().is_empty());
}

#[test]
fn events_deletions_and_disconnections_reach_the_room_and_need_one() {
    let (e, sink) = emulator();
    let room = ok(&call(&e, "CreateRoom", json!({})));
    let arn = room["arn"].as_str().unwrap();
    sink.take();
    let sent = ok(&call(
        &e,
        "SendEvent",
        json!({"roomIdentifier": arn, "eventName": "poll", "attributes": {"q": "1"}}),
    ));
    assert_eq!(sent["id"].as_str().unwrap().len(), 12);
    let deleted = ok(&call(
        &e,
        "DeleteMessage",
        json!({"roomIdentifier": arn, "id": "abcdEFGH1234", "reason": "spam"}),
    ));
    assert_eq!(deleted["id"].as_str().unwrap().len(), 12);
    assert_eq!(
        ok(&call(
            &e,
            "DisconnectUser",
            json!({"roomIdentifier": arn, "userId": "mallory", "reason": "rude"}),
        )),
        json!({})
    );
    assert_eq!(
        sink.take(),
        [
            format!("event {arn} poll {{\"q\": \"1\"}}"),
            format!("delete {arn} aws:DELETE_MESSAGE {{\"MessageID\": \"abcdEFGH1234\", \"Reason\": \"spam\"}}"),
            format!("disconnect {arn} mallory aws:DISCONNECT_USER {{\"Reason\": \"rude\", \"UserId\": \"mallory\"}}"),
        ]
    );
    let gone = "arn:aws:ivschat:us-west-2:123456789012:room/abcdEFGH1234";
    for (op, body) in [
        (
            "SendEvent",
            json!({"roomIdentifier": gone, "eventName": "x"}),
        ),
        (
            "DeleteMessage",
            json!({"roomIdentifier": gone, "id": "abcdEFGH1234"}),
        ),
        (
            "DisconnectUser",
            json!({"roomIdentifier": gone, "userId": "u"}),
        ),
    ] {
        assert_eq!(
            error(&call(&e, op, body)).0,
            "ResourceNotFoundException",
            "{op}"
        );
    }
    assert!(sink.take().is_empty());
    e.reset();
    assert_eq!(sink.take(), ["reset"]);
}

#[test]
fn list_rooms_filters_and_pages_newest_update_first() {
    let (e, _) = emulator();
    let logging = ok(&call(
        &e,
        "CreateLoggingConfiguration",
        json!({"destinationConfiguration": {"s3": {"bucketName": "logs"}}}),
    ));
    let logging_arn = logging["arn"].as_str().unwrap();
    let lambda = "arn:aws:lambda:us-west-2:123456789012:function:review";
    let mut arns = Vec::new();
    for i in 0..5 {
        let body = match i {
            0 => json!({"name": "a"}),
            1 => json!({"name": "b", "messageReviewHandler": {"uri": lambda}}),
            2 => json!({"name": "a", "loggingConfigurationIdentifiers": [logging_arn]}),
            _ => json!({"name": "c"}),
        };
        arns.push(
            ok(&call(&e, "CreateRoom", body))["arn"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let names = |body: &Value| -> Vec<String> {
        body["rooms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["arn"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_name = ok(&call(&e, "ListRooms", json!({"name": "a"})));
    assert_eq!(by_name["rooms"].as_array().unwrap().len(), 2);
    assert!(
        by_name["rooms"][0].get("maximumMessageLength").is_none(),
        "summaries only"
    );
    let by_uri = ok(&call(
        &e,
        "ListRooms",
        json!({"messageReviewHandlerUri": lambda}),
    ));
    assert_eq!(names(&by_uri), [arns[1].clone()]);
    let by_logging = ok(&call(
        &e,
        "ListRooms",
        json!({"loggingConfigurationIdentifier": logging_arn}),
    ));
    assert_eq!(names(&by_logging), [arns[2].clone()]);

    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let mut body = json!({"maxResults": 2});
        if let Some(token) = &token {
            body["nextToken"] = json!(token);
        }
        let page = ok(&call(&e, "ListRooms", body));
        seen.extend(names(&page));
        match page.get("nextToken") {
            Some(next) => token = Some(next.as_str().unwrap().to_owned()),
            None => break,
        }
    }
    seen.sort();
    arns.sort();
    assert_eq!(seen, arns);
}

#[test]
fn tags_work_on_rooms_and_logging_configurations_only() {
    let (e, _) = emulator();
    let room = ok(&call(&e, "CreateRoom", json!({"tags": {"team": "a"}})));
    let arn = room["arn"].as_str().unwrap();
    let tags_call = |method: &str, arn: &str, body: Option<Value>, keys: &[&str]| {
        let mut query = std::collections::BTreeMap::new();
        if !keys.is_empty() {
            query.insert(
                "tagKeys".to_owned(),
                keys.iter().map(|k| k.to_string()).collect(),
            );
        }
        e.answer_as(
            None,
            &RecordedRequest {
                service: Service::IvsChat,
                method: method.into(),
                path: format!("/tags/{}", arn.replace(':', "%3A").replace('/', "%2F")),
                query,
                region: "us-west-2".into(),
                headers: Default::default(),
                body,
            },
        )
        .unwrap()
    };
    ok(&tags_call(
        "POST",
        arn,
        Some(json!({"tags": {"env": "test"}})),
        &[],
    ));
    ok(&tags_call("DELETE", arn, None, &["team"]));
    assert_eq!(
        ok(&tags_call("GET", arn, None, &[])),
        json!({"tags": {"env": "test"}})
    );
    let channel = "arn:aws:ivs:us-west-2:123456789012:channel/abcdEFGH1234";
    assert_eq!(
        error(&tags_call("GET", channel, None, &[])).0,
        "ValidationException"
    );
}

#[test]
fn every_chat_operation_is_emulated() {
    let (e, _) = emulator();
    for op in Service::IvsChat.catalog().operations {
        if op.route != crate::ivs::Route::Post {
            continue;
        }
        let answer = call(&e, op.name, json!({}));
        assert_ne!(
            answer.error,
            Some("InternalServerException"),
            "{}: {answer:?}",
            op.name
        );
    }
}

#[test]
fn chat_errors_carry_chats_members_and_no_ivs_exception_message() {
    // Chat's error shapes have `message` (and, per error, `resourceId`, `resourceType`, `reason`,
    // `limit`), never IVS's `exceptionMessage`; the bundled story 12-chat-rooms holds the
    // emulator to that.
    let (e, _) = emulator();
    let gone = "arn:aws:ivschat:us-west-2:123456789012:room/doesNotExist";
    let (kind, body) = error(&call(&e, "GetRoom", json!({"identifier": gone})));
    assert_eq!(kind, "ResourceNotFoundException");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["message", "resourceId", "resourceType"], "{body}");
    assert_eq!(body["resourceId"], "doesNotExist");
    // Found by the model's validation, before Chat's rules: Chat's ValidationException still
    // has its required `reason`.
    let (kind, body) = error(&call(
        &e,
        "CreateRoom",
        json!({"maximumMessageLength": 501}),
    ));
    assert_eq!(kind, "ValidationException");
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["message", "reason"], "{body}");
    assert_eq!(body["reason"], "FIELD_VALIDATION_FAILED");
}

/// The Chat user guide's "API Call Rate Quotas" table, as the page gives it:
/// <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html>. Kept here, apart
/// from `rates.rs`, so that this test checks the emulator against the page and not against itself.
const CHAT_GUIDE_TPS: &[(&str, usize)] = &[
    ("DeleteMessage", 100),
    ("DisconnectUser", 100),
    ("SendEvent", 100),
    ("CreateChatToken", 200),
    ("CreateLoggingConfiguration", 3),
    ("DeleteLoggingConfiguration", 3),
    ("GetLoggingConfiguration", 3),
    ("ListLoggingConfigurations", 3),
    ("UpdateLoggingConfiguration", 3),
    ("CreateRoom", 5),
    ("DeleteRoom", 5),
    ("GetRoom", 5),
    ("ListRooms", 5),
    ("UpdateRoom", 5),
    ("ListTagsForResource", 10),
    ("TagResource", 10),
    ("UntagResource", 10),
];

/// With `--rate-limits`, every Chat operation answers its documented calls a second and throttles
/// the next: counted before the input is read, so empty bodies do (the calls take microseconds,
/// well inside one second).
#[test]
fn every_chat_operation_is_throttled_at_its_documented_rate() {
    let e = Emulator::new(EmulatorOptions {
        rate_limits: true,
        ..EmulatorOptions::default()
    });
    assert_eq!(
        CHAT_GUIDE_TPS.len(),
        Service::IvsChat.catalog().operations.len(),
        "the guide's table lists every operation of the model"
    );
    for &(name, tps) in CHAT_GUIDE_TPS {
        let op = Service::IvsChat.catalog().operation(name).unwrap();
        let path = match op.route {
            crate::ivs::Route::Post => format!("/{name}"),
            crate::ivs::Route::Tags => {
                "/tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2Fabc".to_owned()
            }
        };
        let send = || {
            e.answer_as(
                None,
                &RecordedRequest {
                    service: Service::IvsChat,
                    method: op.method.into(),
                    path: path.clone(),
                    query: Default::default(),
                    region: "us-west-2".into(),
                    headers: Default::default(),
                    body: Some(json!({})),
                },
            )
            .expect("a Chat operation")
        };
        for n in 0..tps {
            assert_ne!(send().error, Some("ThrottlingException"), "{name} call {n}");
        }
        let (kind, body) = error(&send());
        assert_eq!(kind, "ThrottlingException", "{name}");
        assert_eq!(body["limit"], tps, "{name}");
    }
}
