"""The stacks the benchmark compares, loaded lazily so a missing library is a skip, not a crash.

Each stack module defines ``main(role, params, control, variant) -> dict | None``: it runs
the server (forever, until killed) or the client (returning its raw result) of
``params.workload``. Adding a stack = one adapter module + one line in ``STACKS``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from types import ModuleType

BASELINE = "gevent"


@dataclass(frozen=True)
class Stack:
    """A benchmarked stack: the adapter module that drives it and the packages it needs."""

    name: str
    module: str
    requires: tuple[str, ...]
    label: str
    variant: str = ""
    #: Run when ``--stacks`` is not given; a diagnostic stack runs only when named.
    default: bool = True


STACKS: dict[str, Stack] = {
    s.name: s
    for s in (
        Stack("greensock", "greensock_stack", ("gevent", "greensock"), "greensock"),
        Stack("gevent", "gevent_raw", ("gevent",), "raw gevent sockets"),
        Stack("floor", "gevent_raw", ("gevent",), "kernel sockets and gevent's wait", "floor"),
        Stack("asyncio", "asyncio_stack", (), "asyncio streams"),
        Stack("uvloop", "asyncio_stack", ("uvloop",), "asyncio streams on uvloop", "uvloop"),
        Stack("trio", "trio_stack", ("trio",), "trio"),
        Stack(
            "greensock-serve",
            "greensock_serving",
            ("gevent", "greensock"),
            "greensock.serve() in one process",
            "serve",
            default=False,
        ),
        Stack(
            "greensock-workers",
            "greensock_serving",
            ("gevent", "greensock"),
            "greensock.serveWorkers() in 2 processes",
            "workers",
            default=False,
        ),
        Stack(
            "floor-datagram",
            "floor_datagram",
            ("gevent", "greensock"),
            "the floor making greensock's Datagram objects",
            default=False,
        ),
    )
}

#: The stacks a run compares unless told otherwise: the peers, not the diagnostics.
DEFAULT_STACKS = [name for name, stack in STACKS.items() if stack.default]

#: Server stacks also compared with another server stack rather than only with the
#: baseline: the one that scales (key) over the one it scales (value), same client.
SCALING = {"greensock-workers": "greensock-serve"}


def scaling_pairs(names: list[str]) -> list[tuple[str, str]]:
    """``(stack, reference)`` pairs among *names* that SCALING compares: the same name with
    the reference's server (``greensock-workers/floor`` with ``greensock-serve/floor``)."""
    pairs = []
    for name in names:
        server, _, client = name.partition("/")
        if server in SCALING:
            reference = SCALING[server] + (f"/{client}" if client else "")
            if reference in names:
                pairs.append((name, reference))
    return pairs


def sides(name: str) -> tuple[str, str]:
    """The server's and the client's stack of a benchmarked *name*: ``STACK`` for both, or
    ``SERVER/CLIENT`` for a mixed pair (every stack speaks the same protocol), which shows
    what one side of a stack costs against another's."""
    server, _, client = name.partition("/")
    return server, client or server


def load(name: str) -> ModuleType:
    """Import the adapter module of stack ``name`` (which imports its library)."""
    return importlib.import_module(f"{__name__}.{STACKS[name].module}")


@dataclass(frozen=True)
class Probe:
    """Whether a stack can run here: ``reason`` when not at all, ``missing`` per workload kind."""

    reason: str | None = None
    missing: dict[str, str] = field(default_factory=dict)


def probe(name: str, env: dict[str, str] | None = None, timeout: float = 60.0) -> Probe:
    """Can stack ``name`` run here? ("not installed", "import failed: ...", or which kinds not).

    The import is tried in a subprocess with the children's environment, so a library
    that is broken on import cannot disturb the parent. A stack module may define
    ``missing() -> {kind: reason}`` for workload kinds its library cannot run yet.
    """
    stack = STACKS[name]
    for package in stack.requires:
        try:
            found = importlib.util.find_spec(package) is not None
        except (ImportError, ValueError):
            found = False
        if not found and not _on_child_path(package, env):
            return Probe("not installed")
    module = f"{__name__}.{stack.module}"
    code = f"import json, {module} as m; print(json.dumps(getattr(m, 'missing', dict)()))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(f"import failed: timed out after {timeout:.0f}s")
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        return Probe(
            "import failed: " + (lines[-1].strip() if lines else f"exit {done.returncode}")
        )
    try:
        missing = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        missing = {}
    return Probe(None, {str(k): str(v) for k, v in dict(missing).items()})


def _on_child_path(package: str, env: dict[str, str] | None) -> bool:
    """True when ``package`` is a directory or module on the children's PYTHONPATH."""
    paths = (env or {}).get("PYTHONPATH", "").split(os.pathsep)
    return any(
        os.path.isdir(os.path.join(p, package)) or os.path.isfile(os.path.join(p, package + ".py"))
        for p in paths
        if p
    )
