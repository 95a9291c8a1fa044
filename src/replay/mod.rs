//! The replay server: answers downstream requests from cassettes, offline.
//!
//! [`ReplayServer`] is what tests embed and what `ivs-vcr replay` runs. Per request the stages are
//! `read_request → match → respond → log`: `http` reads the request, `matcher::Index` picks the
//! interaction, and the answer is an [`answer::Prepared`](crate::answer::Prepared) built once at
//! start (status, headers and body bytes), so the hot path allocates little. An unmatched request
//! gets an AWS-style 400 naming the nearest recorded interaction and its first difference, the
//! same text is logged at `warn`, and both [`ReplayServer::verify`] and `Drop` panic with a report
//! of everything unmatched or unused.
//!
//! The split: this file has the builder, the server's lifecycle and its shared state; `handler`
//! the per-request stages with their context; `region` the translation that serves the bundled
//! set to clients of any region; `summary` what was served.
//!
//! This module never opens an outbound connection; the data plane it starts opens two kinds,
//! both to endpoints the operator named: message review handlers (`--chat-review-handler`) and
//! the events URL (`--events-url`).

mod handler;
mod region;
mod summary;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::answer::{Prepared, SharedHeaders};
use crate::cassette::{self, Cassette, CassetteError, Limits};
use crate::emulator::{Emulator, EmulatorOptions};
use crate::fault::{FaultRule, FaultSet};
use crate::http::{error_chain, Linger, ListenOptions, ReadTimeouts, Running, Side};
use crate::live::chat::{ChatHub, ChatOptions};
use crate::live::events::{EventBus, EventOptions};
use crate::live::recording::Recorder;
use crate::matcher::{Index, MatchLevel, SequenceEnd};

use summary::{Emulated, Faulted, Unmatched};
pub use summary::{ReplayOperationSummary, ReplaySummary, UnusedInteraction};

pub use crate::http::DEFAULT_REGION;

/// What a replay server does with a request no cassette answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnMiss {
    /// Answer 400 `IvsVcrUnmatchedRequestException` with the near-miss report (the default).
    #[default]
    Error,
    /// Answer it from the emulator, whose state the replayed answers also feed: a replayed
    /// CreateChannel's channel is there for an emulated GetChannel.
    Emulate,
}
/// Errors of starting a replay server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A cassette could not be loaded.
    #[error(transparent)]
    Cassette(#[from] CassetteError),
    /// Some cassettes could not be loaded, and strict loading is on.
    #[error("{} cassette(s) could not be loaded: {}", .0.len(), join_errors(.0))]
    Cassettes(Vec<CassetteError>),
    /// The listening socket could not be opened.
    #[error("cannot listen on `{addr}`")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// A fault rule given at start is not valid.
    #[error("invalid fault rule")]
    Fault(#[source] crate::fault::FaultError),
    /// The events URL is not one events can be delivered to.
    #[error("invalid events URL: {0}")]
    EventsUrl(String),
    /// RTMP ingest or HLS playback was asked of a server without an emulator.
    #[error("RTMP ingest and HLS playback need the emulator: start without --cassettes, or with --on-miss emulate")]
    LiveWithoutEmulator,
    /// A state file was asked of a server without an emulator.
    #[error(
        "--state-file needs the emulator: start without --cassettes, or with --on-miss emulate"
    )]
    StateFileWithoutEmulator,
    /// The state file could not be loaded.
    #[error(transparent)]
    StateFile(#[from] crate::emulator::state_file::StateFileError),
    /// Two cassettes have the same name, so `/cassette/<name>` would be ambiguous.
    #[error("two cassettes are named `{name}`; cassette names must be unique")]
    DuplicateName {
        /// The name.
        name: String,
    },
}

