//! `ivs-vcr serve` (alias `emulate`) and `ivs-vcr replay`: one server, the emulator, recorded
//! cassettes, or both, with its live-video, chat, limits and state flags.
//!
//! The server is the library's `ReplayServer`; this file turns the flags into its builder, prints
//! what it serves and where, and waits for the [stop signal](super::stop) before shutting down,
//! saving the `--state-file` and printing the summary.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::ValueEnum;

use ivs_vcr::__private::{bundled, thousands, FaultRule, DEFAULT_REGION};
use ivs_vcr::{MatchLevel, OnMiss, ReplayServer};

use super::args::{CassetteLimitArgs, ListenArgs};
use super::parse::{
    parse_account, parse_account_for, parse_count, parse_events_url, parse_fault, parse_origin,
    parse_region, parse_review_handler,
};
use super::stop::stop_signal;
use super::{endpoint_exports, out, Outcome};

/// Arguments of `replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Cassette file or directory to serve (repeatable, recursive); without it, an emulator.
    #[arg(
        short,
        long = "cassettes",
        value_name = "PATH",
        env = "IVS_VCR_CASSETTES",
        value_delimiter = ','
    )]
    pub cassettes: Vec<PathBuf>,

    /// Serve the bundled cassettes too (worked examples of every IVS operation).
    #[arg(long)]
    pub with_bundled: bool,

    /// What answers a request no cassette matches (replayed answers feed the emulator too).
    #[arg(long, value_enum, env = "IVS_VCR_ON_MISS", default_value = "error")]
    pub on_miss: OnMissArg,

    /// The default account: a 12-digit access key id is its own account, other keys get this one.
    #[arg(long, env = "IVS_VCR_ACCOUNT", default_value = "123456789012", value_parser = parse_account)]
    pub account: String,

    /// Map an access key id to an account (repeatable): `AKIAWORKER1=111111111111`.
    #[arg(
        hide_env = true,
        long = "account-for",
        value_name = "KEY=ACCOUNT",
        env = "IVS_VCR_ACCOUNT_FOR",
        value_delimiter = ',',
        value_parser = parse_account_for,
        long_help = "Map an access key id to an account (repeatable; IVS_VCR_ACCOUNT_FOR takes a comma-separated list): `AKIAWORKER1=111111111111`. A request's SigV4 access key id picks its account, as in LocalStack: a mapped key its mapped account, a 12-digit key that account, any other key the default account (--account)."
    )]
    pub account_for: Vec<(String, String)>,

    /// Seed of the emulator's ids: the same calls in the same order give the same ids.
    #[arg(long, env = "IVS_VCR_SEED", default_value_t = 0)]
    pub seed: u64,

    /// Keep the emulator's state in FILE: loaded at start, saved on Ctrl-C/SIGTERM and on
    /// POST /_ivs-vcr/state/save.
    #[arg(
        long,
        value_name = "FILE",
        env = "IVS_VCR_STATE_FILE",
        long_help = "Keep the emulator's state in FILE, so channels, keys, rooms and stages survive a restart: loaded at start (a missing file starts empty and is created by the first save; a damaged file or one of a newer format stops the start with exit code 2), written atomically (mode 0600: it holds the emulator's token signing key) on Ctrl-C or SIGTERM once in-flight requests are done, and on POST /_ivs-vcr/state/save. SIGKILL loses what changed since the last save."
    )]
    pub state_file: Option<PathBuf>,

    /// Inject a fault (repeatable): `operation=GetChannel,error=ThrottlingException,times=2`;
    /// keys: account (12 digits: that account's requests only), service, operation, error,
    /// status, times, rate (0-1), delay_ms, connection (reset|empty), retry_after_ms, message,
    /// seed; or POST /_ivs-vcr/faults while serving.
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,

    /// Most fault rules at once (default 1000; --fault and POST /_ivs-vcr/faults); more get 400.
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_FAULT_RULES", default_value_t = 1_000, value_parser = parse_count, help_heading = "Limits")]
    pub max_fault_rules: usize,

    /// Most regions with state (default 64, AWS has fewer); one more is a ValidationException.
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_REGIONS", default_value_t = 64, value_parser = parse_count, help_heading = "Limits")]
    pub max_regions: usize,

    /// Most accounts with state (default 1000); one more is a ValidationException.
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_ACCOUNTS", default_value_t = 1_000, value_parser = parse_count, help_heading = "Limits")]
    pub max_accounts: usize,

    /// Stream sessions kept per channel, the newest (default 100; IVS too lists only recent ones).
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_STREAM_SESSIONS", default_value_t = 100, value_parser = parse_count, help_heading = "Limits")]
    pub max_stream_sessions: usize,

    /// Viewer-session revocations kept per region, the newest (default 10000).
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_REVOCATIONS", default_value_t = 10_000, value_parser = parse_count, help_heading = "Limits")]
    pub max_revocations: usize,

    /// Throttle each operation at its documented calls a second (429 ThrottlingException).
    #[arg(
        hide_env = true,
        long,
        env = "IVS_VCR_RATE_LIMITS",
        help_heading = "Limits"
    )]
    pub rate_limits: bool,

    /// Run a room's review handler (a Lambda ARN) at a local URL (repeatable):
    /// `arn:aws:lambda:us-west-2:123456789012:function:review=http://127.0.0.1:9000/`.
    #[arg(
        hide_env = true,
        long = "chat-review-handler",
        value_name = "FUNCTION_ARN=URL",
        env = "IVS_VCR_CHAT_REVIEW_HANDLER",
        value_delimiter = ',',
        value_parser = parse_review_handler,
        help_heading = "Chat"
    )]
    pub chat_review_handlers: Vec<(String, String)>,

    /// Append what chat rooms' logging configurations would deliver to DIR/<id>.jsonl.
    #[arg(
        hide_env = true,
        long,
        value_name = "DIR",
        env = "IVS_VCR_CHAT_LOG_DIR",
        help_heading = "Chat"
    )]
    pub chat_log_dir: Option<PathBuf>,

    /// Most EventBridge events GET /_ivs-vcr/events keeps, the newest (default 1000).
    #[arg(hide_env = true, hide_default_value = true, help_heading = "Limits", long, value_name = "N", env = "IVS_VCR_MAX_EVENTS", default_value_t = 1_000, value_parser = parse_count)]
    pub max_events: usize,

    /// Most RTMP connections held at once (default 256); one more is closed.
    #[arg(hide_env = true, hide_default_value = true, help_heading = "Limits", long, value_name = "N", env = "IVS_VCR_MAX_RTMP_CONNECTIONS", default_value_t = 256, value_parser = parse_count)]
    pub max_rtmp_connections: usize,

    /// Most chat sockets held at once (default 50000, IVS Chat's quota); one more gets 429.
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_CHAT_CONNECTIONS", default_value_t = 50_000, value_parser = parse_count, help_heading = "Limits")]
    pub max_chat_connections: usize,

    /// Region of requests that carry no SigV4 signature (signed requests name their own).
    #[arg(long, env = "IVS_VCR_REGION", default_value = DEFAULT_REGION, value_parser = parse_region)]
    pub region: String,

    /// Also serve pages at this origin (scheme://host[:port], null); others but loopback: 403.
    #[arg(
        long = "allow-origin",
        value_name = "ORIGIN",
        env = "IVS_VCR_ALLOW_ORIGIN",
        value_delimiter = ',',
        value_parser = parse_origin
    )]
    pub allowed_origins: Vec<String>,

    /// Match level [default: exact; operation when serving only the bundled set].
    #[arg(long = "match", value_enum, env = "IVS_VCR_MATCH")]
    pub match_level: Option<MatchArg>,

    /// Treat a request past its sequence's recorded answers as unmatched (not the last again).
    #[arg(long)]
    pub strict_sequence: bool,

    /// Exit with status 1 when an interaction was never used.
    #[arg(long)]
    pub fail_on_unused: bool,

    /// Refuse to start when a cassette file fails to load (by default: skipped, with an error).
    #[arg(long)]
    pub strict: bool,

    // The flattened groups come last: each sets the help heading of what follows it (clap's
    // derive does not restore the heading after a flattened group, so a flag declared after
    // `live` would be listed under "Live video"). `--help` lists headings in the order of their
    // first flag and each heading's flags in declaration order, so the live-video flags show
    // where they did when they were declared among the chat and limit flags.
    #[command(flatten)]
    pub live: LiveVideoArgs,

    #[command(flatten)]
    pub listen: ListenArgs,

    #[command(flatten)]
    pub limits: CassetteLimitArgs,
}

