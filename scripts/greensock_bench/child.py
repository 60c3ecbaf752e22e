"""Entry point of one benchmark subprocess: ``python -m greensock_bench.child ROLE STACK ...``.

Talks to the parent with one JSON object per line: it writes ``{"port": n}`` (server, once
listening), ``{"event": name, ...}`` (client checkpoints, answered by a line on stdin),
``{"rss": n}`` and ``{"cpu": seconds}`` (server, for each ``rss`` or ``cpu`` line on stdin),
``{"result": {...}}`` (client, at the end) or ``{"error": "..."}``. Every checkpoint carries
the client's CPU time so far, and the parent asks the server for its own at the same moment.
A watchdog thread ends the process after ``--hard-timeout`` seconds whatever it is doing,
and a server exits when its stdin closes (parent gone).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from . import stacks, sysinfo
from .protocol import Params


class Window:
    """A measured window: ``began`` (``time.perf_counter``), then its length in ``seconds``."""

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.seconds = 0.0


class Control:
    """The child's side of the control pipe (stdout out, stdin in)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: What a server answers to ``rss`` and ``cpu``: this process's figures, unless the
        #: stack serves from several processes and replaces them with their sums.
        self.measures: dict[str, Callable[[], float]] = {
            "rss": sysinfo.rss_bytes,
            "cpu": time.process_time,
        }

    def emit(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the parent."""
        line = json.dumps(message) + "\n"
        with self._lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def ready(self, port: int) -> None:
        """Server: report the port it listens on."""
        self.emit({"port": port})

    def checkpoint(self, name: str, **data: Any) -> None:
        """Client: report reaching ``name`` (with the process's CPU seconds so far) and block
        the whole process until told to go on.

        Used only while every connection is idle, so blocking the event loop costs nothing.
        """
        self.emit({"event": name, "cpu": time.process_time(), **data})
        if not sys.stdin.readline():
            os._exit(3)  # the parent is gone

    @contextlib.contextmanager
    def window(self) -> Iterator[Window]:
        """Client: the measured part of a run, between the ``start`` and ``end`` checkpoints
        (the parent reads both processes' CPU time at each)."""
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self.checkpoint("start", cpus=cpus)
        window = Window()
        yield window
        window.seconds = time.perf_counter() - window.began
        self.checkpoint("end")

    def serve_requests(self) -> None:
        """Server: answer each ``rss`` or ``cpu`` line on stdin from a thread; exit when stdin
        closes."""

        def loop() -> None:
            for line in sys.stdin:
                request = line.strip()
                if request in self.measures:
                    self.emit({request: self.measures[request]()})
            os._exit(0)

        threading.Thread(target=loop, name="bench-control", daemon=True).start()


def _watchdog(seconds: float) -> None:
    def expire() -> None:
        time.sleep(seconds)
        sys.stderr.write(f"bench child: hard timeout of {seconds:.0f}s reached, exiting\n")
        sys.stderr.flush()
        os._exit(124)

    threading.Thread(target=expire, name="bench-watchdog", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    """Run one server or client as the arguments say; the exit status is 0 on success."""
    parser = argparse.ArgumentParser(prog="greensock_bench.child")
    parser.add_argument("role", choices=("server", "client"))
    parser.add_argument("stack", choices=sorted(stacks.STACKS))
    parser.add_argument("workload")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--hard-timeout", type=float, required=True)
    args = parser.parse_args(argv)

    _watchdog(args.hard_timeout)
    sysinfo.raise_nofile(sysinfo.fds_needed(args.connections))
    params = Params(args.workload, args.duration, args.port, args.connections)
    control = Control()
    try:
        module = stacks.load(args.stack)
        if args.role == "server":
            control.serve_requests()
        result = module.main(args.role, params, control, stacks.STACKS[args.stack].variant)
    except Exception:  # noqa: BLE001 -- reported to the parent, which marks the run failed
        control.emit({"error": traceback.format_exc(limit=-10)})
        return 1
    if args.role == "client":
        control.emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
