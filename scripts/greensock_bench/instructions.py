"""Instructions per operation under valgrind's callgrind: ``python scripts/instructions.py``.

Throughput on a shared virtual machine swings by a third from one run to the next, far more
than the differences between greensock and raw gevent it is meant to show. The number of
machine instructions a process executes per operation hardly does: for the same code and
the same inputs it repeats to about 1%, whatever else the machine is doing. This counts it
for the greenlet-blocking stacks (greensock, raw gevent and its floor), through the
benchmark's own adapters, so the operations are exactly those of W1 (64 KiB writes), W2
(line ping-pong), W4 (connect, one line each way, close) and W5 (UDP echo).

Server and client run as greenlets of one process here (the benchmark proper runs them in
two), so a count covers both sides of an operation, kernel calls excluded: the user-space
work each stack does, which is what its code controls. Each count is the difference of two
runs that differ only in the number of measured operations, so the interpreter's start-up
and imports cancel out; ``PYTHONHASHSEED`` is fixed so that both runs hash alike.

``--child OP STACK N`` runs the operations themselves (no valgrind), which the tests use.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import gevent

from . import workloads_sync
from .protocol import CHUNK_SIZE, DATAGRAM, LINE_TEXT

#: Operations done before any is counted: caches filled, every code path taken once.
WARM_UP = 200
#: The two counts of measured operations; the report is their difference per operation.
COUNTS = (500, 1500)
#: Most operations one child may run, whatever it is asked: every loop is bounded.
MAX_OPERATIONS = 100_000
#: Seconds one valgrind run may take (it runs Python some 50 times slower).
RUN_TIMEOUT = 600.0
STACK_NAMES = ("greensock", "gevent", "floor")


@dataclass(frozen=True)
class Operation:
    """One measured operation: its benchmark workload and what it does."""

    key: str
    workload: str
    title: str


OPERATIONS = {
    op.key: op
    for op in (
        Operation("udp", "W5", "UDP 64-byte echo, per round trip"),
        Operation("pingpong", "W2", "64-byte line ping-pong, per round trip"),
        Operation("churn", "W4", "connect, one line each way, close, per connection"),
        Operation("bulk", "W1", "64 KiB writes, sent and received, per write"),
    )
}


# -- the child: N operations of one stack, in one process -------------------------------------


def _adapter(stack: str) -> workloads_sync.SyncAdapter:
    from .stacks import STACKS, load

    made: workloads_sync.SyncAdapter = load(stack).adapter(STACKS[stack].variant)
    return made


def _udp(adapter: workloads_sync.SyncAdapter, total: int) -> Callable[[], None]:
    server = adapter.udp_bind()
    echo = server.echo_once

    def serve() -> None:
        for _ in range(total):
            echo()

    gevent.spawn(serve)
    return partial(adapter.udp_bind(server.port).roundtrip, DATAGRAM)


def _listener(adapter: workloads_sync.SyncAdapter, kind: str, total: int) -> int:
    """Accept and serve *total* connections the way the benchmark's server does; its port."""
    listener = adapter.listen()
    handler = workloads_sync.HANDLERS.get(kind, workloads_sync._echo_lines)

    def serve() -> None:
        for _ in range(total):
            gevent.spawn(handler, adapter, listener.accept())

    gevent.spawn(serve)
    return listener.port


def _pingpong(adapter: workloads_sync.SyncAdapter, total: int) -> Callable[[], None]:
    conn = adapter.connect(_listener(adapter, "pingpong", 1))
    return partial(workloads_sync._roundtrip, conn, adapter.line(LINE_TEXT))


def _bulk(adapter: workloads_sync.SyncAdapter, total: int) -> Callable[[], None]:
    conn = adapter.connect(_listener(adapter, "bulk", 1))
    return partial(conn.send, bytes(CHUNK_SIZE))


def _churn(adapter: workloads_sync.SyncAdapter, total: int) -> Callable[[], None]:
    port = _listener(adapter, "churn", total)
    line = adapter.line(LINE_TEXT)

    def once() -> None:  # the benchmark's W4 client, one connection
        conn = adapter.connect(port)
        try:
            workloads_sync._roundtrip(conn, line)
            if conn.read_line():
                raise RuntimeError("the server answered more than one line")
        finally:
            conn.close()

    return once


SETUPS: dict[str, Callable[[workloads_sync.SyncAdapter, int], Callable[[], None]]] = {
    "udp": _udp,
    "pingpong": _pingpong,
    "churn": _churn,
    "bulk": _bulk,
}


def run_child(op: str, stack: str, count: int) -> None:
    """Do WARM_UP then *count* operations *op* on *stack*, server and client in this process."""
    count = min(count, MAX_OPERATIONS)
    operation = SETUPS[op](_adapter(stack), WARM_UP + count)
    for _ in range(WARM_UP + count):
        operation()


# -- the parent: valgrind runs and the report -------------------------------------------------

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def count_instructions(op: str, stack: str, count: int, env: dict[str, str]) -> int:
    """Instructions a child doing *count* operations executes in all, per callgrind."""
    with tempfile.TemporaryDirectory() as scratch:
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out",
            sys.executable, "-m", f"{__package__}.instructions", "--child", op, stack, str(count),
        ]  # fmt: skip
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{op} on {stack} failed under valgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_operation(
    op: str, stack: str, env: dict[str, str], counts: tuple[int, int] = COUNTS
) -> float:
    """Instructions per operation: the difference of two runs of *counts* operations, per
    operation."""
    low, high = (count_instructions(op, stack, n, env) for n in counts)
    return (high - low) / (counts[1] - counts[0])


def markdown(results: dict[str, dict[str, float]], baseline: str = "gevent") -> str:
    """The counts as a Markdown table, with each stack's ratio to *baseline*."""
    lines = [
        f"| operation | stack | instructions/op | ratio to {baseline} |",
        "|---|---|---:|---:|",
    ]
    for op, counts in results.items():
        operation = OPERATIONS[op]
        for stack, value in counts.items():
            base = counts.get(baseline)
            ratio = f"{value / base:.3f}x" if base else "—"
            title = f"{operation.workload} {operation.title}"
            lines.append(f"| {title} | {stack} | {value:,.0f} | {ratio} |")
    lines += ["", "Server and client in one process; below 1 is fewer instructions."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Count instructions per operation for every operation and stack; print the table."""
    parser = argparse.ArgumentParser(
        prog="instructions", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--child", nargs=3, metavar=("OP", "STACK", "N"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--operations",
        default=",".join(OPERATIONS),
        help=f"comma-separated, from {', '.join(OPERATIONS)}",
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if args.child:
        op, stack, count = args.child
        run_child(op, stack, int(count))
        return 0
    operations = [name.strip() for name in args.operations.split(",") if name.strip()]
    unknown = [name for name in operations if name not in OPERATIONS]
    if unknown or not operations:
        parser.error(f"unknown operation(s) {', '.join(unknown) or '(none)'}")
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    from .orchestrate import child_env

    env = {**child_env(), "PYTHONHASHSEED": "0"}
    results: dict[str, dict[str, Any]] = {}
    for op in operations:
        for stack in STACK_NAMES:
            value = per_operation(op, stack, env)
            results.setdefault(op, {})[stack] = value
            print(f"{op} {stack}: {value:,.0f} instructions/op", file=sys.stderr, flush=True)
    sys.stdout.write(markdown(results))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
