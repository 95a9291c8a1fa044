//! The `ivs-vcr` binary: parse the command line, run it, map the outcome to an exit code.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

/// Exit codes, in one place: 0 = ok, 1 = findings (unmatched requests, API drift), 2 = error.
const EXIT_OK: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(cli::log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: formatting them into every request's span costs
        // more than the rest of the span, and a log file or a CI capture only shows them raw.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            cli::Command::Serve(args) => args.run("serve").await,
            cli::Command::Replay(args) => args.run("replay").await,
            cli::Command::Record(args) => args.run().await,
            cli::Command::Diff(args) => args.run(),
            cli::Command::Verify(args) => args.run().await,
        }
    });
    match result {
        Ok(cli::Outcome::Clean) => ExitCode::from(EXIT_OK),
        Ok(cli::Outcome::Findings) => ExitCode::from(EXIT_FINDINGS),
        // A reader that closed its end of the pipe (`| head -1`) took all it wanted.
        Err(err) if cli::is_closed_pipe(&err) => ExitCode::from(EXIT_OK),
        Err(err) => {
            eprintln!("error: {err:#}");
            if let Some(hint) = cli::hint(&err) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}