/// The data plane of `serve`/`replay`: RTMP ingest, HLS playback, EventBridge events and
/// recordings, under their own help heading.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Live video")]
pub struct LiveVideoArgs {
    /// RTMP ingest port (0: free); publish to rtmp://127.0.0.1:PORT/app/<streamKey>.
    #[arg(hide_env = true, long, value_name = "PORT", env = "IVS_VCR_RTMP_PORT")]
    pub rtmp_port: Option<u16>,

    /// HLS playback port (0: free); --playback-urls-here points playbackUrl at it.
    #[arg(
        hide_env = true,
        long,
        value_name = "PORT",
        env = "IVS_VCR_PLAYBACK_PORT"
    )]
    pub playback_port: Option<u16>,

    /// Make channels' playbackUrl point at --playback-port instead of IVS's playback host.
    #[arg(
        hide_env = true,
        long,
        env = "IVS_VCR_PLAYBACK_URLS_HERE",
        requires = "playback_port"
    )]
    pub playback_urls_here: bool,

    /// POST each EventBridge event IVS would send (stream, health, recording) to this http:// URL.
    #[arg(
        hide_env = true,
        long,
        value_name = "URL",
        env = "IVS_VCR_EVENTS_URL",
        value_parser = parse_events_url
    )]
    pub events_url: Option<String>,

    /// Write recordings to DIR/<bucket>/<S3 prefix>/, in IVS's layout.
    #[arg(
        hide_env = true,
        long,
        value_name = "DIR",
        env = "IVS_VCR_RECORDINGS_DIR"
    )]
    pub recordings_dir: Option<PathBuf>,
}