fn join_errors(errors: &[CassetteError]) -> String {
    errors
        .iter()
        .map(|e| error_chain(e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Configures and starts a [`ReplayServer`].
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct ReplayServerBuilder {
    cassettes: Vec<Cassette>,
    dirs: Vec<PathBuf>,
    listen: ListenOptions,
    options: Options,
    progress: Option<LoadProgress>,
    limits: Limits,
}

/// A callback given a cassette file and the number of its interactions read so far.
type ProgressFn = dyn Fn(&Path, usize) + Send + Sync;

/// What [`ReplayServerBuilder::load_progress`] calls while a large cassette file loads.
#[derive(Clone)]
struct LoadProgress(Arc<ProgressFn>);

impl std::fmt::Debug for LoadProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoadProgress")
    }
}

/// The options of serving that do not change while serving.
#[derive(Debug, Default)]
struct Options {
    level: MatchLevel,
    sequence_end: SequenceEnd,
    fail_on_unused: bool,
    lenient_load: bool,
    /// The region the cassettes were recorded in, when clients of any region are served.
    home_region: Option<String>,
    on_miss: OnMiss,
    emulator: EmulatorOptions,
    faults: Vec<FaultRule>,
    /// `None`: `fault::DEFAULT_MAX_RULES`.
    max_fault_rules: Option<usize>,
    /// The chat data plane's settings.
    chat: ChatOptions,
    /// Where the emulator's EventBridge events go.
    events: EventOptions,
    /// The folder standing for S3 buckets that recordings are written to, if any.
    recordings_dir: Option<PathBuf>,
    /// RTMP ingest and HLS playback.
    live: LiveOptions,
    /// Where the emulator's state is loaded from at start and saved to (`emulator::state_file`).
    state_file: Option<PathBuf>,
}

/// Where RTMP ingest and HLS playback listen, when they do.
#[derive(Debug, Default)]
struct LiveOptions {
    rtmp: Option<SocketAddr>,
    playback: Option<SocketAddr>,
    /// Channels' `playbackUrl` on the playback server rather than IVS's host.
    playback_urls_here: bool,
    max_rtmp_connections: Option<usize>,
}

impl ReplayServerBuilder {
    /// Serves this cassette (in addition to any others given).
    pub fn cassette(mut self, cassette: Cassette) -> Self {
        self.cassettes.push(cassette);
        self
    }

    /// Serves these cassettes.
    pub fn cassettes(mut self, cassettes: impl IntoIterator<Item = Cassette>) -> Self {
        self.cassettes.extend(cassettes);
        self
    }

    /// Serves every cassette under this directory (loaded by `start`).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// Calls `progress` with a cassette file and the number of its interactions read so far,
    /// from time to time while a large file given through [`dir`](Self::dir) loads (every few
    /// hundred interactions: the caller decides what to show, and how often).
    pub fn load_progress(
        mut self,
        progress: impl Fn(&Path, usize) + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(LoadProgress(Arc::new(progress)));
        self
    }

    /// The largest cassette file [`dir`](Self::dir) loads, in bytes (default 64 MiB); a larger
    /// file is refused with its size and this limit, like any other bad file (see
    /// [`lenient_load`](Self::lenient_load)).
    ///
    /// Cassettes come from public repositories, so a file must not be able to take a start's
    /// memory: a cassette as ivs-vcr writes it takes about 7 times its size in memory at the peak
    /// of its load (a 630 MB file, 1,000,000 interactions, about 4.5 GB), a hand-written one in
    /// another YAML style up to 40 times. Raise it for the large cassettes you trust; lower it to
    /// hold untrusted ones to less.
    pub fn max_cassette_bytes(mut self, bytes: u64) -> Self {
        self.limits.bytes = bytes;
        self
    }

    /// The most interactions one cassette file loaded through [`dir`](Self::dir) may hold
    /// (default 100,000); a file with more is refused with its count and this limit, like any
    /// other bad file.
    ///
    /// Each interaction served keeps about 1.2 KB resident (an index entry and a prepared
    /// answer), besides what its load takes (see
    /// [`max_cassette_bytes`](Self::max_cassette_bytes), which bounds that first), and the
    /// largest real recordings hold a few thousand.
    pub fn max_interactions(mut self, interactions: usize) -> Self {
        self.limits.interactions = interactions;
        self
    }

    /// Serves on a listener the caller bound.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listen.listener = Some(listener);
        self
    }

    /// Binds this address (default `127.0.0.1:0`, a free loopback port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.listen.bind = Some(addr);
        self
    }

    /// Also accepts requests whose `Host` is this name (with the bound port) or this
    /// `name:port`, besides the bound address and loopback names: for a server reached through
    /// a container name or a port mapping. Every other `Host` is refused with 403, so that a web
    /// page cannot reach the server through DNS rebinding.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.listen.allowed_hosts.push(host.into());
        self
    }

    /// Also serves web pages at this origin (`scheme://host[:port]`, compared as scheme, host and
    /// port; `null` for sandboxed frames and `file:` pages), besides pages on loopback
    /// (`http(s)://localhost`, `127.0.0.0/8`, `[::1]`, any port). A request from any other page
    /// (its `Origin`, or `Sec-Fetch-Site: cross-site` without one) is refused with 403, so that a
    /// site the operator visits can neither drive the server nor read its answers; an allowed
    /// page's answers name its origin in `Access-Control-Allow-Origin`.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.listen.allowed_origins.push(origin.into());
        self
    }

    /// Sets the match level (default [`MatchLevel::Exact`]).
    pub fn match_level(mut self, level: MatchLevel) -> Self {
        self.options.level = level;
        self
    }

    /// Makes a request beyond the recorded answers of its sequence unmatched, instead of
    /// repeating the last answer.
    pub fn strict_sequence(mut self, strict: bool) -> Self {
        self.options.sequence_end = if strict {
            SequenceEnd::Strict
        } else {
            SequenceEnd::RepeatLast
        };
        self
    }

    /// The region of requests that carry no SigV4 credential scope (default `us-west-2`).
    pub fn default_region(mut self, region: impl Into<String>) -> Self {
        self.listen.region = Some(region.into());
        self
    }

    /// Makes [`ReplayServer::verify`] (and `Drop`) also fail on interactions never used.
    pub fn fail_on_unused(mut self, fail: bool) -> Self {
        self.options.fail_on_unused = fail;
        self
    }

    /// Serves clients of every region from cassettes recorded in `home` (as the bundled set is):
    /// a request from another region is matched as if it came from `home`, with its region name
    /// replaced by `home` in path, query and body, and the answer names the client's region
    /// wherever the cassette says `home` (ARNs, ingest endpoints, playback URLs, stream keys).
    pub fn region_portable(mut self, home: impl Into<String>) -> Self {
        self.options.home_region = Some(home.into());
        self
    }

    /// Skips cassette files that fail to load (each is logged at `error` and listed in the
    /// summary) instead of refusing to start; when every file fails, the server starts with no
    /// interaction to serve (it does not become the emulator).
    pub fn lenient_load(mut self, lenient: bool) -> Self {
        self.options.lenient_load = lenient;
        self
    }

    /// How long a client may take to send its request headers and then its body (default 10 s and
    /// 30 s). A client too slow with its headers is disconnected; one too slow with its body gets
    /// a 408 `IvsVcrRequestTimeoutException` and is disconnected. Either way it holds only its own
    /// connection, never anyone else's answer.
    pub fn read_timeouts(mut self, header: Duration, body: Duration) -> Self {
        self.listen.read_timeouts = ReadTimeouts { header, body };
        self
    }

    /// How long the close of a connection answered 413 lingers (default 30 s in all, and 5 s
    /// without anything from the client, as nginx's `lingering_time` and `lingering_timeout`):
    /// the server reads and discards what the client still sends, so that a client that writes
    /// its whole body before reading gets the 413 rather than a broken pipe. A client that never
    /// stops sending is cut off after `total`.
    pub fn lingering_close(mut self, total: Duration, idle: Duration) -> Self {
        self.listen.linger = Linger { total, idle };
        self
    }

    /// What to do with a request no cassette answers (default [`OnMiss::Error`]). A server given
    /// no cassettes at all is an emulator whatever this says.
    pub fn on_miss(mut self, on_miss: OnMiss) -> Self {
        self.options.on_miss = on_miss;
        self
    }

    /// The 12-digit account the emulator answers as (default `123456789012`).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.options.emulator.account = account.into();
        self
    }

    /// Maps access key ids to accounts (`--account-for`): a request signed with a mapped key is
    /// answered in its account. Unmapped keys: a 12-digit key is its own account, any other the
    /// default ([`ReplayServerBuilder::account`]).
    pub fn accounts_for(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.options.emulator.account_for.extend(pairs);
        self
    }

    /// How many accounts the emulator keeps state for (default 1,000); a request of one more is
    /// refused with a ValidationException naming the limit.
    pub fn max_accounts(mut self, max: usize) -> Self {
        self.options.emulator.limits.max_accounts = max;
        self
    }

    /// The seed of the emulator's ids: the same calls in the same order give the same ids
    /// (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.options.emulator.seed = seed;
        self
    }

    /// Injects a fault from the start, as `POST /_ivs-vcr/faults` would.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.options.faults.push(rule);
        self
    }

    /// How many fault rules the server holds at most, those given here included (default
    /// 1,000); `POST /_ivs-vcr/faults` beyond it is refused with a 400 naming the limit.
    pub fn max_fault_rules(mut self, max: usize) -> Self {
        self.options.max_fault_rules = Some(max);
        self
    }

    /// How many regions the emulator keeps state for (default 64, more than AWS has); a request
    /// for one more is refused with a ValidationException naming the limit.
    pub fn max_regions(mut self, max: usize) -> Self {
        self.options.emulator.limits.max_regions = max;
        self
    }

    /// How many stream sessions the emulator keeps per channel, the newest (default 100; IVS
    /// lists a channel's sessions of the past 60 days).
    pub fn max_stream_sessions(mut self, max: usize) -> Self {
        self.options.emulator.limits.max_sessions_per_channel = max;
        self
    }

    /// How many viewer-session revocations the emulator keeps per region, the newest (default
    /// 10,000; none is ever refused).
    pub fn max_revocations(mut self, max: usize) -> Self {
        self.options.emulator.limits.max_revocations = max;
        self
    }

    /// Whether each operation's documented call rate (its service quotas' TPS) is enforced, per
    /// account and region, with a 429 ThrottlingException (default off; PutMetadata's own limits
    /// apply always).
    pub fn rate_limits(mut self, on: bool) -> Self {
        self.options.emulator.rate_limits = on;
        self
    }

    /// Maps a message review handler's Lambda function ARN to a local HTTP endpoint: a room
    /// whose `messageReviewHandler.uri` is `function_arn` has each message POSTed there, in the
    /// payload IVS gives the function, and its answer applied (allow, deny, changed content or
    /// attributes). A room whose function has no endpoint applies its `fallbackResult`.
    pub fn chat_review_handler(
        mut self,
        function_arn: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        self.options
            .chat
            .review_handlers
            .insert(function_arn.into(), url.into());
        self
    }

    /// Writes what rooms' logging configurations would deliver to this folder, one JSON-lines
    /// file per logging configuration (`<id>.jsonl`), besides keeping the newest records in
    /// memory for `GET /_ivs-vcr/state`.
    pub fn chat_log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.chat.log_dir = Some(dir.into());
        self
    }

    /// How many chat WebSocket connections the server holds at once (default 50,000, IVS Chat's
    /// default quota of concurrent connections per account and region); a handshake beyond it is
    /// refused with 429.
    pub fn max_chat_connections(mut self, max: usize) -> Self {
        self.options.chat.max_connections = max;
        self
    }

    /// How many frames wait for one chat connection at most (default 1,024); a connection whose
    /// client reads slower than its room sends is closed (1008) once they are all waiting, so
    /// that it never holds the room back.
    #[doc(hidden)]
    pub fn chat_queue_frames(mut self, frames: usize) -> Self {
        self.options.chat.queue_frames = frames;
        self
    }

    /// The largest frame a chat client may send, in bytes (default 64 KiB); a larger one closes
    /// its connection with 1009.
    #[doc(hidden)]
    pub fn chat_max_frame_bytes(mut self, bytes: usize) -> Self {
        self.options.chat.max_frame_bytes = bytes;
        self
    }

    /// POSTs every EventBridge event the emulator makes (stream state and health, recording
    /// state) to this `http://` URL, in EventBridge's envelope, retrying a failed delivery a few
    /// times; `GET /_ivs-vcr/events` lists them either way.
    pub fn events_url(mut self, url: impl Into<String>) -> Self {
        self.options.events.url = Some(url.into());
        self
    }

    /// How many events `GET /_ivs-vcr/events` keeps, the newest (default 1,000).
    pub fn max_events(mut self, max: usize) -> Self {
        self.options.events.max_kept = max;
        self
    }

    /// Keeps the emulator's state in this file: loaded at start (a missing file is an empty
    /// state), written atomically on [`ReplayServer::shutdown`] and on
    /// `POST /_ivs-vcr/state/save`. A file that is not JSON, of a newer format or refused by the
    /// restore's checks makes [`start`](Self::start) fail, having loaded nothing.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.state_file = Some(path.into());
        self
    }

    /// Writes the recordings of channels with a recording configuration below this folder, which
    /// stands for S3: `<dir>/<bucket>/<prefix>/…` in IVS's layout (events files, HLS media).
    pub fn recordings_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.options.recordings_dir = Some(dir.into());
        self
    }

    /// Opens an RTMP listener on `addr` (port 0: a free one): an encoder publishing to
    /// `rtmp://<addr>/app/<streamKey>` takes the key's channel live. Needs the emulator.
    pub fn rtmp(mut self, addr: SocketAddr) -> Self {
        self.options.live.rtmp = Some(addr);
        self
    }

    /// How many RTMP connections are held at once (default 256); one more is closed at once.
    pub fn max_rtmp_connections(mut self, max: usize) -> Self {
        self.options.live.max_rtmp_connections = Some(max);
        self
    }

    /// Serves live channels' HLS on `addr` (port 0: a free one), at the path of their
    /// `playbackUrl`. Needs the emulator.
    pub fn playback(mut self, addr: SocketAddr) -> Self {
        self.options.live.playback = Some(addr);
        self
    }

    /// Makes channels' `playbackUrl` point at the playback server (`http://<addr>/api/video/v1/…`)
    /// rather than IVS's host, so that a front end plays without a change; needs
    /// [`playback`](Self::playback).
    pub fn playback_urls_here(mut self, here: bool) -> Self {
        self.options.live.playback_urls_here = here;
        self
    }

    /// Loads the cassettes, binds, and starts serving in the background.
    pub async fn start(self) -> Result<ReplayServer, ReplayError> {
        let mut cassettes = self.cassettes;
        let mut load_errors = Vec::new();
        for dir in &self.dirs {
            let (loaded, errors) = load_source(dir, self.limits, self.progress.as_ref())?;
            cassettes.extend(loaded);
            load_errors.extend(errors);
        }
        if !load_errors.is_empty() {
            // Lenient loading skips bad files, even every one: the server then starts with nothing
            // to serve (never as the emulator, which would pass tests the cassettes should have
            // answered), every request is unmatched, and the summary lists the files skipped.
            if !self.options.lenient_load {
                return Err(ReplayError::Cassettes(load_errors));
            }
            for err in &load_errors {
                tracing::error!(side = %Side::Internal, error = %join_errors(std::slice::from_ref(err)), "skipping cassette");
            }
        }
        let mut names: Vec<&str> = cassettes.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(ReplayError::DuplicateName {
                name: w[0].to_owned(),
            });
        }

        let faults = FaultSet::with_max_rules(
            self.options
                .max_fault_rules
                .unwrap_or(crate::fault::DEFAULT_MAX_RULES),
        );
        for rule in &self.options.faults {
            faults.add(rule.clone()).map_err(ReplayError::Fault)?;
        }
        if let Some(url) = &self.options.events.url {
            crate::live::events::check_url(url).map_err(ReplayError::EventsUrl)?;
        }
        let wants_live = self.options.live.rtmp.is_some() || self.options.live.playback.is_some();
        let mut options = self.options;
        let playback_listener = match options.live.playback {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)
                    .map_err(|source| ReplayError::Bind { addr, source })?;
                if options.live.playback_urls_here {
                    let bound = listener
                        .local_addr()
                        .map_err(|source| ReplayError::Bind { addr, source })?;
                    let host = if bound.ip().is_unspecified() {
                        std::net::SocketAddr::from(([127, 0, 0, 1], bound.port()))
                    } else {
                        bound
                    };
                    options.emulator.playback_base = Some(format!("http://{host}"));
                }
                Some(listener)
            }
            None => None,
        };
        let rtmp_listener = match options.live.rtmp {
            Some(addr) => Some(
                std::net::TcpListener::bind(addr)
                    .map_err(|source| ReplayError::Bind { addr, source })?,
            ),
            None => None,
        };
        let loaded = match &options.state_file {
            Some(path) => crate::emulator::state_file::read(path)?,
            None => None,
        };
        let built = Instant::now();
        let (signer, saved) = match loaded {
            Some(loaded) => (loaded.signer, Some(loaded.doc)),
            None => (None, None),
        };
        let state = Arc::new(ReplayState::new(
            &cassettes,
            load_errors,
            &options,
            &self.listen,
            faults,
            signer,
        ));
        if wants_live && state.emulator.is_none() {
            return Err(ReplayError::LiveWithoutEmulator);
        }
        if let Some(path) = &options.state_file {
            let Some(emulator) = &state.emulator else {
                return Err(ReplayError::StateFileWithoutEmulator);
            };
            if let Some(doc) = saved {
                emulator
                    .restore(doc)
                    .map_err(|err| crate::emulator::state_file::refused(path, &err))?;
                tracing::info!(side = %Side::Internal, path = %path.display(), "state loaded");
            }
        }
        tracing::debug!(side = %Side::Internal, interactions = state.index.entries.len(), elapsed = ?built.elapsed(), "index and answers built");
        free_in_background(cassettes);
        let playback_listen = ListenOptions {
            listener: playback_listener,
            allowed_hosts: self.listen.allowed_hosts.clone(),
            allowed_origins: self.listen.allowed_origins.clone(),
            ..ListenOptions::default()
        };
        let running = Running::start(
            self.listen,
            state.clone(),
            "anyone who can reach this address can use the replay server",
        )
        .map_err(|(addr, source)| ReplayError::Bind { addr, source })?;
        let mut live = serde_json::Map::new();
        let playback = match (&playback_listen.listener, &state.emulator) {
            (Some(_), Some(emulator)) => {
                let handler = Arc::new(crate::live::hls::Playback {
                    emulator: emulator.clone(),
                    media: state.media.clone(),
                });
                let running = Running::start(
                    playback_listen,
                    handler,
                    "anyone who can reach this address can watch the live channels",
                )
                .map_err(|(addr, source)| ReplayError::Bind { addr, source })?;
                live.insert("playback".into(), format!("http://{}", running.addr).into());
                Some(running)
            }
            _ => None,
        };
        let ingest = match (rtmp_listener, &state.emulator) {
            (Some(listener), Some(emulator)) => {
                let addr = listener.local_addr().ok();
                let mut ingest_options = crate::live::ingest::IngestOptions::default();
                if let Some(max) = options.live.max_rtmp_connections {
                    ingest_options.max_connections = max;
                }
                let ingest = crate::live::ingest::Ingest::start(
                    listener,
                    emulator.clone(),
                    state.media.clone(),
                    ingest_options,
                )
                .map_err(|source| ReplayError::Bind {
                    addr: addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
                    source,
                })?;
                if !ingest.addr.ip().is_loopback() {
                    eprintln!(
                        "warning: ivs-vcr's RTMP ingest is listening beyond loopback on {}: anyone who can reach it and knows a stream key can go live",
                        ingest.addr
                    );
                }
                live.insert("rtmp".into(), format!("{}<streamKey>", ingest.url()).into());
                Some(ingest)
            }
            _ => None,
        };
        if !live.is_empty() {
            let _ = state.live_urls.set(serde_json::Value::Object(live));
        }
        Ok(ReplayServer {
            running,
            state,
            fail_on_unused: options.fail_on_unused,
            armed: true,
            ingest,
            playback,
        })
    }
}

