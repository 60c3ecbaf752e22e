"""Helpers for tests that run greensock in child processes: their environment, polling,
and reading their output with a bound on the wait."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import greensock


def child_env() -> dict[str, str]:
    """Our environment, with the greensock under test first on the child's path."""
    root = str(Path(greensock.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def poll(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll *condition* every 10 ms (at most *timeout* seconds) until it returns a true value."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.01) + 1):
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def read_line(stream: IO[bytes], timeout: float = 30.0) -> bytes:
    """One line of *stream*, read in a thread so that a silent process cannot hang the test."""
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"no line within {timeout} s") from None


def read_exactly(stream: IO[bytes], size: int, timeout: float = 30.0) -> bytes:
    """*size* bytes of *stream* (fewer at its end), read in a thread, bounded by *timeout*."""
    chunks: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        left = size
        while left:
            chunk = os.read(stream.fileno(), left)
            chunks.put(chunk)
            if not chunk:
                return
            left -= len(chunk)

    threading.Thread(target=pump, daemon=True).start()
    data = b""
    deadline = time.monotonic() + timeout
    while len(data) < size:
        try:
            chunk = chunks.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"{len(data)} of {size} bytes within {timeout} s") from None
        if not chunk:
            break
        data += chunk
    return data
