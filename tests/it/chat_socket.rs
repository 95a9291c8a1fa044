//! The Chat Messaging WebSocket against the real server, with tokio-tungstenite as the client:
//! the handshake and single-use tokens, the three actions and their checks, fan-out, the
//! server-side events, message review, logging, the control plane, and hostile clients. Tokens
//! and rooms are registered through the hidden `chat_hub()` door, as the Chat API does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use ivs_vcr::__private::{ChatDoor, DoorGrant, DoorRoom};
use ivs_vcr::ReplayServer;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::raw;

/// A Chat Messaging connection, as a client holds it.
pub(crate) type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

const ROOM: &str = "arn:aws:ivschat:us-west-2:123456789012:room/AbCdEfGh1234";
const ALL: &[&str] = &["SEND_MESSAGE", "DELETE_MESSAGE", "DISCONNECT_USER"];

/// How long a test waits for a frame that should come.
const WAIT: Duration = Duration::from_secs(5);

fn request(addr: SocketAddr, token: &str) -> tungstenite::handshake::client::Request {
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", token.parse().unwrap());
    request
}

/// Connects with `token` as the subprotocol, and checks that the server selected it.
pub(crate) async fn connect(addr: SocketAddr, token: &str) -> Client {
    let (ws, response) = tokio_tungstenite::connect_async(request(addr, token))
        .await
        .unwrap_or_else(|e| panic!("connect with `{token}`: {e}"));
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        token,
        "the token is echoed as the selected subprotocol"
    );
    ws
}

/// The HTTP status a refused handshake gets.
async fn refused(addr: SocketAddr, token: &str) -> u16 {
    match tokio_tungstenite::connect_async(request(addr, token)).await {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("`{token}` opened a connection"),
    }
}

/// A room with its defaults, and a user per name holding every capability.
async fn room_with(names: &[&str]) -> (ReplayServer, ChatDoor, Vec<Client>) {
    let server = ReplayServer::emulator().await;
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    let mut clients = Vec::new();
    for name in names {
        door.issue_token(DoorGrant::new(&format!("tok-{name}"), ROOM, name, ALL));
        clients.push(connect(server.addr(), &format!("tok-{name}")).await);
    }
    (server, door, clients)
}

/// The next text frame, as JSON.
pub(crate) async fn next(ws: &mut Client) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame within the wait")
            .expect("the connection is open")
            .expect("a frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => continue,
        }
    }
}

/// The close frame's code and reason, once the server closes.
async fn closed(ws: &mut Client) -> (u16, String) {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("closed within the wait")
        {
            Some(Ok(Message::Close(Some(close)))) => {
                return (u16::from(close.code), close.reason.to_string())
            }
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(Message::Text(text))) => panic!("a frame instead of the close: {text}"),
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("an error instead of the close: {err}"),
        }
    }
}

async fn send(ws: &mut Client, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// Sends a SEND_MESSAGE frame of `content`.
pub(crate) async fn say(ws: &mut Client, content: &str, request_id: &str) {
    send(
        ws,
        json!({"Action": "SEND_MESSAGE", "RequestId": request_id, "Content": content, "Attributes": {"k": "v"}}),
    )
    .await;
}

/// Waits until `cond` holds, checking every 10 ms.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 5 s");
}

#[tokio::test]
async fn two_users_exchange_messages_with_the_documented_members() {
    let mut grant = DoorGrant::new("tok-ann", ROOM, "ann", ALL);
    grant.attributes = BTreeMap::from([("displayName".to_owned(), "Ann".to_owned())]);
    let server = ReplayServer::emulator().await;
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    door.issue_token(grant);
    door.issue_token(DoorGrant::new("tok-bob", ROOM, "bob", ALL));
    let mut ann = connect(server.addr(), "tok-ann").await;
    let mut bob = connect(server.addr(), "tok-bob").await;
    say(&mut ann, "hello bob", "r-1").await;
    for ws in [&mut ann, &mut bob] {
        let frame = next(ws).await;
        assert_eq!(frame["Type"], "MESSAGE");
        assert_eq!(frame["Content"], "hello bob");
        assert_eq!(frame["RequestId"], "r-1");
        assert_eq!(frame["Attributes"], json!({"k": "v"}));
        assert_eq!(
            frame["Sender"],
            json!({"UserId": "ann", "Attributes": {"displayName": "Ann"}})
        );
        let id = frame["Id"].as_str().unwrap();
        assert!(
            id.len() == 12 && id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id}"
        );
        let time = frame["SendTime"].as_str().unwrap();
        assert!(time.len() == 24 && time.ends_with('Z'), "{time}");
    }
    say(&mut bob, "hi ann", "r-2").await;
    assert_eq!(next(&mut ann).await["Sender"]["UserId"], "bob");
    assert_eq!(next(&mut bob).await["Content"], "hi ann");
}

