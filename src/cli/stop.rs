//! When a server subcommand (`serve`/`replay`, `record`) stops: Ctrl-C, SIGTERM, or, with
//! `--exit-on-stdin-close`, the end of standard input.
//!
//! The subcommands await [`stop_signal`]'s future, then shut their server down, which finishes
//! in-flight requests and writes what is kept (record's cassettes, replay's `--state-file`)
//! before the summary is printed.

use anyhow::Context as _;

/// Listens for Ctrl-C and SIGTERM from now on, and returns a future that resolves on the first.
///
/// Called before the `listening` line is printed: a supervisor or test may signal as soon as it
/// reads that line, and a signal that comes before its handler exists kills the process without
/// the summary or the last cassette write.
pub(super) fn stop_signal(
    exit_on_stdin_close: bool,
) -> anyhow::Result<impl std::future::Future<Output = ()>> {
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
