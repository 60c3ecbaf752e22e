"""The parent side of one run: server and client subprocesses, their control, hard timeouts.

Both children are started with ``sys.executable -m <package>.child`` in their own process
group; whatever happens, both groups are killed (SIGKILL) when the run ends, and no answer
is waited for past a child's hard timeout.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .protocol import STARTUP_ALLOWANCE, WORKLOADS
from .stacks import sides

PACKAGE = __name__.rpartition(".")[0]
# The sys.path entry that holds PACKAGE (scripts/ for scripts/greensock_bench).
PACKAGE_ROOT = Path(__file__).resolve().parents[PACKAGE.count(".") + 1]
RSS_TIMEOUT = 15.0
EXIT_GRACE = 5.0


class RunError(Exception):
    """A run failed: a child crashed, reported an error, or did not answer in time."""


def child_env() -> dict[str, str]:
    """The children's environment: ours, with this package (and a greensock checkout) importable."""
    paths = [str(PACKAGE_ROOT)]
    checkout = PACKAGE_ROOT.parent
    if (checkout / "greensock" / "__init__.py").is_file():
        paths.append(str(checkout))  # the working tree's greensock, not an installed one
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def hard_timeout(duration: float, connections: int) -> float:
    """Seconds a client may live: the duration, start-up, and time to open its connections."""
    return duration + STARTUP_ALLOWANCE + connections * 0.005


class Child:
    """One subprocess speaking JSON lines on stdout; killed with its process group on close."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], timeout: float) -> None:
        self.name = name
        self.deadline = time.monotonic() + timeout
        self._stderr: IO[str] = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )
        threading.Thread(target=self._pump, name=f"bench-{name}", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue  # a library printing to stdout: not for us
            if isinstance(message, dict):
                self._messages.put(message)
        self._messages.put(None)

    def receive(self, timeout: float) -> dict[str, Any]:
        """The child's next message; RunError on error, exit, or silence past ``timeout``."""
        wait = max(0.0, min(timeout, self.deadline - time.monotonic()))
        try:
            message = self._messages.get(timeout=wait)
        except queue.Empty:
            raise RunError(f"{self.name}: no answer within {wait:.0f}s{self._tail()}") from None
        if message is None:
            self.proc.wait(timeout=EXIT_GRACE)
            raise RunError(f"{self.name} exited with status {self.proc.returncode}{self._tail()}")
        if "error" in message:
            raise RunError(f"{self.name} failed:\n{message['error']}")
        return message

    def send(self, line: str) -> None:
        """Write one line to the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def _tail(self, lines: int = 12) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read().strip().splitlines()[-lines:]
        return (":\n" + "\n".join(tail)) if tail else ""

    def close(self, grace: float = 0.0) -> None:
        """Give the child ``grace`` seconds to exit, then kill its process group (idempotent)."""
        if self._stderr.closed:
            return
        if grace and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        self._stderr.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _argv(
    role: str,
    stack: str,
    workload: str,
    duration: float,
    connections: int,
    timeout: float,
    port: int = 0,
) -> list[str]:
    return [
        sys.executable, "-m", f"{PACKAGE}.child", role, stack, workload,
        "--duration", repr(duration), "--connections", str(connections),
        "--hard-timeout", repr(timeout), "--port", str(port),
    ]  # fmt: skip


def _ask(server: Child, what: str) -> float:
    """The server's answer to ``rss`` (bytes) or ``cpu`` (seconds of CPU time so far)."""
    server.send(what)
    return float(server.receive(RSS_TIMEOUT)[what])


def run_once(
    stack: str, workload: str, duration: float, connections: int, env: dict[str, str]
) -> dict[str, Any]:
    """Run ``workload`` on ``stack`` (or a ``SERVER/CLIENT`` pair of stacks) once; return the
    client's result, the server's RSS, the CPU seconds each process spent in the measured
    window and the CPUs the client ran on.

    The client stops at checkpoints while nothing is in flight: ``idle`` (every connection
    open, for the RSS), ``start`` and ``end`` (the measured window, for the CPU times).
    Raises RunError when the run fails or times out; both children are gone on return.
    """
    kind = WORKLOADS[workload].kind
    server_stack, client_stack = sides(stack)
    timeout = hard_timeout(duration, connections)
    server_timeout = timeout + STARTUP_ALLOWANCE
    argv = _argv("server", server_stack, workload, duration, connections, server_timeout)
    with Child("server", argv, env, server_timeout) as server:
        port = int(server.receive(STARTUP_ALLOWANCE)["port"])
        rss = {"base": int(_ask(server, "rss"))} if kind == "many" else {}
        cpu: dict[str, dict[str, float]] = {}
        affinity = None  # the CPUs the client may run on, as it reported them
        argv = _argv("client", client_stack, workload, duration, connections, timeout, port)
        with Child("client", argv, env, timeout) as client:
            while True:
                message = client.receive(timeout)
                if "result" in message:
                    break
                event = message.get("event")
                if event == "idle" or (event == "end" and kind == "many"):
                    rss["idle" if event == "idle" else "active"] = int(_ask(server, "rss"))
                if event in ("start", "end"):
                    cpu[event] = {"server": _ask(server, "cpu"), "client": message["cpu"]}
                    affinity = message.get("cpus", affinity)
                elif event != "idle":
                    raise RunError(f"client: unexpected message {message!r}")
                client.send("go")
            client.close(grace=EXIT_GRACE)
    if set(cpu) != {"start", "end"}:
        raise RunError("client: no start and end checkpoints around its measured window")
    spent = {side: cpu["end"][side] - cpu["start"][side] for side in ("server", "client")}
    return {"result": message["result"], "rss": rss, "cpu": spent, "client_cpus": affinity}