#[tokio::test]
async fn a_token_opens_one_connection_and_unknown_or_expired_tokens_none() {
    let (server, door, _clients) = room_with(&["ann"]).await;
    assert_eq!(refused(server.addr(), "tok-ann").await, 401, "a used token");
    assert_eq!(refused(server.addr(), "never-minted").await, 401);
    let mut expired = DoorGrant::new("tok-old", ROOM, "old", ALL);
    expired.token_ttl = Duration::ZERO;
    door.issue_token(expired);
    assert_eq!(refused(server.addr(), "tok-old").await, 401);
    // Without a subprotocol there is no token at all.
    let plain = format!("ws://{}/", server.addr());
    match tokio_tungstenite::connect_async(plain).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn each_action_needs_its_capability() {
    let server = ReplayServer::emulator().await;
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    door.issue_token(DoorGrant::new("tok-viewer", ROOM, "viewer", &[]));
    let mut viewer = connect(server.addr(), "tok-viewer").await;
    let frames = [
        json!({"Action": "SEND_MESSAGE", "RequestId": "a", "Content": "x"}),
        json!({"Action": "DELETE_MESSAGE", "RequestId": "b", "Id": "AAAAAAAAAAAA"}),
        json!({"Action": "DISCONNECT_USER", "RequestId": "c", "UserId": "someone"}),
    ];
    for (frame, capability) in frames.into_iter().zip(ALL) {
        let request_id = frame["RequestId"].clone();
        send(&mut viewer, frame).await;
        let error = next(&mut viewer).await;
        assert_eq!(error["Type"], "ERROR");
        assert_eq!(error["ErrorCode"], 403);
        assert_eq!(error["RequestId"], request_id);
        assert_eq!(
            error["ErrorMessage"],
            format!(
                "the chat token does not grant `{capability}` (CreateChatToken's capabilities)"
            )
        );
    }
}

#[tokio::test]
async fn a_message_over_the_rooms_length_or_rate_is_refused() {
    let server = ReplayServer::emulator().await;
    let door = server.chat_hub();
    let mut room = DoorRoom::new(ROOM);
    room.maximum_message_length = 5;
    room.maximum_message_rate_per_second = 2;
    door.room(room);
    door.issue_token(DoorGrant::new("tok-ann", ROOM, "ann", ALL));
    let mut ann = connect(server.addr(), "tok-ann").await;
    say(&mut ann, "héllo!", "long").await;
    let error = next(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["ErrorMessage"].clone()),
        (
            json!(413),
            json!("`Content` is 6 characters; the room's maximumMessageLength is 5")
        )
    );
    // Five code points pass, however many bytes they take.
    say(&mut ann, "héllo", "ok-1").await;
    assert_eq!(next(&mut ann).await["Type"], "MESSAGE");
    say(&mut ann, "again", "ok-2").await;
    say(&mut ann, "third", "over").await;
    assert_eq!(next(&mut ann).await["RequestId"], "ok-2");
    let error = next(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["RequestId"].clone()),
        (json!(429), json!("over"))
    );
}

