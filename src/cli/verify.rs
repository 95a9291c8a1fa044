//! `ivs-vcr verify`: play recorded flows against a target (the emulator, a URL, or AWS) and
//! report where its answers differ, as `diff` reports drift.
//!
//! The playing is the library's `ivs_vcr::verify`; this file checks the flags that only go with
//! `--against aws`, loads the cassettes under the cassette limits, prints progress, skipped
//! requests and transport errors on stderr, and the report through `diff`'s [`print_report`].

use std::path::PathBuf;

use anyhow::Context as _;

use super::args::CassetteLimitArgs;
use super::diff::{print_report, DiffFormatArg, FailOnArg};
use super::Outcome;

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
    /// Plays every cassette against the target and prints the report.
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
