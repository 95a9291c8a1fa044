//! `ivs-vcr diff`: API drift between two cassette sets, and the drift report `verify` prints too
//! ([`print_report`] with its `--format` and `--fail-on`).
//!
//! The comparison itself is the library's `ivs_vcr::diff`; this file loads both sides under the
//! cassette limits, renders the report and turns `--fail-on` into the [`Outcome`].

use std::path::PathBuf;

use anyhow::Context as _;
use clap::ValueEnum;

use super::args::CassetteLimitArgs;
use super::Outcome;

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

impl DiffArgs {
    /// Loads OLD and NEW, prints the report, and says whether it fails under `--fail-on`.
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
pub(super) fn print_report(
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
