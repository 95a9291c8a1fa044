//! The command line: clap definitions, and their conversion into library calls.
//!
//! `Cli` is parsed once in `main`; each subcommand's `run` turns its arguments into the library's
//! builders and options and returns the process outcome. Only this file and `main.rs` use anyhow.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use ivs_vcr::__private::FaultRule;
use ivs_vcr::__private::{
    bundled, load_cassettes_limited, normalize, thousands, AWS_ENDPOINT, DEFAULT_CASSETTE_NAME,
    DEFAULT_REGION,
};
use ivs_vcr::{MatchLevel, OnMiss, RecordMode, RecordServer, ReplayServer};

/// Prints a line on stdout, returning the error println! would panic with. A closed pipe
/// (`ivs-vcr diff A B | head -1`) is one; `main` ends quietly on it (see [`is_closed_pipe`]).
macro_rules! out {
    ($($arg:tt)*) => {
        print_line(format_args!($($arg)*))
    };
}

fn print_line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// True when `err` comes from writing to a pipe whose reader has gone. Like ripgrep, ivs-vcr
/// then stops quietly with status 0: the reader took all it wanted.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A line to print after an error, saying what to do about it, when there is a usual fix: a port
/// already taken (another ivs-vcr still running, or two test runs at once) takes `--port 0`.
pub fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let in_use = err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
    });
    in_use.then_some(
        "another process listens on that port: pass `--port 0` to take a free one (the \
         `listening on` line prints it), or stop the other server",
    )
}

/// Dependencies whose `debug` and `trace` events may carry request headers or bodies (signatures,
/// session tokens, canonical requests), capped at `info` unless `RUST_LOG` names them, and
/// `aws_config`, capped at `error`: its `info` events name the operator's access key id when
/// credentials come from a profile file, and off EC2 its `warn` events are three long reports of
/// an instance-metadata service that is not there; a real failure reaches the user as our error.
const NOISY_TARGETS: &[(&str, &str)] = &[
    ("hyper", "info"),
    ("hyper_util", "info"),
    ("hyper_rustls", "info"),
    ("h2", "info"),
    ("rustls", "info"),
    ("aws_sigv4", "info"),
    ("aws_smithy_runtime", "info"),
    ("aws_smithy_http_client", "info"),
    ("aws_config", "error"),
];

/// The log filter for `RUST_LOG` (default `info`). `RUST_LOG=trace` traces ivs-vcr itself, whose
/// events never hold a header or body; the [`NOISY_TARGETS`] stay at `info` unless named, as in
/// `RUST_LOG=trace,aws_sigv4=trace`, which is then the user's informed choice.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let spec = rust_log.filter(|s| !s.trim().is_empty()).unwrap_or("info");
    let named: Vec<&str> = spec
        .split(',')
        .filter_map(|d| d.split(['=', '[']).next())
        .map(str::trim)
        .collect();
    let mut filter = tracing_subscriber::EnvFilter::builder().parse_lossy(spec);
    for (target, level) in NOISY_TARGETS {
        if !named
            .iter()
            .any(|n| n == target || n.starts_with(&format!("{target}::")))
        {
            // Invariant: `<crate name>=<level>` is a valid directive.
            filter = filter.add_directive(
                format!("{target}={level}")
                    .parse()
                    .expect("valid directive"),
            );
        }
    }
    filter
}

