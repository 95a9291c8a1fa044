//! RTMP ingest: what an encoder (OBS, ffmpeg) publishes to `rtmp://<host>:<port>/app/<streamKey>`,
//! IVS's own path form, takes the key's channel live and becomes its HLS.
//!
//! The protocol (handshake, chunk stream, AMF commands) is scuffle-rtmp's: it bounds what one
//! connection may buffer (10 MB a message, 4 partial messages) and times out a silent peer (2 s in
//! the handshake, 2.5 s after). Around it, this module bounds the rest: at most
//! [`IngestOptions::max_connections`] connections, each of which must publish within
//! [`PUBLISH_DEADLINE`]. Then:
//! - `flv`: the FLV bodies of the audio, video and data messages (codec, decoder configurations,
//!   `onMetaData`); `sps`: the H.264 SPS, for the picture's size;
//! - `remux`: FLV to MPEG-TS segments, and the measured ingest configuration.
//!
//! A publish goes through the emulator (`Emulator::start_ingest`), exactly as the control plane's
//! start does, and registers a handle the emulator's stop path notifies (StopStream drops the
//! connection). The encoder leaving ends the stream (`Emulator::end_ingest`). A publish with an
//! IVS Real-Time ingest configuration's key joins its stage the same way
//! (`Emulator::start_stage_ingest`), and disconnecting the participant drops the connection.
//!
//! Refusals: IVS documents no RTMP-level status for a bad key or a second publisher; the emulator
//! closes the connection without `NetStream.Publish.Start` (inferred: what encoders show for IVS
//! is a closed connection), and logs why at `warn`, naming the channel, never the key.

pub(crate) mod flv;
pub(crate) mod remux;
pub(crate) mod sps;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use scuffle_rtmp::session::server::{ServerSessionError, SessionData, SessionHandler};
use tokio::sync::{Notify, Semaphore};

use crate::emulator::live::KeyOwner;
use crate::emulator::Emulator;
use crate::http::Side;
use crate::live::media::{LiveMedia, Media, Segment};

use remux::Remuxer;

/// How long a connection may take from its accept to its publish.
pub(crate) const PUBLISH_DEADLINE: Duration = Duration::from_secs(10);

/// How long without media before a live stream's health is STARVING. Inferred: IVS documents
/// STARVING as the stream not getting enough data (`StreamHealth`), not the threshold.
const STARVING_AFTER: Duration = Duration::from_millis(1500);

/// The settings of ingest.
#[derive(Debug, Clone)]
pub(crate) struct IngestOptions {
    /// Connections held at once; one more is closed at once.
    pub max_connections: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_connections: 256,
        }
    }
}

/// The RTMP listener, running.
#[derive(Debug)]
pub(crate) struct Ingest {
    pub addr: SocketAddr,
    stop: Arc<Notify>,
}

impl Ingest {
    /// Serves RTMP on `listener` in the background.
    pub fn start(
        listener: std::net::TcpListener,
        emulator: Arc<Emulator>,
        media: Arc<Media>,
        options: IngestOptions,
    ) -> std::io::Result<Ingest> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let stop = Arc::new(Notify::new());
        let connections = Arc::new(Semaphore::new(options.max_connections));
        let ingest = Ingest {
            addr,
            stop: stop.clone(),
        };
        tokio::spawn(accept_loop(listener, emulator, media, connections, stop));
        Ok(ingest)
    }

    /// The URL an encoder publishes to, without the key: `rtmp://127.0.0.1:PORT/app/`.
    pub fn url(&self) -> String {
        format!("rtmp://{}/app/", self.addr)
    }

    /// Stops accepting; open connections end with the server's runtime.
    pub fn stop(&self) {
        self.stop.notify_one();
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    emulator: Arc<Emulator>,
    media: Arc<Media>,
    connections: Arc<Semaphore>,
    stop: Arc<Notify>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::warn!(side = %Side::Downstream, error = %err, "RTMP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.notified() => return,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::warn!(side = %Side::Downstream, %peer, "RTMP connection refused: the emulator holds its most connections already");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let emulator = emulator.clone();
        let media = media.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, emulator, media).await;
            drop(permit);
        });
    }
}

/// What a connection's task and its session handler share.
#[derive(Debug, Default)]
struct Shared {
    /// Notified to drop the connection (the emulator's stop path, or a refusal).
    kill: Arc<Notify>,
    /// Whether the emulator dropped the connection (`kill` fired): what it stopped needs no
    /// ending from here.
    dropped: AtomicBool,
    published: AtomicBool,
    /// Milliseconds from the connection's start to its last media message.
    last_media_ms: AtomicU64,
    /// Why the connection was refused or ended, for the log.
    reason: Mutex<Option<String>>,
    /// Whether the encoder unpublished (a normal end).
    unpublished: AtomicBool,
    /// The channel ARN and stream id once published, for health changes.
    live_ids: Mutex<Option<(String, String)>>,
}