/// How strictly replay matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// Method, path, query, region and body must all be equal.
    Exact,
    /// Exact first, else any recorded success (marked `x-ivs-vcr-match: operation`).
    Operation,
}

/// What `--on-miss` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMissArg {
    /// Answer 400 IvsVcrUnmatchedRequestException, naming the nearest recording.
    Error,
    /// Answer from the emulator.
    Emulate,
}

impl ReplayArgs {
    /// Serves until stopped; `command` (`serve` or `replay`) names the server in what it prints.
    pub async fn run(self, command: &str) -> anyhow::Result<Outcome> {
        let emulate_only = self.cassettes.is_empty() && !self.with_bundled;
        let bundled_only = self.cassettes.is_empty() && self.with_bundled;
        let mut builder = ReplayServer::builder()
            .bind(self.listen.addr())
            .default_region(self.region.clone())
            .strict_sequence(self.strict_sequence)
            .fail_on_unused(self.fail_on_unused)
            .lenient_load(!self.strict)
            .max_cassette_bytes(self.limits.max_bytes())
            .max_interactions(self.limits.max_interactions)
            .on_miss(match self.on_miss {
                OnMissArg::Error => OnMiss::Error,
                OnMissArg::Emulate => OnMiss::Emulate,
            })
            .account(self.account.clone())
            .accounts_for(self.account_for.iter().cloned())
            .seed(self.seed)
            .max_fault_rules(self.max_fault_rules)
            .max_regions(self.max_regions)
            .max_accounts(self.max_accounts)
            .max_stream_sessions(self.max_stream_sessions)
            .max_revocations(self.max_revocations)
            .rate_limits(self.rate_limits)
            .max_chat_connections(self.max_chat_connections)
            .max_rtmp_connections(self.max_rtmp_connections)
            .playback_urls_here(self.live.playback_urls_here);
        if let Some(port) = self.live.rtmp_port {
            builder = builder.rtmp(SocketAddr::new(self.listen.bind, port));
        }
        if let Some(port) = self.live.playback_port {
            builder = builder.playback(SocketAddr::new(self.listen.bind, port));
        }
        for (arn, url) in &self.chat_review_handlers {
            builder = builder.chat_review_handler(arn, url);
        }
        if let Some(url) = &self.live.events_url {
            builder = builder.events_url(url);
        }
        builder = builder.max_events(self.max_events);
        if let Some(path) = &self.state_file {
            builder = builder.state_file(path);
        }
        if let Some(dir) = &self.live.recordings_dir {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the recordings folder `{}`", dir.display())
            })?;
            builder = builder.recordings_dir(dir);
        }
        if let Some(dir) = &self.chat_log_dir {
            std::fs::create_dir_all(dir).with_context(|| {
                format!("cannot create the chat log folder `{}`", dir.display())
            })?;
            builder = builder.chat_log_dir(dir);
        }
        for rule in &self.faults {
            builder = builder.fault(rule.clone());
        }
        for host in &self.listen.allowed_hosts {
            builder = builder.allow_host(host);
        }
        for origin in &self.allowed_origins {
            builder = builder.allow_origin(origin);
        }
        if self.with_bundled {
            builder = builder
                .cassettes(bundled::cassettes().context("cannot load the bundled cassettes")?)
                .region_portable(bundled::BUNDLED_REGION);
        }
        for path in &self.cassettes {
            builder = builder.dir(path);
        }
        builder = builder.load_progress(progress_line());
        let level = match self.match_level {
            Some(MatchArg::Exact) => MatchLevel::Exact,
            Some(MatchArg::Operation) => MatchLevel::Operation,
            None if bundled_only => MatchLevel::Operation,
            None => MatchLevel::Exact,
        };
        let server = builder
            .match_level(level)
            .start()
            .await
            .context("cannot start the replay server")?;
        let source = if emulate_only {
            String::new()
        } else if bundled_only {
            "the bundled cassettes".to_owned()
        } else {
            self.cassettes
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let stop = stop_signal(self.listen.exit_on_stdin_close)?;
        out!("ivs-vcr {command} listening on {}", server.uri())?;
        if emulate_only {
            out!(
                "emulating an empty IVS account ({}); control plane at {}/_ivs-vcr/health",
                self.account,
                server.uri()
            )?;
        } else {
            out!(
                "serving {} interaction(s) from {} cassette(s) ({source}), match level {}{}",
                server.n_interactions(),
                server.cassette_names().len(),
                if level == MatchLevel::Exact {
                    "exact"
                } else {
                    "operation"
                },
                if self.on_miss == OnMissArg::Emulate {
                    ", misses emulated"
                } else {
                    ""
                },
            )?;
        }
        let n_skipped = server.summary().load_errors.len();
        if n_skipped > 0 {
            out!("skipped {n_skipped} cassette file(s) that did not load (errors above; --strict refuses to start instead)")?;
        }
        out!(
            "point clients at it with: {}",
            endpoint_exports(&server.uri())
        )?;
        if let Some(rtmp) = server.rtmp_url() {
            out!("RTMP ingest: publish to {rtmp}<streamKey> (OBS: server {rtmp}, stream key the channel's)")?;
        }
        if let Some(playback) = server.playback_uri() {
            out!("HLS playback: {playback}/api/video/v1/<region>.<account>.channel.<id>.m3u8 (the path of a channel's playbackUrl)")?;
        }
        if let Some(path) = &self.state_file {
            out!(
                "state kept in {} (saved on exit and on POST /_ivs-vcr/state/save)",
                path.display()
            )?;
        }
        stop.await;
        let (summary, saved) = server.shutdown_and_save().await;
        out!("{summary}")?;
        if let Some(bytes) = saved? {
            out!("state saved: {bytes} bytes")?;
        }
        Ok(if summary.is_clean(self.fail_on_unused) {
            Outcome::Clean
        } else {
            Outcome::Findings
        })
    }
}