/// A local Amazon IVS API: emulate it, replay it, record it, check it for drift
///
/// `ivs-vcr serve` is an empty IVS account in memory. Point any AWS client at it instead of
/// ivs.<region>.amazonaws.com:
///   aws ivs list-channels --endpoint-url http://127.0.0.1:7474
///   boto3.client("ivs", endpoint_url="http://127.0.0.1:7474")
///   export AWS_ENDPOINT_URL_IVS=http://127.0.0.1:7474   (every SDK and the CLI)
#[derive(Debug, Parser)]
#[command(
    name = "ivs-vcr",
    version,
    about,
    long_about,
    max_term_width = 100,
    verbatim_doc_comment
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve IVS, IVS Chat and IVS Real-Time on localhost: an emulated account, or cassettes
    ///
    /// An empty account in memory, per region: what you create you can get, list, tag and
    /// delete, invalid requests fail as IVS fails them, chat clients connect to
    /// ws://127.0.0.1:7474 with a token from CreateChatToken, and a channel goes live from an
    /// encoder (--rtmp-port) or a control call.
    ///
    ///   ivs-vcr serve
    ///   export AWS_ENDPOINT_URL_IVS=http://127.0.0.1:7474 AWS_ENDPOINT_URL_IVSCHAT=http://127.0.0.1:7474
    ///   aws ivs create-channel --name demo
    ///   curl -X POST http://127.0.0.1:7474/_ivs-vcr/streams/start \
    ///        -H 'Content-Type: application/json' -d '{"channelArn": "<arn>"}'
    ///
    /// With --rtmp-port 1935 an encoder goes live at rtmp://127.0.0.1:1935/app/<streamKey>,
    /// and with --playback-port its HLS plays at the channel's playbackUrl path.
    ///
    /// With --cassettes it serves recorded answers, as `replay` does. Ctrl-C or SIGTERM stops it
    /// with a summary. Exit status: 0, 1 when a request went unmatched, 2 on error.
    #[command(visible_alias = "emulate", verbatim_doc_comment)]
    Serve(ReplayArgs),
    /// Serve recorded answers from cassettes, offline (the same server as `serve`)
    ///
    ///   ivs-vcr replay --cassettes cassettes/
    ///   export AWS_ENDPOINT_URL_IVS=http://127.0.0.1:7474
    ///
    /// Requests match a recorded interaction on method, path, query, region and canonical JSON
    /// body; signatures, dates, SDK ids and key order never matter. An unmatched request gets an
    /// HTTP 400 `IvsVcrUnmatchedRequestException` naming the nearest recording and what differs,
    /// or, with --on-miss emulate, the emulator's answer. Without --cassettes (or
    /// --with-bundled), replay is the emulator, as `serve` is.
    ///
    /// Stop with Ctrl-C or SIGTERM to get a summary per operation.
    /// Exit status: 0 when every request was answered, 1 when some went unmatched (or, with
    /// --fail-on-unused, when an interaction was never used), 2 on error.
    #[command(verbatim_doc_comment)]
    Replay(ReplayArgs),
    /// Forward IVS requests to AWS, re-signed with your credentials, and write them as cassettes
    ///
    /// A reverse proxy: point clients at it as for replay. Each request goes to
    /// https://ivs.<region>.amazonaws.com, the region taken from the client's SigV4 credential
    /// scope (or --region for unsigned requests); anything that is not an AWS region name is
    /// refused before any connection. Requests are re-signed with the standard AWS credential
    /// chain (environment, profiles, SSO, web identity, container and instance metadata).
    ///
    /// Cassettes go to DIR/<name>.yaml: --name, or the name in a /cassette/<name>/ endpoint
    /// prefix. What is written holds no signatures, dates, SDK ids or user agents; stream keys,
    /// SRT passphrases and PutMetadata payloads become `ivs-vcr-redacted:<hash>` placeholders,
    /// and a scan refuses to write anything that still looks secret. Upstream 4xx answers are
    /// recorded; 5xx answers and transport failures are passed on but not recorded.
    ///
    ///   ivs-vcr record --cassettes cassettes --name channel-lifecycle --record-mode all
    ///   AWS_ENDPOINT_URL_IVS=http://127.0.0.1:7474 ./my-test
    ///
    /// Stop with Ctrl-C or SIGTERM to write the cassettes and get a summary per operation.
    /// Exit status: 0 when everything was recorded or replayed, 1 when something was not, 2 on error.
    #[command(verbatim_doc_comment)]
    Record(RecordArgs),
    /// Report API drift between two cassette sets: how the shape of IVS's answers changed
    ///
    /// OLD and NEW are cassette files or directories (read recursively), typically the committed
    /// cassettes and a fresh re-recording of the same tests. Interactions pair by operation and
    /// request, even when resource ids differ. Answers compare by shape, not value: fields added
    /// or removed, changed JSON types, new enum values, changed status codes or error types,
    /// response headers that appeared or disappeared. Lists compare as the merged shape of their
    /// elements, so a longer list is no drift. Ids, the id and account parts of ARNs,
    /// timestamps, request ids and redaction placeholders change on every recording and are
    /// never drift.
    ///
    /// Breaking: a removed field, header, operation or interaction; a changed type, status or
    /// error type. Additive: a new field, enum value, header, operation or interaction.
    ///
    ///   ivs-vcr diff cassettes/ rerecorded/
    ///
    ///   ivs-vcr diff cassettes/ rerecorded/ --fail-on breaking --format markdown > drift.md
    ///
    /// Exit status: 0 when there is no drift, 1 when there is (with --fail-on breaking, only
    /// when some of it is breaking), 2 on error (a missing path, a cassette that does not load).
    #[command(verbatim_doc_comment)]
    Diff(DiffArgs),
    /// Play recorded flows against a target and report where its answers differ
    ///
    /// Each cassette's requests are sent in order to the target: the emulator (a fresh, empty
    /// account per cassette), any IVS-compatible URL (moto, a fake; `{region}` is substituted),
    /// or real IVS (`aws`: signed with your credentials and routed by region, as record does).
    /// The ids the target mints are mapped onto the recorded ones as the flow goes (the ARN a
    /// create returned is the one later requests use), and the answers are compared with the
    /// recorded ones as `diff` compares cassettes: shape, status and error type.
    ///
    ///   ivs-vcr verify tests/cassettes/                       # against the emulator
    ///   ivs-vcr verify tests/cassettes/ --against http://127.0.0.1:5000
    ///   ivs-vcr verify tests/cassettes/ --against aws --fail-on breaking --format markdown > drift.md
    ///   ivs-vcr verify cassettes/[0-9]*.yaml                  # the bundled stories: the emulator's conformance suite
    ///
    /// A request that is no IVS operation is sent to no target. Against aws, where your
    /// credentials sign what a cassette says, only requests that act on resources the run itself
    /// created (or Create, List and Import calls), in the region of the cassette's first IVS request,
    /// are sent; the others are skipped and listed on stderr with the reason, and left out of
    /// the comparison (--allow-foreign-resources sends them).
    ///
    /// Exit status: 0 when the target answers as recorded, 1 when it differs (with --fail-on
    /// breaking, only when some difference is breaking) or, with --fail-on-skipped, when a
    /// request was skipped; 2 on error.
    #[command(verbatim_doc_comment)]
    Verify(VerifyArgs),
}

