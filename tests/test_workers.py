"""``greensock.serveWorkers``: forked workers sharing a port (SPEC section 10).

``serveWorkers`` forks, so it runs in a child process (``CHILD`` below, in its own session
so that teardown can kill the whole tree); the test talks to the workers over loopback with
plain blocking sockets and watches the process tree through /proc. Argument errors are
raised before any fork, so those are tried in this process.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import child_env, poll

from greensock import InetSocketAddress, UnixSocketAddress, serveWorkers

LOCAL = "127.0.0.1"

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="watches the process tree the Linux way (/proc)"
)

CHILD = r"""
import json, logging, os, signal, sys

import gevent

import greensock
from greensock import InetSocketAddress, Serving

logging.basicConfig(
    stream=sys.stderr, level=logging.INFO, format="%(process)d %(levelname)s %(name)s %(message)s"
)
# Handlers in flight when a stop comes get this long to finish: longer than any test waits.
Serving.stopTimeout = 20.0


def handle(sock):
    incoming, outgoing = sock.openReadChannel(), sock.openWriteChannel(autoFlush=True)
    for line in incoming.lines():
        outgoing.writeStringUtf8(f"{os.getpid()} {line}\n")


def children():
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as listing:
        return [int(pid) for pid in listing.read().split()]


mode, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
address = InetSocketAddress("127.0.0.1", port)
if mode == "serve":
    greensock.serveWorkers(
        address, handle, workers=workers, ready=lambda a: print("listening", a.port, flush=True)
    )
    left = children()
    # The previous SIGINT handler is back: a Ctrl-C is a KeyboardInterrupt again.
    try:
        os.kill(os.getpid(), signal.SIGINT)
        gevent.sleep(2)
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    print(json.dumps({"returned": True, "children": left, "interrupted": interrupted}), flush=True)
else:  # "taken": the port is held by a listener without SO_REUSEPORT
    try:
        greensock.serveWorkers(address, handle, workers=workers)
        print(json.dumps({"raised": None}), flush=True)
    except OSError as exc:
        print(json.dumps({"raised": type(exc).__name__, "errno": exc.errno,
                          "message": str(exc), "children": children()}), flush=True)
