//! [`ChatHub`]: the rooms' live connections, the tokens that may still open one, and the
//! fan-out. It is the [`ChatSink`] the Chat API calls, and what each connection's task
//! (`socket`) admits itself through and publishes to.
//!
//! One lock over everything, held only for bookkeeping and for handing a frame to every
//! connection of a room: a frame is serialized once and queued to each connection with
//! `try_send`, so every connection of a room sees the room's frames in one order (a sender's
//! messages in the order it sent them), each once. Each connection has a bounded queue
//! ([`ChatOptions::queue_frames`]); a connection whose queue is full (a reader that stopped
//! reading) is dropped from the room and closed, so it never holds the room back. IVS does not
//! document what it does to a slow reader; dropping it is inferred.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::frames;
use super::logging::ChatLog;
use super::review::Reviewer;
use super::{ChatEvent, ChatGrant, ChatRoomConfig, ChatSink};
use crate::seeded::SplitMix64;

/// The most live connections a server holds, by default: IVS Chat's documented quota of
/// concurrent chat connections per account and region
/// (<https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html>).
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 50_000;

/// How many frames wait for a connection at most before it counts as too slow, by default.
pub(crate) const DEFAULT_QUEUE_FRAMES: usize = 1_024;

/// The largest frame a client may send, by default. A message's `Content` is at most 500 code
/// points (2,000 bytes of UTF-8); the rest leaves room for attributes.
pub(crate) const DEFAULT_MAX_FRAME_BYTES: usize = 64 * 1024;

/// How many of a room's recent MESSAGE and EVENT frames the control plane shows.
const RECENT_PER_ROOM: usize = 50;

/// The documented defaults of a room's limits (CreateRoom:
/// <https://docs.aws.amazon.com/ivs/latest/ChatAPIReference/API_CreateRoom.html>), for a token
/// whose room the API never described.
const DEFAULT_MAX_MESSAGE_LENGTH: u32 = 500;
const DEFAULT_MAX_RATE: u32 = 10;

/// Tokens kept before expired ones are swept.
const SWEEP_TOKENS_FROM: usize = 10_000;

/// The data plane's settings.
#[derive(Debug, Clone)]
pub(crate) struct ChatOptions {
    /// Live connections held at most; one more is refused at the handshake.
    pub max_connections: usize,
    /// Frames queued per connection at most.
    pub queue_frames: usize,
    /// The largest frame a client may send, in bytes.
    pub max_frame_bytes: usize,
    /// Message review handlers: Lambda function ARN → local HTTP endpoint.
    pub review_handlers: BTreeMap<String, String>,
    /// Where logging configurations' records are written, one JSON-lines file each.
    pub log_dir: Option<PathBuf>,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            queue_frames: DEFAULT_QUEUE_FRAMES,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            review_handlers: BTreeMap::new(),
            log_dir: None,
        }
    }
}

/// What a connection's queue carries.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A serialized MESSAGE, EVENT or ERROR frame.
    Frame(Utf8Bytes),
    /// Close the socket with this code and reason, after the frames before it.
    Close(u16, &'static str),
}

/// How a connection is told to close when its queue cannot take the word: the reason, then a
/// wake-up.
#[derive(Debug, Default)]
pub(crate) struct Kick {
    pub notify: Notify,
    pub reason: OnceLock<(u16, &'static str)>,
}

impl Kick {
    fn kick(&self, code: u16, reason: &'static str) {
        let _ = self.reason.set((code, reason));
        self.notify.notify_one();
    }
}

/// A connection the hub let in: the socket task's half.
#[derive(Debug)]
pub(crate) struct Admitted {
    pub grant: ChatGrant,
    pub rx: mpsc::Receiver<Outbound>,
    pub kick: Arc<Kick>,
    /// Leaves the room and frees the connection's place when dropped: held, never read.
    pub _leave: Leave,
}

/// Frees a connection's place in the hub when its task ends, however it ends.
#[derive(Debug)]
pub(crate) struct Leave {
    hub: Arc<ChatHub>,
    room_arn: String,
    conn_id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        self.hub.leave(&self.room_arn, self.conn_id);
    }
}

/// Why a handshake is refused: the HTTP status and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub message: String,
}

/// A room's limits, as a connection checks a message against them.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub maximum_message_length: u32,
    pub review_handler: Option<super::ReviewHandler>,
}

/// The data plane: tokens, rooms, connections.
#[derive(Debug)]
pub(crate) struct ChatHub {
    state: Mutex<HubState>,
    pub(crate) options: ChatOptions,
    pub(crate) reviewer: Reviewer,
    pub(crate) log: ChatLog,
    counters: Counters,
}

