//! The emulator's clock, moved through the control plane, against the real binary (the clock is
//! one per process, so these tests never share a server with others): rate windows, chat token
//! and session expiry, and the times answers carry all follow it; it only moves forward; reset
//! returns it to the wall clock.

use std::time::Duration;

use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use futures_util::StreamExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::support::bin::IvsVcr;
use crate::support::{chat_client, ivs_client, new_channel, raw};

fn serve() -> (IvsVcr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["serve", "--port", "0"], dir.path());
    (server, dir)
}

async fn clock(server: &IvsVcr, body: &str) -> (u16, Value) {
    let res = raw::post(server.addr(), "/_ivs-vcr/clock", body).await;
    (res.status, serde_json::from_str(&res.body).unwrap())
}

#[tokio::test]
async fn moving_the_clock_opens_a_new_put_metadata_window_and_dates_new_answers() {
    let (server, _dir) = serve();
    let uri = server.uri().unwrap();
    let ivs = ivs_client(&uri, "us-west-2");
    let arn = new_channel(&ivs).await;
    let (status, _) = clock(&server, r#"{"time": "2031-03-04T05:06:07Z"}"#).await;
    assert_eq!(status, 200);
    let started = raw::post(
        server.addr(),
        "/_ivs-vcr/streams/start",
        &format!(r#"{{"channelArn":"{arn}"}}"#),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let stream = ivs.get_stream().channel_arn(&arn).send().await.unwrap();
    let start = stream.stream().unwrap().start_time().unwrap();
    assert!(
        start.secs() >= 1_930_367_167 && start.secs() < 1_930_367_167 + 60,
        "the stream started on the moved clock: {start:?}"
    );

    // IVS allows 5 PutMetadata calls a second per channel.
    let put = || ivs.put_metadata().channel_arn(&arn).metadata("m").send();
    for _ in 0..5 {
        put().await.unwrap();
    }
    let err = put().await.unwrap_err().into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    let (status, body) = clock(&server, r#"{"advance_seconds": 1.5}"#).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["aheadSeconds"].as_f64().unwrap() > 1.0, "{body}");
    put().await.expect("a new second, a new window");
}

#[tokio::test]
async fn the_clock_only_moves_forward_until_reset() {
    let (server, _dir) = serve();
    let (status, body) = clock(&server, r#"{"advance_seconds": 3600}"#).await;
    assert_eq!(status, 200);
    let ahead = body["epochMillis"].as_u64().unwrap();
    for (request, status, says) in [
        (r#"{"advance_seconds": -1}"#, 400, "only moves forward"),
        (
            r#"{"advance_seconds": "1"}"#,
            400,
            "advance_seconds must be a number",
        ),
        (r#"{"advance_seconds": 1e12}"#, 400, "ten years"),
        (
            r#"{"time": "2001-01-01T00:00:00Z"}"#,
            409,
            "only moves forward",
        ),
        (r#"{"time": "tomorrow"}"#, 400, "ISO-8601"),
        (r#"{"time": "2999-01-01T00:00:00Z"}"#, 400, "ten years"),
        (
            r#"{"advance_seconds": 1, "time": "2030-01-01T00:00:00Z"}"#,
            400,
            "or {",
        ),
        ("{}", 400, "advance_seconds"),
    ] {
        let (got, body) = clock(&server, request).await;
        assert_eq!(got, status, "{request}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{request}: {message}");
    }
    let now = raw::call(server.addr(), "GET", "/_ivs-vcr/clock").await;
    let now: Value = serde_json::from_str(&now.body).unwrap();
    assert!(now["epochMillis"].as_u64().unwrap() >= ahead, "{now}");
    let reset = raw::post(server.addr(), "/_ivs-vcr/reset", "").await;
    assert_eq!(reset.status, 200);
    let now = raw::call(server.addr(), "GET", "/_ivs-vcr/clock").await;
    let now: Value = serde_json::from_str(&now.body).unwrap();
    assert_eq!(now["aheadSeconds"], 0.0, "{now}");
    assert!(now["epochMillis"].as_u64().unwrap() < ahead, "{now}");
}

#[tokio::test]
async fn chat_sessions_and_tokens_expire_when_the_clock_passes_them() {
    let (server, _dir) = serve();
    let chat = chat_client(&server.uri().unwrap(), "us-west-2");
    let room = chat.create_room().send().await.unwrap();
    let room = room.arn().unwrap();
    let token = |minutes| {
        chat.create_chat_token()
            .room_identifier(room)
            .user_id("ana")
            .session_duration_in_minutes(minutes)
            .send()
    };
    let connect = |token: String| {
        let mut request = format!("ws://{}/", server.addr())
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", token.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };

    // A session of one minute ends when the clock passes it, not a minute later.
    let short = token(1).await.unwrap().token().unwrap().to_owned();
    let (mut ws, _) = connect(short).await.unwrap();
    clock(&server, r#"{"advance_seconds": 61}"#).await;
    let frame = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(close))) => break close,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the connection closes at once");
    assert_eq!(frame.unwrap().reason.as_str(), "session expired");

    // A token not used before its `tokenExpirationTime` opens nothing once the clock passes it.
    let made = token(60).await.unwrap();
    let expires = made.token_expiration_time().unwrap().secs();
    let now = raw::call(server.addr(), "GET", "/_ivs-vcr/clock").await;
    let now: Value = serde_json::from_str(&now.body).unwrap();
    let wait = expires - (now["epochMillis"].as_u64().unwrap() / 1000) as i64 + 1;
    clock(&server, &format!(r#"{{"advance_seconds": {wait}}}"#)).await;
    match connect(made.token().unwrap().to_owned()).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("an expired token opened a connection: {other:?}"),
    }
}

/// Issue 27 §4: with `--rate-limits`, each operation answers its documented calls a second, then
/// 429 ThrottlingException, per account and region, until the clock opens the next second.
/// Without the flag nothing is throttled (but PutMetadata, whose limits are its own).
#[tokio::test]
async fn rate_limits_throttle_each_operation_at_its_documented_rate() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["serve", "--port", "0", "--rate-limits"], dir.path());
    let uri = server.uri().unwrap();
    let ivs = ivs_client(&uri, "us-west-2");
    // CreateChannel: 5 TPS (IVS service quotas). A window is the second after the oldest call
    // it counts; six calls on loopback take milliseconds.
    for _ in 0..5 {
        ivs.create_channel().send().await.unwrap();
    }
    let err = ivs.create_channel().send().await.unwrap_err();
    let raw_status = err.raw_response().map(|r| r.status().as_u16());
    // CreateChannel's model lists no ThrottlingException, so the SDK reads it by its code, as
    // it reads AWS's own throttling of any operation (and retries it, when retries are on).
    let err = err.into_service_error();
    assert_eq!(err.code(), Some("ThrottlingException"), "{err:?}");
    assert_eq!(raw_status, Some(429));
    assert!(
        err.message()
            .is_some_and(|m| m.contains("CreateChannel allows 5 calls a second")),
        "{err:?}"
    );
    // Another operation, and another region, have windows of their own.
    ivs.list_channels().send().await.unwrap();
    ivs_client(&uri, "eu-west-1")
        .create_channel()
        .send()
        .await
        .unwrap();
    clock(&server, r#"{"advance_seconds": 1}"#).await;
    ivs.create_channel().send().await.expect("a new second");

    // Chat's throttling error carries the members its model requires.
    let chat = chat_client(&uri, "us-west-2");
    for _ in 0..5 {
        chat.create_room().send().await.unwrap();
    }
    let err = chat.create_room().send().await.unwrap_err();
    let raw = err
        .raw_response()
        .map(|r| r.body().bytes().unwrap_or_default().to_vec());
    let body: Value = serde_json::from_slice(&raw.unwrap()).unwrap();
    assert_eq!(err.into_service_error().code(), Some("ThrottlingException"));
    assert_eq!(body["limit"], 5, "{body}");
    assert_eq!(body["resourceType"], "ROOM", "{body}");
    assert!(
        body.get("exceptionMessage").is_none(),
        "Chat's errors carry `message`: {body}"
    );
}

#[tokio::test]
async fn without_rate_limits_nothing_but_put_metadata_is_throttled() {
    let (server, _dir) = serve();
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    for _ in 0..12 {
        ivs.create_channel().send().await.unwrap();
    }
}

/// A Recording End held for the recording configuration's reconnect window is sent when the
/// clock passes the window, not after the window's real seconds.
#[tokio::test]
async fn a_held_recording_end_is_sent_when_the_clock_passes_the_reconnect_window() {
    use aws_sdk_ivs::types::{DestinationConfiguration, S3DestinationConfiguration};
    let (server, _dir) = serve();
    let ivs = ivs_client(&server.uri().unwrap(), "us-west-2");
    let config = ivs
        .create_recording_configuration()
        .destination_configuration(
            DestinationConfiguration::builder()
                .s3(S3DestinationConfiguration::builder()
                    .bucket_name("my-recordings")
                    .build()
                    .unwrap())
                .build(),
        )
        .recording_reconnect_window_seconds(300)
        .send()
        .await
        .unwrap();
    let config = config.recording_configuration().unwrap().arn().to_owned();
    // The configuration settles (CREATING, then ACTIVE from the next read).
    ivs.get_recording_configuration()
        .arn(&config)
        .send()
        .await
        .unwrap();
    let channel = ivs
        .create_channel()
        .recording_configuration_arn(&config)
        .send()
        .await
        .unwrap();
    let arn = channel.channel().unwrap().arn().unwrap().to_owned();
    let body = format!(r#"{{"channelArn":"{arn}"}}"#);
    assert_eq!(
        raw::post(server.addr(), "/_ivs-vcr/streams/start", &body)
            .await
            .status,
        200
    );
    assert_eq!(
        raw::post(server.addr(), "/_ivs-vcr/streams/stop", &body)
            .await
            .status,
        200
    );
    let statuses = || async {
        let listed = raw::call(
            server.addr(),
            "GET",
            "/_ivs-vcr/events?detail-type=IVS%20Recording%20State%20Change",
        )
        .await;
        let listed: Value = serde_json::from_str(&listed.body).unwrap();
        listed["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["detail"]["recording_status"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses().await, ["Recording Start"], "held for the window");
    clock(&server, r#"{"advance_seconds": 301}"#).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = statuses().await;
        if now == ["Recording Start", "Recording End"] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