/// Arguments of `ivs-vcr verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The recorded flows: cassette files or directories of cassettes (one or more).
    #[arg(value_name = "CASSETTES", required = true, num_args = 1..)]
    pub cassettes: Vec<PathBuf>,

    /// Where to play them: `emulator`, `aws`, or an http(s):// URL.
    #[arg(long, value_name = "TARGET", default_value = "emulator")]
    pub against: ivs_vcr::verify::Against,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormatArg,

    /// Which difference makes the exit status 1.
    #[arg(long, value_enum, default_value = "any")]
    pub fail_on: FailOnArg,

    /// Also report values that differ (severity info, never part of the exit status).
    #[arg(long)]
    pub values: bool,

    /// With --against aws: send to this endpoint instead of https://ivs.<region>.amazonaws.com
    /// (`{region}` is substituted), still signed with your credentials; for a local stand-in.
    #[arg(long, value_name = "URL")]
    pub upstream: Option<String>,

    /// With --against aws: also send requests that act on resources this run did not create
    /// (ARNs the cassette names, resources your account already held) and requests to other
    /// regions. A cassette can then delete or change anything your credentials reach: use it
    /// only with cassettes you wrote or reviewed.
    #[arg(long)]
    pub allow_foreign_resources: bool,

    /// Exit with status 1 when a request was skipped (not an IVS operation, or, against aws, not
    /// acting on what the run created). Without it, skipped requests are listed on stderr and
    /// do not change the exit status.
    #[arg(long)]
    pub fail_on_skipped: bool,

    #[command(flatten)]
    pub limits: CassetteLimitArgs,
}

impl VerifyArgs {
    pub async fn run(self) -> anyhow::Result<Outcome> {
        if self.upstream.is_some() && self.against != ivs_vcr::verify::Against::Aws {
            anyhow::bail!(
                "--upstream goes with --against aws; for another target, give its URL to --against"
            );
        }
        if self.allow_foreign_resources && self.against != ivs_vcr::verify::Against::Aws {
            anyhow::bail!(
                "--allow-foreign-resources goes with --against aws; other targets get every IVS request"
            );
        }
        let mut recorded = Vec::new();
        for path in &self.cassettes {
            recorded.extend(
                self.limits.load(path).with_context(|| {
                    format!("cannot load the cassettes of `{}`", path.display())
                })?,
            );
        }
        let mut options = ivs_vcr::verify::VerifyOptions::default();
        options.diff.values = self.values;
        options.upstream = self.upstream.clone();
        options.allow_foreign_resources = self.allow_foreign_resources;
        let verified =
            ivs_vcr::verify::run(&recorded, &self.against, &options, |name, n, total| {
                eprintln!("[{n}/{total}] {name}");
            })
            .await
            .context("cannot start verifying")?;
        for error in &verified.transport_errors {
            eprintln!("warning: no answer: {error}");
        }
        for skipped in &verified.skipped {
            eprintln!("skipped: {skipped}");
        }
        eprintln!(
            "played {} request(s) from {} cassette(s){}",
            verified.n_requests,
            recorded.len(),
            match verified.skipped.len() {
                0 => String::new(),
                n => format!(", skipped {n} (listed above; not compared)"),
            }
        );
        let drift = print_report(&verified.report, self.format, self.fail_on)?;
        let skipped_fails = self.fail_on_skipped && !verified.skipped.is_empty();
        Ok(
            if drift == Outcome::Findings || !verified.transport_errors.is_empty() || skipped_fails
            {
                Outcome::Findings
            } else {
                Outcome::Clean
            },
        )
    }
}