/// Frees the parsed cassettes, which serving no longer needs, then hands the memory back to the
/// operating system. With 100,000 interactions that took a fifth of the start, so from
/// [`BACKGROUND_FREE_FROM`] interactions it runs on a thread of its own while the server listens.
fn free_in_background(cassettes: Vec<Cassette>) {
    let n: usize = cassettes.iter().map(|c| c.interactions.len()).sum();
    if n < BACKGROUND_FREE_FROM {
        drop(cassettes);
        release_freed_memory();
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("cassette-free".into())
        .spawn(move || {
            drop(cassettes);
            release_freed_memory();
        });
    // A thread that could not start dropped its closure, and the cassettes with it, here.
    if spawned.is_err() {
        release_freed_memory();
    }
}

/// From how many interactions the parsed cassettes are freed in the background.
const BACKGROUND_FREE_FROM: usize = 10_000;

/// Hands the memory freed after loading back to the operating system. Parsing a cassette holds
/// its whole YAML event stream and value tree while the index and the prepared answers are built
/// among them, so once those are dropped the heap is full of holes glibc keeps for itself: with
/// 100,000 interactions, half of what stays resident. `malloc_trim` returns the free pages.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's `malloc_trim` only releases free memory; it takes the allocator's own
        // lock and may be called at any time, from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Loads a cassette file or every cassette under a directory, each held to `limits`.
fn load_source(
    path: &Path,
    limits: Limits,
    progress: Option<&LoadProgress>,
) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    let mut report = |file: &Path, n: usize| {
        if let Some(progress) = progress {
            (progress.0)(file, n);
        }
    };
    if path.is_file() {
        // A file named directly is skipped like one found in a directory (unless strict); only a
        // path that cannot be read at all stops the start.
        return match Cassette::load_limited(path, limits, &mut |n| report(path, n)) {
            Ok(cassette) => Ok((vec![cassette], Vec::new())),
            Err(err @ CassetteError::Io { .. }) => Err(err),
            Err(err) => Ok((Vec::new(), vec![err])),
        };
    }
    let (cassettes, errors) = cassette::load_dir_limited(path, limits, &mut report)?;
    if cassettes.is_empty() && errors.is_empty() {
        return Err(CassetteError::Empty {
            path: path.to_owned(),
        });
    }
    Ok((cassettes, errors))
}

