//! One chat connection: the WebSocket handshake on the server's own port, then the connection's
//! task, which reads the client's frames, checks each against the token's capabilities and the
//! room's limits, publishes to the [`ChatHub`], and writes the room's frames out.
//!
//! The client passes its chat token as the WebSocket subprotocol (`new WebSocket(url, token)`,
//! as AWS's getting-started sample and the SDKs do:
//! <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/getting-started-chat-send-and-receive.html>),
//! and the answer names it as the selected protocol, without which browsers drop the
//! connection. A token opens one connection; an unknown, used or expired one is refused with
//! 401 before the upgrade (inferred: IVS documents no handshake status).
//!
//! What a client sends that is not a publish frame gets a clear answer and never stalls the
//! room: a malformed frame or unknown action an ERROR 400, a binary frame an ERROR 400, a frame
//! over the size limit a close with 1009 (message too big). The session ends at the token's
//! `sessionExpirationTime` with a close (1000, "session expired"; the code is inferred).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::frames::{self, Refused, Request as Publish};
use super::hub::{send_time, Admitted, ChatHub, Outbound};
use super::review::{Review, Verdict};
use crate::http::{error_response, HttpResponse, Side};

/// How long one write to a client may take before the connection counts as stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many queued frames are written before one flush.
const WRITE_BATCH: usize = 64;

/// Whether a request asks for a WebSocket (`Upgrade: websocket` on a GET).
pub(crate) fn is_upgrade(req: &Request<Incoming>) -> bool {
    req.method() == http::Method::GET
        && req
            .headers()
            .get(http::header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Answers a WebSocket handshake: 101 and the connection's task, or a refusal.
pub(crate) fn accept(
    hub: &Arc<ChatHub>,
    mut req: Request<Incoming>,
    peer: SocketAddr,
) -> HttpResponse {
    let headers = req.headers();
    if headers
        .get(http::header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        let mut response = error_response(
            StatusCode::UPGRADE_REQUIRED,
            "IvsVcrBadRequestException",
            "the chat socket speaks WebSocket version 13 (Sec-WebSocket-Version: 13)",
        );
        response.headers_mut().insert(
            http::header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return response;
    }
    let Some(key) = headers.get(http::header::SEC_WEBSOCKET_KEY) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "IvsVcrBadRequestException",
            "a WebSocket handshake needs Sec-WebSocket-Key",
        );
    };
    let accept_key = tungstenite::handshake::derive_accept_key(key.as_bytes());
    // The token is the subprotocol; a client offering several names the token among them.
    let offered: Vec<&str> = headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let Some(token) = offered.first().map(|t| (*t).to_owned()) else {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "IvsVcrChatTokenException",
            "pass the chat token (CreateChatToken's `token`) as the WebSocket subprotocol: new WebSocket(url, token)",
        );
    };
    let admitted = match hub.admit(&token) {
        Ok(admitted) => admitted,
        Err(refusal) => {
            tracing::debug!(side = %Side::Downstream, %peer, status = refusal.status, "chat handshake refused");
            return error_response(
                StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::UNAUTHORIZED),
                "IvsVcrChatTokenException",
                &refusal.message,
            );
        }
    };
    let Ok(protocol) = HeaderValue::from_str(&token) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "IvsVcrChatTokenException",
            "the chat token is not a valid header value",
        );
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let hub = hub.clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::debug!(side = %Side::Downstream, %peer, error = %err, "chat upgrade failed");
                return;
            }
        };
        let config = WebSocketConfig::default()
            // Small buffers: a server holds thousands of mostly idle connections.
            .read_buffer_size(4 * 1024)
            .write_buffer_size(0)
            .max_frame_size(Some(hub.options.max_frame_bytes))
            .max_message_size(Some(hub.options.max_frame_bytes));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        Connection::new(hub, admitted, peer, ws).run().await;
    });
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        http::header::CONNECTION,
        HeaderValue::from_static("Upgrade"),
    );
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        headers.insert(http::header::SEC_WEBSOCKET_ACCEPT, value);
    }
    headers.insert(http::header::SEC_WEBSOCKET_PROTOCOL, protocol);
    response
}

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// How a connection ends.
struct Ending {
    code: u16,
    reason: String,
}

struct Connection {
    hub: Arc<ChatHub>,
    admitted: Admitted,
    peer: SocketAddr,
    sink: SplitSink<Ws, Message>,
    stream: SplitStream<Ws>,
}

