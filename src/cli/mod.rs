//! The command line: clap definitions, and their conversion into library calls.
//!
//! `Cli` is parsed once in `main`; each subcommand's `run` turns its arguments into the library's
//! builders and options and returns the process outcome. Only this module and `main.rs` use
//! anyhow.
//!
//! This file holds the top level (`Cli`, `Command`, `Outcome`) and what every subcommand shares:
//! printing to stdout ([`print_line`] and `out!`), the log filter, the hint after an error. One
//! file per subcommand holds its arguments and its `run`, in the style of cargo's
//! `src/bin/cargo/commands/`: `replay` (`serve`, `emulate`, `replay`), `record`, `diff` (and the
//! drift report `verify` prints too), `verify`. Beside them: `args` (the argument groups several
//! subcommands flatten in), `parse` (the value parsers, pure), `stop` (Ctrl-C, SIGTERM, the end of
//! standard input).

mod args;
mod diff;
mod parse;
mod record;
mod replay;
mod stop;
mod verify;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use self::diff::DiffArgs;
use self::record::RecordArgs;
use self::replay::ReplayArgs;
use self::verify::VerifyArgs;

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

/// What a finished command asks of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything as expected.
    Clean,
    /// The command ran and found something to report (unmatched requests, drift).
    Findings,
}

/// Prints a line on stdout, returning the error println! would panic with. A closed pipe
/// (`ivs-vcr diff A B | head -1`) is one; `main` ends quietly on it (see [`is_closed_pipe`]).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::print_line(format_args!($($arg)*))
    };
}
use out;

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
    fn aws_config_is_capped_at_error_unless_named() {
        // Regression, issue 11 §6: aws_config's `info` events name the access key id.
        let filter = log_filter(None).to_string();
        assert!(filter.contains("aws_config=error"), "{filter}");
        let filter = log_filter(Some("info,aws_config=debug")).to_string();
        assert!(!filter.contains("aws_config=error"), "{filter}");
    }
}