#[tokio::test]
async fn bad_frames_get_errors_and_leave_the_connection_usable() {
    let (_server, _door, mut clients) = room_with(&["ann"]).await;
    let ann = &mut clients[0];
    let bad = [
        (Message::text("{nope"), "frame is not JSON: key must be a string at line 1 column 2"),
        (Message::text("[]"), "frame is not a JSON object; send {\"Action\": \"SEND_MESSAGE\", \"Content\": \"…\"}"),
        (Message::text(r#"{"Action":"DANCE"}"#), "unknown `Action` `DANCE`; the actions are SEND_MESSAGE, DELETE_MESSAGE and DISCONNECT_USER"),
        (Message::text(r#"{"Action":"SEND_MESSAGE"}"#), "`Content` is required"),
        (Message::binary(vec![1u8, 2, 3]), "binary frames are not accepted: send JSON text frames"),
    ];
    for (frame, message) in bad {
        ann.send(frame).await.unwrap();
        let error = next(ann).await;
        assert_eq!(
            (error["Type"].clone(), error["ErrorCode"].clone()),
            (json!("ERROR"), json!(400))
        );
        assert_eq!(error["ErrorMessage"], message);
    }
    say(ann, "still here", "r").await;
    assert_eq!(next(ann).await["Content"], "still here");
}

#[tokio::test]
async fn an_oversized_frame_closes_only_its_connection() {
    let server = ReplayServer::builder()
        .chat_max_frame_bytes(1024)
        .start()
        .await
        .unwrap();
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    for name in ["ann", "bob"] {
        door.issue_token(DoorGrant::new(&format!("tok-{name}"), ROOM, name, ALL));
    }
    let mut ann = connect(server.addr(), "tok-ann").await;
    let mut bob = connect(server.addr(), "tok-bob").await;
    let _ = ann.send(Message::text("x".repeat(4096))).await;
    assert_eq!(
        closed(&mut ann).await,
        (1009, "frames are limited to 1024 bytes".to_owned())
    );
    say(&mut bob, "fine", "r").await;
    assert_eq!(next(&mut bob).await["Content"], "fine");
    eventually("the closed connection leaves", || door.n_connections() == 1).await;
}

#[tokio::test]
async fn server_side_events_reach_every_socket_and_disconnect_closes_that_user() {
    let (_server, door, mut clients) = room_with(&["ann", "bob"]).await;
    door.send_event(ROOM, "EvEvEvEvEvEv", "user_joined", &[("who", "carl")]);
    for ws in clients.iter_mut() {
        let event = next(ws).await;
        assert_eq!(event["Type"], "EVENT");
        assert_eq!(event["Id"], "EvEvEvEvEvEv");
        assert_eq!(event["EventName"], "user_joined");
        assert_eq!(event["Attributes"], json!({"who": "carl"}));
        assert!(event["SendTime"].is_string());
    }
    door.delete_message(ROOM, "DeDeDeDeDeDe", "MsgMsgMsgMsg", "spam");
    for ws in clients.iter_mut() {
        let event = next(ws).await;
        assert_eq!(event["EventName"], "aws:DELETE_MESSAGE");
        assert_eq!(
            event["Attributes"],
            json!({"MessageId": "MsgMsgMsgMsg", "MessageID": "MsgMsgMsgMsg", "Reason": "spam"})
        );
    }
    door.disconnect_user(ROOM, "DiDiDiDiDiDi", "bob", "rude");
    for ws in clients.iter_mut() {
        let event = next(ws).await;
        assert_eq!(event["EventName"], "aws:DISCONNECT_USER");
        assert_eq!(
            event["Attributes"],
            json!({"UserId": "bob", "Reason": "rude"})
        );
    }
    assert_eq!(
        closed(&mut clients[1]).await,
        (1000, "disconnected by a moderator".to_owned())
    );
    say(&mut clients[0], "bob left", "r").await;
    assert_eq!(next(&mut clients[0]).await["Content"], "bob left");
    eventually("bob's connection leaves", || door.n_connections() == 1).await;
}

#[tokio::test]
async fn moderators_delete_and_disconnect_through_their_own_frames() {
    let (_server, door, mut clients) = room_with(&["mod", "bob"]).await;
    send(
        &mut clients[0],
        json!({"Action": "DELETE_MESSAGE", "RequestId": "d", "Id": "MsgMsgMsgMsg", "Reason": "spam"}),
    )
    .await;
    for ws in clients.iter_mut() {
        let event = next(ws).await;
        assert_eq!(event["EventName"], "aws:DELETE_MESSAGE");
        assert_eq!(event["RequestId"], "d");
        assert_eq!(event["Attributes"]["MessageId"], "MsgMsgMsgMsg");
    }
    send(
        &mut clients[0],
        json!({"Action": "DISCONNECT_USER", "RequestId": "x", "UserId": "bob", "Reason": "bye"}),
    )
    .await;
    assert_eq!(
        next(&mut clients[0]).await["EventName"],
        "aws:DISCONNECT_USER"
    );
    assert_eq!(next(&mut clients[1]).await["Attributes"]["UserId"], "bob");
    assert_eq!(closed(&mut clients[1]).await.0, 1000);
    eventually("bob's connection leaves", || door.n_connections() == 1).await;
}

#[tokio::test]
async fn deleting_the_room_or_resetting_closes_its_sockets() {
    let (server, door, mut clients) = room_with(&["ann", "bob"]).await;
    door.delete_room(ROOM);
    for ws in clients.iter_mut() {
        assert_eq!(closed(ws).await, (1000, "the room was deleted".to_owned()));
    }
    // Its tokens open nothing any more.
    door.issue_token(DoorGrant::new("tok-late", ROOM, "late", ALL));
    door.delete_room(ROOM);
    assert_eq!(refused(server.addr(), "tok-late").await, 401);

    door.room(DoorRoom::new(ROOM));
    door.issue_token(DoorGrant::new("tok-carl", ROOM, "carl", ALL));
    let mut carl = connect(server.addr(), "tok-carl").await;
    let reset = raw::post(server.addr(), "/_ivs-vcr/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(
        closed(&mut carl).await,
        (1000, "the emulator was reset".to_owned())
    );
    eventually("every connection leaves", || door.n_connections() == 0).await;
}

#[tokio::test]
async fn a_session_ends_at_its_expiration() {
    let server = ReplayServer::emulator().await;
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    let mut grant = DoorGrant::new("tok-ann", ROOM, "ann", ALL);
    grant.session = Duration::from_millis(300);
    door.issue_token(grant);
    let mut ann = connect(server.addr(), "tok-ann").await;
    assert_eq!(closed(&mut ann).await, (1000, "session expired".to_owned()));
    eventually("the expired connection leaves", || {
        door.n_connections() == 0
    })
    .await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_and_places_are_freed() {
    let server = ReplayServer::builder()
        .max_chat_connections(2)
        .start()
        .await
        .unwrap();
    let door = server.chat_hub();
    door.room(DoorRoom::new(ROOM));
    for i in 0..4 {
        door.issue_token(DoorGrant::new(
            &format!("tok-{i}"),
            ROOM,
            &format!("u{i}"),
            ALL,
        ));
    }
    let first = connect(server.addr(), "tok-0").await;
    let _second = connect(server.addr(), "tok-1").await;
    assert_eq!(refused(server.addr(), "tok-2").await, 429);
    drop(first);
    eventually("the dropped connection leaves", || {
        door.n_connections() == 1
    })
    .await;
    let _third = connect(server.addr(), "tok-3").await;
}

/// A client that never reads: a small receive buffer, so the server's writes to it block soon.
async fn never_reading(addr: SocketAddr, token: &str) -> Client {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let (ws, _) =
        tokio_tungstenite::client_async(request(addr, token), MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    ws
}

#[tokio::test]
async fn a_reader_that_never_reads_is_closed_and_never_stalls_the_room() {
    let server = ReplayServer::builder()
        .chat_queue_frames(16)
        .start()
        .await
        .unwrap();
    let door = server.chat_hub();
    let mut room = DoorRoom::new(ROOM);
    room.maximum_message_rate_per_second = 1_000_000;
    room.maximum_message_length = 60_000;
    door.room(room);
    for name in ["ann", "slow"] {
        door.issue_token(DoorGrant::new(&format!("tok-{name}"), ROOM, name, ALL));
    }
    let mut ann = connect(server.addr(), "tok-ann").await;
    let _slow = never_reading(server.addr(), "tok-slow").await;
    // 30 MB in all: more than loopback's socket buffers hold.
    let content = "x".repeat(30_000);
    let n = 1_000;
    for i in 0..n {
        say(&mut ann, &content, &i.to_string()).await;
        let frame = next(&mut ann).await;
        assert_eq!(
            frame["RequestId"],
            i.to_string(),
            "ann gets every message, in order"
        );
    }
    eventually("the slow reader is dropped", || door.n_connections() == 1).await;
    let summary = raw::call(server.addr(), "GET", "/_ivs-vcr/summary").await;
    let summary: Value = serde_json::from_str(&summary.body).unwrap();
    assert_eq!(summary["chat"]["slowConnectionsClosed"], 1);
}

#[tokio::test]
async fn state_and_summary_show_connections_messages_and_actions() {
    let (server, _door, mut clients) = room_with(&["ann", "bob"]).await;
    say(&mut clients[0], "one", "r1").await;
    next(&mut clients[1]).await;
    send(&mut clients[1], json!({"Action": "NOPE"})).await;
    next(&mut clients[1]).await;
    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    let state: Value = serde_json::from_str(&state.body).unwrap();
    let chat = &state["chat"];
    assert_eq!(chat["connections"], 2);
    let room = &chat["rooms"][0];
    assert_eq!(room["roomArn"], ROOM);
    let users: Vec<&str> = room["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["userId"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["ann", "bob"]);
    assert_eq!(room["recentMessages"][0]["Content"], "one");
    let summary = raw::call(server.addr(), "GET", "/_ivs-vcr/summary").await;
    let summary: Value = serde_json::from_str(&summary.body).unwrap();
    assert_eq!(summary["chat"]["actions"]["SEND_MESSAGE"], 1);
    assert_eq!(summary["chat"]["errors"]["400"], 1);
    assert_eq!(summary["chat"]["connectionsOpened"], 2);
}

#[tokio::test]
async fn logging_configurations_receive_records_in_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let server = ReplayServer::builder()
        .chat_log_dir(dir.path())
        .start()
        .await
        .unwrap();
    let door = server.chat_hub();
    let log_arn = "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/LoGcOnF12345";
    let mut room = DoorRoom::new(ROOM);
    room.logging = vec![(
        log_arn.to_owned(),
        json!({"s3": {"bucketName": "chat-logs"}}),
    )];
    door.room(room);
    door.issue_token(DoorGrant::new("tok-ann", ROOM, "ann", ALL));
    let mut ann = connect(server.addr(), "tok-ann").await;
    say(&mut ann, "logged", "r").await;
    let message = next(&mut ann).await;
    door.send_event(ROOM, "EvEvEvEvEvEv", "poll", &[]);
    next(&mut ann).await;
    let state = raw::call(server.addr(), "GET", "/_ivs-vcr/state").await;
    let state: Value = serde_json::from_str(&state.body).unwrap();
    let records = state["chat"]["logRecords"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["loggingConfigurationArn"], log_arn);
    let record = &records[0]["record"];
    assert_eq!(record["type"], "MESSAGE");
    assert_eq!(record["version"], "1.0");
    assert_eq!(record["payload"], message);
    assert_eq!(record["event_timestamp"], message["SendTime"]);
    assert_eq!(records[1]["record"]["type"], "EVENT");
    let path = dir.path().join("LoGcOnF12345.jsonl");
    eventually("both records are written", || {
        std::fs::read_to_string(&path).is_ok_and(|t| t.lines().count() == 2)
    })
    .await;
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(&first, record);
}

/// A review handler standing for a Lambda function: answers each POST with `answer(payload)`
/// after `delay`, and keeps the payloads.
struct Handler {
    url: String,
    payloads: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

async fn review_handler(delay: Duration, answer: fn(&Value) -> Value) -> Handler {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let payloads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = payloads.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let kept = kept.clone();
                        async move {
                            use http_body_util::BodyExt as _;
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let payload: Value = serde_json::from_slice(&body).unwrap();
                            let reply = answer(&payload);
                            kept.lock().unwrap().push(payload);
                            tokio::time::sleep(delay).await;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::from(reply.to_string())),
                            ))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Handler { url, payloads }
}

const FUNCTION: &str = "arn:aws:lambda:us-west-2:123456789012:function:review";

async fn reviewed_room(handler: Option<&Handler>, fallback: &str) -> (ReplayServer, Client) {
    let mut builder = ReplayServer::builder();
    if let Some(handler) = handler {
        builder = builder.chat_review_handler(FUNCTION, &handler.url);
    }
    let server = builder.start().await.unwrap();
    let door = server.chat_hub();
    let mut room = DoorRoom::new(ROOM);
    room.review_handler = Some((FUNCTION.to_owned(), fallback.to_owned()));
    door.room(room);
    let mut grant = DoorGrant::new("tok-ann", ROOM, "ann", ALL);
    grant.attributes = BTreeMap::from([("badge".to_owned(), "gold".to_owned())]);
    door.issue_token(grant);
    let ann = connect(server.addr(), "tok-ann").await;
    (server, ann)
}

#[tokio::test]
async fn a_review_handler_gets_the_documented_payload_and_its_answer_applies() {
    let handler = review_handler(Duration::ZERO, |payload| {
        let content = payload["Content"].as_str().unwrap();
        if content.contains("darn") {
            json!({"ReviewResult": "DENY", "Attributes": {"Reason": "language"}})
        } else {
            json!({"ReviewResult": "ALLOW", "Content": content.to_uppercase(), "Attributes": {"checked": "yes"}})
        }
    })
    .await;
    let (_server, mut ann) = reviewed_room(Some(&handler), "DENY").await;
    say(&mut ann, "hello", "ok").await;
    let message = next(&mut ann).await;
    assert_eq!(message["Content"], "HELLO");
    assert_eq!(message["Attributes"], json!({"checked": "yes"}));
    say(&mut ann, "darn it", "no").await;
    let error = next(&mut ann).await;
    assert_eq!(
        (
            error["ErrorCode"].clone(),
            error["ErrorMessage"].clone(),
            error["RequestId"].clone()
        ),
        (json!(406), json!("language"), json!("no"))
    );
    let payloads = handler.payloads.lock().unwrap().clone();
    assert_eq!(payloads.len(), 2);
    let first = &payloads[0];
    assert_eq!(first["Content"], "hello");
    assert_eq!(first["MessageId"], message["Id"]);
    assert_eq!(first["RoomArn"], ROOM);
    assert_eq!(first["Attributes"], json!({"k": "v"}));
    assert_eq!(
        first["Sender"],
        json!({"UserId": "ann", "Attributes": {"badge": "gold"}, "Ip": "127.0.0.1"})
    );
}

#[tokio::test]
async fn a_slow_or_missing_review_handler_gets_the_rooms_fallback_result() {
    let slow = review_handler(
        Duration::from_millis(600),
        |_| json!({"ReviewResult": "ALLOW"}),
    )
    .await;
    let (_server, mut ann) = reviewed_room(Some(&slow), "DENY").await;
    say(&mut ann, "hello", "late").await;
    let error = next(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["RequestId"].clone()),
        (json!(406), json!("late"))
    );
    assert_eq!(
        error["ErrorMessage"],
        "message denied by the room's fallbackResult: no answer within 200 ms"
    );

    let (_server, mut ann) = reviewed_room(None, "ALLOW").await;
    say(&mut ann, "unreviewed", "r").await;
    assert_eq!(next(&mut ann).await["Content"], "unreviewed");
}

mod fan_out {
    //! The fan-out's invariant, over random rooms and traffic: every connection receives every
    //! message once, each sender's in the order it sent them.

    use super::*;
    use proptest::prelude::*;

    /// Runs one room: `n_conns` connections, each sending its own list of messages at once.
    async fn run(sent: Vec<Vec<String>>) {
        let server = ReplayServer::emulator().await;
        let door = server.chat_hub();
        let mut room = DoorRoom::new(ROOM);
        room.maximum_message_rate_per_second = 1_000_000;
        door.room(room);
        let mut sinks = Vec::new();
        let mut streams = Vec::new();
        for i in 0..sent.len() {
            door.issue_token(DoorGrant::new(
                &format!("t{i}"),
                ROOM,
                &format!("u{i}"),
                ALL,
            ));
            let (sink, stream) = connect(server.addr(), &format!("t{i}")).await.split();
            sinks.push(sink);
            streams.push(stream);
        }
        let total: usize = sent.iter().map(Vec::len).sum();
        let senders: Vec<_> = sinks
            .into_iter()
            .zip(sent.clone())
            .map(|(mut sink, contents)| {
                tokio::spawn(async move {
                    for content in contents {
                        let frame = json!({"Action": "SEND_MESSAGE", "Content": content});
                        sink.send(Message::text(frame.to_string())).await.unwrap();
                    }
                    sink
                })
            })
            .collect();
        for mut stream in streams {
            let mut got: Vec<Vec<String>> = vec![Vec::new(); sent.len()];
            for _ in 0..total {
                let frame = tokio::time::timeout(WAIT, stream.next()).await.unwrap();
                let Some(Ok(Message::Text(text))) = frame else {
                    panic!("{frame:?}")
                };
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(frame["Type"], "MESSAGE", "{frame}");
                let sender: usize = frame["Sender"]["UserId"].as_str().unwrap()[1..]
                    .parse()
                    .unwrap();
                got[sender].push(frame["Content"].as_str().unwrap().to_owned());
            }
            assert_eq!(got, sent, "each sender's messages, once, in order");
        }
        for sender in senders {
            drop(sender.await.unwrap());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn every_connection_gets_every_message_once_in_order_per_sender(
            sent in prop::collection::vec(prop::collection::vec("[a-z ]{0,20}", 0..15), 1..5)
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(run(sent));
        }
    }
}
