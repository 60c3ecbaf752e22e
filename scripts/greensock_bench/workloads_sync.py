"""Server and client of every workload for greenlet-blocking stacks (raw gevent, greensock).

Written once against a small adapter (``SyncAdapter`` below); each stack module supplies the
adapter, doing each socket operation the way that library is meant to be used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from functools import partial
from time import perf_counter
from typing import Any, Protocol, TypeVar

import gevent

from .child import Control
from .protocol import (
    CHUNK_SIZE,
    CHURN_WORKERS,
    CONNECT_PARALLEL,
    DATAGRAM,
    LINE_TEXT,
    MAX_ACCEPTS,
    MAX_CHUNKS,
    MAX_ROUND_TRIPS,
    Params,
)

T = TypeVar("T")
Line = Any  # the stack's own line type (bytes or str)


class SyncConn(Protocol):
    """A connected TCP stream. A connection reads with ``recv`` or ``read_line``, never both."""

    def read_line(self) -> Line:
        """The next line in the form ``write_line`` takes; None or empty at EOF."""

    def write_line(self, line: Line) -> None:
        """Write one line (as ``SyncAdapter.line`` made it, or as read) and flush it."""

    def recv(self, buf: bytearray) -> int:
        """Read some bytes into ``buf``; return their count, <= 0 at EOF."""

    def send(self, data: bytes) -> None:
        """Write all of ``data`` (buffering allowed; ``shutdown_write`` flushes)."""

    def shutdown_write(self) -> None:
        """Flush, then half-close: the peer sees EOF."""

    def close(self) -> None:
        """Close the connection."""


class SyncListener(Protocol):
    """A listening TCP socket."""

    port: int

    def accept(self) -> SyncConn:
        """Block until the next connection arrives."""


class SyncDatagramSocket(Protocol):
    """A bound UDP socket, with the per-datagram operations of the UDP echo."""

    port: int

    def echo_once(self) -> None:
        """Receive one datagram and send it back to its sender."""

    def roundtrip(self, payload: bytes) -> None:
        """Send ``payload`` to the peer given to ``udp_bind`` and wait for the answer."""


class SyncAdapter(Protocol):
    """What a greenlet-blocking stack provides to the workloads."""

    def line(self, text: str) -> Line:
        """``text`` (no newline) in the form ``write_line`` takes."""

    def listen(self) -> SyncListener:
        """Listen on 127.0.0.1, on an ephemeral port."""

    def connect(self, port: int) -> SyncConn:
        """Connect to 127.0.0.1:``port``."""

    def udp_bind(self, peer_port: int = 0) -> SyncDatagramSocket:
        """Bind a UDP socket on 127.0.0.1, ephemeral port; ``roundtrip`` goes to ``peer_port``."""


def main(
    adapter: SyncAdapter, role: str, params: Params, control: Control
) -> dict[str, float] | None:
    """Run the server (until killed) or the client (returning its raw result) of ``params``."""
    if role == "server":
        _serve(adapter, params, control)
        return None
    return CLIENTS[params.kind](adapter, params, control)


# -- servers ---------------------------------------------------------------------------------


def connection_handler(kind: str) -> Callable[[SyncAdapter, SyncConn], None]:
    """The server's handler of one connection of a TCP workload *kind*: ``(adapter, conn)``."""
    return HANDLERS.get(kind, _echo_lines)


def _serve(adapter: SyncAdapter, params: Params, control: Control) -> None:
    if params.kind == "udp":
        sock = adapter.udp_bind()
        control.ready(sock.port)
        echo = sock.echo_once
        for _ in range(MAX_ROUND_TRIPS):
            echo()
        return
    handler = connection_handler(params.kind)
    listener = adapter.listen()
    control.ready(listener.port)
    for _ in range(MAX_ACCEPTS):
        gevent.spawn(handler, adapter, listener.accept())


def _echo_lines(adapter: SyncAdapter, conn: SyncConn, lines: int = MAX_ROUND_TRIPS) -> None:
    """Echo *lines* lines (or until EOF), then close."""
    read, write = conn.read_line, conn.write_line
    try:
        for _ in range(lines):
            line = read()
            if not line:
                break
            write(line)
    except (OSError, EOFError):
        pass
    finally:
        _close(conn)


def _count_bytes(adapter: SyncAdapter, conn: SyncConn) -> None:
    buf = bytearray(CHUNK_SIZE)
    recv = conn.recv
    total = 0
    try:
        for _ in range(MAX_CHUNKS):
            n = recv(buf)
            if n <= 0:
                break
            total += n
        conn.write_line(adapter.line(str(total)))
    except (OSError, EOFError):
        pass
    finally:
        _close(conn)


