//! The accept loop both servers run, and the handle that stops it.
//!
//! [`serve`] takes a listener the caller bound (tests use `127.0.0.1:0`) and a shutdown future the
//! caller chooses (Ctrl-C in the binary, dropping the handle in the library). A failure on one
//! connection is logged and never stops the loop. `serve` returns once in-flight requests are done.
//!
//! Each connection runs as one task, [`Supervised`]: hyper's connection future, watched for the
//! header timeout ([`HeadWatch`]) and for the server's shutdown. Those two are rarely due, so they
//! have a waker of their own and are polled only when it fires, not on each of the connection's
//! wake-ups.
//!
//! A connection answered 413 is closed with a lingering close ([`Lingering`]): the server stops
//! writing, then reads and discards what the client is still sending until the client stops, as
//! nginx does: until the client closes, or sends nothing for [`LINGER_IDLE`] (nginx's
//! `lingering_timeout`), and for at most [`LINGER_TIME`] in all (its `lingering_time`). Closing
//! at once, with the body still arriving, makes the kernel reset the connection, and the client
//! sees a broken pipe instead of the 413 (botocore then retries the whole body). The bound is
//! time, not bytes: a client writes its whole body before it reads (http.client and botocore
//! do), so any byte count below the body it sends cuts it off, while the total time bounds how
//! long a client that never stops sending holds its connection. Shutdown ends a lingering close
//! at once: the answer is out by then.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;

use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::futures::OwnedNotified;
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use super::cors;
use super::guard::{is_loopback, Admission, Guard};
use super::{request_span, HttpResponse, Side};

/// How long a client may take to send its request headers, by default.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send its request body once the headers are in, by default.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a lingering close lasts, by default (nginx's `lingering_time`).
pub const LINGER_TIME: Duration = Duration::from_secs(30);

/// How long a lingering close waits for more from a client that has gone quiet, by default
/// (nginx's `lingering_timeout`).
pub const LINGER_IDLE: Duration = Duration::from_secs(5);

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long a downstream client may take to send a request. A slow or stalled client holds only
/// its own connection: the header timeout closes a connection whose request head is incomplete,
/// and the body timeout answers 408 and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadTimeouts {
    /// For the request line and headers, from the previous answer (or the accept) on.
    pub header: Duration,
    /// For the whole body, once the headers are in.
    pub body: Duration,
}

impl Default for ReadTimeouts {
    fn default() -> Self {
        ReadTimeouts {
            header: HEADER_READ_TIMEOUT,
            body: BODY_READ_TIMEOUT,
        }
    }
}

/// How long a lingering close reads and discards what a client still sends after its 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Linger {
    /// The longest it lasts in all.
    pub total: Duration,
    /// How long it waits for more once the client sends nothing.
    pub idle: Duration,
}

impl Default for Linger {
    fn default() -> Self {
        Linger {
            total: LINGER_TIME,
            idle: LINGER_IDLE,
        }
    }
}

/// Where and how a server listens: the settings both builders share, so that each of their
/// setters is one line and `start` hands them to [`Running::start`] whole.
#[derive(Debug, Default)]
pub(crate) struct ListenOptions {
    /// A listener the caller bound; wins over `bind`.
    pub listener: Option<std::net::TcpListener>,
    /// The address to bind when no listener is given (default `127.0.0.1:0`).
    pub bind: Option<SocketAddr>,
    /// The region of requests that carry no SigV4 credential scope. Replay falls back to
    /// `us-west-2`; record refuses such requests without one.
    pub region: Option<String>,
    /// How long a downstream client may take to send a request.
    pub read_timeouts: ReadTimeouts,
    /// `Host` values accepted besides the bound address and loopback names (see `guard`).
    pub allowed_hosts: Vec<String>,
    /// Web page origins served besides loopback ones, by a server that serves pages (see `cors`).
    pub allowed_origins: Vec<String>,
    /// The lingering close after a 413.
    pub linger: Linger,
}

