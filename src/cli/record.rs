//! `ivs-vcr record`: the reverse proxy that forwards to AWS (or `--upstream`), re-signed, and
//! writes what it saw as cassettes.
//!
//! The proxy is the library's `RecordServer`; this file turns the flags into its builder, prints
//! where it listens and what it records, and waits for the [stop signal](super::stop) before
//! writing the cassettes and printing the summary.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::ValueEnum;

use ivs_vcr::__private::{FaultRule, AWS_ENDPOINT, DEFAULT_CASSETTE_NAME};
use ivs_vcr::{RecordMode, RecordServer};

use super::args::{CassetteLimitArgs, ListenArgs};
use super::parse::{parse_cassette_name, parse_count, parse_duration, parse_fault, parse_region};
use super::stop::stop_signal;
use super::{endpoint_exports, out, Outcome};

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
    /// recorded; `account=<12 digits>` limits it to requests signed with that access key id.
    /// Rules can also be added while serving: POST /_ivs-vcr/faults.
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

impl RecordArgs {
    /// Records until stopped, then writes the cassettes and prints the summary.
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