def _close(conn: SyncConn) -> None:
    with contextlib.suppress(OSError, EOFError):
        conn.close()


#: Server handlers other than the line echo: W1 counts, W4 answers one line and closes first.
HANDLERS: dict[str, Callable[..., Any]] = {
    "bulk": _count_bytes,
    "churn": partial(_echo_lines, lines=1),
}


# -- clients ---------------------------------------------------------------------------------


def _repeat(op: Callable[[], object], deadline: float, limit: int = MAX_ROUND_TRIPS) -> int:
    """Call ``op`` until ``deadline`` (perf_counter) or ``limit`` calls; return the count."""
    clock = perf_counter
    for done in range(limit):
        if clock() >= deadline:
            return done
        op()
    return limit


def _run_all(functions: Sequence[Callable[[], T]]) -> list[T]:
    """Run every function in its own greenlet; return their results (re-raise the first error)."""
    greenlets = [gevent.spawn(f) for f in functions]
    gevent.joinall(greenlets, raise_error=True)
    return [g.value for g in greenlets]


def _roundtrip(conn: SyncConn, line: Line) -> None:
    conn.write_line(line)
    if not conn.read_line():
        raise EOFError("server closed the connection")


def _bulk(adapter: SyncAdapter, params: Params, control: Control) -> dict[str, float]:
    conn = adapter.connect(params.port)
    chunk = bytes(CHUNK_SIZE)
    send = conn.send
    with control.window() as window:
        chunks = _repeat(partial(send, chunk), window.began + params.duration, MAX_CHUNKS)
        conn.shutdown_write()
        reply = conn.read_line()
    _close(conn)
    sent = chunks * CHUNK_SIZE
    if not reply or int(reply) != sent:
        raise RuntimeError(f"server counted {reply!r}, client sent {sent}")
    return {"bytes": sent, "count": chunks, "seconds": window.seconds}


def _pingpong(adapter: SyncAdapter, params: Params, control: Control) -> dict[str, float]:
    conn = adapter.connect(params.port)
    op = partial(_roundtrip, conn, adapter.line(LINE_TEXT))
    with control.window() as window:
        count = _repeat(op, window.began + params.duration)
    _close(conn)
    return {"count": count, "seconds": window.seconds}


def _churn(adapter: SyncAdapter, params: Params, control: Control) -> dict[str, float]:
    line = adapter.line(LINE_TEXT)

    def once() -> None:
        conn = adapter.connect(params.port)
        try:
            _roundtrip(conn, line)
            if conn.read_line():  # the server closes first (see protocol)
                raise RuntimeError("the server answered more than one line")
        finally:
            conn.close()

    with control.window() as window:
        deadline = window.began + params.duration
        counts = _run_all([partial(_repeat, once, deadline) for _ in range(CHURN_WORKERS)])
    return {"count": sum(counts), "seconds": window.seconds}


def _many(adapter: SyncAdapter, params: Params, control: Control) -> dict[str, float]:
    total = params.connections
    line = adapter.line(LINE_TEXT)
    conns: list[SyncConn] = []

    def opener(first: int) -> list[SyncConn]:
        opened = []
        for _ in range(first, total, CONNECT_PARALLEL):
            conn = adapter.connect(params.port)
            _roundtrip(conn, line)  # the server has accepted it and its handler is running
            opened.append(conn)
        return opened

    for opened in _run_all([partial(opener, k) for k in range(min(CONNECT_PARALLEL, total))]):
        conns += opened
    control.checkpoint("idle", connections=len(conns))
    with control.window() as window:
        deadline = window.began + params.duration
        counts = _run_all([partial(_repeat, partial(_roundtrip, c, line), deadline) for c in conns])
    for conn in conns:
        _close(conn)
    return {"count": sum(counts), "seconds": window.seconds}


def _udp(adapter: SyncAdapter, params: Params, control: Control) -> dict[str, float]:
    sock = adapter.udp_bind(params.port)
    with control.window() as window:
        count = _repeat(partial(sock.roundtrip, DATAGRAM), window.began + params.duration)
    return {"count": count, "seconds": window.seconds}


CLIENTS: dict[str, Callable[[SyncAdapter, Params, Control], dict[str, float]]] = {
    "bulk": _bulk,
    "pingpong": _pingpong,
    "many": _many,
    "churn": _churn,
    "udp": _udp,
}