/// A response extension asking the accept loop to end the connection without an answer: an
/// injected `connection` fault. `Reset` also sets SO_LINGER to 0 first, so the peer sees a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DropConnection(pub crate::fault::ConnectionFault);

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for Dropped {}

/// Something that answers requests: the replay or the record server.
pub(crate) trait Handler: Send + Sync + 'static {
    /// The server's name in each request's span: `record` or `replay`.
    const NAME: &'static str;

    /// Whether requests that look like a browser's are served (see `guard`); record, which
    /// signs with the operator's credentials, refuses them.
    const SERVES_BROWSERS: bool = true;

    /// Whether each request's span is at `info` rather than `debug` (see `request_span`).
    const SPAN_AT_INFO: bool = false;

    /// The read timeouts of this server's connections.
    fn read_timeouts(&self) -> ReadTimeouts {
        ReadTimeouts::default()
    }

    /// The chat data plane a WebSocket upgrade on this server's port is handed to, when the
    /// server has one.
    fn chat(&self) -> Option<&Arc<crate::live::chat::ChatHub>> {
        None
    }

    /// Answers one request; errors are already turned into responses.
    fn handle(
        self: &Arc<Self>,
        req: Request<Incoming>,
        peer: SocketAddr,
    ) -> impl Future<Output = HttpResponse> + Send;
}

