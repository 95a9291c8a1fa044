"""The pytest plugin: the ``ivs_vcr`` fixture, the ``@pytest.mark.ivs_vcr`` marker and the
``--ivs-*`` options. pytest loads it through the ``pytest11`` entry point of this package.

- A test that uses the ``ivs_vcr`` fixture without the marker talks to the in-memory IVS emulator
  (``ivs-vcr replay`` with no cassettes), reset before the test: it starts empty.
- A test marked ``@pytest.mark.ivs_vcr`` (optionally ``cassette="name"``) records or replays
  ``cassettes/<test module>/<name or test name>.yaml`` beside its module, through
  ``ivs-vcr record --record-mode <--ivs-record-mode>`` (or the marker's ``record_mode="…"``). Any
  other marker keyword is an error.
- ``ivs_vcr_module`` and ``ivs_vcr_session`` are emulators of their own for module- and
  session-scoped fixtures (which cannot use the per-test ``ivs_vcr``): started empty for their
  scope, never reset by other tests, with the environment pointing at them for that scope.
- While the fixture is active, ``AWS_ENDPOINT_URL_IVS``, ``AWS_ENDPOINT_URL_IVSCHAT`` and
  ``AWS_ENDPOINT_URL_IVS_REALTIME`` point at the test's endpoint (and dummy credentials and a
  region are set if none are), so the code under test needs no change.

Each pytest process (each pytest-xdist worker) starts at most one emulator and one record server,
on free ports, when a test first needs them, and stops them at the end of the session.

One emulator can instead serve every worker: ``--ivs-vcr-url URL`` (or ``IVS_VCR_URL``) points the
``ivs_vcr`` fixture of unmarked tests at an ivs-vcr that runs already, and each worker then signs
with an access key id of its own, a 12-digit account id derived from its pytest-xdist id
(:func:`worker_account`: ``gw3`` is always ``700000000004``), which the server takes as the
request's account. Workers never see each other's resources; the fixture resets only its own
account before each test, and its ``reset``, ``summary``, ``state`` and ``events`` are its
account's. So are its fault rules: ``fault`` makes a rule for the worker's account alone, and
``faults`` and ``clear_faults`` list and clear that account's rules; the fixture clears them before
and after each test, and leaves rules made for every account (``ivs_vcr.server.fault()``) alone.
The clock is the server's, not an account's, so tests that move it want a server of their own.
Marked (cassette) tests and ``ivs_vcr_module``/``ivs_vcr_session`` keep their own servers.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import shlex
import urllib.parse
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Optional, TypeVar

import pytest

from ._emulator import ENDPOINT_VARIABLES
from ._server import ControlPlaneError, EventBridgeEvent, RemoteServer, Server, ServerError

if TYPE_CHECKING:  # annotations only: ParamSpec is in `typing` from Python 3.10
    from typing_extensions import Concatenate, ParamSpec

    P = ParamSpec("P")
R = TypeVar("R")

RECORD_MODES = ("none", "once", "new-episodes", "all")

#: The keywords ``@pytest.mark.ivs_vcr`` takes.
MARKER_KEYWORDS = ("cassette", "record_mode")

#: Set for a test that uses the fixture and no AWS credentials are configured.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
DEFAULT_REGION = "us-west-2"

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

#: The variable that gives ``--ivs-vcr-url``'s default.
URL_ENV = "IVS_VCR_URL"

#: The account of a pytest process that is no pytest-xdist worker, on a shared server; worker
#: ``gwN``'s is this plus ``N + 1``.
WORKER_ACCOUNT_BASE = 700_000_000_000

_XDIST_WORKER = re.compile(r"^gw(\d{1,9})$")


def worker_account(worker_id: Optional[str]) -> str:
    """The 12-digit account a pytest process signs as on a shared server: fixed per worker, so a
    worker's ids are the same from run to run (the emulator seeds each account's ids from its
    id). ``None`` (no pytest-xdist) is ``700000000000``, ``gwN`` is ``700000000000 + N + 1``;
    another worker id (another plugin's) is hashed into ``8…``."""
    if worker_id is None or worker_id == "master":
        return str(WORKER_ACCOUNT_BASE)
    match = _XDIST_WORKER.match(worker_id)
    if match:
        return str(WORKER_ACCOUNT_BASE + int(match.group(1)) + 1)
    return f"8{zlib.crc32(worker_id.encode()) % 10**11:011d}"


def _has_credentials(env: Dict[str, str]) -> bool:
    """Whether ``env`` names AWS credentials (keys or a profile), as the fixture checks."""
    return bool(env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE"))


def _is_aws(upstream: Optional[str]) -> bool:
    """Whether record forwards to AWS: no ``--ivs-upstream``, or one on an AWS domain. A local
    fake (moto_server, another ivs-vcr) is not, and is signed for with dummy credentials."""
    if not upstream:
        return True
    host = (urllib.parse.urlsplit(upstream).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in ("amazonaws.com", "amazonaws.com.cn", "api.aws"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ivs-vcr", "ivs-vcr: IVS emulator, cassettes and faults")
    group.addoption(
        "--ivs-record-mode",
        choices=RECORD_MODES,
        default="none",
        help="how @pytest.mark.ivs_vcr tests use their cassettes: none (default: replay only, "
        "never connect), once (record missing cassettes), new-episodes (record what does not "
        "match), all (record everything again)",
    )
    group.addoption(
        "--ivs-upstream",
        metavar="URL",
        default=None,
        help="where recording forwards instead of https://ivs.{region}.amazonaws.com "
        "(a local fake such as moto_server or another ivs-vcr)",
    )
    group.addoption(
        "--ivs-vcr-url",
        metavar="URL",
        default=os.environ.get(URL_ENV) or None,
        help="an ivs-vcr that runs already, which the ivs_vcr fixture of unmarked tests uses "
        "instead of starting one per pytest-xdist worker; each worker signs as an account of its "
        f"own (default: ${URL_ENV})",
    )
    group.addoption(
        "--ivs-fail-on-unused",
        action="store_true",
        default=False,
        help="fail a replaying test that leaves interactions of its cassette unused",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ivs_vcr(cassette=None, record_mode=None): record or replay "
        "cassettes/<module>/<cassette or test name>.yaml beside the test module, in record_mode "
        "(default: --ivs-record-mode)",
    )


class _Servers:
    """The servers of one pytest process, started when a test first needs them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.root = Path(str(config.rootpath)).resolve()
        self.mode: str = config.getoption("--ivs-record-mode")
        self.upstream: Optional[str] = config.getoption("--ivs-upstream")
        self.fail_on_unused: bool = config.getoption("--ivs-fail-on-unused")
        #: The shared server's URL (``--ivs-vcr-url``), if the emulator is one.
        self.shared_url: Optional[str] = config.getoption("--ivs-vcr-url")
        #: This process's account on the shared server.
        self.account = worker_account(os.environ.get("PYTEST_XDIST_WORKER"))
        self._shared: Optional[RemoteServer] = None
        self._emulator: Optional[Server] = None
        #: One record server per record mode in use (``--ivs-record-mode``, and the markers').
        self._recorders: Dict[str, Server] = {}

    def emulator(self) -> Server:
        if self._emulator is None:
            self._emulator = Server("replay")
        return self._emulator

    def shared(self, url: str) -> RemoteServer:
        """The server at ``--ivs-vcr-url``, checked to answer once."""
        if self._shared is None:
            server = RemoteServer(url)
            try:
                server.health()
            except (ServerError, ControlPlaneError) as err:
                pytest.fail(
                    f"--ivs-vcr-url (or ${URL_ENV}) is {url}, where no ivs-vcr answers: {err}\n"
                    "Start one there (`ivs-vcr serve --port N`), or leave the option out to have "
                    "each worker start its own",
                    pytrace=False,
                )
            self._shared = server
        return self._shared

    def recorder(self, mode: str) -> Server:
        if mode not in self._recorders:
            args = ["--cassettes", str(self.root), "--record-mode", mode]
            if self.upstream:
                args += ["--upstream", self.upstream]
            env = dict(os.environ)
            # Replay-only never signs anything, and a local fake needs no real key, but the
            # server looks for credentials at start: without any, it gets dummy ones, as the
            # code under test does.
            if (mode == "none" or not _is_aws(self.upstream)) and not _has_credentials(env):
                env.update(DUMMY_CREDENTIALS)
            self._recorders[mode] = Server("record", args, env=env)
        return self._recorders[mode]

    def _all(self) -> List[Server]:
        return [s for s in (self._emulator, *self._recorders.values()) if s is not None]

    def _forget(self, server: Server) -> None:
        if server is self._emulator:
            self._emulator = None
        self._recorders = {m: s for m, s in self._recorders.items() if s is not server}

    def check_alive(self) -> None:
        """Fails with the stderr tail of a server that died, and forgets it so the next test
        starts a new one."""
        for server in self._all():
            if not server.alive:
                self._forget(server)
                report = server.death_report()
                server.stop()
                pytest.fail(report, pytrace=False)

    def stop(self) -> None:
        for server in self._all():
            self._forget(server)
            died = not server.alive
            result = server.stop()
            # Exit 1 only means that something went unmatched, which the tests have reported.
            if died or result.returncode not in (0, 1):
                warnings.warn(
                    f"ivs-vcr {server.mode} server exited with code {result.returncode}\n"
                    f"{result.stderr_tail}",
                    stacklevel=1,
                )


def _on_server(method: Callable[Concatenate[RemoteServer, P], R]) -> Callable[Concatenate[IvsVcr, P], R]:
    """``Server``'s ``method`` as a method of the fixture's handle: the same call, on the test's
    server, with the same signature and doc, so the two cannot drift apart."""

    def call(self: IvsVcr, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self.server, *args, **kwargs)

    functools.update_wrapper(call, method)
    call.__qualname__ = f"IvsVcr.{method.__name__}"
    return call


def _in_account(method: Callable[Concatenate[RemoteServer, P], R]) -> Callable[Concatenate[IvsVcr, P], R]:
    """:func:`_on_server`'s ``method``, in the test's account on a shared server: its ``account``
    keyword, when not given, is the fixture's."""

    def call(self: IvsVcr, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("account") is None:
            kwargs["account"] = self.account
        return method(self.server, *args, **kwargs)

    functools.update_wrapper(call, method)
    call.__qualname__ = f"IvsVcr.{method.__name__}"
    return call


class IvsVcr:
    """What the ``ivs_vcr`` fixture gives a test: its endpoint and the server's control plane
    (``reset``, ``summary``, ``state``, ``start_stream``, ``stop_stream``, ``update_stream``,
    ``events``, ``join_stage``, ``join_stage_with_stream_key``, ``leave_stage``, ``advance_clock``,
    ``set_clock``, ``fault``, ``faults``, ``clear_faults``, ``snapshot``, ``restore``:
    :class:`ivs_vcr.Server`'s, on the test's server). Faults a test adds are cleared after it. On a
    shared server (``--ivs-vcr-url``), ``reset``, ``summary``, ``state``, ``snapshot``, ``events``,
    ``fault``, ``faults`` and ``clear_faults`` are the test's ``account``'s unless given another."""

    def __init__(
        self,
        server: RemoteServer,
        url: str,
        cassette: Optional[str],
        cassette_path: Optional[Path],
        record_mode: Optional[str],
        account: Optional[str] = None,
    ) -> None:
        self.server = server
        #: The account this test signs as on a shared server (``--ivs-vcr-url``); ``None`` when
        #: the server is this process's own, where the test's key picks the account as usual.
        self.account = account
        #: The endpoint for this test (``AWS_ENDPOINT_URL_IVS`` holds it while the test runs).
        self.url = url
        #: The cassette name (its path relative to the rootdir, without ``.yaml``), or ``None``
        #: for the emulator.
        self.cassette = cassette
        #: The cassette file, or ``None`` for the emulator.
        self.cassette_path = cassette_path
        #: The record mode of a marked test, or ``None`` for the emulator.
        self.record_mode = record_mode
        self._unmatched_before = 0

    # The control plane: `Server`'s own methods, called on the test's server, with their
    # signatures and docs (`help(ivs_vcr.fault)` shows `Server.fault`'s).
    start_stream = _on_server(RemoteServer.start_stream)
    stop_stream = _on_server(RemoteServer.stop_stream)
    join_stage = _on_server(RemoteServer.join_stage)
    join_stage_with_stream_key = _on_server(RemoteServer.join_stage_with_stream_key)
    leave_stage = _on_server(RemoteServer.leave_stage)
    advance_clock = _on_server(RemoteServer.advance_clock)
    set_clock = _on_server(RemoteServer.set_clock)
    update_stream = _on_server(RemoteServer.update_stream)

    # The calls that take an account: the test's own on a shared server.
    fault = _in_account(RemoteServer.fault)
    faults = _in_account(RemoteServer.faults)
    clear_faults = _in_account(RemoteServer.clear_faults)

    def reset(self, account: Optional[str] = None) -> None:
        """:meth:`ivs_vcr.RemoteServer.reset`, of ``account`` or else the test's own on a shared
        server (``ivs_vcr.server.reset()`` resets everything)."""
        self.server.reset(account or self.account)

    def summary(self, account: Optional[str] = None) -> Dict[str, Any]:
        """:meth:`ivs_vcr.RemoteServer.summary`, of ``account`` or else the test's own on a
        shared server (``ivs_vcr.server.summary()`` is the whole server's)."""
        return self.server.summary(account or self.account)

    def state(self, account: Optional[str] = None) -> Dict[str, Any]:
        """:meth:`ivs_vcr.RemoteServer.state`, of ``account`` or else the test's own on a shared
        server (``ivs_vcr.server.state()`` is every account's)."""
        return self.server.state(account or self.account)

    def snapshot(self, account: Optional[str] = None) -> Dict[str, Any]:
        """:meth:`ivs_vcr.RemoteServer.snapshot`, of ``account`` or else the test's own on a
        shared server, so that :meth:`restore` puts back that account alone."""
        return self.server.snapshot(account or self.account)

    restore = _on_server(RemoteServer.restore)

    def events(
        self, detail_type: Optional[str] = None, since: int = 0, *, account: Optional[str] = None
    ) -> List[EventBridgeEvent]:
        """:meth:`ivs_vcr.RemoteServer.events`, of ``account`` or else the test's own on a
        shared server (``ivs_vcr.server.events()`` lists every account's)."""
        return self.server.events(detail_type, since, account=account or self.account)

    # -- checks after the test ---------------------------------------------------------------

    def _mine(self, entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        names = {self.cassette, f"{self.cassette}.yaml"}
        return [e for e in entries if e.get("cassette") in names]

    def _start(self) -> None:
        if self.cassette is not None:
            self._unmatched_before = len(self._mine(self.server.summary().get("unmatched", [])))

    def _problems(self, fail_on_unused: bool) -> List[str]:
        """What this test's cassette run got wrong: unmatched requests, and (if asked) unused
        interactions."""
        if self.cassette is None or not self.server.alive:
            return []
        summary = self.server.summary()
        problems = []
        unmatched = self._mine(summary.get("unmatched", []))[self._unmatched_before :]
        for entry in unmatched:
            report = entry.get("report") or "(no report)"
            problems.append(f"unmatched {entry.get('operation', '?')} request:\n{report}")
        if fail_on_unused:
            opened = summary.get("opened")
            never_used = (
                isinstance(opened, list)
                and self.cassette not in opened
                and self.cassette_path is not None
                and os.path.exists(self.cassette_path)
            )
            if never_used:
                problems.append(
                    f"`{self.cassette_path}` was never used: the test sent no request to its cassette, "
                    "so every interaction in it went unused"
                )
            for entry in self._mine(summary.get("unused", [])):
                problems.append(
                    f"unused interaction #{entry.get('interaction')} ({entry.get('operation', '?')}) "
                    f"of `{self.cassette_path}`"
                )
        return problems

    def __repr__(self) -> str:
        account = f" account {self.account}" if self.account else ""
        return f"<IvsVcr {self.url}{account}>"


@pytest.fixture(scope="session")
def _ivs_vcr_servers(pytestconfig: pytest.Config) -> Iterator[_Servers]:
    servers = _Servers(pytestconfig)
    yield servers
    servers.stop()


def _cassette_name(request: pytest.FixtureRequest, root: Path, name: Optional[str]) -> str:
    """``<module dir>/cassettes/<module>/<name>`` relative to the rootdir, without ``.yaml``."""
    module = Path(str(request.node.path)).resolve()
    leaf = name if name else request.node.name
    segments = [_UNSAFE.sub("_", part).lstrip(".") or "_" for part in leaf.split("/")]
    target = module.parent / "cassettes" / module.stem / Path(*segments)
    try:
        return target.relative_to(root).as_posix()
    except ValueError:
        raise pytest.UsageError(
            f"`{module}` is outside the pytest rootdir `{root}`; ivs-vcr keeps cassettes under the "
            f"rootdir (run pytest from the project root, or give it --rootdir)"
        ) from None


@pytest.fixture
def ivs_vcr(
    request: pytest.FixtureRequest,
    _ivs_vcr_servers: _Servers,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[IvsVcr]:
    """This test's IVS endpoint: the emulator, or (with ``@pytest.mark.ivs_vcr``) its cassette."""
    servers = _ivs_vcr_servers
    servers.check_alive()
    marker = request.node.get_closest_marker("ivs_vcr")
    shared = servers.shared_url if marker is None else None
    if shared is not None:
        # The clock and rules made for every account are every worker's: only this worker's
        # account and its own fault rules are emptied.
        remote = servers.shared(shared)
        remote.reset(account=servers.account)
        remote.clear_faults(account=servers.account)
        handle = IvsVcr(remote, remote.url, None, None, None, account=servers.account)
    elif marker is None:
        server = servers.emulator()
        server.reset()
        server.clear_faults()
        handle = IvsVcr(server, server.url, None, None, None)
    else:
        name, mode = _marker_options(marker, servers.mode)
        cassette = _cassette_name(request, servers.root, name)
        path = servers.root / f"{cassette}.yaml"
        if mode == "none" and not path.is_file():
            command = f"python -m pytest --ivs-record-mode=once {shlex.quote(request.node.nodeid)}"
            if servers.upstream:
                command += f" --ivs-upstream={shlex.quote(servers.upstream)}"
            pytest.fail(
                f"cassette `{path}` does not exist, and --ivs-record-mode is none (replay only).\n"
                f"Record it (against AWS, or a fake given with --ivs-upstream) with:\n"
                f"    cd {shlex.quote(str(servers.root))} && {command}",
                pytrace=False,
            )
        server = servers.recorder(mode)
        server.reset()
        server.clear_faults()
        handle = IvsVcr(server, f"{server.url}/cassette/{cassette}", cassette, path, mode)
        handle._start()
    # The servers were started above, so they keep the caller's own credentials; the dummy ones
    # only keep the SDK under test from searching for credentials it does not need.
    # One server answers IVS, IVS Chat and IVS Real-Time: each SDK reads its own variable.
    for variable in ENDPOINT_VARIABLES:
        monkeypatch.setenv(variable, handle.url)
    if handle.account is not None:
        # The access key id is the account on the shared server (a session token would make the
        # SDK send the caller's own session's key alongside: gone for the test).
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", handle.account)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    elif not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        for key, value in DUMMY_CREDENTIALS.items():
            monkeypatch.setenv(key, value)
    if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
        monkeypatch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
    yield handle
    if handle.server.alive:
        try:
            # On a shared server, this worker's own rules only (`IvsVcr.clear_faults`).
            handle.clear_faults()
        except (ServerError, ControlPlaneError):
            pass
    servers.check_alive()


def _marker_options(marker: pytest.Mark, default_mode: str) -> "tuple[Optional[str], str]":
    """The cassette name and record mode a marker asks for; fails the test on a keyword the marker
    does not take (naming the near one) or a mode that does not exist."""
    for keyword in marker.kwargs:
        if keyword not in MARKER_KEYWORDS:
            near = difflib.get_close_matches(keyword, MARKER_KEYWORDS, n=1)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            pytest.fail(
                f"@pytest.mark.ivs_vcr has no keyword `{keyword}`{hint}; it takes "
                + ", ".join(f"`{k}`" for k in MARKER_KEYWORDS),
                pytrace=False,
            )
    if len(marker.args) > 1:
        pytest.fail(
            f"@pytest.mark.ivs_vcr takes one positional argument (the cassette name), got {len(marker.args)}",
            pytrace=False,
        )
    name = marker.kwargs.get("cassette") or (marker.args[0] if marker.args else None)
    mode = marker.kwargs.get("record_mode") or default_mode
    if mode not in RECORD_MODES:
        near = difflib.get_close_matches(str(mode), RECORD_MODES, n=1)
        hint = f" (did you mean `{near[0]}`?)" if near else ""
        pytest.fail(
            f"@pytest.mark.ivs_vcr(record_mode={mode!r}) is not a record mode{hint}; use one of "
            + ", ".join(RECORD_MODES),
            pytrace=False,
        )
    return name, str(mode)


def _scoped_emulator() -> Iterator[IvsVcr]:
    """An emulator of its own for a wider scope, with the environment pointing at it for the
    scope (``monkeypatch`` is per test, so a ``MonkeyPatch`` of the scope's own does it)."""
    with Server("replay") as server, pytest.MonkeyPatch.context() as patch:
        for name in ENDPOINT_VARIABLES:
            patch.setenv(name, server.url)
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            for key, value in DUMMY_CREDENTIALS.items():
                patch.setenv(key, value)
        if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
            patch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
        yield IvsVcr(server, server.url, None, None, None)


@pytest.fixture(scope="module")
def ivs_vcr_module() -> Iterator[IvsVcr]:
    """An emulator for this module's tests and module-scoped fixtures: empty when the module
    starts, shared by its tests (nothing resets it between them), stopped at the module's end.
    ``AWS_ENDPOINT_URL_IVS`` (and the Chat and Real-Time ones) point at it meanwhile; a test that
    also uses ``ivs_vcr`` talks to that one instead."""
    yield from _scoped_emulator()


@pytest.fixture(scope="session")
def ivs_vcr_session() -> Iterator[IvsVcr]:
    """Like ``ivs_vcr_module``, for the whole session (each pytest-xdist worker has its own)."""
    yield from _scoped_emulator()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a cassette test's body: fail it on unmatched requests (and, if asked, unused
    interactions), with the server's diagnostic. A test that already failed keeps its own error,
    with the diagnostic added as a note."""
    funcargs = getattr(item, "funcargs", {})
    handle = funcargs.get("ivs_vcr") if isinstance(funcargs, dict) else None
    if not isinstance(handle, IvsVcr) or handle.cassette is None:
        return (yield)
    fail_on_unused = item.config.getoption("--ivs-fail-on-unused")
    try:
        result = yield
    except BaseException as exc:
        problems = _safe_problems(handle, fail_on_unused)
        if problems and hasattr(exc, "add_note"):
            exc.add_note(_problem_text(handle, problems))
        raise
    problems = _safe_problems(handle, fail_on_unused)
    if problems:
        pytest.fail(_problem_text(handle, problems), pytrace=False)
    return result


def _safe_problems(handle: IvsVcr, fail_on_unused: bool) -> List[str]:
    try:
        return handle._problems(fail_on_unused)
    except (ServerError, ControlPlaneError) as err:
        return [f"cannot read the ivs-vcr summary: {err}"]


def _problem_text(handle: IvsVcr, problems: List[str]) -> str:
    return f"ivs-vcr: cassette `{handle.cassette_path}` (--ivs-record-mode {handle.record_mode}):\n" + "\n\n".join(problems)
