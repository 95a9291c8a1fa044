"""Finding the ``ivs-vcr`` executable that ``pip install`` put beside this package."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import List

#: The environment variable that names the executable to use, ahead of any installed one.
BIN_ENV = "IVS_VCR_BIN"

_EXE = "ivs-vcr" + (".exe" if sys.platform == "win32" else "")


class BinaryNotFoundError(FileNotFoundError):
    """No ``ivs-vcr`` executable could be found; the message says where it looked."""


def _script_dirs() -> List[Path]:
    """The scripts directories of the running interpreter: where pip installs executables."""
    dirs: List[Path] = []
    for scheme in (None, f"{os.name}_user"):
        try:
            path = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:  # the user scheme does not exist on every platform
            continue
        if path:
            dirs.append(Path(path))
    # A venv's interpreter lives in its scripts directory, even when sysconfig says otherwise
    # (for example when the interpreter is a symlink into a base installation).
    dirs.append(Path(sys.executable).parent)
    unique: List[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def binary_path() -> str:
    """The path of the ``ivs-vcr`` executable.

    Looked up in this order:

    1. the ``IVS_VCR_BIN`` environment variable (for a binary built with ``cargo build``);
    2. the scripts directory of the running interpreter, where ``pip install`` puts it;
    3. ``PATH``.

    Raises :class:`BinaryNotFoundError` saying where it looked and how to install it.
    """
    override = os.environ.get(BIN_ENV)
    if override:
        path = Path(override).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise BinaryNotFoundError(
            f"{BIN_ENV}={override} is not an executable file; point it at a built ivs-vcr "
            f"(such as target/debug/ivs-vcr after `cargo build`) or unset it"
        )
    looked: List[str] = []
    for directory in _script_dirs():
        candidate = directory / _EXE
        looked.append(str(directory))
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(_EXE)
    if found:
        return found
    raise BinaryNotFoundError(
        f"cannot find the `{_EXE}` executable (looked in {', '.join(looked)} and on PATH); "
        f"install it with `pip install .` in the ivs-vcr repository (or `cargo install --path . "
        f"--locked`), or set {BIN_ENV} to its path"
    )