/// When `record` forwards and when it replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordModeArg {
    /// Record when the cassette does not exist; replay it, forwarding nothing, when it does.
    Once,
    /// Replay what the cassette answers; forward and append what it does not.
    NewEpisodes,
    /// Forward everything and rewrite the cassette.
    All,
    /// Replay only; never touch the network.
    None,
}

/// Where `record` and `replay` listen: the arguments both share.
///
/// `--region` is not among them: record refuses a region that is not an AWS region name (it picks
/// the upstream host), while replay only matches on it, so the two differ in parsing and default.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Listening")]
pub struct ListenArgs {
    /// Port to listen on (default 7474); 0 picks a free port (printed at start).
    #[arg(
        short,
        long,
        hide_env = true,
        hide_default_value = true,
        env = "IVS_VCR_PORT",
        default_value_t = 7474
    )]
    pub port: u16,

    /// Address to listen on: an IP address, or `localhost` (default 127.0.0.1). Anything but
    /// loopback lets other machines use the server (and record's credentials).
    #[arg(long, hide_env = true, hide_default_value = true, env = "IVS_VCR_BIND", default_value = "127.0.0.1", value_parser = parse_bind)]
    pub bind: IpAddr,

    /// Also accept requests whose `Host` is this name (`name` or `name:port`), e.g. a container's
    /// service name; by default only the bound address and loopback names are, others get 403.
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        hide_env = true,
        env = "IVS_VCR_ALLOW_HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Stop as on SIGTERM when standard input ends: a parent holding the other end of the pipe
    /// (as the Python package does) ties the server's life to its own, even through SIGKILL.
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

/// An IP address, or `localhost` for the IPv4 loopback address (SDK endpoints say
/// `http://localhost:7474`, and IPv4 loopback is what they reach first).
fn parse_bind(text: &str) -> Result<IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not an IP address or `localhost` (like 127.0.0.1, ::1 or 0.0.0.0)")
    })
}

impl ListenArgs {
    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

/// What one cassette file may hold: the arguments of every command that loads cassettes
/// (`serve`, `replay`, `record`, `diff`, `verify`), under one heading with one short text each;
/// the memory figures behind the defaults are the README's (Limits). The nesting depth (128
/// levels) is fixed.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Cassette limits")]
pub struct CassetteLimitArgs {
    /// Refuse cassette files larger than this, in MiB (default 64). Loading takes up to 7 times a
    /// file's size in memory (up to 40 in other YAML styles): raise it only for files you trust.
    #[arg(long, value_name = "MIB", hide_env = true, hide_default_value = true, env = "IVS_VCR_MAX_CASSETTE_MIB", default_value = "64",
          value_parser = parse_mib)]
    pub max_cassette_mib: u64,

    /// Refuse cassette files holding more interactions than this (replay keeps about 1.2 KB per
    /// interaction); for a large cassette, raise --max-cassette-mib too.
    #[arg(
        long,
        value_name = "N",
        hide_env = true,
        env = "IVS_VCR_MAX_INTERACTIONS",
        default_value_t = 100_000
    )]
    pub max_interactions: usize,
}

/// A positive whole number of MiB.
fn parse_mib(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(mib) if mib > 0 => Ok(mib),
        _ => Err("expected a positive whole number of MiB, like 64".into()),
    }
}

impl CassetteLimitArgs {
    /// The size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_cassette_mib.saturating_mul(1024 * 1024)
    }

    /// The cassettes of a file or directory, as `diff` and `verify` read them.
    fn load(
        &self,
        path: &std::path::Path,
    ) -> Result<Vec<(PathBuf, ivs_vcr::Cassette)>, ivs_vcr::CassetteError> {
        load_cassettes_limited(path, self.max_bytes(), self.max_interactions)
    }
}

