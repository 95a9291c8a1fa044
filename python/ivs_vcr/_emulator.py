"""Patching the environment for code outside pytest: :func:`emulator` and :func:`replay`.

Each starts a :class:`~ivs_vcr.Server` on a free port and points every AWS SDK and the AWS CLI at
it for as long as it runs, the way moto's ``mock_aws`` is used::

    with ivs_vcr.emulator() as server:
        boto3.client("ivs").create_channel(name="demo")

    @ivs_vcr.emulator()
    def test_channels() -> None: ...

The SDKs read ``AWS_ENDPOINT_URL_IVS``, ``AWS_ENDPOINT_URL_IVSCHAT`` and
``AWS_ENDPOINT_URL_IVS_REALTIME`` for the three IVS services; they are set to the server's URL.
Dummy credentials and a region are set only where none are configured. On exit every variable
gets its former value back (or is removed again) and the server stops.
"""

from __future__ import annotations

import contextlib
import os
from typing import Dict, List, Mapping, Optional, Sequence, Union

from ._server import Server

#: The variables that point the SDKs' IVS, IVS Chat and IVS Real-Time clients at an endpoint.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL_IVS",
    "AWS_ENDPOINT_URL_IVSCHAT",
    "AWS_ENDPOINT_URL_IVS_REALTIME",
)

_DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
_DEFAULT_REGION = "us-west-2"

_PathLike = Union[str, "os.PathLike[str]"]


class ServerEnvironment(contextlib.ContextDecorator):
    """What :func:`emulator` and :func:`replay` return: a server and the environment pointing at
    it, for one ``with`` block or decorated call at a time (not reentrant)."""

    def __init__(self, mode: str, args: Sequence[str], binary: Optional[str]) -> None:
        self._mode = mode
        self._args = list(args)
        self._binary = binary
        self._server: Optional[Server] = None
        self._saved: Dict[str, Optional[str]] = {}

    @property
    def server(self) -> Server:
        """The running server (inside the block only)."""
        if self._server is None:
            raise RuntimeError("the ivs-vcr server runs only inside its `with` block or decorated call")
        return self._server

    def __enter__(self) -> Server:
        if self._server is not None:
            raise RuntimeError("ivs_vcr.emulator() is already active; nest a new one instead")
        server = Server(self._mode, self._args, binary=self._binary)
        values: Dict[str, str] = {name: server.url for name in ENDPOINT_VARIABLES}
        if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
            values.update(_DUMMY_CREDENTIALS)
        if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
            values["AWS_DEFAULT_REGION"] = _DEFAULT_REGION
        self._saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        self._server = server
        return server

    def __exit__(self, *exc: object) -> None:
        server, self._server = self._server, None
        _restore(self._saved)
        self._saved = {}
        if server is not None:
            server.stop()


def _restore(saved: Mapping[str, Optional[str]]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def emulator(args: Sequence[str] = (), *, binary: Optional[str] = None) -> ServerEnvironment:
    """The in-memory IVS emulator (``ivs-vcr serve``) with the environment pointing at it, as a
    context manager (``with ivs_vcr.emulator() as server:``, ``server`` being the
    :class:`~ivs_vcr.Server`) or a decorator (``@ivs_vcr.emulator()``). ``args`` are more
    ``ivs-vcr serve`` options, such as ``["--seed", "7"]``."""
    return ServerEnvironment("serve", args, binary)


def replay(
    cassettes: Union[_PathLike, Sequence[_PathLike]],
    args: Sequence[str] = (),
    *,
    binary: Optional[str] = None,
) -> ServerEnvironment:
    """Like :func:`emulator`, but answering from cassettes (``ivs-vcr replay --cassettes …``):
    ``cassettes`` is a cassette file or directory, or a list of them."""
    paths: List[_PathLike] = [cassettes] if isinstance(cassettes, (str, os.PathLike)) else list(cassettes)
    options: List[str] = []
    for path in paths:
        options += ["--cassettes", os.fspath(path)]
    return ServerEnvironment("replay", [*options, *args], binary)