#[derive(Debug)]
struct HubState {
    /// Tokens minted and not yet used.
    tokens: HashMap<String, ChatGrant>,
    rooms: HashMap<String, Room>,
    /// Live connections, counted from admission until their task ends.
    n_connections: usize,
    next_conn: u64,
    ids: SplitMix64,
}

#[derive(Debug, Default)]
struct Room {
    config: Option<ChatRoomConfig>,
    members: Vec<Member>,
    /// The current one-second window of `maximumMessageRatePerSecond` (its start, by
    /// `clock::now_millis`) and the messages in it.
    window: Option<(u64, u32)>,
    recent: VecDeque<Value>,
}

#[derive(Debug)]
struct Member {
    conn_id: u64,
    user_id: String,
    connected_at: String,
    tx: mpsc::Sender<Outbound>,
    kick: Arc<Kick>,
}

/// What the summary counts.
#[derive(Debug, Default)]
struct Counters {
    /// Publish frames received, by action: SEND_MESSAGE, DELETE_MESSAGE, DISCONNECT_USER.
    actions: [AtomicU64; 3],
    /// ERROR frames sent, by code.
    errors: Mutex<BTreeMap<u16, u64>>,
    opened: AtomicU64,
    refused: AtomicU64,
    slow_closed: AtomicU64,
    delivered: AtomicU64,
}

impl ChatHub {
    pub(crate) fn new(options: ChatOptions) -> ChatHub {
        ChatHub {
            state: Mutex::new(HubState {
                tokens: HashMap::new(),
                rooms: HashMap::new(),
                n_connections: 0,
                next_conn: 0,
                // A fixed seed: the same run gives the same message ids.
                ids: SplitMix64::new(0x1f5c_4a7e),
            }),
            reviewer: Reviewer::new(options.review_handlers.clone()),
            log: ChatLog::new(options.log_dir.clone()),
            options,
            counters: Counters::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // A panic while holding the lock leaves maps that are still whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `token` for one connection: refused when unknown, used, expired or over the
    /// connection cap. The status codes are inferred (IVS documents none for the handshake):
    /// 401 for a token that opens nothing, 429 over the cap.
    pub(crate) fn admit(self: &Arc<Self>, token: &str) -> Result<Admitted, Refusal> {
        let refuse = |status: u16, message: String| {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            Err(Refusal { status, message })
        };
        let mut state = self.lock();
        if state.n_connections >= self.options.max_connections {
            return refuse(
                429,
                format!(
                    "this server holds at most {} chat connections (--max-chat-connections)",
                    self.options.max_connections
                ),
            );
        }
        let Some(grant) = state.tokens.remove(token) else {
            return refuse(
                401,
                "the chat token is unknown or was already used: a token opens one connection; mint another with CreateChatToken".to_owned(),
            );
        };
        if grant.token_expires_at_ms <= now_ms() {
            return refuse(
                401,
                "the chat token has expired (tokenExpirationTime)".to_owned(),
            );
        }
        state.n_connections += 1;
        state.next_conn += 1;
        let conn_id = state.next_conn;
        let (tx, rx) = mpsc::channel(self.options.queue_frames.max(1));
        let kick = Arc::new(Kick::default());
        let room = state.rooms.entry(grant.room_arn.clone()).or_default();
        room.members.push(Member {
            conn_id,
            user_id: grant.user_id.clone(),
            connected_at: crate::clock::now(),
            tx,
            kick: kick.clone(),
        });
        drop(state);
        self.counters.opened.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            _leave: Leave {
                hub: self.clone(),
                room_arn: grant.room_arn.clone(),
                conn_id,
            },
            grant,
            rx,
            kick,
        })
    }

    fn leave(&self, room_arn: &str, conn_id: u64) {
        let mut state = self.lock();
        state.n_connections = state.n_connections.saturating_sub(1);
        if let Some(room) = state.rooms.get_mut(room_arn) {
            room.members.retain(|m| m.conn_id != conn_id);
            if room.members.is_empty() && room.config.is_none() && room.recent.is_empty() {
                state.rooms.remove(room_arn);
            }
        }
    }

    /// The room's limits, or `None` once the room is gone (deleted, or reset).
    pub(crate) fn limits(&self, room_arn: &str) -> Option<Limits> {
        let state = self.lock();
        let room = state.rooms.get(room_arn)?;
        Some(match &room.config {
            Some(config) => Limits {
                maximum_message_length: config.maximum_message_length,
                review_handler: config.review_handler.clone(),
            },
            None => Limits {
                maximum_message_length: DEFAULT_MAX_MESSAGE_LENGTH,
                review_handler: None,
            },
        })
    }