/// Arguments of `record`.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// Directory the cassettes are written to (created if missing). `IVS_VCR_CASSETTES` is read
    /// as replay reads it, a comma-separated list, which for record must hold one directory.
    #[arg(
        short,
        long = "cassettes",
        value_name = "DIR",
        env = "IVS_VCR_CASSETTES",
        value_delimiter = ',',
        required = true
    )]
    pub cassettes: Vec<PathBuf>,

    /// Cassette name for requests without a /cassette/<name>/ prefix; written to DIR/<name>.yaml.
    /// `/` makes subdirectories.
    #[arg(long, env = "IVS_VCR_NAME", default_value = DEFAULT_CASSETTE_NAME,
          value_parser = parse_cassette_name)]
    pub name: String,

    /// Region of requests that carry no SigV4 signature (signed requests name their own).
    #[arg(long, env = "IVS_VCR_REGION", value_parser = parse_region)]
    pub region: Option<String>,

    /// Upstream URL instead of https://ivs.<region>.amazonaws.com; `{region}` in it is replaced
    /// (e.g. https://ivs-fips.{region}.amazonaws.com). Plain http:// is allowed, for local fakes.
    #[arg(long, value_name = "URL", env = "IVS_VCR_UPSTREAM")]
    pub upstream: Option<String>,

    /// once: record a new cassette, replay an existing one; new-episodes: replay what matches,
    /// record the rest; all: record everything, rewriting; none: replay only.
    #[arg(long, value_enum, env = "IVS_VCR_RECORD_MODE", default_value = "once")]
    pub record_mode: RecordModeArg,

    /// Record upstream 5xx answers too (by default they are passed on, not recorded).
    #[arg(long, env = "IVS_VCR_RECORD_SERVER_ERRORS")]
    pub record_server_errors: bool,

    /// Replace the 12-digit account of every ARN with 000000000000 in what is written; replay
    /// maps incoming ARNs the same way.
    #[arg(long, env = "IVS_VCR_SCRUB_ACCOUNT")]
    pub scrub_account: bool,

    /// How long opening a connection to upstream may take before the request fails with 504
    /// IvsVcrUpstreamTimeoutException (like 500ms, 10s or 2m).
    #[arg(long, value_name = "DURATION", env = "IVS_VCR_CONNECT_TIMEOUT", default_value = "10s",
          value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// How long an upstream exchange may take, from sending the request to the last byte of the
    /// answer, before the request fails with 504 IvsVcrUpstreamTimeoutException.
    #[arg(long, value_name = "DURATION", env = "IVS_VCR_UPSTREAM_TIMEOUT", default_value = "60s",
          value_parser = parse_duration)]
    pub upstream_timeout: Duration,

    /// Inject a fault before forwarding (repeatable), as key=value pairs, e.g.
    /// `operation=CreateChannel,error=ThrottlingException,times=1`. An injected fault is never
    /// recorded. Rules can also be added while serving: POST /_ivs-vcr/faults.
    #[arg(long = "fault", value_name = "RULE", value_parser = parse_fault)]
    pub faults: Vec<FaultRule>,

    /// Most fault rules at once (default 1000; --fault and POST /_ivs-vcr/faults); more get 400.
    #[arg(hide_env = true, hide_default_value = true, long, value_name = "N", env = "IVS_VCR_MAX_FAULT_RULES", default_value_t = 1_000, value_parser = parse_count, help_heading = "Limits")]
    pub max_fault_rules: usize,

    // The flattened groups come last: each sets the help heading of what follows it.
    #[command(flatten)]
    pub listen: ListenArgs,

    /// What an existing cassette may hold: every mode reads it (once, new-episodes and none replay
    /// from it; all keeps its matching options).
    #[command(flatten)]
    pub limits: CassetteLimitArgs,
}

fn parse_cassette_name(name: &str) -> Result<String, String> {
    if ivs_vcr::__private::is_valid_cassette_name(name) {
        Ok(name.to_owned())
    } else {
        Err("use letters, digits, `-`, `_`, `.`, and `/` between names, without `..`".into())
    }
}

/// A positive duration: a number with the unit `ms`, `s` or `m` (a bare number is seconds).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1_000)
    };
    let bad = || "expected a positive whole number with `ms`, `s` or `m`, like `10s`".to_owned();
    let n: u64 = number.parse().map_err(|_| bad())?;
    match n.checked_mul(unit_ms) {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(bad()),
    }
}

