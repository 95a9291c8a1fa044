"""ivs-vcr for Python: the ``ivs-vcr`` executable, a way to run it, and a pytest plugin.

``pip install .`` in the ivs-vcr repository puts the ``ivs-vcr`` executable on the environment's
``PATH`` and installs this package beside it:

- :func:`binary_path` finds the executable;
- :class:`RemoteServer` drives the control plane of a server already running (shared by
  parallel workers, each in its own account);
- :class:`Server` runs ``ivs-vcr replay`` (the in-memory IVS emulator, or cassettes) or
  ``ivs-vcr record`` on a free port and drives its control plane (reset, summary, state, live
  streams, EventBridge events, Real-Time stage joins and leaves, fault injection);
- :func:`emulator` and :func:`replay` run a server and point the AWS SDKs at it for a ``with``
  block or a decorated function, for code outside pytest;
- the pytest plugin (:mod:`ivs_vcr.pytest_plugin`, loaded automatically) gives tests the
  ``ivs_vcr`` fixture (``ivs_vcr_module`` and ``ivs_vcr_session`` for wider scopes) and the
  ``@pytest.mark.ivs_vcr`` marker.

The package uses the standard library only.
"""

from ._binary import BIN_ENV, BinaryNotFoundError, binary_path
from ._emulator import ENDPOINT_VARIABLES, ServerEnvironment, emulator, replay
from ._server import (
    ControlPlaneError,
    ControlPlaneMissing,
    EventBridgeEvent,
    RemoteServer,
    Server,
    ServerError,
    StageJoin,
    StopResult,
)

__all__ = [
    "BIN_ENV",
    "BinaryNotFoundError",
    "ENDPOINT_VARIABLES",
    "EventBridgeEvent",
    "ControlPlaneError",
    "ControlPlaneMissing",
    "RemoteServer",
    "Server",
    "ServerEnvironment",
    "ServerError",
    "StageJoin",
    "StopResult",
    "binary_path",
    "emulator",
    "replay",
]