    /// Counts one message against the room's `maximumMessageRatePerSecond` (room-wide, "by all
    /// clients", as CreateRoom documents it); false when the room is over it. Windows of one
    /// second from the first message in each (inferred: IVS does not document its window).
    pub(crate) fn take_rate(&self, room_arn: &str) -> bool {
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(room_arn) else {
            return false;
        };
        let rate = room
            .config
            .as_ref()
            .map_or(DEFAULT_MAX_RATE, |c| c.maximum_message_rate_per_second);
        let now = now_ms();
        match &mut room.window {
            Some((start, n)) if now.saturating_sub(*start) < 1000 => {
                if *n >= rate {
                    return false;
                }
                *n += 1;
            }
            window => *window = Some((now, 1)),
        }
        true
    }

    /// A fresh 12-character id ([A-Za-z0-9], as DeleteMessage's `id` is constrained).
    pub(crate) fn new_id(&self) -> String {
        self.lock().ids.alnum(12)
    }

    /// Counts a publish frame.
    pub(crate) fn count_action(&self, action: &str) {
        let idx = match action {
            frames::SEND_MESSAGE => 0,
            frames::DELETE_MESSAGE => 1,
            _ => 2,
        };
        self.counters.actions[idx].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an ERROR frame sent.
    pub(crate) fn count_error(&self, code: u16) {
        let mut errors = self
            .counters
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *errors.entry(code).or_default() += 1;
    }

    /// Delivers a MESSAGE or EVENT frame to every connection of the room, records it among the
    /// room's recent frames and in its logging configurations' records. False when the room is
    /// gone.
    pub(crate) fn deliver(&self, room_arn: &str, frame: Value) -> bool {
        let text = Utf8Bytes::from(frame.to_string());
        let mut state = self.lock();
        let Some(room) = state.rooms.get_mut(room_arn) else {
            return false;
        };
        let mut slow = 0;
        room.members.retain(|member| {
            match member.tx.try_send(Outbound::Frame(text.clone())) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    member
                        .kick
                        .kick(1008, "too slow: the connection's queue of frames is full");
                    slow += 1;
                    false
                }
                // The task has ended; its `Leave` removes it too.
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
        let n = room.members.len() as u64;
        if let Some(config) = &room.config {
            if !config.logging.is_empty() {
                self.log.record(&config.logging, &frame);
            }
        }
        if room.recent.len() == RECENT_PER_ROOM {
            room.recent.pop_front();
        }
        room.recent.push_back(frame);
        drop(state);
        self.counters.delivered.fetch_add(n, Ordering::Relaxed);
        if slow > 0 {
            self.counters.slow_closed.fetch_add(slow, Ordering::Relaxed);
            tracing::debug!(side = %crate::http::Side::Downstream, room = room_arn, slow, "closed chat connections too slow to read");
        }
        true
    }

    /// Delivers an EVENT the API or a moderator's frame asked for.
    pub(crate) fn deliver_event(
        &self,
        room_arn: &str,
        id: &str,
        request_id: Option<&str>,
        name: &str,
        attributes: &BTreeMap<String, String>,
    ) {
        let frame = frames::event(id, request_id, name, attributes, &send_time());
        self.deliver(room_arn, frame);
    }

    /// Closes the connections of `room_arn` that `which` picks, after the frames already queued.
    fn close_where(
        &self,
        room_arn: Option<&str>,
        code: u16,
        reason: &'static str,
        which: impl Fn(&Member) -> bool,
    ) {
        let mut state = self.lock();
        for (arn, room) in state.rooms.iter_mut() {
            if room_arn.is_some_and(|wanted| wanted != arn) {
                continue;
            }
            room.members.retain(|member| {
                if !which(member) {
                    return true;
                }
                if member.tx.try_send(Outbound::Close(code, reason)).is_err() {
                    member.kick.kick(code, reason);
                }
                false
            });
        }
    }

    /// Closes every connection of `user_id` in the room (DisconnectUser, by API or by frame).
    pub(crate) fn disconnect(&self, room_arn: &str, user_id: &str) {
        self.close_where(Some(room_arn), 1000, "disconnected by a moderator", |m| {
            m.user_id == user_id
        });
    }

    /// Closes every connection, as a server shutting down does.
    pub(crate) fn close_all(&self, reason: &'static str) {
        self.close_where(None, 1001, reason, |_| true);
    }

    /// Live connections.
    pub(crate) fn n_connections(&self) -> usize {
        self.lock().n_connections
    }

    /// The rooms' live connections and recent frames, the logging records kept, and the tokens
    /// not yet used: the `chat` member of `GET /_ivs-vcr/state`.
    pub(crate) fn snapshot(&self) -> Value {
        let state = self.lock();
        let mut rooms: Vec<(&String, &Room)> = state.rooms.iter().collect();
        rooms.sort_by(|a, b| a.0.cmp(b.0));
        let rooms: Vec<Value> = rooms
            .into_iter()
            .map(|(arn, room)| {
                json!({
                    "roomArn": arn,
                    "connections": room.members.iter().map(|m| json!({
                        "connectionId": m.conn_id,
                        "userId": m.user_id,
                        "connectedAt": m.connected_at,
                    })).collect::<Vec<_>>(),
                    "recentMessages": room.recent,
                })
            })
            .collect();
        json!({
            "connections": state.n_connections,
            "pendingTokens": state.tokens.len(),
            "rooms": rooms,
            "logRecords": self.log.recent(),
        })
    }

    /// What the summary shows: WebSocket actions, errors, connections.
    pub(crate) fn summary(&self) -> Value {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let errors = self
            .counters
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        json!({
            "actions": {
                frames::SEND_MESSAGE: load(&self.counters.actions[0]),
                frames::DELETE_MESSAGE: load(&self.counters.actions[1]),
                frames::DISCONNECT_USER: load(&self.counters.actions[2]),
            },
            "errors": errors.iter().map(|(code, n)| (code.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "connectionsOpened": load(&self.counters.opened),
            "connectionsRefused": load(&self.counters.refused),
            "slowConnectionsClosed": load(&self.counters.slow_closed),
            "framesDelivered": load(&self.counters.delivered),
            "liveConnections": self.n_connections(),
        })
    }

    /// Forgets the summary's counts (the control plane's rewind).
    pub(crate) fn forget_counts(&self) {
        for a in &self.counters.actions {
            a.store(0, Ordering::Relaxed);
        }
        for a in [
            &self.counters.opened,
            &self.counters.refused,
            &self.counters.slow_closed,
            &self.counters.delivered,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.counters
            .errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl ChatSink for ChatHub {
    fn token_issued(&self, grant: ChatGrant) {
        let mut state = self.lock();
        if state.tokens.len() >= SWEEP_TOKENS_FROM {
            let now = now_ms();
            state.tokens.retain(|_, g| g.token_expires_at_ms > now);
        }
        state.rooms.entry(grant.room_arn.clone()).or_default();
        state.tokens.insert(grant.token.clone(), grant);
    }

    fn room_changed(&self, room: ChatRoomConfig) {
        let mut state = self.lock();
        let arn = room.room_arn.clone();
        state.rooms.entry(arn).or_default().config = Some(room);
    }

    fn room_deleted(&self, room_arn: &str) {
        self.close_where(Some(room_arn), 1000, "the room was deleted", |_| true);
        let mut state = self.lock();
        state.rooms.remove(room_arn);
        state.tokens.retain(|_, g| g.room_arn != room_arn);
    }

    fn send_event(&self, room_arn: &str, event: ChatEvent) {
        self.deliver_event(
            room_arn,
            &event.id,
            None,
            &event.event_name,
            &event.attributes,
        );
    }

    fn delete_message(&self, room_arn: &str, event: ChatEvent) {
        let mut attributes = event.attributes;
        // The event carries `MessageId` and its deprecated spelling `MessageID` (Event
        // (Subscribe)); the API may name either.
        for (from, to) in [("MessageID", "MessageId"), ("MessageId", "MessageID")] {
            if let Some(id) = attributes.get(from).cloned() {
                attributes.entry(to.to_owned()).or_insert(id);
            }
        }
        self.deliver_event(room_arn, &event.id, None, "aws:DELETE_MESSAGE", &attributes);
    }

    fn disconnect_user(&self, room_arn: &str, user_id: &str, event: ChatEvent) {
        self.deliver_event(
            room_arn,
            &event.id,
            None,
            "aws:DISCONNECT_USER",
            &event.attributes,
        );
        self.disconnect(room_arn, user_id);
    }

    fn reset(&self) {
        self.close_where(None, 1000, "the emulator was reset", |_| true);
        let mut state = self.lock();
        state.tokens.clear();
        // Every member was taken out above; a connection still leaving finds no room.
        state.rooms.clear();
        drop(state);
        self.log.clear();
    }
}

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    crate::clock::now_millis()
}

/// Now as a frame's `SendTime` (ISO-8601 in UTC, to the millisecond).
pub(crate) fn send_time() -> String {
    crate::clock::iso8601_millis(now_ms())
}