/// An origin as browsers send it in `Origin`: `http(s)://host[:port]`, or `null`.
fn parse_origin(origin: &str) -> Result<String, String> {
    ivs_vcr::__private::normalize_origin(origin).ok_or_else(|| {
        "expected an origin as browsers send it: `http://host[:port]` or `https://host[:port]`, \
         with no path (like https://app.test:8443), or `null`"
            .into()
    })
}

fn parse_region(region: &str) -> Result<String, String> {
    if normalize::is_valid_region(region) {
        Ok(region.to_owned())
    } else {
        Err("not an AWS region name (like `us-west-2`)".into())
    }
}

impl RecordArgs {
    pub async fn run(self) -> anyhow::Result<Outcome> {
        let mode = match self.record_mode {
            RecordModeArg::Once => RecordMode::Once,
            RecordModeArg::NewEpisodes => RecordMode::NewEpisodes,
            RecordModeArg::All => RecordMode::All,
            RecordModeArg::None => RecordMode::None,
        };
        let [dir] = self.cassettes.as_slice() else {
            anyhow::bail!(
                "record writes to one directory, but --cassettes (or IVS_VCR_CASSETTES) names {}: {}",
                self.cassettes.len(),
                self.cassettes
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let mut builder = RecordServer::builder(dir)
            .name(&self.name)
            .bind(self.listen.addr())
            .mode(mode)
            .record_server_errors(self.record_server_errors)
            .scrub_account(self.scrub_account)
            .connect_timeout(self.connect_timeout)
            .upstream_timeout(self.upstream_timeout)
            .max_cassette_bytes(self.limits.max_bytes())
            .max_interactions(self.limits.max_interactions);
        for host in &self.listen.allowed_hosts {
            builder = builder.allow_host(host);
        }
        if let Some(region) = &self.region {
            builder = builder.region(region);
        }
        if let Some(upstream) = &self.upstream {
            builder = builder.upstream(upstream);
        }
        for rule in &self.faults {
            builder = builder.fault(rule.clone());
        }
        builder = builder.max_fault_rules(self.max_fault_rules);
        let server = builder
            .start()
            .await
            .context("cannot start the record server")?;
        let stop = stop_signal(self.listen.exit_on_stdin_close)?;
        out!("ivs-vcr record listening on {}", server.uri())?;
        out!(
            "recording to {} (record mode {mode}), forwarding to {}",
            server.cassette_path().display(),
            self.upstream.as_deref().unwrap_or(AWS_ENDPOINT),
        )?;
        out!(
            "point clients at it with: {}",
            endpoint_exports(&server.uri())
        )?;
        stop.await;
        let summary = server.shutdown().await;
        out!("{summary}")?;
        Ok(if summary.is_clean() {
            Outcome::Clean
        } else {
            Outcome::Findings
        })
    }
}

/// How strictly replay matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MatchArg {
    /// Method, path, query, region and body must all be equal.
    Exact,
    /// Exact first, else any recorded success (marked `x-ivs-vcr-match: operation`).
    Operation,
}

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
    /// keys: operation, error, status, times, rate (0-1), delay_ms, connection (reset|empty),
    /// retry_after_ms, message, seed; or POST /_ivs-vcr/faults while serving.
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

    /// RTMP ingest port (0: free); publish to rtmp://127.0.0.1:PORT/app/<streamKey>.
    #[arg(
        hide_env = true,
        long,
        value_name = "PORT",
        env = "IVS_VCR_RTMP_PORT",
        help_heading = "Live video"
    )]
    pub rtmp_port: Option<u16>,

    /// HLS playback port (0: free); --playback-urls-here points playbackUrl at it.
    #[arg(
        hide_env = true,
        long,
        value_name = "PORT",
        env = "IVS_VCR_PLAYBACK_PORT",
        help_heading = "Live video"
    )]
    pub playback_port: Option<u16>,

    /// Make channels' playbackUrl point at --playback-port instead of IVS's playback host.
    #[arg(
        hide_env = true,
        long,
        env = "IVS_VCR_PLAYBACK_URLS_HERE",
        requires = "playback_port",
        help_heading = "Live video"
    )]
    pub playback_urls_here: bool,

    /// POST each EventBridge event IVS would send (stream, health, recording) to this http:// URL.
    #[arg(
        hide_env = true,
        long,
        value_name = "URL",
        env = "IVS_VCR_EVENTS_URL",
        value_parser = parse_events_url,
        help_heading = "Live video"
    )]
    pub events_url: Option<String>,

    /// Write recordings to DIR/<bucket>/<S3 prefix>/, in IVS's layout.
    #[arg(
        hide_env = true,
        long,
        value_name = "DIR",
        env = "IVS_VCR_RECORDINGS_DIR",
        help_heading = "Live video"
    )]
    pub recordings_dir: Option<PathBuf>,

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

    // The flattened groups come last: each sets the help heading of what follows it.
    #[command(flatten)]
    pub listen: ListenArgs,

    #[command(flatten)]
    pub limits: CassetteLimitArgs,
}

