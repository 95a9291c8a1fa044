"""Running an ``ivs-vcr`` server as a child process, and its control plane under ``/_ivs-vcr/``.

:class:`RemoteServer` wraps the control-plane calls (reset, summary, state and its snapshot,
restore and save, streams, events, stage joins, faults) of a server at a URL with urllib;
:class:`Server` is one it starts itself: ``ivs-vcr replay|record … --port 0``, waiting for the
line that says where it listens.
Its stderr goes to a temporary file, so that a server that dies can be explained by its last lines.

The server's life is tied to this process's: it is started with ``--exit-on-stdin-close`` and a pipe
as its stdin, whose writing end only this process holds. When this process ends, however it ends
(SIGKILL included, which no ``atexit`` or ``finally`` sees), the operating system closes that end,
the server reads end-of-file and stops as on SIGTERM. This holds on Linux, macOS and Windows alike,
so no record server holding the operator's credentials outlives the test run that started it.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import IO, Any, Deque, Dict, List, Mapping, Optional, Sequence, TypedDict

from ._binary import binary_path

#: The first stdout line of every server: ``ivs-vcr replay listening on http://127.0.0.1:PORT``.
_LISTENING = re.compile(r"^ivs-vcr (\w+) listening on (http://\S+)\s*$")

#: Terminal colour codes, taken out of log tails shown in test reports.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: The control plane's path prefix.
CONTROL_PREFIX = "/_ivs-vcr"

#: One EventBridge event the emulator sent, in the envelope EventBridge delivers to a rule's
#: target (``detail-type`` is not a Python name, hence the functional form).
EventBridgeEvent = TypedDict(
    "EventBridgeEvent",
    {
        "version": str,
        "id": str,
        "detail-type": str,
        "source": str,
        "account": str,
        "time": str,
        "region": str,
        "resources": List[str],
        "detail": Dict[str, Any],
    },
)


class ServerError(RuntimeError):
    """A server could not start, or died; the message carries its exit code and stderr tail."""


class ControlPlaneError(RuntimeError):
    """A control-plane call was refused.

    ``status`` is the HTTP status, ``error_type`` the ``x-amzn-ErrorType`` (if any) and
    ``message`` the server's explanation.
    """

    def __init__(self, method: str, path: str, status: int, error_type: Optional[str], message: str):
        self.method = method
        self.path = path
        self.status = status
        self.error_type = error_type
        self.message = message
        kind = f" {error_type}" if error_type else ""
        super().__init__(f"{method} {path} answered {status}{kind}: {message}")


class ControlPlaneMissing(ControlPlaneError):
    """The server does not know a control-plane endpoint (it answered 404 as to an unknown IVS
    operation): the ``ivs-vcr`` binary is older than this Python package."""

    def __str__(self) -> str:
        return (
            f"this ivs-vcr has no `{self.method} {self.path}` endpoint (it answered {self.status} "
            f"{self.error_type}); use an ivs-vcr as new as this Python package"
        )


@dataclass(frozen=True)
class StopResult:
    """How a server ended: its exit code (negative: killed by that signal) and its last output."""

    returncode: int
    stderr_tail: str
    stdout_tail: str


@dataclass(frozen=True)
class StageJoin:
    """A participant the emulator joined to a stage (:meth:`Server.join_stage`): IVS's own ids,
    as ``GetParticipant``, ``ListParticipants`` and ``GetStageSession`` name them."""

    #: The participant's id (the token's ``participantId``).
    participant_id: str
    #: The ARN of the stage joined.
    stage_arn: str
    #: The id of the stage session the participant is in (the first join starts one).
    session_id: str


class RemoteServer:
    """The control plane of an ``ivs-vcr`` server that runs already, reached at ``url``: one
    that CI started for every job, or that another process owns. :class:`Server` is the same
    with a process of its own.

    One server serves many parallel workers when each signs its requests with its own 12-digit
    access key id, which the server takes as the account: ``reset``, ``summary``, ``state`` and
    ``events`` then take that ``account`` to touch or read one worker's part only.
    """

    def __init__(self, url: str, *, request_timeout: float = 30.0) -> None:
        """Checks nothing: the first call says whether a server answers at ``url``."""
        self.url = url.rstrip("/")
        self.request_timeout = request_timeout

    def __repr__(self) -> str:
        return f"<ivs_vcr.RemoteServer {self.url}>"

    @property
    def alive(self) -> bool:
        """Whether the server is known to run: one of another process is taken to, until a call
        to it fails (:class:`Server` knows of its own process)."""
        return True

    # -- control plane ---------------------------------------------------------------------

    def request(self, method: str, path: str, body: Optional[Any] = None) -> Any:
        """Calls a control-plane endpoint (``path`` under ``/_ivs-vcr/``, or absolute) with a
        JSON body and returns the decoded JSON answer (``None`` for an empty one).

        Raises :class:`ControlPlaneMissing` when the server does not know the endpoint, and
        :class:`ControlPlaneError` for any other refusal."""
        if not path.startswith("/"):
            path = f"{CONTROL_PREFIX}/{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.request_timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise _control_error(method, path, err) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            raise ServerError(f"{method} {self.url}{path} failed: {err}{self._unreachable()}") from err
        return json.loads(raw) if raw.strip() else None

    def _unreachable(self) -> str:
        """What to add to the message of a call that reached no server."""
        return (
            f"\n(is an ivs-vcr server running at {self.url}? start one with `ivs-vcr serve --port N`, "
            "or check the URL given)"
        )

    def health(self) -> Dict[str, Any]:
        """``GET /_ivs-vcr/health``: ``{"status": "ok", "mode": "emulate"|"replay"|"record"}``."""
        return _object(self.request("GET", "health"))

    def reset(self, account: Optional[str] = None) -> None:
        """Empties the emulator and rewinds every cassette's sequences; with ``account`` (a
        12-digit id), empties that account's state only and leaves everything else."""
        path = "reset" if account is None else f"reset?account={urllib.parse.quote(account)}"
        self.request("POST", path, {})

    def summary(self, account: Optional[str] = None) -> Dict[str, Any]:
        """What was served so far: per operation counts, unmatched requests with their reports,
        unused interactions, and under ``accounts`` each account's emulated and faulted counts.
        With ``account`` (a 12-digit id), that account's part only: ``{"mode", "account",
        "operations": {<operation>: {"emulated", "faulted"}}, "n_emulated", "n_faulted"}``
        (cassette counts are the server's, and only in the whole summary)."""
        path = "summary" if account is None else f"summary?account={urllib.parse.quote(account)}"
        return _object(self.request("GET", path))

    def state(self, account: Optional[str] = None) -> Dict[str, Any]:
        """The emulator's resources: the default account's under ``regions`` and every account's
        under ``accounts``; with ``account`` (a 12-digit id), that account's under ``regions``."""
        path = "state" if account is None else f"state?account={urllib.parse.quote(account)}"
        return _object(self.request("GET", path))

    def snapshot(self, account: Optional[str] = None) -> Dict[str, Any]:
        """The emulator's state as a versioned document (``{"format": "ivs-vcr/state",
        "version": 1, …}``) that :meth:`restore` takes back: every account's, or with ``account``
        (a 12-digit id) that one's. It is :meth:`state`'s answer, which carries the document's
        members beside the readable view; it never holds the emulator's private key."""
        return self.state(account)

    def restore(self, document: Mapping[str, Any]) -> Dict[str, Any]:
        """Restores a :meth:`snapshot`: the whole emulator, or the one account of a one-account
        snapshot. The document is checked whole first, so a refused one (a
        :class:`ControlPlaneError`, status 400, saying what is wrong) changes nothing. Returns
        ``{"restored", "scope", "accounts", "streamsEnded"}``."""
        return _object(self.request("POST", "state", dict(document)))

    def save_state(self) -> Dict[str, Any]:
        """Writes the state to the server's ``--state-file`` now (atomically): ``{"path",
        "bytes"}``. A server started without ``--state-file`` refuses with a
        :class:`ControlPlaneError` (status 409)."""
        return _object(self.request("POST", "state/save", {}))

    def start_stream(
        self, channel_arn: str, health: Optional[str] = None, viewer_count: Optional[int] = None
    ) -> Any:
        """Makes the emulator's channel live, as if a broadcaster had connected."""
        body: Dict[str, Any] = {"channelArn": channel_arn}
        if health is not None:
            body["health"] = health
        if viewer_count is not None:
            body["viewerCount"] = viewer_count
        return self.request("POST", "streams/start", body)

    def stop_stream(self, channel_arn: str) -> Any:
        """Ends the live stream of the emulator's channel."""
        return self.request("POST", "streams/stop", {"channelArn": channel_arn})

    def join_stage(
        self, token: str, *, publish: Optional[bool] = None, subscribe: Optional[bool] = None
    ) -> StageJoin:
        """Joins a participant to the stage its token is for, as IVS's broadcast SDK would without
        media: the first join starts the stage session, ``ListParticipantEvents`` shows
        ``JOINED`` (and ``PUBLISH_STARTED`` with ``publish=True``). ``token`` is a
        ``CreateParticipantToken`` (or ``CreateStage``) token, or one signed with a private key
        whose public key was imported. ``publish`` and ``subscribe`` say what the participant
        does, within the token's capabilities (the server's defaults when left out).

        A refused join (an expired or forged token, a deleted stage, a capability the token lacks)
        raises :class:`ControlPlaneError` with the server's message."""
        body: Dict[str, Any] = {"token": token}
        if publish is not None:
            body["publish"] = publish
        if subscribe is not None:
            body["subscribe"] = subscribe
        return _stage_join(self.request("POST", "stages/join", body))

    def join_stage_with_stream_key(self, stream_key: str) -> StageJoin:
        """Publishes into a stage with an ingest configuration's stream key, as an RTMP(S) encoder
        would: the configuration goes ``ACTIVE`` and its participant joins and publishes. Leave
        with :meth:`leave_stage` and the participant id this returns."""
        return _stage_join(self.request("POST", "stages/join", {"streamKey": stream_key}))

    def leave_stage(self, participant_id: str, stage_arn: Optional[str] = None) -> None:
        """Takes a joined participant out of its stage (``LEFT`` in its events, ``DISCONNECTED``
        in ``GetParticipant``); the last one to leave ends the stage session. ``stage_arn``
        narrows the look-up when the same id could be in several stages."""
        body: Dict[str, Any] = {"participantId": participant_id}
        if stage_arn is not None:
            body["stageArn"] = stage_arn
        self.request("POST", "stages/leave", body)

    def advance_clock(self, seconds: float) -> Dict[str, Any]:
        """Moves the emulator's clock forward by ``seconds``: token and session expiry, rate
        windows, composition and stage-session timeouts and the times new answers carry all
        follow it, so a test of a one-hour timeout takes milliseconds. Answers
        ``{"now", "epochMillis", "aheadSeconds"}``; :meth:`reset` returns the clock to the wall
        clock."""
        return _object(self.request("POST", "clock", {"advance_seconds": seconds}))

    def set_clock(self, time: str) -> Dict[str, Any]:
        """Sets the emulator's clock to ``time`` (``"2030-01-01T00:00:00Z"``), which must not be
        before its time now: the clock only moves forward."""
        return _object(self.request("POST", "clock", {"time": time}))

    def update_stream(
        self, channel_arn: str, health: Optional[str] = None, viewer_count: Optional[int] = None
    ) -> Any:
        """Changes a live stream's ``health`` (``HEALTHY``, ``STARVING``, ``UNKNOWN``; a change
        sends IVS Stream Health Change) or viewer count, as ingest measuring it would."""
        body: Dict[str, Any] = {"channelArn": channel_arn}
        if health is not None:
            body["health"] = health
        if viewer_count is not None:
            body["viewerCount"] = viewer_count
        return self.request("POST", "streams/update", body)

    def events(
        self, detail_type: Optional[str] = None, since: int = 0, *, account: Optional[str] = None
    ) -> List[EventBridgeEvent]:
        """The EventBridge events the emulator sent (``GET /_ivs-vcr/events``), oldest first, as
        EventBridge delivers them: stream state and health changes, recording state changes.
        ``detail_type`` keeps one type (``"IVS Recording State Change"``); ``since`` skips the
        first ``since`` events made since the last reset, of every account (the newest 1,000 are
        kept); ``account`` (a 12-digit id) keeps the events of that account's resources.

        The same events go to the server's ``--events-url``, if it has one."""
        given = {"detail-type": detail_type, "since": since or None, "account": account}
        # `%20` for a space: the server reads `+` as itself, as AWS reads query strings.
        query = urllib.parse.urlencode(
            {k: v for k, v in given.items() if v is not None}, quote_via=urllib.parse.quote
        )
        answer = _object(self.request("GET", "events" + (f"?{query}" if query else "")))
        events = answer.get("events")
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ServerError(f"GET {CONTROL_PREFIX}/events answered without an `events` list")
        return [_event(e) for e in events]

    def fault(
        self,
        operation: Optional[str] = None,
        error: Optional[str] = None,
        status: Optional[int] = None,
        times: Optional[int] = None,
        rate: Optional[float] = None,
        delay_ms: Optional[int] = None,
        connection: Optional[str] = None,
        *,
        retry_after_ms: Optional[int] = None,
        message: Optional[str] = None,
        seed: Optional[int] = None,
        service: Optional[str] = None,
        account: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Adds a fault rule and returns it as the server lists it (with its ``id``).

        ``fault(operation="GetChannel", error="ThrottlingException", times=2)`` makes the next two
        GetChannel calls fail with IVS's 429. ``error`` is any modeled IVS error (its status comes
        from the model), ``status`` alone gives a generic error, ``delay_ms`` stalls, ``connection``
        (``"reset"`` or ``"empty"``) drops the connection, ``rate`` (0–1, seeded by ``seed``) fires
        at random but reproducibly. No ``operation`` means every operation. Chat's operations are
        named the same way (``fault(operation="CreateRoom", error="ServiceQuotaExceededException")``);
        ``service`` (``"ivs"``, ``"ivschat"``, ``"ivs-realtime"``) picks one service's, for the tag
        operations every service shares, or every operation of that service alone. ``account`` (a
        12-digit id) limits the rule to the requests of that account (by their access key id, as
        the server picks accounts), so workers sharing one server fault their own calls only.
        """
        given = {
            "account": account,
            "service": service,
            "operation": operation,
            "error": error,
            "status": status,
            "times": times,
            "rate": rate,
            "delay_ms": delay_ms,
            "connection": connection,
            "retry_after_ms": retry_after_ms,
            "message": message,
            "seed": seed,
        }
        return _object(self.request("POST", "faults", {k: v for k, v in given.items() if v is not None}))

    def faults(self, account: Optional[str] = None) -> List[Dict[str, Any]]:
        """The fault rules, with ``remaining`` uses; with ``account`` (a 12-digit id), only the
        rules made for that account."""
        faults = _object(self.request("GET", _faults_path(account))).get("faults")
        if not isinstance(faults, list):
            raise ServerError(f"GET {CONTROL_PREFIX}/faults answered without a `faults` list")
        return faults

    def clear_faults(self, account: Optional[str] = None) -> None:
        """Removes every fault rule; with ``account`` (a 12-digit id), only the rules made for
        that account."""
        self.request("DELETE", _faults_path(account))


def _faults_path(account: Optional[str]) -> str:
    """The control path of the fault rules, of every account or of ``account``."""
    return "faults" if account is None else f"faults?account={urllib.parse.quote(account)}"


class Server(RemoteServer):
    """One ``ivs-vcr`` server process on a free loopback port.

    ``Server("serve")`` (or ``Server("replay")``, the same server) with no arguments is the
    in-memory IVS emulator;
    ``Server("record", ["--cassettes", "dir", "--record-mode", "none"])`` replays and records
    cassettes. Use it as a context manager, or call :meth:`stop`.
    """

    def __init__(
        self,
        mode: str = "replay",
        args: Sequence[str] = (),
        *,
        binary: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        startup_timeout: float = 30.0,
        request_timeout: float = 30.0,
    ) -> None:
        """Starts the server and returns once it listens.

        ``env`` replaces the environment of the child (default: this process's, read now).
        Raises :class:`ServerError` if it exits or says nothing within ``startup_timeout`` seconds,
        and :class:`~ivs_vcr.BinaryNotFoundError` if there is no ``ivs-vcr`` to run.
        """
        self.mode = mode
        self.command: List[str] = [
            binary or binary_path(),
            mode,
            *args,
            "--port",
            "0",
            "--exit-on-stdin-close",
        ]
        self._stderr: IO[bytes] = tempfile.TemporaryFile(prefix="ivs-vcr-stderr-")
        self._stdout_tail: Deque[str] = collections.deque(maxlen=200)
        self._first_line: Optional[str] = None
        self._line_ready = threading.Event()
        self._result: Optional[StopResult] = None
        try:
            self._proc = subprocess.Popen(
                self.command,
                # Never written to: its end (this process's death) stops the server.
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        except OSError as err:
            self._stderr.close()
            raise ServerError(f"cannot run `{self.command[0]}`: {err}") from err
        self._reader = threading.Thread(target=self._read_stdout, name="ivs-vcr-stdout", daemon=True)
        self._reader.start()
        super().__init__(self._wait_listening(startup_timeout), request_timeout=request_timeout)

    # -- process ---------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        """Keeps the stdout pipe drained (a full pipe would block the server) and hands over the
        first line."""
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self._first_line is None:
                self._first_line = line
                self._line_ready.set()
            else:
                self._stdout_tail.append(line)
        self._line_ready.set()

    def _wait_listening(self, timeout: float) -> str:
        if not self._line_ready.wait(timeout):
            self._kill()
            raise ServerError(
                f"`{' '.join(self.command)}` printed nothing within {timeout:g}s\n{self._tail_block()}"
            )
        line = self._first_line
        match = _LISTENING.match(line) if line is not None else None
        if match is None:
            code = self._kill()
            said = f"its first line was {line!r}" if line is not None else f"it exited with code {code}"
            raise ServerError(
                f"`{' '.join(self.command)}` did not start: {said}\n{self._tail_block()}"
            )
        return match.group(2)

    def _kill(self) -> int:
        if self._proc.poll() is None:
            self._proc.kill()
        self._close_stdin()
        return self._proc.wait()

    def _close_stdin(self) -> None:
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except OSError:  # the server is already gone
                pass

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._proc.pid

    def poll(self) -> Optional[int]:
        """The exit code if the server has ended, else ``None``."""
        return self._proc.poll()

    @property
    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self._proc.poll() is None

    def stderr_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines the server wrote to stderr (its logs)."""
        try:
            self._stderr.flush()
            size = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, size - 64 * 1024))
            text = self._stderr.read().decode("utf-8", "replace")
        except ValueError:  # already closed
            return self._result.stderr_tail if self._result else ""
        return "\n".join(_ANSI.sub("", line) for line in text.splitlines()[-lines:])

    def _tail_block(self) -> str:
        tail = self.stderr_tail()
        return f"--- ivs-vcr stderr (last lines) ---\n{tail}" if tail else "(ivs-vcr wrote nothing to stderr)"

    def death_report(self) -> str:
        """A readable account of a server that ended: command, exit code, stderr tail."""
        return f"ivs-vcr {self.mode} server (`{' '.join(self.command)}`) exited with code {self.poll()}\n{self._tail_block()}"

    def stop(self, timeout: float = 15.0) -> StopResult:
        """Stops the server gracefully (SIGTERM: it finishes in-flight requests and writes its
        cassettes), killing it after ``timeout`` seconds. Returns its exit code and output tails;
        calling it again returns the same result."""
        if self._result is not None:
            return self._result
        if self._proc.poll() is None:
            # Closing stdin stops it gracefully everywhere; SIGTERM too where there are signals
            # (on Windows `terminate` is TerminateProcess, which would skip writing cassettes).
            self._close_stdin()
            if os.name != "nt":
                self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(5)
        self._close_stdin()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._result = StopResult(
            returncode=self._proc.returncode,
            stderr_tail=self.stderr_tail(),
            stdout_tail="\n".join(self._stdout_tail),
        )
        self._stderr.close()
        return self._result

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.poll()}"
        return f"<ivs_vcr.Server {self.mode} {self.url} {state}>"

    def _unreachable(self) -> str:
        try:  # a server that cannot be reached is often one that is dying: let it finish
            self._proc.wait(0.5)
        except subprocess.TimeoutExpired:
            pass
        return "" if self.alive else f"\n{self.death_report()}"