impl Shared {
    fn refuse(&self, reason: String) -> ServerSessionError {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        // scuffle-rtmp's handler can only fail with one of its own errors; the reason logged is
        // the one above.
        ServerSessionError::PublishBeforeConnect
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    emulator: Arc<Emulator>,
    media: Arc<Media>,
) {
    let started = Instant::now();
    let shared = Arc::new(Shared::default());
    let publisher = Publisher {
        emulator: emulator.clone(),
        media,
        shared: shared.clone(),
        started,
        live: None,
        participant: None,
        // A second descriptor of the socket, for its receive low-water mark once publishing.
        socket: socket2::SockRef::from(&stream).try_clone().ok(),
    };
    let session = scuffle_rtmp::ServerSession::new(EofIsAnError(stream), publisher);
    let mut run = std::pin::pin!(session.run());
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut starving = false;
    let outcome = loop {
        tokio::select! {
            result = &mut run => break result.map(|_| ()).map_err(|e| e.to_string()),
            () = shared.kill.notified() => {
                shared.dropped.store(true, Ordering::Release);
                break Err("dropped: the stream was stopped (StopStream, the control plane, or a reset) or its stage participant disconnected (DisconnectParticipant, DeleteStage, DeleteIngestConfiguration)".to_owned());
            }
            _ = tick.tick() => {
                let published = shared.published.load(Ordering::Acquire);
                if !published && started.elapsed() > PUBLISH_DEADLINE {
                    break Err(format!("no publish within {} s of connecting", PUBLISH_DEADLINE.as_secs()));
                }
                if published {
                    let since = started.elapsed().saturating_sub(Duration::from_millis(shared.last_media_ms.load(Ordering::Relaxed)));
                    if (since > STARVING_AFTER) != starving {
                        starving = !starving;
                        shared.set_health(&emulator, starving);
                    }
                }
            }
        }
    };
    let reason = shared
        .reason
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    match (outcome, reason) {
        _ if shared.unpublished.load(Ordering::Acquire) => {
            tracing::info!(side = %Side::Downstream, %peer, "RTMP encoder unpublished");
        }
        (_, Some(reason)) => {
            tracing::warn!(side = %Side::Downstream, %peer, "RTMP connection closed: {reason}");
        }
        (Err(err), None) => {
            tracing::info!(side = %Side::Downstream, %peer, "RTMP connection closed: {err}");
        }
        (Ok(()), None) => tracing::debug!(side = %Side::Downstream, %peer, "RTMP connection ended"),
    }
    // The session, and the publisher with it, is dropped here: its `Drop` ends the stream.
}

impl Shared {
    /// Tells the emulator the stream's health changed: STARVING while no media comes.
    fn set_health(&self, emulator: &Emulator, starving: bool) {
        if let Some((arn, stream_id)) = &*self.live_ids.lock().unwrap_or_else(|p| p.into_inner()) {
            emulator.set_stream_health(
                arn,
                stream_id,
                if starving { "STARVING" } else { "HEALTHY" },
            );
        }
    }
}

/// A stream whose end of file is an error. scuffle-rtmp 0.2's handshake loops on `read` until it
/// has a whole C0+C1, adding the bytes read, so a peer that closes mid-handshake (a read of 0
/// bytes, at once, every time) would spin the task until the publish deadline; as an
/// `UnexpectedEof` error the session ends at once, and after the handshake it is what the crate
/// already treats as the client closing.
struct EofIsAnError<S>(S);

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for EofIsAnError<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let wanted = buf.remaining() > 0;
        match std::pin::Pin::new(&mut self.0).poll_read(cx, buf) {
            std::task::Poll::Ready(Ok(())) if wanted && buf.filled().len() == before => {
                std::task::Poll::Ready(Err(std::io::ErrorKind::UnexpectedEof.into()))
            }
            other => other,
        }
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for EofIsAnError<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// One connection's publish: the channel it took live and its remuxer.
struct Publisher {
    emulator: Arc<Emulator>,
    media: Arc<Media>,
    shared: Arc<Shared>,
    started: Instant,
    live: Option<Live>,
    /// The Real-Time participant that a publish with an ingest configuration's key joined: it
    /// leaves when the encoder does.
    participant: Option<StageParticipant>,
    /// The connection's socket (a duplicate descriptor), until the publish sets its low-water mark.
    socket: Option<socket2::Socket>,
}

/// A Real-Time stage participant an RTMP publish joined.
struct StageParticipant {
    id: String,
    stage_arn: String,
    session_id: String,
}

/// The receive low-water mark of a publishing connection: the task is woken when this much has
/// come (or the peer closed), not for every TCP segment. Media flows at hundreds of kilobytes a
/// second, so this holds a message back by tens of milliseconds at most, and it saves most of
/// the wake-ups that are the bulk of an ingested stream's CPU (measured with benches/live.sh).
/// Not before the publish: commands are small, and would wait.
const RECEIVE_LOW_WATER: i32 = 16 * 1024;

/// Sets `SO_RCVLOWAT`; a failure only costs wake-ups.
#[cfg(target_os = "linux")]
fn set_receive_low_water(socket: &socket2::Socket, bytes: i32) {
    use std::os::fd::AsRawFd as _;
    let value: libc::c_int = bytes;
    // SAFETY: `socket` owns its descriptor for the length of the call, and `value` is the
    // `c_int` setsockopt(2) reads for SO_RCVLOWAT, alive across the call with its size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            std::ptr::from_ref(&value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        tracing::debug!(side = %Side::Internal, error = %std::io::Error::last_os_error(), "SO_RCVLOWAT not set");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_receive_low_water(_socket: &socket2::Socket, _bytes: i32) {}

struct Live {
    channel_arn: String,
    stream_id: String,
    media: Arc<LiveMedia>,
    remux: Remuxer,
    /// Whether the observers were told the stream started.
    started: bool,
}

impl Publisher {
    fn publish(&mut self, app: &str, key: &str) -> Result<(), ServerSessionError> {
        if self.live.is_some() || self.participant.is_some() {
            return Err(self
                .shared
                .refuse("a second publish on one connection".to_owned()));
        }
        if app != "app" {
            return Err(self.shared.refuse(format!(
                "the application is `{}`; IVS's ingest path is rtmp://<host>:<port>/app/<streamKey>",
                crate::redact::printable(app)
            )));
        }
        let channel_arn = match self.emulator.stream_key_owner(key) {
            KeyOwner::Channel(arn) => arn,
            // An IVS Real-Time ingest configuration's key publishes into its stage: the
            // configuration goes ACTIVE and its participant joins and publishes, as the control
            // plane's `{"streamKey"}` join does. The media goes nowhere: the emulator has no
            // stage media to mix it into, so it is read and dropped.
            KeyOwner::RealTime => {
                let joined = self
                    .emulator
                    .start_stage_ingest(key, self.shared.kill.clone())
                    .map_err(|err| {
                    self.shared.refuse(format!(
                        "publish to an IVS Real-Time stage refused: {}",
                        err.message
                    ))
                })?;
                let text = |name: &str| {
                    joined
                        .get(name)
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                let participant = StageParticipant {
                    id: text("participantId"),
                    stage_arn: text("stageArn"),
                    session_id: text("sessionId"),
                };
                tracing::info!(side = %Side::Downstream, stage = %participant.stage_arn, participant = %participant.id, "RTMP publish: the participant publishes into its stage");
                self.participant = Some(participant);
                self.shared.published.store(true, Ordering::Release);
                return Ok(());
            }
            KeyOwner::Unknown => {
                return Err(self.shared.refuse(
                    "the stream key is no channel's (never created, or deleted with DeleteStreamKey); use the value of CreateChannel's or CreateStreamKey's streamKey".to_owned(),
                ))
            }
        };
        let ingesting = self
            .emulator
            .start_ingest(&channel_arn, self.shared.kill.clone())
            .map_err(|err| {
                self.shared.refuse(format!(
                    "publish to `{channel_arn}` refused: {}",
                    err.message
                ))
            })?;
        // Inferred: IVS documents no segment durations; low latency plays from short segments.
        let target = if ingesting.latency_mode == "NORMAL" {
            6
        } else {
            2
        };
        let media = self.media.begin(&channel_arn, &ingesting.stream_id, target);
        *self
            .shared
            .live_ids
            .lock()
            .unwrap_or_else(|p| p.into_inner()) =
            Some((channel_arn.clone(), ingesting.stream_id.clone()));
        tracing::info!(side = %Side::Downstream, channel = %channel_arn, stream = %ingesting.stream_id, "RTMP publish: the channel is live");
        self.live = Some(Live {
            channel_arn,
            stream_id: ingesting.stream_id,
            media,
            remux: Remuxer::new(target),
            started: false,
        });
        self.shared.published.store(true, Ordering::Release);
        if let Some(socket) = self.socket.take() {
            set_receive_low_water(&socket, RECEIVE_LOW_WATER);
        }
        Ok(())
    }

    fn media_message(&mut self, data: SessionData) -> Result<(), ServerSessionError> {
        let Some(live) = &mut self.live else {
            return Ok(());
        };
        let cut = match data {
            SessionData::Video { timestamp, data } => {
                self.shared
                    .last_media_ms
                    .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
                live.remux.video(timestamp, &data)
            }
            SessionData::Audio { timestamp, data } => {
                live.remux.audio(timestamp, &data).map(|()| None)
            }
            SessionData::Amf0 { data, .. } => {
                live.remux.data(&data);
                Ok(None)
            }
        };
        match cut {
            Ok(Some(cut)) => {
                live.deliver(
                    &self.media,
                    &self.emulator,
                    cut.sequence,
                    cut.duration,
                    cut.data,
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(err) => Err(self.shared.refuse(format!(
                "the stream of `{}` was ended: {err}",
                live.channel_arn
            ))),
        }
    }
}

impl Live {
    fn deliver(
        &mut self,
        media: &Media,
        emulator: &Emulator,
        sequence: u64,
        duration: f64,
        data: Bytes,
    ) {
        let info = self.remux.info();
        emulator.update_ingest(&self.channel_arn, &self.stream_id, &info);
        media.segment(
            &self.media,
            &info,
            Segment {
                channel_arn: self.media.channel_arn.clone(),
                sequence,
                duration,
                data,
            },
        );
        self.started = true;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(p) = self.participant.take() {
            // The encoder left: so does its participant, unless the emulator dropped the
            // encoder because the participant was disconnected (then it has left already, and
            // the same participant may be publishing again through another connection).
            if !self.shared.dropped.load(Ordering::Acquire) {
                self.emulator
                    .end_stage_ingest(&p.id, &p.stage_arn, &p.session_id);
            }
            tracing::info!(side = %Side::Downstream, stage = %p.stage_arn, participant = %p.id, "RTMP publish ended: the participant left its stage");
        }
        let Some(mut live) = self.live.take() else {
            return;
        };
        if let Some(cut) = live.remux.finish() {
            live.deliver(
                &self.media,
                &self.emulator,
                cut.sequence,
                cut.duration,
                cut.data,
            );
        }
        self.media.end(&live.media, live.started);
        self.emulator.end_ingest(&live.channel_arn, &live.stream_id);
        tracing::info!(side = %Side::Downstream, channel = %live.channel_arn, stream = %live.stream_id, "RTMP publish ended: the channel is offline");
    }
}

impl SessionHandler for Publisher {
    async fn on_publish(
        &mut self,
        _stream_id: u32,
        app_name: &str,
        stream_name: &str,
    ) -> Result<(), ServerSessionError> {
        self.publish(app_name, stream_name)
    }

    async fn on_unpublish(&mut self, _stream_id: u32) -> Result<(), ServerSessionError> {
        // The encoder stopped publishing (FCUnpublish / deleteStream): the stream ends now, as
        // when it disconnects.
        self.shared.unpublished.store(true, Ordering::Release);
        Err(ServerSessionError::PublishBeforeConnect)
    }

    async fn on_data(
        &mut self,
        _stream_id: u32,
        data: SessionData,
    ) -> Result<(), ServerSessionError> {
        self.media_message(data)
    }
}

/// The fuzz target `ingest_media`: `data` as a sequence of messages, each `kind` (one byte: 8
/// audio, 9 video, 18 data, anything else an SPS on its own), a 16-bit timestamp step in
/// milliseconds, a 16-bit length, then the body, all fed to a remuxer as a publish would. Checks
/// that nothing panics, that every segment is whole MPEG-TS packets, and that an SPS read has a
/// size within H.264's bounds.
pub(crate) fn fuzz(data: &[u8]) {
    let mut remux = Remuxer::new(1);
    let mut t = 0u32;
    let mut rest = data;
    while rest.len() >= 5 {
        let kind = rest[0];
        t = t.wrapping_add(u32::from(u16::from_be_bytes([rest[1], rest[2]])));
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]])).min(rest.len() - 5);
        let body = Bytes::copy_from_slice(&rest[5..5 + len]);
        rest = &rest[5 + len..];
        let cut = match kind {
            8 => remux.audio(t, &body).map(|()| None),
            9 => remux.video(t, &body),
            18 => {
                remux.data(&body);
                Ok(None)
            }
            _ => {
                if let Ok(sps) = sps::parse(&body) {
                    assert!(u64::from(sps.width) * u64::from(sps.height) <= 139_264 * 256);
                }
                Ok(None)
            }
        };
        if let Ok(Some(cut)) = cut {
            assert_eq!(cut.data.len() % 188, 0, "a segment of whole TS packets");
            assert!(cut.data.len() <= remux::MAX_SEGMENT_BYTES + (1 << 20));
        }
        let _ = remux.info();
    }
    if let Some(cut) = remux.finish() {
        assert_eq!(cut.data.len() % 188, 0);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The fuzz target's checks hold for arbitrary message sequences.
        #[test]
        fn arbitrary_publishes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            super::fuzz(&bytes);
        }
    }
}