/// What a finished command asks of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything as expected.
    Clean,
    /// The command ran and found something to report (unmatched requests, drift).
    Findings,
}

/// What `--on-miss` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnMissArg {
    /// Answer 400 IvsVcrUnmatchedRequestException, naming the nearest recording.
    Error,
    /// Answer from the emulator.
    Emulate,
}

fn parse_account(account: &str) -> Result<String, String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account.to_owned())
    } else {
        Err(format!("`{account}` is not a 12-digit AWS account id"))
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

/// A count of at least 1 (a limit of 0 would refuse everything).
fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a whole number of at least 1")),
    }
}

/// `FUNCTION_ARN=URL`: a Lambda function's ARN and the `http://` endpoint standing for it.
fn parse_account_for(text: &str) -> Result<(String, String), String> {
    let Some((key, account)) = text.split_once('=') else {
        return Err(
            "expected KEY=ACCOUNT: an access key id, `=`, a 12-digit account id".to_owned(),
        );
    };
    let key = key.trim();
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the access key id must be 1 to 128 visible ASCII characters".to_owned());
    }
    Ok((key.to_owned(), parse_account(account.trim())?))
}

fn parse_review_handler(text: &str) -> Result<(String, String), String> {
    let Some((arn, url)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not FUNCTION_ARN=URL (arn:aws:lambda:<region>:<account>:function:<name>=http://127.0.0.1:<port>/)"
        ));
    };
    if !arn.starts_with("arn:aws:lambda:") || !arn.contains(":function:") {
        return Err(format!(
            "`{arn}` is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"
        ));
    }
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {
            Ok((arn.to_owned(), url.to_owned()))
        }
        _ => Err(format!(
            "`{url}` is not an http:// URL (the review endpoint is local; https is not spoken)"
        )),
    }
}

fn parse_events_url(url: &str) -> Result<String, String> {
    ivs_vcr::__private::check_events_url(url).map(|()| url.to_owned())
}

fn parse_fault(rule: &str) -> Result<FaultRule, String> {
    FaultRule::from_cli(rule).map_err(|e| e.to_string())
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
            .playback_urls_here(self.playback_urls_here);
        if let Some(port) = self.rtmp_port {
            builder = builder.rtmp(SocketAddr::new(self.listen.bind, port));
        }
        if let Some(port) = self.playback_port {
            builder = builder.playback(SocketAddr::new(self.listen.bind, port));
        }
        for (arn, url) in &self.chat_review_handlers {
            builder = builder.chat_review_handler(arn, url);
        }
        if let Some(url) = &self.events_url {
            builder = builder.events_url(url);
        }
        builder = builder.max_events(self.max_events);
        if let Some(path) = &self.state_file {
            builder = builder.state_file(path);
        }
        if let Some(dir) = &self.recordings_dir {
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

/// Listens for Ctrl-C and SIGTERM from now on, and returns a future that resolves on the first.
///
/// Called before the `listening` line is printed: a supervisor or test may signal as soon as it
/// reads that line, and a signal that comes before its handler exists kills the process without
/// the summary or the last cassette write.
fn stop_signal(exit_on_stdin_close: bool) -> anyhow::Result<impl std::future::Future<Output = ()>> {
    let stdin_closed = exit_on_stdin_close.then(stdin_closed);
    #[cfg(unix)]
    let stopped = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let stopped = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(async move {
        match stdin_closed {
            Some(closed) => {
                tokio::select! {
                    _ = stopped => {}
                    _ = closed => tracing::info!("standard input closed"),
                }
            }
            None => stopped.await,
        }
        tracing::info!("stopping: finishing in-flight requests");
    })
}

/// Resolves once standard input reaches its end (or fails). Read on a thread of its own, not
/// tokio's blocking pool: a read that never ends must not hold the runtime's shutdown, and the
/// process exits past a detached thread.
fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (closed, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        use std::io::Read as _;
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 1024];
        // Whatever the parent writes is ignored; only the end counts.
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = closed.send(());
    });
    receiver
}

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormatArg {
    /// A report grouped by operation and file, coloured on a terminal unless NO_COLOR is set.
    Text,
    /// `{"summary": {…}, "findings": [{severity, kind, operation, path, old_file, new_file,
    /// old, new}, …]}`.
    Json,
    /// A summary and a table, for a CI comment.
    Markdown,
}