/// A replay server running in the background on a loopback port.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ivs_vcr::{Cassette, ReplayServer};
/// let server = ReplayServer::start(Cassette::load("cassettes/channel-lifecycle.yaml")?).await;
/// // point the SDK at server.uri() and run the code under test…
/// server.verify(); // also runs on drop
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct ReplayServer {
    running: Running,
    state: Arc<ReplayState>,
    fail_on_unused: bool,
    /// False once `shutdown` has returned the summary to the caller, who then owns the verdict.
    armed: bool,
    /// RTMP ingest, when asked for.
    ingest: Option<crate::live::ingest::Ingest>,
    /// The HLS playback server, when asked for.
    playback: Option<Running>,
}

impl ReplayServer {
    /// Starts a server for one cassette on a free loopback port, with default options.
    ///
    /// # Panics
    /// When no loopback port can be bound, which a test cannot recover from anyway.
    pub async fn start(cassette: Cassette) -> ReplayServer {
        ReplayServer::builder()
            .cassette(cassette)
            .start()
            .await
            .expect("a replay server on 127.0.0.1:0 starts")
    }

    /// Starts an emulator, an empty IVS account, on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound, which a test cannot recover from anyway.
    pub async fn emulator() -> ReplayServer {
        ReplayServer::builder()
            .start()
            .await
            .expect("an emulator on 127.0.0.1:0 starts")
    }

