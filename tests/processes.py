"""Helpers for tests that run greensock in child processes: their environment, and polling."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