"""


def children(pid: int) -> list[int]:
    """The child processes of *pid*."""
    try:
        listing = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return sorted(int(child) for child in listing.split())


def alive(pid: int) -> bool:
    """True while *pid* exists and is no zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Line:
    """A plain blocking connection that sends lines and reads ``PID LINE`` answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection((LOCAL, port), timeout=30)
        self.answers = self.sock.makefile("r", encoding="utf-8")

    def ask(self, text: str) -> int:
        """Send *text*; the PID of the worker that answered."""
        self.sock.sendall(text.encode() + b"\n")
        pid, echoed = self.answers.readline().split()
        assert echoed == text
        return int(pid)

    def close(self) -> None:
        self.answers.close()
        self.sock.close()


def answering_pids(port: int, wanted: set[int], tries: int = 200) -> set[int]:
    """The PIDs answering fresh connections, until all of *wanted* answered (or *tries*)."""
    seen: set[int] = set()
    for index in range(tries):
        connection = Line(port)
        try:
            seen.add(connection.ask(f"hello{index}"))
        finally:
            connection.close()
        if wanted <= seen:
            break
    return seen


class Child:
    """The CHILD script run as ``MODE PORT WORKERS``, output into files, killed (whole
    session) at the end."""

    def __init__(self, tmp_path: Path, *argv: str) -> None:
        script = tmp_path / "workers_child.py"
        script.write_text(CHILD, encoding="utf-8")
        self.out, self.err = tmp_path / "out.txt", tmp_path / "err.txt"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(script), *argv],
                env=child_env(),
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def port(self) -> int:
        """The port the workers listen on, once they do."""
        line = poll(
            lambda: (
                self._failed()
                or next(
                    (s for s in self.out.read_text().splitlines() if s[:10] == "listening "), None
                )
            ),
            "the workers to listen",
        )
        return int(line.split()[1])

    def _failed(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"the child exited early:\n{self.err.read_text()[-4000:]}")

    def result(self) -> dict[str, Any]:
        """The JSON of the child's last line, once it exited 0."""
        self.proc.wait(timeout=30)
        assert self.proc.returncode == 0, self.err.read_text()[-4000:]
        document: dict[str, Any] = json.loads(self.out.read_text().splitlines()[-1])
        return document

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Start CHILD with arguments; killed with its workers at teardown."""
    started: list[Child] = []

    def start(*argv: str) -> Child:
        started.append(Child(tmp_path, *argv))
        return started[-1]

    yield start
    for each in started:
        each.kill()


# -- the tests ------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_workers_share_the_port_a_killed_one_is_replaced_and_SIGTERM_stops_all_gracefully(
    child: Callable[..., Child],
) -> None:
    proc = child("serve", "0", "2")
    port = proc.port()
    parent = proc.proc.pid
    workers = set(children(parent))
    # Exactly two processes, the workers, and no helper: they have no children themselves.
    assert len(workers) == 2 and all(children(pid) == [] for pid in workers)
    # The kernel spreads connections among them: both answer.
    assert answering_pids(port, workers) == workers

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)

    def replacement() -> set[int] | None:
        now = set(children(parent))
        return now if len(now) == 2 and victim not in now else None

    replaced = poll(replacement, "a replacement worker")
    assert len(replaced - workers) == 1
    assert answering_pids(port, replaced) == replaced  # the newcomer serves, the victim is gone

    # A connection in flight when SIGTERM comes: its handler may finish its work.
    busy = Line(port)
    first = busy.ask("before")
    os.kill(parent, signal.SIGTERM)
    poll(lambda: not _accepts(port), "the workers to stop accepting")
    assert busy.ask("after") == first  # the same handler, still running
    assert proc.proc.poll() is None  # the parent waits for it
    busy.close()  # now that handler ends, and its worker with it
    result = proc.result()
    assert result == {"returned": True, "children": [], "interrupted": True}
    assert not any(alive(pid) for pid in replaced | workers)
    log = proc.err.read_text()
    assert f"worker {victim} was killed by SIGKILL; starting another" in log
    assert "SIGTERM: stopping the workers" in log
    assert "Traceback" not in log


def _accepts(port: int) -> bool:
    """True when a connection to *port* is accepted and answered."""
    try:
        connection = Line(port)
    except ConnectionRefusedError:
        return False
    try:
        connection.sock.settimeout(2)
        connection.ask("probe")
    except OSError:
        return False  # accepted by the kernel, then dropped as the listener closed
    finally:
        connection.close()
    return True


@pytest.mark.timeout(60)
def test_SIGINT_to_the_whole_group_as_a_terminal_sends_it_stops_everything_with_status_0(
    child: Callable[..., Child],
) -> None:
    proc = child("serve", "0", "3")
    port = proc.port()
    workers = set(children(proc.proc.pid))
    assert len(workers) == 3
    busy = Line(port)
    first = busy.ask("before")
    os.killpg(proc.proc.pid, signal.SIGINT)  # Ctrl-C: the parent and every worker get it
    poll(lambda: not _accepts(port), "the workers to stop accepting")
    # The workers took SIGINT as a graceful stop too, not as a KeyboardInterrupt.
    assert busy.ask("after") == first
    busy.close()
    assert proc.result()["returned"]
    assert not any(alive(pid) for pid in workers)
    assert "Traceback" not in proc.err.read_text()


@pytest.mark.timeout(60)
def test_a_port_the_first_workers_cannot_bind_is_the_callers_OSError_and_leaves_no_process(
    child: Callable[..., Child],
) -> None:
    with socket.socket() as holder:  # no SO_REUSEPORT: nobody may share it
        holder.bind((LOCAL, 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = child("taken", str(port), "2").result()
    assert result["raised"] == "OSError" and result["errno"] == errno.EADDRINUSE
    assert str(port) in result["message"]
    assert result["children"] == []


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"address": UnixSocketAddress("/tmp/x.sock")}, TypeError, "InetSocketAddress"),
        ({"address": ("127.0.0.1", 0)}, TypeError, "InetSocketAddress"),
        ({"workers": 0}, ValueError, "at least 1"),
        ({"workers": True}, TypeError, "workers"),
        ({"workers": "2"}, TypeError, "workers"),
        ({"handler": None}, TypeError, "callable"),
        ({"configure": 3}, TypeError, "configure"),
        ({"ready": "yes"}, TypeError, "ready"),
        ({"maxConnections": 0}, ValueError, "maxConnections"),
        ({"handshakeTimeout": float("nan")}, ValueError, "NaN"),
        ({"backlog": 5}, TypeError, "backlog"),
    ],
)
def test_bad_arguments_raise_before_anything_is_forked(
    arguments: dict[str, Any], error: type[Exception], words: str
) -> None:
    call: dict[str, Any] = {
        "address": InetSocketAddress(LOCAL, 0),
        "handler": lambda sock: None,
        "workers": 2,
        **arguments,
    }
    before = children(os.getpid())
    with pytest.raises(error, match=words):
        serveWorkers(call.pop("address"), call.pop("handler"), **call)
    assert children(os.getpid()) == before


def test_serveWorkers_outside_the_main_thread_is_a_RuntimeError() -> None:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            serveWorkers(InetSocketAddress(LOCAL, 0), lambda sock: None, workers=1)
        except BaseException as exc:  # noqa: BLE001 -- collected for the assertion
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert len(raised) == 1 and isinstance(raised[0], RuntimeError)
    assert "main thread" in str(raised[0])