/// Runs the accept loop until `shutdown` resolves, then waits for in-flight requests.
pub(crate) async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    (guard, linger): (Guard, Linger),
    shutdown: impl Future<Output = ()>,
) {
    let guard = Arc::new(guard);
    // Shutdown tells every connection at once; each holds a receiver of `live` until it ends, so
    // that `live.closed()` is when the last one has.
    let stop = Arc::new(Notify::new());
    let (live, _) = watch::channel(());
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper's own header timeout arms, polls and drops a timer for every request, about 5% of a
    // replayed answer's cost; `HeadWatch` keeps one per connection instead.
    builder.keep_alive(true);
    let header_timeout = handler.read_timeouts().header;
    let epoch = tokio::time::Instant::now();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Typically EMFILE: back off briefly rather than spin, and keep serving.
                    tracing::warn!(side = %Side::Downstream, error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        #[cfg(unix)]
        let fd = std::os::fd::AsRawFd::as_raw_fd(&stream);
        let guard = guard.clone();
        let conn = Arc::new(Conn {
            handler: handler.clone(),
            head_watch: HeadWatch::new(epoch),
            closing: Arc::new(AtomicU8::new(0)),
        });
        let state = conn.clone();
        let stream = Lingering {
            stream,
            closing: conn.closing.clone(),
            linger,
            drain: None,
        };
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            conn.head_watch.head_read();
            let conn = conn.clone();
            let span = request_span(H::NAME, peer, H::SPAN_AT_INFO);
            let admitted =
                span.in_scope(|| guard.check(req.method(), req.uri(), req.headers(), peer));
            // A WebSocket upgrade goes to the server's chat data plane, once the guard admitted
            // it: a page's WebSocket is checked like its requests (other sites' pages are
            // refused), and CORS does not apply to it.
            let hub = match admitted {
                Admission::Answer(_) => None,
                Admission::Admit | Admission::FromPage(_) => conn
                    .handler
                    .chat()
                    .filter(|_| crate::live::chat::is_upgrade(&req))
                    .cloned(),
            };
            async move {
                let response = match (admitted, hub) {
                    (Admission::Answer(answer), _) => answer,
                    (_, Some(hub)) => span.in_scope(|| crate::live::chat::accept(&hub, req, peer)),
                    (Admission::Admit, None) => {
                        conn.handler.handle(req, peer).instrument(span).await
                    }
                    (Admission::FromPage(origin), None) => {
                        let mut response = conn.handler.handle(req, peer).instrument(span).await;
                        cors::allow(&mut response, origin);
                        response
                    }
                };
                conn.head_watch.answered();
                if response.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                    conn.closing.fetch_or(LINGER, Ordering::SeqCst);
                }
                match response.extensions().get::<DropConnection>() {
                    None => Ok(response),
                    Some(DropConnection(fault)) => {
                        #[cfg(unix)]
                        if *fault == crate::fault::ConnectionFault::Reset {
                            // SAFETY: the connection that runs this service owns the stream and
                            // keeps it open until the service's future has returned, so the fd is
                            // valid (and not reused) for this borrow.
                            let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                            let _ =
                                socket2::SockRef::from(&borrowed).set_linger(Some(Duration::ZERO));
                        }
                        Err(Dropped)
                    }
                }
            }
        });
        // Upgrades hand a chat WebSocket's stream to its own task once the 101 is out.
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::spawn(Supervised::new(
            conn,
            state,
            header_timeout,
            peer,
            (stop.clone(), live.subscribe()),
        ));
    }
    drop(listener);
    stop.notify_waiters();
    if tokio::time::timeout(SHUTDOWN_GRACE, live.closed())
        .await
        .is_err()
    {
        tracing::warn!(side = %Side::Internal, "in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// What a connection's requests share: one reference count taken per request.
struct Conn<H> {
    handler: Arc<H>,
    head_watch: HeadWatch,
    /// How the connection closes: [`LINGER`], [`DRAINING`] and [`STOPPING`].
    closing: Arc<AtomicU8>,
}

/// Set in [`Conn::closing`] when the connection answers 413: its stream then closes lingering.
const LINGER: u8 = 1;

/// Set in [`Conn::closing`] once the lingering close has begun: the answer is out.
const DRAINING: u8 = 2;

/// Set in [`Conn::closing`] when the server shuts down: a lingering close ends, or never begins.
/// Whichever of this and [`DRAINING`] is set second sees the other.
const STOPPING: u8 = 4;

/// When a connection began waiting for its next request head: at accept, then each time an
/// answer is handed to hyper. A connection that waits longer than the header timeout (a head that
/// stalls, or an idle keep-alive) is closed, as hyper's own header timeout would close it; while a
/// request is being answered it never times out (the body has its own timeout, in
/// `read_body`). One timer per connection (its [`Supervised`] task's), which fires at most once
/// per timeout, instead of hyper's timer per request.
#[derive(Debug)]
struct HeadWatch {
    epoch: tokio::time::Instant,
    /// Milliseconds from `epoch` to when the wait began, or [`HeadWatch::ANSWERING`].
    waiting_since: std::sync::atomic::AtomicU64,
}

impl HeadWatch {
    const ANSWERING: u64 = u64::MAX;

    fn new(epoch: tokio::time::Instant) -> HeadWatch {
        let watch = HeadWatch {
            epoch,
            waiting_since: std::sync::atomic::AtomicU64::new(0),
        };
        watch.answered();
        watch
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }

    /// A request head arrived: no timeout until it is answered.
    fn head_read(&self) {
        self.waiting_since.store(Self::ANSWERING, Ordering::Relaxed);
    }

    /// The answer is handed to hyper: the wait for the next head begins.
    fn answered(&self) {
        self.waiting_since.store(self.millis(), Ordering::Relaxed);
    }

    /// When the header timeout should next be checked, in milliseconds from `epoch`, or `None`
    /// once the connection has waited `timeout_ms` for a request head.
    fn next_check(&self, timeout_ms: u64) -> Option<u64> {
        let since = self.waiting_since.load(Ordering::Relaxed);
        let now = self.millis();
        if since == Self::ANSWERING {
            Some(now.saturating_add(timeout_ms))
        } else if now >= since.saturating_add(timeout_ms) {
            None
        } else {
            Some(since.saturating_add(timeout_ms))
        }
    }
}

/// One connection's task: hyper's connection, the header timeout and the server's shutdown.
///
/// `tokio::select!` over the three, as this once was, polled the timer and the shutdown signal on
/// every wake-up of the connection, about 500 instructions a request. Here they are polled with
/// a waker of their own ([`Beside`]), and only when it has fired.
struct Supervised<C, H> {
    conn: Pin<Box<C>>,
    state: Arc<Conn<H>>,
    header_timeout_ms: u64,
    peer: SocketAddr,
    /// Due when the header timeout should be checked.
    timer: Pin<Box<tokio::time::Sleep>>,
    /// Fires when the server shuts down.
    stop: Pin<Box<OwnedNotified>>,
    /// Set once the connection was told to finish its request in flight and close.
    stopping: bool,
    beside: Arc<Beside>,
    beside_waker: Waker,
    /// The waker `beside` wakes, as last seen: compared on each poll, stored again only when it
    /// changes.
    task: Option<Waker>,
    /// Held until the connection ends: shutdown waits for every receiver to be dropped.
    _live: watch::Receiver<()>,
}

/// The waker of what a connection rarely needs to poll: firing marks it due and wakes the
/// connection's task.
#[derive(Debug, Default)]
struct Beside {
    due: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Beside {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.due.store(true, Ordering::Release);
        // A poisoned lock only means another wake panicked; the waker in it is still whole.
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task.as_ref() {
            task.wake_by_ref();
        }
    }
}

/// What `Supervised` needs of hyper's connection.
trait Connection: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, B, S> Connection for hyper::server::conn::http1::Connection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

impl<I, B, S> Connection for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(self);
    }
}