def _stage_join(value: Any) -> StageJoin:
    """The answer to ``POST /_ivs-vcr/stages/join``."""
    answer = _object(value)
    try:
        return StageJoin(
            participant_id=str(answer["participantId"]),
            stage_arn=str(answer["stageArn"]),
            session_id=str(answer["sessionId"]),
        )
    except KeyError as err:
        raise ServerError(f"POST {CONTROL_PREFIX}/stages/join answered without {err}: {answer!r}") from None


def _event(value: Dict[str, Any]) -> EventBridgeEvent:
    """An event of ``GET /_ivs-vcr/events``, checked to have the envelope's members."""
    missing = [key for key in EventBridgeEvent.__annotations__ if key not in value]
    if missing:
        raise ServerError(f"an event of GET {CONTROL_PREFIX}/events lacks {', '.join(missing)}: {value!r}")
    return EventBridgeEvent(
        {
            "version": str(value["version"]),
            "id": str(value["id"]),
            "detail-type": str(value["detail-type"]),
            "source": str(value["source"]),
            "account": str(value["account"]),
            "time": str(value["time"]),
            "region": str(value["region"]),
            "resources": [str(r) for r in value["resources"]],
            "detail": dict(value["detail"]),
        }
    )


def _object(value: Any) -> Dict[str, Any]:
    """A control-plane answer that must be a JSON object."""
    if not isinstance(value, dict):
        raise ServerError(f"the ivs-vcr control plane answered {value!r} where an object was expected")
    return value


def _control_error(method: str, path: str, err: urllib.error.HTTPError) -> ControlPlaneError:
    """Turns a refused control-plane call into an exception carrying the server's message."""
    raw = err.read()
    error_type = err.headers.get("x-amzn-ErrorType")
    message = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or body.get("error") or body.get("exceptionMessage") or message)
        error_type = error_type or body.get("__type")
    # A server without the control plane treats `/_ivs-vcr/…` as an unknown IVS operation; one
    # with an older control plane says the call is unknown to it.
    if err.code == 404 and (error_type or "").startswith(("IvsVcrUnknownOperation", "IvsVcrUnknownControl")):
        return ControlPlaneMissing(method, path, err.code, error_type, message)
    return ControlPlaneError(method, path, err.code, error_type, message or err.reason)