/// What `replay` shows while a large cassette file loads: from one second into the file, about
/// once a second, `loading <file>: 350,000 interactions…` on stderr. Smaller files show nothing.
fn progress_line() -> impl Fn(&std::path::Path, usize) + Send + Sync + 'static {
    use std::time::{Duration, Instant};
    struct Shown {
        file: std::path::PathBuf,
        started: Instant,
        last: Option<Instant>,
    }
    let shown: std::sync::Mutex<Option<Shown>> = std::sync::Mutex::new(None);
    move |file, n| {
        let now = Instant::now();
        let Ok(mut shown) = shown.lock() else { return };
        let state = match &mut *shown {
            Some(state) if state.file == file => state,
            other => other.insert(Shown {
                file: file.to_owned(),
                started: now,
                last: None,
            }),
        };
        let due = match state.last {
            None => now - state.started >= Duration::from_secs(1),
            Some(last) => now - last >= Duration::from_secs(1),
        };
        if due {
            state.last = Some(now);
            eprintln!(
                "loading {}: {} interactions…",
                file.display(),
                thousands(n as u64)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_are_grouped_by_thousands() {
        let shown: Vec<String> = [0, 7, 999, 1_000, 350_000, 1_234_567]
            .into_iter()
            .map(thousands)
            .collect();
        assert_eq!(shown, ["0", "7", "999", "1,000", "350,000", "1,234,567"]);
    }
}