impl<C: Connection, H> Supervised<C, H> {
    fn new(
        conn: C,
        state: Arc<Conn<H>>,
        header_timeout: Duration,
        peer: SocketAddr,
        (stop, live): (Arc<Notify>, watch::Receiver<()>),
    ) -> Self {
        let beside = Arc::new(Beside::default());
        Supervised {
            conn: Box::pin(conn),
            state,
            header_timeout_ms: u64::try_from(header_timeout.as_millis()).unwrap_or(u64::MAX / 2),
            peer,
            timer: Box::pin(tokio::time::sleep(header_timeout)),
            // Created before `serve` can call `notify_waiters`, so it sees that call even if it
            // is first polled after it.
            stop: Box::pin(stop.notified_owned()),
            stopping: false,
            beside_waker: Waker::from(beside.clone()),
            beside,
            task: None,
            _live: live,
        }
    }

    /// Polls the timer and the shutdown signal; true when the connection is to close at once.
    fn poll_beside(&mut self) -> bool {
        let mut cx = Context::from_waker(&self.beside_waker);
        if !self.stopping && self.stop.as_mut().poll(&mut cx).is_ready() {
            self.stopping = true;
            if self.state.closing.fetch_or(STOPPING, Ordering::SeqCst) & DRAINING != 0 {
                return true;
            }
            self.conn.as_mut().graceful_shutdown();
        }
        let watch = &self.state.head_watch;
        while self.timer.as_mut().poll(&mut cx).is_ready() {
            let Some(check_at_ms) = watch.next_check(self.header_timeout_ms) else {
                let timeout = Duration::from_millis(self.header_timeout_ms);
                tracing::debug!(side = %Side::Downstream, peer = %self.peer, "closing: no request head within {timeout:?}");
                return true;
            };
            let at = watch.epoch + Duration::from_millis(check_at_ms);
            self.timer.as_mut().reset(at);
        }
        false
    }
}

impl<C: Connection, H> Future for Supervised<C, H> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if !this.task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
            this.task = Some(cx.waker().clone());
            *this.beside.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            // A first poll, or a new waker: register the timer and the signal with ours.
            this.beside.due.store(true, Ordering::Relaxed);
        }
        if this.beside.due.swap(false, Ordering::AcqRel) && this.poll_beside() {
            return Poll::Ready(());
        }
        match ready!(this.conn.as_mut().poll(cx)) {
            Ok(()) => {}
            Err(err) => {
                tracing::debug!(side = %Side::Downstream, peer = %this.peer, error = %err, "connection ended with an error");
            }
        }
        Poll::Ready(())
    }
}

