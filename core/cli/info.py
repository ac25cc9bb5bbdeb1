"""``python -m core info``: versions and the backends this machine can run."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata

from core import __version__
from core.backend import available_backends, describe_device
from core.cli.common import backend_from, emit, run_options

PACKAGES = ("numpy", "array-api-compat", "streamlit", "pandas", "plotly", "scikit-learn", "scipy",
            "cupy-cuda12x", "cupy-cuda13x", "array-api-strict", "torch")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _run_info(args: argparse.Namespace) -> int:
    backend = backend_from(args)  # exits 2 with one line when the asked-for backend is missing
    result = {
        "recurrence_lab": __version__,
        "python": platform.python_version(),
        "packages": {name: v for name in PACKAGES if (v := _version(name)) is not None},
        "backend": backend.name,
        "device": describe_device(backend.name),
        "backends": available_backends(),
    }
    if backend.note:
        result["backend_note"] = backend.note
    return emit(result, args)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", parents=[run_options()], help="versions, backends and devices",
                       description="Print versions and the array backends available here.")
    p.set_defaults(func=_run_info)
