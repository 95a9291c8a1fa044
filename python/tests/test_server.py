"""Finding the executable and running servers with ivs_vcr.Server: start-up, failures, stop."""

from __future__ import annotations

import importlib.metadata
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

import ivs_vcr
from ivs_vcr import BinaryNotFoundError, Server, ServerError, binary_path

from conftest import run_inner


def fake_binary(tmp_path: Path, body: str) -> str:
    """An executable Python script standing in for ivs-vcr."""
    path = tmp_path / "fake-ivs-vcr"
    path.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_version_runs_and_matches_the_package() -> None:
    out = subprocess.run([binary_path(), "--version"], capture_output=True, text=True, timeout=30, check=True)
    match = re.fullmatch(r"ivs-vcr (\S+)\s*", out.stdout)
    assert match, out.stdout
    try:
        installed = importlib.metadata.version("ivs-vcr")
    except importlib.metadata.PackageNotFoundError:
        return  # running from a source tree with IVS_VCR_BIN: no wheel metadata to compare
    if not os.environ.get(ivs_vcr.BIN_ENV):
        assert match.group(1) == installed


def test_bin_env_override_must_be_an_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IVS_VCR_BIN", str(tmp_path / "nope"))
    with pytest.raises(BinaryNotFoundError, match=r"IVS_VCR_BIN=.*nope is not an executable file"):
        binary_path()


def test_bin_env_override_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = fake_binary(tmp_path, "")
    monkeypatch.setenv("IVS_VCR_BIN", fake)
    assert binary_path() == fake


def test_serve_is_the_emulator_by_its_own_name() -> None:
    # Issue 28 §2: `ivs-vcr serve` is the main job's name; it runs what `replay` runs.
    with Server("serve") as server:
        assert server.mode == "serve"
        assert server.health()["mode"] == "emulate"
        ivs = boto3.client(
            "ivs",
            endpoint_url=server.url,
            region_name="us-west-2",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        arn = ivs.create_channel(name="demo")["channel"]["arn"]
        assert ivs.get_channel(arn=arn)["channel"]["name"] == "demo"


def test_server_listens_on_a_free_port_and_stops_cleanly() -> None:
    server = Server("replay")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url), server.url
    assert server.alive
    result = server.stop()
    assert result.returncode == 0, result.stderr_tail
    assert not server.alive
    assert server.stop() is result


def test_server_that_exits_at_start_is_explained(tmp_path: Path) -> None:
    fake = fake_binary(tmp_path, "print('no credentials found', file=sys.stderr); sys.exit(2)")
    with pytest.raises(ServerError) as info:
        Server("record", binary=fake)
    text = str(info.value)
    assert "did not start: it exited with code 2" in text
    assert "no credentials found" in text


def test_server_that_says_nothing_times_out(tmp_path: Path) -> None:
    fake = fake_binary(tmp_path, "time.sleep(30)")
    with pytest.raises(ServerError, match=r"printed nothing within 0.5s"):
        Server("replay", binary=fake, startup_timeout=0.5)


def test_server_that_dies_later_is_reported_with_its_stderr(tmp_path: Path) -> None:
    fake = fake_binary(
        tmp_path,
        "print('ivs-vcr replay listening on http://127.0.0.1:9', flush=True)\n"
        "print('thread panicked: boom', file=sys.stderr)\nsys.exit(101)",
    )
    server = Server("replay", binary=fake)
    server._proc.wait(10)
    with pytest.raises(ServerError) as info:
        server.summary()
    assert "exited with code 101" in str(info.value)
    assert "thread panicked: boom" in str(info.value)
    assert server.stop().returncode == 101