/// A downstream connection whose close lingers once the service answered 413 (see the module doc).
struct Lingering {
    stream: TcpStream,
    /// The connection's [`Conn::closing`].
    closing: Arc<AtomicU8>,
    linger: Linger,
    /// The lingering close under way.
    drain: Option<Drain>,
}

/// A lingering close under way: one timer, due at the earlier of the total deadline and the
/// idle deadline as last set; a read does not move it, the timer's firing checks the time of the
/// last read instead, so that a client sending fast costs no timer update per read.
struct Drain {
    timer: Pin<Box<tokio::time::Sleep>>,
    until: tokio::time::Instant,
    last_read: tokio::time::Instant,
}

impl AsyncRead for Lingering {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    /// hyper calls this to close the connection, and waits for it: the lingering close runs here.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.drain.is_none() {
            // Our side first: the client reads the answer, then the end of the stream.
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            let closing = this.closing.load(Ordering::SeqCst);
            if closing & LINGER == 0
                || this.closing.fetch_or(DRAINING, Ordering::SeqCst) & STOPPING != 0
            {
                return Poll::Ready(Ok(()));
            }
            let now = tokio::time::Instant::now();
            let until = now + this.linger.total;
            this.drain = Some(Drain {
                timer: Box::pin(tokio::time::sleep_until(until.min(now + this.linger.idle))),
                until,
                last_read: now,
            });
        }
        let Some(drain) = this.drain.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            // A client that never stops sending is read until the total deadline, checked on
            // each read; tokio's budget makes a long run of reads yield to other tasks.
            match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    let now = tokio::time::Instant::now();
                    if now >= drain.until {
                        return Poll::Ready(Ok(()));
                    }
                    drain.last_read = now;
                    continue;
                }
                // The client is done sending (or the connection broke): close now.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {}
            }
            if drain.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = drain.until.min(drain.last_read + this.linger.idle);
            if tokio::time::Instant::now() >= due {
                return Poll::Ready(Ok(()));
            }
            // Reads came since the timer was set: wait from the last one.
            drain.timer.as_mut().reset(due);
        }
    }
}

/// A server running in the background: its address, and the handle that stops it.
#[derive(Debug)]
pub(crate) struct Running {
    /// The bound address.
    pub addr: SocketAddr,
    /// Dropping or firing this stops the accept loop.
    stop: Option<oneshot::Sender<()>>,
    /// The accept loop; awaited by `stop` so in-flight requests finish.
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds (the caller's listener, else `bind`, else a free loopback port), warns with
    /// `exposure` when the address is beyond loopback, and serves `handler` in the background.
    /// A bind failure comes back with the address asked for.
    pub fn start<H: Handler>(
        listen: ListenOptions,
        handler: Arc<H>,
        exposure: &str,
    ) -> Result<Running, (SocketAddr, std::io::Error)> {
        let ListenOptions {
            listener,
            bind,
            allowed_hosts,
            allowed_origins,
            linger,
            ..
        } = listen;
        let requested = bind.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = match listener {
            Some(listener) => listener,
            None => std::net::TcpListener::bind(requested).map_err(|e| (requested, e))?,
        };
        let addr = listener.local_addr().map_err(|e| (requested, e))?;
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener))
            .map_err(|e| (addr, e))?;
        if !is_loopback(addr.ip()) {
            // Printed, not only logged: a log filter must not hide it.
            eprintln!("warning: ivs-vcr is listening beyond loopback on {addr}: {exposure}");
            tracing::warn!(side = %Side::Internal, %addr, "listening beyond loopback: {exposure}");
        }
        let guard = Guard::new(addr, allowed_hosts, &allowed_origins, H::SERVES_BROWSERS);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, handler, (guard, linger), async {
            let _ = rx.await;
        }));
        Ok(Running {
            addr,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Tells the accept loop to stop, without waiting; true the first time.
    pub fn signal_stop(&mut self) -> bool {
        self.stop.take().map(|tx| tx.send(())).is_some()
    }

    /// Stops accepting and waits for in-flight requests.
    pub async fn stop(&mut self) {
        self.signal_stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
