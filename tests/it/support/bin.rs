//! Running the real `ivs-vcr` binary: start it, find its URL, stop it with SIGTERM or kill it with
//! SIGKILL, read its output.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long any wait on the binary may take before the test fails instead of hanging.
const WAIT: Duration = Duration::from_secs(30);

/// A running `ivs-vcr` process, killed if the test ends early.
pub struct IvsVcr {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr_log: tempfile::NamedTempFile,
    /// The stdout lines read so far.
    pub stdout: Vec<String>,
}

/// What a stopped `ivs-vcr` left behind.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

impl Finished {
    /// Asserts the exit code, printing both outputs when it is another.
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(
            self.status.code(),
            Some(code),
            "{}\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// A `Command` for the binary with the `IVS_VCR_*` variables of the caller's environment removed,
/// so a developer's settings never leak into a test.
pub fn command(args: &[&str], workdir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ivs-vcr"));
    command.args(args).current_dir(workdir).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("IVS_VCR_") {
            command.env_remove(key);
        }
    }
    command
}

/// Runs the binary to completion (for commands that end by themselves).
pub fn run(args: &[&str], workdir: &Path) -> Finished {
    let output = command(args, workdir)
        .output()
        .expect("the ivs-vcr binary runs");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `ivs-vcr record` writing the cassette `name` into `dir` from `upstream`, started with nothing
/// in its environment but `PATH`, the operator's key ([`super::OPERATOR_KEY`], no session
/// token) and `RUST_LOG=trace`, so that its log is as talkative as it gets. Its first line says
/// where it listens.
pub fn record_as_operator(name: &str, upstream: &str, dir: &Path) -> IvsVcr {
    let mut command = command(
        &[
            "record",
            "--port",
            "0",
            "--name",
            name,
            "--upstream",
            upstream,
        ],
        dir,
    );
    command
        .arg("--cassettes")
        .arg(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", super::OPERATOR_KEY)
        .env("AWS_SECRET_ACCESS_KEY", super::OPERATOR_SECRET)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("RUST_LOG", "trace");
    let recorder = IvsVcr::spawn(command);
    assert!(
        recorder.stdout[0].starts_with("ivs-vcr record listening on "),
        "unexpected first line: {}",
        recorder.stdout[0]
    );
    recorder
}

impl IvsVcr {
    /// Starts the binary and waits for the line `… listening on http://…`.
    pub fn start(args: &[&str], workdir: &Path) -> IvsVcr {
        IvsVcr::spawn(command(args, workdir))
    }

    /// Starts a prepared [`command`] (with its own environment) and waits for the line
    /// `… listening on http://…`.
    pub fn spawn(mut command: Command) -> IvsVcr {
        let stderr_log = tempfile::NamedTempFile::new().unwrap();
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr_log.reopen().unwrap())
            .spawn()
            .expect("the ivs-vcr binary starts");
        // Read stdout on a thread, so that a silent binary fails the test instead of hanging it.
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut this = IvsVcr {
            child,
            lines,
            stderr_log,
            stdout: Vec::new(),
        };
        while this.uri().is_none() {
            match this.lines.recv_timeout(WAIT) {
                Ok(line) => this.stdout.push(line),
                Err(_) => panic!(
                    "no `listening on` line; stdout:\n{}\nstderr:\n{}",
                    this.stdout.join("\n"),
                    this.stderr()
                ),
            }
        }
        this
    }

    /// The URL from the `listening on` line.
    pub fn uri(&self) -> Option<String> {
        self.stdout.iter().find_map(|l| {
            l.split_once("listening on ")
                .map(|(_, uri)| uri.trim().to_owned())
        })
    }

    /// The bound address.
    pub fn addr(&self) -> std::net::SocketAddr {
        let uri = self.uri().unwrap();
        uri.strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("`{uri}` is not http://<address>"))
    }

    /// What the binary printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr_log.path()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to end.
    pub fn stop(mut self) -> Finished {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "ivs-vcr still runs {WAIT:?} after SIGTERM; stdout:\n{}",
                    self.stdout.join("\n")
                ),
            }
        }
        let status = self.child.wait().unwrap();
        Finished {
            status,
            stdout: self.stdout.join("\n"),
            stderr: self.stderr(),
        }
    }
}

impl IvsVcr {
    /// Closes the binary's standard input (started with `Stdio::piped()`), as a parent's death
    /// would, and waits up to `bound` for the process to end: `None` if it still runs.
    pub fn close_stdin(&mut self, bound: Duration) -> Option<ExitStatus> {
        drop(self.child.stdin.take().expect("stdin is a pipe"));
        let deadline = std::time::Instant::now() + bound;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the process with SIGKILL, which it cannot catch, and waits for it to end.
    pub fn kill(mut self) -> ExitStatus {
        // `Child::kill` sends SIGKILL on Unix.
        self.child.kill().unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for IvsVcr {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