def test_plugin_reports_a_dead_server_with_its_stderr_tail(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_binary(
        tmp_path,
        "print('ivs-vcr replay listening on http://127.0.0.1:9', flush=True)\n"
        "print('fatal: cannot bind', file=sys.stderr)\nsys.exit(2)",
    )
    pytester.makepyfile("def test_it(ivs_vcr):\n    pass\n")
    monkeypatch.setenv("IVS_VCR_BIN", fake)
    result = run_inner(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*exited with code 2*", "*fatal: cannot bind*"])


FAKE_RECORDER = r'''
import json, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

# Like ivs-vcr, stop cleanly on SIGTERM, so that the plugin has no exit code to warn about.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

unmatched = []

class Handler(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_ivs-vcr/summary":
            self._answer(200, {"mode": "record", "operations": {}, "unmatched": unmatched, "unused": []})
        else:
            self._answer(200, {"faults": []})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/cassette/"):
            name, op = self.path[len("/cassette/"):].rsplit("/", 1)
            unmatched.append({"operation": op, "cassette": name, "report": f"fake report for {op} in {name}"})
            self._answer(400, {"message": "unmatched"})
        else:
            self._answer(200, {})

    do_DELETE = do_POST

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(f"ivs-vcr {sys.argv[1]} listening on http://127.0.0.1:{server.server_port}", flush=True)
server.serve_forever()
'''


def test_plugin_fails_only_the_test_whose_cassette_went_unmatched(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin's bookkeeping alone, against a stand-in server whose every IVS request is
    unmatched: each test sees only its own cassette's entries, and only new ones."""
    monkeypatch.setenv("IVS_VCR_BIN", fake_binary(tmp_path, FAKE_RECORDER))
    for name in ("test_first", "test_second", "test_third"):
        pytester.makefile(".yaml", **{f"cassettes/test_inner/{name}": "format: 1\n"})
    pytester.makepyfile(
        test_inner='''
import urllib.error, urllib.request, pytest

def call(url, op):
    try:
        urllib.request.urlopen(urllib.request.Request(f"{url}/{op}", data=b"{}", method="POST"))
    except urllib.error.HTTPError:
        pass

@pytest.mark.ivs_vcr
def test_first(ivs_vcr):
    call(ivs_vcr.url, "GetChannel")

@pytest.mark.ivs_vcr
def test_second(ivs_vcr):
    pass

@pytest.mark.ivs_vcr
def test_third(ivs_vcr):
    call(ivs_vcr.url, "ListChannels")
'''
    )
    result = run_inner(pytester, "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ivs-vcr: cassette `*test_first.yaml` (--ivs-record-mode none):",
            "unmatched GetChannel request:",
            "fake report for GetChannel in cassettes/test_inner/test_first",
        ]
    )
    result.stdout.fnmatch_lines(["unmatched ListChannels request:", "fake report for ListChannels in cassettes/test_inner/test_third"])
    # Count in the failure reports only: the short summary repeats each message in full where
    # pytest does not truncate it (it does not under CI=1).
    out = result.stdout.str()
    reports = out.split("short test summary info")[0]
    assert reports.count("fake report for GetChannel") == 1, out
    assert reports.count("fake report for ListChannels") == 1, out


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (POSIX): no such process, or a zombie nobody reaps (an
    orphan's new parent in a container may never reap it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            return stat_file.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


# Waits until the server has printed all its start-up lines: one printed after the parent died
# would meet a closed stdout and end the server, which would hide the bug.
_ORPHAN_PARENT = """
import sys, time
from ivs_vcr import Server
server = Server(sys.argv[1], sys.argv[2:])
deadline = time.monotonic() + 10
while not any(l.startswith("point clients at it") for l in list(server._stdout_tail)):
    assert time.monotonic() < deadline, "no start-up lines"
    time.sleep(0.01)
print(server.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(os.name == "nt", reason="checks the orphan with POSIX signals")
@pytest.mark.parametrize("mode", ["replay", "record"])
def test_server_stops_when_the_process_that_started_it_is_killed(mode: str, tmp_path: Path) -> None:
    # Regression, security issue finding 7: SIGKILLed pytest left its server running under PID 1
    # (in record mode, a signer with the operator's credentials that nobody would stop).
    args = ["--cassettes", str(tmp_path), "--record-mode", "none"] if mode == "record" else []
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_PARENT, mode, *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"the parent printed {line!r}"
        server_pid = int(line)
        assert not _gone(server_pid)
        parent.kill()  # SIGKILL: no finally, no atexit, no fixture teardown runs
        parent.wait(10)
        deadline = time.monotonic() + 10
        while not _gone(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(server_pid), f"ivs-vcr {mode} (pid {server_pid}) outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