impl Connection {
    fn new(hub: Arc<ChatHub>, admitted: Admitted, peer: SocketAddr, ws: Ws) -> Connection {
        let (sink, stream) = ws.split();
        Connection {
            hub,
            admitted,
            peer,
            sink,
            stream,
        }
    }

    async fn run(mut self) {
        // By the emulator's clock: moving it past the session's end closes the connection.
        let session_end = crate::clock::until(self.admitted.grant.session_expires_at_ms);
        tokio::pin!(session_end);
        let kick = self.admitted.kick.clone();
        let ending = loop {
            tokio::select! {
                biased;
                () = kick.notify.notified() => break kicked(&kick),
                () = &mut session_end => break Ending { code: 1000, reason: "session expired".into() },
                out = self.admitted.rx.recv() => match out {
                    Some(Outbound::Frame(text)) => {
                        if let Err(ending) = self.write_batch(text).await {
                            break ending;
                        }
                    }
                    Some(Outbound::Close(code, reason)) => break Ending { code, reason: reason.into() },
                    None => break Ending { code: 1000, reason: "closed".into() },
                },
                frame = self.stream.next() => match frame {
                    None | Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::Protocol(_) | tungstenite::Error::Io(_))) => return,
                    Some(Err(tungstenite::Error::Capacity(_))) => break Ending {
                        code: 1009,
                        reason: format!("frames are limited to {} bytes", self.hub.options.max_frame_bytes),
                    },
                    Some(Err(err)) => {
                        tracing::debug!(side = %Side::Downstream, peer = %self.peer, error = %err, "chat connection failed");
                        return;
                    }
                    Some(Ok(Message::Text(text))) => {
                        if let Err(ending) = self.publish(text.as_str()).await {
                            break ending;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let refused = Refused { code: frames::BAD_REQUEST, message: "binary frames are not accepted: send JSON text frames".into(), request_id: None };
                        if let Err(ending) = self.refuse(refused).await {
                            break ending;
                        }
                    }
                    // Pings are answered by tungstenite; a close is answered there too.
                    Some(Ok(Message::Close(_))) => return,
                    Some(Ok(_)) => {}
                },
            }
        };
        if ending.code == 1006 {
            // The connection broke: there is nobody to say goodbye to.
            return;
        }
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::from(ending.code),
            reason: ending.reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), self.sink.send(close)).await;
    }

    /// Writes `first` and whatever else is queued, then flushes once.
    async fn write_batch(&mut self, first: tungstenite::Utf8Bytes) -> Result<(), Ending> {
        self.feed(Message::Text(first)).await?;
        for _ in 1..WRITE_BATCH {
            match self.admitted.rx.try_recv() {
                Ok(Outbound::Frame(text)) => self.feed(Message::Text(text)).await?,
                Ok(Outbound::Close(code, reason)) => {
                    self.flush().await?;
                    return Err(Ending {
                        code,
                        reason: reason.into(),
                    });
                }
                Err(_) => break,
            }
        }
        self.flush().await
    }

    async fn feed(&mut self, message: Message) -> Result<(), Ending> {
        let kick = self.admitted.kick.clone();
        tokio::select! {
            sent = self.sink.feed(message) => sent.map_err(gone),
            () = kick.notify.notified() => Err(kicked(&kick)),
            () = tokio::time::sleep(WRITE_TIMEOUT) => Err(stuck()),
        }
    }

    async fn flush(&mut self) -> Result<(), Ending> {
        let kick = self.admitted.kick.clone();
        tokio::select! {
            sent = self.sink.flush() => sent.map_err(gone),
            () = kick.notify.notified() => Err(kicked(&kick)),
            () = tokio::time::sleep(WRITE_TIMEOUT) => Err(stuck()),
        }
    }

    /// Writes a frame of this connection's own (an ERROR) at once.
    async fn write_own(&mut self, frame: Value) -> Result<(), Ending> {
        self.feed(Message::text(frame.to_string())).await?;
        self.flush().await
    }

    async fn refuse(&mut self, refused: Refused) -> Result<(), Ending> {
        self.hub.count_error(refused.code);
        let id = self.hub.new_id();
        let frame = frames::error(
            &id,
            refused.request_id.as_deref(),
            refused.code,
            &refused.message,
        );
        self.write_own(frame).await
    }

    /// Handles one text frame from the client.
    async fn publish(&mut self, text: &str) -> Result<(), Ending> {
        let request = match frames::parse(text) {
            Ok(request) => request,
            Err(refused) => return self.refuse(refused).await,
        };
        self.hub.count_action(request.action());
        match self.check(&request).await {
            Ok(()) => Ok(()),
            Err(refused) => self.refuse(refused).await,
        }
    }

    /// Checks a publish frame against the token and the room, and carries it out.
    async fn check(&mut self, request: &Publish) -> Result<(), Refused> {
        let grant = &self.admitted.grant;
        let refuse = |code: u16, message: String| Refused {
            code,
            message,
            request_id: request.request_id().map(str::to_owned),
        };
        if !grant.capabilities.iter().any(|c| c == request.capability()) {
            return Err(refuse(
                frames::FORBIDDEN,
                format!(
                    "the chat token does not grant `{}` (CreateChatToken's capabilities)",
                    request.capability()
                ),
            ));
        }
        let room_arn = grant.room_arn.clone();
        let Some(limits) = self.hub.limits(&room_arn) else {
            return Err(refuse(
                frames::NOT_FOUND,
                format!("room `{room_arn}` does not exist"),
            ));
        };
        match request {
            Publish::SendMessage {
                request_id,
                content,
                attributes,
            } => {
                let length = frames::content_length(content);
                if length > limits.maximum_message_length as usize {
                    return Err(refuse(
                        frames::PAYLOAD_TOO_LARGE,
                        format!(
                            "`Content` is {length} characters; the room's maximumMessageLength is {}",
                            limits.maximum_message_length
                        ),
                    ));
                }
                if !self.hub.take_rate(&room_arn) {
                    return Err(refuse(
                        frames::TOO_MANY_REQUESTS,
                        "the room is over its maximumMessageRatePerSecond".to_owned(),
                    ));
                }
                let id = self.hub.new_id();
                let (content, attributes) = match &limits.review_handler {
                    None => (content.clone(), attributes.clone()),
                    Some(handler) => {
                        let review = Review {
                            room_arn: &room_arn,
                            message_id: &id,
                            content,
                            attributes,
                            sender_user_id: &grant.user_id,
                            sender_attributes: &grant.attributes,
                            sender_ip: self.peer.ip().to_string(),
                            maximum_message_length: limits.maximum_message_length,
                        };
                        match self.hub.reviewer.review(handler, &review).await {
                            Verdict::Allow {
                                content,
                                attributes,
                            } => (content, attributes),
                            Verdict::Deny { reason } => {
                                return Err(refuse(frames::NOT_ACCEPTABLE, reason))
                            }
                        }
                    }
                };
                let frame = frames::message(&frames::Message {
                    id: &id,
                    request_id: request_id.as_deref(),
                    content: &content,
                    attributes: &attributes,
                    sender_user_id: &grant.user_id,
                    sender_attributes: &grant.attributes,
                    send_time: &send_time(),
                });
                if !self.hub.deliver(&room_arn, frame) {
                    return Err(refuse(
                        frames::NOT_FOUND,
                        format!("room `{room_arn}` does not exist"),
                    ));
                }
            }
            Publish::DeleteMessage {
                request_id,
                id,
                reason,
            } => {
                let event_id = self.hub.new_id();
                let attributes = frames::delete_attributes(id, reason.as_deref());
                self.hub.deliver_event(
                    &room_arn,
                    &event_id,
                    request_id.as_deref(),
                    "aws:DELETE_MESSAGE",
                    &attributes,
                );
            }
            Publish::DisconnectUser {
                request_id,
                user_id,
                reason,
            } => {
                let event_id = self.hub.new_id();
                let attributes: BTreeMap<String, String> =
                    frames::disconnect_attributes(user_id, reason.as_deref());
                self.hub.deliver_event(
                    &room_arn,
                    &event_id,
                    request_id.as_deref(),
                    "aws:DISCONNECT_USER",
                    &attributes,
                );
                self.hub.disconnect(&room_arn, user_id);
            }
        }
        Ok(())
    }
}

fn kicked(kick: &super::hub::Kick) -> Ending {
    let (code, reason) = kick.reason.get().copied().unwrap_or((1000, "closed"));
    Ending {
        code,
        reason: reason.into(),
    }
}

fn gone(_: tungstenite::Error) -> Ending {
    Ending {
        code: 1006,
        reason: String::new(),
    }
}

fn stuck() -> Ending {
    Ending {
        code: 1008,
        reason: "too slow: a write did not complete in time".into(),
    }
}