/// Which drift makes `diff` exit with status 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Any breaking or additive change.
    Any,
    /// Breaking changes only.
    Breaking,
}

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The baseline: a cassette file, or a directory of cassettes.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,

    /// What to compare with the baseline (a cassette file or directory), e.g. a re-recording.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormatArg,

    /// Which drift makes the exit status 1.
    #[arg(long, value_enum, default_value = "any")]
    pub fail_on: FailOnArg,

    /// Also report values that changed (severity info, never part of the exit status); values
    /// that change on every recording are still left out.
    #[arg(long)]
    pub values: bool,

    #[command(flatten)]
    pub limits: CassetteLimitArgs,
}

impl DiffArgs {
    pub fn run(self) -> anyhow::Result<Outcome> {
        use ivs_vcr::diff;

        let old = (self.limits)
            .load(&self.old)
            .context("cannot load the OLD cassettes")?;
        let new = (self.limits)
            .load(&self.new)
            .context("cannot load the NEW cassettes")?;
        let mut options = diff::DiffOptions::default();
        options.values = self.values;
        let report = diff::diff_with(&old, &new, &options);
        print_report(&report, self.format, self.fail_on)
    }
}

/// Prints a drift report (`diff`'s and `verify`'s) in the chosen format, and says whether it
/// fails the run under `--fail-on`.
fn print_report(
    report: &ivs_vcr::diff::DiffReport,
    format: DiffFormatArg,
    fail_on: FailOnArg,
) -> anyhow::Result<Outcome> {
    use ivs_vcr::diff::FailOn;
    use std::io::Write as _;

    let text = match format {
        DiffFormatArg::Text => report.render_text(stdout_wants_color()),
        DiffFormatArg::Json => report.to_json(),
        DiffFormatArg::Markdown => report.to_markdown(),
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .and_then(|()| std::io::stdout().flush())
        .context("cannot write the report")?;
    let fail_on = match fail_on {
        FailOnArg::Any => FailOn::Any,
        FailOnArg::Breaking => FailOn::Breaking,
    };
    Ok(if report.fails(fail_on) {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// Colour only for a terminal, and never when NO_COLOR is set to anything (no-color.org).
fn stdout_wants_color() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `export AWS_ENDPOINT_URL_IVS=<uri> AWS_ENDPOINT_URL_IVSCHAT=<uri> …`: one server answers every
/// service of the family, each SDK finding it under its own variable.
fn endpoint_exports(uri: &str) -> String {
    let vars: Vec<String> = ivs_vcr::ivs::Service::ALL
        .iter()
        .map(|service| format!("{}={uri}", service.endpoint_env()))
        .collect();
    format!("export {}", vars.join(" "))
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

    #[test]
    fn bind_takes_addresses_and_localhost() {
        assert_eq!(parse_bind("localhost"), Ok(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(parse_bind("::1"), Ok("::1".parse().unwrap()));
        assert_eq!(parse_bind("0.0.0.0"), Ok(IpAddr::from([0, 0, 0, 0])));
        assert!(parse_bind("example.com")
            .unwrap_err()
            .contains("not an IP address or `localhost`"));
    }

    #[test]
    fn aws_config_is_capped_at_error_unless_named() {
        // Regression, issue 11 §6: aws_config's `info` events name the access key id.
        let filter = log_filter(None).to_string();
        assert!(filter.contains("aws_config=error"), "{filter}");
        let filter = log_filter(Some("info,aws_config=debug")).to_string();
        assert!(!filter.contains("aws_config=error"), "{filter}");
    }

    #[test]
    fn durations() {
        let check = |text: &str, expected: Option<Duration>| {
            assert_eq!(parse_duration(text).ok(), expected, "{text}");
        };
        check("250ms", Some(Duration::from_millis(250)));
        check("10s", Some(Duration::from_secs(10)));
        check("2m", Some(Duration::from_secs(120)));
        check("30", Some(Duration::from_secs(30)));
        check("0s", None);
        check("-1s", None);
        check("1.5s", None);
        check("10h", None);
        check("", None);
    }
}
