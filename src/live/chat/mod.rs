//! IVS Chat's data plane: the Chat Messaging WebSocket that browsers and mobile apps connect to
//! with a chat token, and what the Chat API's operations do to it.
//!
//! This file is the seam between the two halves. The Chat API (`CreateRoom`, `CreateChatToken`,
//! `SendEvent`, `DeleteMessage`, `DisconnectUser`, `UpdateRoom`, `DeleteRoom`, ...) keeps the rooms
//! and mints the tokens in the emulator, then tells the data plane through [`ChatSink`]; the data
//! plane holds the sockets, checks frames against what a token grants, fans messages out and
//! delivers the API's events to them. [`NoChat`] is the sink of an emulator that serves no sockets
//! (the library's embedded emulator, `verify`'s in-process target).
//!
//! The data plane's split: `hub` ([`ChatHub`], the sink: tokens, rooms, connections, fan-out),
//! `socket` (the handshake and each connection's task), `frames` (the JSON frames, pure),
//! `review` (message review handlers mapped to local endpoints) and `logging` (what logging
//! configurations would deliver).

mod door;
mod frames;
mod hub;
mod logging;
mod review;
mod socket;

use std::collections::BTreeMap;

pub use door::{ChatDoor, DoorGrant, DoorRoom};
pub(crate) use hub::{ChatHub, ChatOptions};
pub(crate) use socket::{accept, is_upgrade};

/// What a chat token grants, as `CreateChatToken` minted it: the connection it opens carries the
/// user's id, attributes and capabilities into every message it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatGrant {
    /// The token itself, as the client passes it as the WebSocket subprotocol.
    pub token: String,
    /// The room's ARN (`arn:aws:ivschat:<region>:<account>:room/<id>`).
    pub room_arn: String,
    /// `userId` of the CreateChatToken request.
    pub user_id: String,
    /// `attributes` of the CreateChatToken request (the sender's attributes in every message).
    pub attributes: BTreeMap<String, String>,
    /// `capabilities` of the request, as the model names them: `SEND_MESSAGE`, `DELETE_MESSAGE`,
    /// `DISCONNECT_USER`.
    pub capabilities: Vec<String>,
    /// When the token stops opening connections (`tokenExpirationTime`), in Unix milliseconds.
    pub token_expires_at_ms: u64,
    /// When a connection opened with it is closed (`sessionExpirationTime`), in Unix milliseconds.
    pub session_expires_at_ms: u64,
}

/// A room's settings that its connections obey, as the Chat API last stored them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatRoomConfig {
    /// The room's ARN.
    pub room_arn: String,
    /// `maximumMessageLength`: a longer message's `Content` is refused.
    pub maximum_message_length: u32,
    /// `maximumMessageRatePerSecond`: messages a second the room accepts, across its connections.
    pub maximum_message_rate_per_second: u32,
    /// `messageReviewHandler`, when the room has one with a `uri`.
    pub review_handler: Option<ReviewHandler>,
    /// `loggingConfigurationIdentifiers`, as ARNs, each with where it delivers.
    pub logging: Vec<ChatLogging>,
}

/// A room's message review handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReviewHandler {
    /// The Lambda function's ARN.
    pub uri: String,
    /// `fallbackResult`: `ALLOW` or `DENY`, applied when the handler fails or times out.
    pub fallback_result: String,
}

/// One logging configuration of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatLogging {
    /// The logging configuration's ARN.
    pub arn: String,
    /// Its `destinationConfiguration`, as the API stored it (one of `s3`, `cloudWatchLogs`,
    /// `firehose`).
    pub destination: serde_json::Value,
}

/// An event the API asks the data plane to deliver to a room (`SendEvent`, and the `aws:` events
/// of `DeleteMessage` and `DisconnectUser`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChatEvent {
    /// The event's id, as the operation answers it (`id`).
    pub id: String,
    /// `eventName`.
    pub event_name: String,
    /// `attributes`.
    pub attributes: BTreeMap<String, String>,
}

/// Where the Chat API's effects on live connections go. Every method is called after the API has
/// validated the request and changed its own state, and never fails: a room with no connections
/// simply has nobody to deliver to.
pub(crate) trait ChatSink: Send + Sync + std::fmt::Debug {
    /// A token was minted: it may open one connection until it expires.
    fn token_issued(&self, grant: ChatGrant);
    /// A room was created or updated: its connections obey the new settings from now on.
    fn room_changed(&self, room: ChatRoomConfig);
    /// A room was deleted: its connections are closed and its tokens open none.
    fn room_deleted(&self, room_arn: &str);
    /// `SendEvent`: deliver an EVENT to every connection in the room.
    fn send_event(&self, room_arn: &str, event: ChatEvent);
    /// `DeleteMessage`: deliver the `aws:DELETE_MESSAGE` event (its attributes `MessageID` and
    /// `Reason`) to every connection in the room.
    fn delete_message(&self, room_arn: &str, event: ChatEvent);
    /// `DisconnectUser`: deliver `aws:DISCONNECT_USER` (attributes `UserId` and `Reason`), then
    /// close every connection of that user in the room.
    fn disconnect_user(&self, room_arn: &str, user_id: &str, event: ChatEvent);
    /// The control plane's reset: close every connection and forget every token.
    fn reset(&self);
}

/// The sink of an emulator without a data plane: the API's effects reach no socket.
#[derive(Debug, Default)]
pub(crate) struct NoChat;

impl ChatSink for NoChat {
    fn token_issued(&self, _grant: ChatGrant) {}
    fn room_changed(&self, _room: ChatRoomConfig) {}
    fn room_deleted(&self, _room_arn: &str) {}
    fn send_event(&self, _room_arn: &str, _event: ChatEvent) {}
    fn delete_message(&self, _room_arn: &str, _event: ChatEvent) {}
    fn disconnect_user(&self, _room_arn: &str, _user_id: &str, _event: ChatEvent) {}
    fn reset(&self) {}
}