    /// A builder for everything else.
    pub fn builder() -> ReplayServerBuilder {
        ReplayServerBuilder::default()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// The endpoint URL to give an SDK, e.g. `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The names of the cassettes served, in load order.
    pub fn cassette_names(&self) -> &[String] {
        &self.state.index.cassette_names
    }

    /// The number of interactions served.
    pub fn n_interactions(&self) -> usize {
        self.state.index.entries.len()
    }

    /// What has been served so far.
    pub fn summary(&self) -> ReplaySummary {
        self.state.summary()
    }

    /// Panics with a report when any request went unmatched, or (with `fail_on_unused`) when an
    /// interaction was never used.
    pub fn verify(&self) {
        let summary = self.summary();
        if !summary.is_clean(self.fail_on_unused) {
            panic!("ivs-vcr replay verification failed\n{summary}");
        }
    }

    /// The RTMP URL encoders publish to, without the key (`rtmp://127.0.0.1:PORT/app/`), when the
    /// server has RTMP ingest.
    pub fn rtmp_url(&self) -> Option<String> {
        self.ingest.as_ref().map(crate::live::ingest::Ingest::url)
    }

    /// The playback server's base URL (`http://127.0.0.1:PORT`), when the server has one: a
    /// channel's HLS is at this base and the path of its `playbackUrl`.
    pub fn playback_uri(&self) -> Option<String> {
        self.playback.as_ref().map(|p| format!("http://{}", p.addr))
    }

    /// Not API: the chat data plane, for tests that drive it as the Chat API will.
    #[doc(hidden)]
    pub fn chat_hub(&self) -> crate::live::chat::ChatDoor {
        crate::live::chat::ChatDoor(self.state.chat.clone())
    }

    /// Stops accepting, waits for in-flight requests, and returns the summary. The caller then
    /// owns the verdict: `Drop` no longer verifies.
    pub async fn shutdown(self) -> ReplaySummary {
        let (summary, saved) = self.shutdown_and_save().await;
        if let Err(err) = saved {
            tracing::error!(side = %Side::Internal, error = %error_chain(&err), "state not saved");
        }
        summary
    }

    /// [`shutdown`](Self::shutdown), then, with a [state file](ReplayServerBuilder::state_file),
    /// writes the emulator's state to it once no request is in flight: the summary, and the
    /// bytes written (`None` without a state file) or why the file could not be written.
    pub async fn shutdown_and_save(
        mut self,
    ) -> (
        ReplaySummary,
        Result<Option<u64>, crate::emulator::state_file::StateFileError>,
    ) {
        self.armed = false;
        self.state.chat.close_all("the server is shutting down");
        self.stop_live();
        if let Some(playback) = &mut self.playback {
            playback.stop().await;
        }
        self.running.stop().await;
        let saved = match (&self.state.state_file, &self.state.emulator) {
            (Some(path), Some(emulator)) => {
                crate::emulator::state_file::save(emulator, path).map(Some)
            }
            _ => Ok(None),
        };
        (self.state.summary(), saved)
    }
}

impl ReplayServer {
    /// Stops RTMP ingest (and drops its encoders) and the playback server's accept loop.
    fn stop_live(&mut self) {
        if let Some(ingest) = &self.ingest {
            ingest.stop();
        }
        if let Some(emulator) = &self.state.emulator {
            emulator.encoders().disconnect_all();
        }
        if let Some(playback) = &mut self.playback {
            playback.signal_stop();
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop_live();
        self.running.signal_stop();
        self.state.chat.close_all("the server is shutting down");
        if self.armed && !std::thread::panicking() {
            self.verify();
        }
    }
}

/// Everything a request handler needs, shared by all connections.
#[derive(Debug)]
struct ReplayState {
    index: Index,
    prepared: Vec<Prepared>,
    default_region: String,
    keep_headers: bool,
    /// The region the cassettes were recorded in, when clients of any region are served.
    home_region: Option<String>,
    read_timeouts: ReadTimeouts,
    unmatched: Mutex<Unmatched>,
    /// Requests answered by an injected fault, for the summary.
    faulted: Mutex<Faulted>,
    load_errors: Vec<String>,
    /// The emulator: answers everything when no cassette was given, misses with `OnMiss::Emulate`.
    emulator: Option<Arc<Emulator>>,
    on_miss: OnMiss,
    /// Requests the emulator answered, per operation of the catalog, in total and per account.
    emulated: Mutex<Emulated>,
    faults: FaultSet,
    /// The default account and `--account-for`: the account of a request for the fault rules
    /// that name one, with or without an emulator (`emulator::account_of`).
    accounts: EmulatorOptions,
    /// Near-miss reports in progress: at most [`EXPLAIN_CONCURRENCY`] (see `handler::explain`).
    explaining: Arc<tokio::sync::Semaphore>,
    /// The chat data plane: the WebSocket on this port, in every mode (it needs no cassette).
    chat: Arc<ChatHub>,
    /// Where the emulator's EventBridge events go: kept for `GET /_ivs-vcr/events`, and posted
    /// to `--events-url`.
    events: Arc<EventBus>,
    /// Live channels' media (what ingest cut, what playback serves) and its observers.
    media: Arc<crate::live::media::Media>,
    /// What `/_ivs-vcr/health` says of ingest and playback, once they listen.
    live_urls: std::sync::OnceLock<serde_json::Value>,
    /// `--state-file`: where the emulator's state is saved.
    state_file: Option<PathBuf>,
}

/// From how many interactions the index and the answers are built on two threads.
const PARALLEL_BUILD_FROM: usize = 10_000;

/// One prepared answer per interaction in `range` (counted over every cassette, in index order),
/// with header maps shared between answers recorded with the same headers.
fn prepare_answers(cassettes: &[Cassette], range: std::ops::Range<usize>) -> Vec<Prepared> {
    let mut prepared = Vec::with_capacity(range.len());
    let mut shared = SharedHeaders::packing();
    let mut first = 0;
    for cassette in cassettes {
        // This cassette's part of `range`, by its own numbering.
        let (start, end) = (
            range.start.saturating_sub(first),
            range.end.saturating_sub(first),
        );
        first += cassette.interactions.len();
        for (idx, interaction) in cassette
            .interactions
            .iter()
            .enumerate()
            .take(end)
            .skip(start)
        {
            prepared.push(Prepared::sharing(
                &interaction.response,
                &cassette.name,
                idx,
                &mut shared,
            ));
        }
    }
    prepared
}

/// How much of the answers the thread that builds the index prepares after it, in hundredths:
/// the index takes about three fifths of the time the answers take (85 ms against 141 ms with
/// 100,000 GetChannel interactions), so each thread then has about as much to do.
const ANSWERS_AFTER_INDEX: usize = 20;

/// How many near-miss reports are built at once, on the blocking pool.
pub(crate) const EXPLAIN_CONCURRENCY: usize = 2;

impl ReplayState {
    fn new(
        cassettes: &[Cassette],
        load_errors: Vec<CassetteError>,
        options: &Options,
        listen: &ListenOptions,
        faults: FaultSet,
        signer: Option<crate::jwt::Signer>,
    ) -> ReplayState {
        // The chat socket needs no cassette, so every server has one; the emulator's Chat
        // operations (tokens, rooms, events) reach it.
        let chat = Arc::new(ChatHub::new(options.chat.clone()));
        // The recorder learns of recordings from the events, and of their media from ingest.
        let recorder = options
            .recordings_dir
            .clone()
            .map(|dir| Arc::new(Recorder::new(dir)));
        let events = EventBus::new(
            EventOptions {
                seed: options.emulator.seed,
                ..options.events.clone()
            },
            recorder.clone(),
        );
        // No cassettes makes an emulator, but not when cassettes were given and none loaded.
        let no_cassettes = cassettes.is_empty() && load_errors.is_empty();
        let emulator = (no_cassettes || options.on_miss == OnMiss::Emulate).then(|| {
            let emulator = Emulator::new(options.emulator.clone())
                .with_chat_sink(chat.clone() as Arc<dyn crate::live::chat::ChatSink>)
                .with_event_sink(events.clone() as Arc<dyn crate::live::events::EventSink>);
            Arc::new(match signer {
                Some(signer) => emulator.with_signer(signer),
                None => emulator,
            })
        });
        let build_index = || Index::build(cassettes, options.level, options.sequence_end);
        let n: usize = cassettes.iter().map(|c| c.interactions.len()).sum();
        // The index and the answers read the cassettes and nothing else: with many interactions
        // they are built side by side, the index's thread then preparing the last answers.
        let (index, prepared) = if n >= PARALLEL_BUILD_FROM {
            let split = n - n * ANSWERS_AFTER_INDEX / 100;
            std::thread::scope(|scope| {
                let other = std::thread::Builder::new()
                    .name("replay-index".into())
                    .spawn_scoped(scope, || {
                        (build_index(), prepare_answers(cassettes, split..n))
                    });
                let mut prepared = prepare_answers(cassettes, 0..split);
                let (index, rest) = match other {
                    Ok(thread) => thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    Err(_) => (build_index(), prepare_answers(cassettes, split..n)),
                };
                prepared.extend(rest);
                (index, prepared)
            })
        } else {
            (build_index(), prepare_answers(cassettes, 0..n))
        };
        ReplayState {
            keep_headers: cassettes.iter().any(|c| !c.matching.headers.is_empty()),
            index,
            prepared,
            default_region: listen
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            home_region: options.home_region.clone(),
            read_timeouts: listen.read_timeouts,
            unmatched: Mutex::new(Unmatched::default()),
            faulted: Mutex::new(Faulted::new(options.emulator.limits.max_accounts)),
            load_errors: load_errors
                .iter()
                .map(|e| join_errors(std::slice::from_ref(e)))
                .collect(),
            emulator,
            on_miss: options.on_miss,
            emulated: Mutex::new(Emulated::new(options.emulator.limits.max_accounts)),
            faults,
            accounts: options.emulator.clone(),
            explaining: Arc::new(tokio::sync::Semaphore::new(EXPLAIN_CONCURRENCY)),
            chat,
            events,
            // The recorder follows every live channel's media; it writes only the ones recording.
            media: {
                let media = Arc::<crate::live::media::Media>::default();
                if let Some(recorder) = &recorder {
                    media.observe(recorder.clone() as Arc<dyn crate::live::media::MediaObserver>);
                }
                media
            },
            live_urls: std::sync::OnceLock::new(),
            state_file: options.state_file.clone(),
        }
    }

