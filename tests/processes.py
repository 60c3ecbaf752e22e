"""Helpers for tests that run greensock in child processes: their environment, polling,
and reading their output with a bound on the wait."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
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


class ChildServer:
    """A child process serving on loopback, and clients of this process talking to it.

    The child prints ``port N`` once it listens; every client sends a line and reads the
    child's answer line. Made by :func:`child_server`.
    """

    def __init__(self, proc: subprocess.Popen[bytes], out: Path, err: Path) -> None:
        self.proc = proc
        self.out = out
        self.err = err
        self.clients: list[socket.socket] = []
        line = poll(
            lambda: next((s for s in out.read_text().splitlines() if s[:5] == "port "), None)
            or proc.poll() is not None,
            "the child's port",
        )
        assert proc.poll() is None, err.read_text()[-4000:]
        self.port = int(line.split()[1])

    def connect(self, count: int) -> list[socket.socket]:
        """*count* clients of this process (they do not count against the child's limits)."""
        self.clients += [
            socket.create_connection(("127.0.0.1", self.port), timeout=30) for _ in range(count)
        ]
        return self.clients

    @staticmethod
    def ask(client: socket.socket, line: str) -> str:
        """Send *line*, return the answer line."""
        client.sendall(f"{line}\n".encode())
        return client.makefile().readline().strip()

    def askEach(self) -> list[str]:
        """Each client sends its index; return the answers, in order."""
        for index, client in enumerate(self.clients):
            client.sendall(f"{index}\n".encode())
        return [client.makefile().readline().strip() for client in self.clients]

    def stop(self) -> None:
        """A last client says ``stop`` (the child answers it, then ends); wait for the end."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as last:
            assert self.ask(last, "stop") == "served stop"
        self.proc.wait(timeout=30)


@contextlib.contextmanager
def child_server(script: Path, *args: str, directory: Path) -> Iterator[ChildServer]:
    """Run ``python SCRIPT ARGS`` (output in files of *directory*) until it prints its port;
    kill it and close every client at the end, whatever happens."""
    out, err = directory / "out.txt", directory / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, str(script), *args], env=child_env(), stdout=stdout, stderr=stderr
        )
    server: ChildServer | None = None
    try:
        server = ChildServer(proc, out, err)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for client in server.clients if server is not None else ():
            client.close()
