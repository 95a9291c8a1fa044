//! Not API: [`ChatDoor`], the hidden handle tests and benchmarks drive the data plane through, as
//! the Chat API does through [`ChatSink`] (tokens, rooms, server-side events), until and beside
//! the API's own operations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::hub::now_ms;
use super::{ChatEvent, ChatGrant, ChatHub, ChatLogging, ChatRoomConfig, ChatSink, ReviewHandler};

/// A handle on a server's chat data plane.
#[derive(Debug, Clone)]
pub struct ChatDoor(pub(crate) Arc<ChatHub>);

/// A token to register, as CreateChatToken would mint it.
#[derive(Debug, Clone)]
pub struct DoorGrant {
    /// The token (the client's subprotocol).
    pub token: String,
    /// The room's ARN.
    pub room_arn: String,
    /// The user's id.
    pub user_id: String,
    /// The user's attributes.
    pub attributes: BTreeMap<String, String>,
    /// `SEND_MESSAGE`, `DELETE_MESSAGE`, `DISCONNECT_USER`.
    pub capabilities: Vec<String>,
    /// How long the token opens a connection.
    pub token_ttl: Duration,
    /// How long a connection it opens lasts.
    pub session: Duration,
}

impl DoorGrant {
    /// A token for `user_id` in `room_arn` with `capabilities`, valid for a minute, whose
    /// session lasts an hour.
    pub fn new(token: &str, room_arn: &str, user_id: &str, capabilities: &[&str]) -> DoorGrant {
        DoorGrant {
            token: token.to_owned(),
            room_arn: room_arn.to_owned(),
            user_id: user_id.to_owned(),
            attributes: BTreeMap::new(),
            capabilities: capabilities.iter().map(|c| (*c).to_owned()).collect(),
            token_ttl: Duration::from_secs(60),
            session: Duration::from_secs(3600),
        }
    }
}

/// A room's settings to register, as CreateRoom or UpdateRoom would store them.
#[derive(Debug, Clone)]
pub struct DoorRoom {
    /// The room's ARN.
    pub room_arn: String,
    /// `maximumMessageLength`.
    pub maximum_message_length: u32,
    /// `maximumMessageRatePerSecond`.
    pub maximum_message_rate_per_second: u32,
    /// `messageReviewHandler`: the function ARN and `fallbackResult`.
    pub review_handler: Option<(String, String)>,
    /// Logging configurations: ARN and `destinationConfiguration`.
    pub logging: Vec<(String, serde_json::Value)>,
}

impl DoorRoom {
    /// A room with CreateRoom's documented defaults (500 characters, 10 messages a second).
    pub fn new(room_arn: &str) -> DoorRoom {
        DoorRoom {
            room_arn: room_arn.to_owned(),
            maximum_message_length: 500,
            maximum_message_rate_per_second: 10,
            review_handler: None,
            logging: Vec::new(),
        }
    }
}

impl ChatDoor {
    /// CreateChatToken minted this token.
    pub fn issue_token(&self, grant: DoorGrant) {
        let now = now_ms();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 4);
        self.0.token_issued(ChatGrant {
            token: grant.token,
            room_arn: grant.room_arn,
            user_id: grant.user_id,
            attributes: grant.attributes,
            capabilities: grant.capabilities,
            token_expires_at_ms: now + ms(grant.token_ttl),
            session_expires_at_ms: now + ms(grant.session),
        });
    }

    /// CreateRoom or UpdateRoom stored this room.
    pub fn room(&self, room: DoorRoom) {
        self.0.room_changed(ChatRoomConfig {
            room_arn: room.room_arn,
            maximum_message_length: room.maximum_message_length,
            maximum_message_rate_per_second: room.maximum_message_rate_per_second,
            review_handler: room
                .review_handler
                .map(|(uri, fallback_result)| ReviewHandler {
                    uri,
                    fallback_result,
                }),
            logging: room
                .logging
                .into_iter()
                .map(|(arn, destination)| ChatLogging { arn, destination })
                .collect(),
        });
    }

    /// DeleteRoom.
    pub fn delete_room(&self, room_arn: &str) {
        self.0.room_deleted(room_arn);
    }

    /// SendEvent.
    pub fn send_event(&self, room_arn: &str, id: &str, name: &str, attributes: &[(&str, &str)]) {
        self.0.send_event(room_arn, event(id, name, attributes));
    }

    /// DeleteMessage.
    pub fn delete_message(&self, room_arn: &str, id: &str, message_id: &str, reason: &str) {
        let attributes = [("MessageID", message_id), ("Reason", reason)];
        self.0
            .delete_message(room_arn, event(id, "aws:DELETE_MESSAGE", &attributes));
    }

    /// DisconnectUser.
    pub fn disconnect_user(&self, room_arn: &str, id: &str, user_id: &str, reason: &str) {
        let attributes = [("UserId", user_id), ("Reason", reason)];
        self.0.disconnect_user(
            room_arn,
            user_id,
            event(id, "aws:DISCONNECT_USER", &attributes),
        );
    }

    /// The control plane's reset.
    pub fn reset(&self) {
        self.0.reset();
    }

    /// Live connections.
    pub fn n_connections(&self) -> usize {
        self.0.n_connections()
    }
}

fn event(id: &str, name: &str, attributes: &[(&str, &str)]) -> ChatEvent {
    ChatEvent {
        id: id.to_owned(),
        event_name: name.to_owned(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}