    /// True when the emulator answers everything: there are no cassettes to match.
    fn emulates_only(&self) -> bool {
        self.index.entries.is_empty() && self.emulator.is_some()
    }

    /// `emulate` when there are no cassettes, else `replay`.
    fn mode(&self) -> &'static str {
        if self.emulates_only() {
            "emulate"
        } else {
            "replay"
        }
    }
}

impl crate::control::Plane for ReplayState {
    fn mode(&self) -> &'static str {
        ReplayState::mode(self)
    }

    fn emulator(&self) -> Option<&Emulator> {
        self.emulator.as_deref()
    }

    fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    fn rewind(&self) {
        self.index.rewind();
        self.forget();
    }

    fn summary(&self) -> serde_json::Value {
        self.summary_json()
    }

    fn account_summary(&self, account: &str) -> Option<serde_json::Value> {
        self.emulator.is_some().then(|| self.account_json(account))
    }

    fn forget_account(&self, account: &str) {
        ReplayState::forget_account(self, account);
    }

    fn faults(&self) -> &FaultSet {
        &self.faults
    }

    fn chat(&self) -> Option<&ChatHub> {
        Some(&self.chat)
    }

    fn events(&self) -> Option<&EventBus> {
        Some(&self.events)
    }

    fn live(&self) -> Option<serde_json::Value> {
        self.live_urls.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `builder` on the replay fixture (five interactions, strict loading): the number of
    /// interactions served, or the load errors.
    async fn served(builder: ReplayServerBuilder) -> Result<usize, Vec<CassetteError>> {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/flow.yaml");
        match builder.dir(fixture).start().await {
            Ok(server) => {
                let n = server.n_interactions();
                server.shutdown().await;
                Ok(n)
            }
            Err(ReplayError::Cassettes(errors)) => Err(errors),
            Err(err) => panic!("{err}"),
        }
    }

    /// With enough interactions that the index and the answers are built on two threads, every
    /// interaction's request finds its own entry, and that entry's prepared answer is its own:
    /// its source, request id and body, across two cassettes.
    #[test]
    fn a_large_set_built_in_parallel_answers_each_request_with_its_own_answer() {
        let n_per_cassette = PARALLEL_BUILD_FROM / 2 + 1_500;
        let cassette = |name: &str| {
            let mut yaml = format!(
                "format: 1\napi_version: \"2020-07-14\"\nivs_vcr_version: 0.1.0\nprovenance: {{kind: authored, source: test}}\nname: {name}\ninteractions:\n"
            );
            for i in 0..n_per_cassette {
                yaml.push_str(&format!(
                    "  - request: {{method: POST, path: /GetChannel, region: us-west-2, body: {{arn: \"arn:aws:ivs:us-west-2:123456789012:channel/{name}{i}\"}}}}\n    response: {{status: 200, headers: {{x-amzn-RequestId: id-{name}-{i}}}, body: {{n: {i}, of: {name}}}}}\n"
                ));
            }
            Cassette::from_yaml(&yaml, Path::new(name)).unwrap()
        };
        let cassettes = [cassette("a"), cassette("b")];
        let n = 2 * n_per_cassette;
        assert!(n >= PARALLEL_BUILD_FROM);
        let state = ReplayState::new(
            &cassettes,
            Vec::new(),
            &Options::default(),
            &ListenOptions::default(),
            FaultSet::new(),
            None,
        );
        assert_eq!(state.prepared.len(), n);
        for (c, cassette) in cassettes.iter().enumerate() {
            for (i, interaction) in cassette.interactions.iter().enumerate() {
                let hit = state
                    .index
                    .lookup(
                        &interaction.request,
                        None,
                        crate::matcher::Fallback::ExactOnly,
                    )
                    .unwrap();
                assert_eq!(hit.entry_idx, c * n_per_cassette + i);
                let response = state.prepared[hit.entry_idx].to_response();
                let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
                assert_eq!(header("x-ivs-vcr-source"), format!("{}#{i}", cassette.name));
                assert_eq!(
                    header("x-amzn-requestid"),
                    format!("id-{}-{i}", cassette.name)
                );
                let body = http_body_util::BodyExt::collect(response.into_body());
                let body = ready_now(body).unwrap().to_bytes();
                assert_eq!(
                    serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
                    serde_json::json!({"n": i, "of": cassette.name}),
                );
            }
        }
    }

    /// Runs a future that is ready at once (a full body's collection) to its end.
    fn ready_now<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("a full body is ready at once"),
        }
    }

    /// The builder's limits are the ones `start` loads cassette files under, either way.
    #[tokio::test]
    async fn builder_limits_reach_the_loader() {
        let size = std::fs::metadata(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/flow.yaml"),
        )
        .unwrap()
        .len();
        let builder = ReplayServer::builder;
        assert_eq!(served(builder()).await.unwrap(), 5);
        assert_eq!(served(builder().max_interactions(5)).await.unwrap(), 5);
        assert!(matches!(
            served(builder().max_interactions(4))
                .await
                .unwrap_err()
                .as_slice(),
            [CassetteError::TooManyInteractions {
                found: 5,
                limit: 4,
                ..
            }]
        ));
        assert_eq!(served(builder().max_cassette_bytes(size)).await.unwrap(), 5);
        let errors = served(builder().max_cassette_bytes(size - 1))
            .await
            .unwrap_err();
        assert!(
            matches!(
                errors.as_slice(),
                [CassetteError::TooLarge { size: s, limit, .. }] if *s == size && *limit == size - 1
            ),
            "{errors:?}"
        );
        // Raised far beyond the defaults, a small file loads as before.
        let raised = builder()
            .max_cassette_bytes(1 << 40)
            .max_interactions(10_000_000);
        assert_eq!(served(raised).await.unwrap(), 5);
    }
}
