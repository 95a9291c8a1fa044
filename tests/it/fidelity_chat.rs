//! IVS Chat's documented rules that `docs/fidelity/ivschat.yaml` lists as enforced and no other
//! test holds, each against the real server with aws-sdk-ivschat (and the Messaging WebSocket
//! where the rule is about messages). Each test cites the sentence it checks.

use aws_sdk_ivschat::error::ProvideErrorMetadata as _;
use aws_sdk_ivschat::types::{ChatTokenCapability, MessageReviewHandler};
use ivs_vcr::ReplayServer;

use crate::chat_socket::{connect, next, say, Client};
use crate::support::bin::IvsVcr;
use crate::support::{chat_client, raw};

/// A Chat client for `server`, in us-west-2.
fn client(server: &ReplayServer) -> aws_sdk_ivschat::Client {
    chat_client(&server.uri(), "us-west-2")
}

/// A connection to `room` as `user`, with `capabilities`.
async fn member(
    server: &ReplayServer,
    room: &str,
    user: &str,
    capabilities: &[ChatTokenCapability],
) -> Client {
    let token = client(server)
        .create_chat_token()
        .room_identifier(room)
        .user_id(user)
        .set_capabilities(Some(capabilities.to_vec()))
        .send()
        .await
        .unwrap();
    connect(server.addr(), token.token().unwrap()).await
}

/// The next ERROR frame `ws` gets, skipping the messages before it.
async fn next_error(ws: &mut Client) -> serde_json::Value {
    loop {
        let frame = next(ws).await;
        if frame["Type"] == "ERROR" {
            return frame;
        }
    }
}

/// `maximumMessageRatePerSecond`: "Maximum number of messages per second that can be sent to the
/// room (by all clients)"; CreateChatToken's `capabilities`: "Default: None (the capability to
/// view messages is implicitly included in all requests)".
#[tokio::test]
async fn a_rooms_rate_counts_every_client_and_every_token_can_view() {
    let server = ReplayServer::emulator().await;
    let chat = client(&server);
    let room = chat
        .create_room()
        .maximum_message_rate_per_second(2)
        .send()
        .await
        .unwrap();
    let room = room.arn().unwrap();
    let mut viewer = member(&server, room, "viewer", &[]).await;
    let mut ann = member(&server, room, "ann", &[ChatTokenCapability::SendMessage]).await;
    let mut bob = member(&server, room, "bob", &[ChatTokenCapability::SendMessage]).await;
    say(&mut ann, "one", "r1").await;
    assert_eq!(next(&mut viewer).await["Content"], "one");
    say(&mut bob, "two", "r2").await;
    assert_eq!(next(&mut viewer).await["Content"], "two");
    // The third message of the second is over the room's rate, whoever sends it.
    say(&mut ann, "three", "r3").await;
    let error = next_error(&mut ann).await;
    assert_eq!(
        (error["ErrorCode"].clone(), error["RequestId"].clone()),
        (serde_json::json!(429), serde_json::json!("r3"))
    );
}

/// CreateRoomResponse and GetRoomResponse: the limits are "from the request (if specified)",
/// else "Default: 500" and "Default: 10"; UpdateRoom sets what it is given.
#[tokio::test]
async fn a_room_keeps_the_limits_it_was_given_else_the_documented_defaults() {
    let server = ReplayServer::emulator().await;
    let chat = client(&server);
    let given = chat
        .create_room()
        .maximum_message_length(100)
        .maximum_message_rate_per_second(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            given.maximum_message_length(),
            given.maximum_message_rate_per_second()
        ),
        (Some(100), Some(5))
    );
    let plain = chat.create_room().send().await.unwrap();
    let got = chat
        .get_room()
        .identifier(plain.arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            got.maximum_message_length(),
            got.maximum_message_rate_per_second()
        ),
        (Some(500), Some(10))
    );
    let updated = chat
        .update_room()
        .identifier(plain.arn().unwrap())
        .maximum_message_rate_per_second(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            updated.maximum_message_length(),
            updated.maximum_message_rate_per_second()
        ),
        (Some(500), Some(7))
    );
}

/// "Currently this must be an ARN" (every room identifier), and a review handler's `uri`:
/// "Currently this must be an ARN of a lambda function".
#[tokio::test]
async fn identifiers_must_be_arns_and_review_handlers_lambda_arns() {
    let server = ReplayServer::emulator().await;
    let chat = client(&server);
    let room = chat.create_room().send().await.unwrap();
    let err = chat
        .get_room()
        .identifier(room.id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    let err = chat
        .create_chat_token()
        .room_identifier(room.id().unwrap())
        .user_id("ann")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    let err = chat
        .create_room()
        .message_review_handler(
            MessageReviewHandler::builder()
                .uri("https://example.com/review")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
}

/// SendEvent's `attributes`: "The maximum length of the metadata is 1 KB total" (keys and values).
#[tokio::test]
async fn send_event_attributes_are_at_most_one_kilobyte() {
    let server = ReplayServer::emulator().await;
    let chat = client(&server);
    let room = chat.create_room().send().await.unwrap();
    let send = |value: String| {
        chat.send_event()
            .room_identifier(room.arn().unwrap())
            .event_name("poll")
            .attributes("k", value)
            .send()
    };
    send("x".repeat(1023)).await.expect("1 KB is allowed");
    let err = send("x".repeat(1024)).await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
}

/// ListRooms: "Results are sorted in descending order of updateTime", and `maxResults`
/// "Default: 50". The clock is moved between changes, as IVS's times are to the second.
#[tokio::test]
async fn list_rooms_pages_fifty_newest_update_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(&["serve", "--port", "0"], dir.path());
    let chat = chat_client(&server.uri().unwrap(), "us-west-2");
    let tick = || async {
        let res = raw::post(
            server.addr(),
            "/_ivs-vcr/clock",
            r#"{"advance_seconds": 2}"#,
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.body);
    };
    for _ in 0..48 {
        chat.create_room().send().await.unwrap();
    }
    let mut named = Vec::new();
    for name in ["a", "b", "c"] {
        tick().await;
        let room = chat.create_room().name(name).send().await.unwrap();
        named.push(room.arn().unwrap().to_owned());
    }
    tick().await;
    chat.update_room()
        .identifier(&named[0])
        .name("a2")
        .send()
        .await
        .unwrap();
    let page = chat.list_rooms().send().await.unwrap();
    assert_eq!(page.rooms().len(), 50);
    let first: Vec<&str> = page.rooms()[..3].iter().filter_map(|r| r.name()).collect();
    assert_eq!(first, ["a2", "c", "b"]);
    let rest = chat
        .list_rooms()
        .next_token(page.next_token().expect("a 51st room"))
        .send()
        .await
        .unwrap();
    assert_eq!((rest.rooms().len(), rest.next_token()), (1, None));
}
