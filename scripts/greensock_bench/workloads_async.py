"""Server and client of every workload for async stacks (asyncio, uvloop, trio).

The same logic as ``workloads_sync``, with ``await``; each stack module supplies the adapter
(``AsyncAdapter`` below), doing each operation the way that library is meant to be used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from time import perf_counter
from typing import Any, Protocol, TypeVar

from .child import Control
from .protocol import (
    CHUNK_SIZE,
    CHURN_WORKERS,
    CONNECT_PARALLEL,
    DATAGRAM,
    LINE_TEXT,
    MAX_CHUNKS,
    MAX_ROUND_TRIPS,
    SERVE_SECONDS,
    Params,
)

T = TypeVar("T")
Line = Any  # the stack's own line type


class AsyncConn(Protocol):
    """A connected TCP stream. A connection reads with ``recv_some`` or ``read_line``."""

    async def read_line(self) -> Line:
        """The next line in the form ``write_line`` takes; None or empty at EOF."""

    async def write_line(self, line: Line) -> None:
        """Write one line and flush it."""

    async def recv_some(self) -> bytes:
        """Up to ``CHUNK_SIZE`` bytes; empty at EOF."""

    async def send(self, data: bytes) -> None:
        """Write all of ``data``."""

    async def shutdown_write(self) -> None:
        """Half-close: the peer sees EOF."""

    async def close(self) -> None:
        """Close the connection."""


class AsyncDatagramClient(Protocol):
    """A UDP socket that exchanges datagrams with the echo server."""

    async def roundtrip(self, payload: bytes) -> None:
        """Send ``payload`` and wait for the answer."""


class AsyncAdapter(Protocol):
    """What an async stack provides to the workloads."""

    disconnect_errors: tuple[type[BaseException], ...]

    def line(self, text: str) -> Line:
        """``text`` (no newline) in the form ``write_line`` takes."""

    async def serve_tcp(self, handler: Callable[[AsyncConn], Awaitable[None]]) -> int:
        """Serve ``handler`` per connection on 127.0.0.1 in the background; return the port."""

    async def serve_udp_echo(self) -> int:
        """Echo datagrams on 127.0.0.1 in the background; return the port."""

    async def connect(self, port: int) -> AsyncConn:
        """Connect to 127.0.0.1:``port``."""

    async def udp_client(self, port: int) -> AsyncDatagramClient:
        """A UDP socket whose round trips go to 127.0.0.1:``port``."""

    async def run_all(self, functions: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
        """Run every function concurrently; return their results."""

    async def sleep(self, seconds: float) -> None:
        """Sleep."""


async def main(
    adapter: AsyncAdapter, role: str, params: Params, control: Control
) -> dict[str, float] | None:
    """Run the server (until killed) or the client (returning its raw result) of ``params``."""
    if role == "server":
        await _serve(adapter, params, control)
        return None
    return await CLIENTS[params.kind](adapter, params, control)


# -- servers ---------------------------------------------------------------------------------


async def _serve(adapter: AsyncAdapter, params: Params, control: Control) -> None:
    if params.kind == "udp":
        port = await adapter.serve_udp_echo()
    else:
        handler = HANDLERS.get(params.kind, _echo_lines)
        port = await adapter.serve_tcp(partial(handler, adapter))
    control.ready(port)
    await adapter.sleep(SERVE_SECONDS)


async def _echo_lines(adapter: AsyncAdapter, conn: AsyncConn, lines: int = MAX_ROUND_TRIPS) -> None:
    """Echo *lines* lines (or until EOF), then close."""
    read, write = conn.read_line, conn.write_line
    try:
        for _ in range(lines):
            line = await read()
            if not line:
                break
            await write(line)
    except adapter.disconnect_errors:
        pass
    finally:
        await _close(adapter, conn)


async def _count_bytes(adapter: AsyncAdapter, conn: AsyncConn) -> None:
    recv = conn.recv_some
    total = 0
    try:
        for _ in range(MAX_CHUNKS):
            data = await recv()
            if not data:
                break
            total += len(data)
        await conn.write_line(adapter.line(str(total)))
    except adapter.disconnect_errors:
        pass
    finally:
        await _close(adapter, conn)


async def _close(adapter: AsyncAdapter, conn: AsyncConn) -> None:
    with contextlib.suppress(*adapter.disconnect_errors):
        await conn.close()


#: Server handlers other than the line echo: W1 counts, W4 answers one line and closes first.
HANDLERS: dict[str, Callable[..., Any]] = {
    "bulk": _count_bytes,
    "churn": partial(_echo_lines, lines=1),
}


# -- clients ---------------------------------------------------------------------------------


async def _repeat(
    op: Callable[[], Awaitable[object]], deadline: float, limit: int = MAX_ROUND_TRIPS
) -> int:
    """Await ``op()`` until ``deadline`` (perf_counter) or ``limit`` calls; return the count."""
    clock = perf_counter
    for done in range(limit):
        if clock() >= deadline:
            return done
        await op()
    return limit


async def _roundtrip(conn: AsyncConn, line: Line) -> None:
    await conn.write_line(line)
    if not await conn.read_line():
        raise EOFError("server closed the connection")


async def _bulk(adapter: AsyncAdapter, params: Params, control: Control) -> dict[str, float]:
    conn = await adapter.connect(params.port)
    chunk = bytes(CHUNK_SIZE)
    with control.window() as window:
        deadline = window.began + params.duration
        chunks = await _repeat(partial(conn.send, chunk), deadline, MAX_CHUNKS)
        await conn.shutdown_write()
        reply = await conn.read_line()
    await _close(adapter, conn)
    sent = chunks * CHUNK_SIZE
    if not reply or int(reply) != sent:
        raise RuntimeError(f"server counted {reply!r}, client sent {sent}")
    return {"bytes": sent, "count": chunks, "seconds": window.seconds}


async def _pingpong(adapter: AsyncAdapter, params: Params, control: Control) -> dict[str, float]:
    conn = await adapter.connect(params.port)
    op = partial(_roundtrip, conn, adapter.line(LINE_TEXT))
    with control.window() as window:
        count = await _repeat(op, window.began + params.duration)
    await _close(adapter, conn)
    return {"count": count, "seconds": window.seconds}


async def _churn(adapter: AsyncAdapter, params: Params, control: Control) -> dict[str, float]:
    line = adapter.line(LINE_TEXT)

    async def once() -> None:
        conn = await adapter.connect(params.port)
        try:
            await _roundtrip(conn, line)
            if await conn.read_line():  # the server closes first (see protocol)
                raise RuntimeError("the server answered more than one line")
        finally:
            await conn.close()

    with control.window() as window:
        deadline = window.began + params.duration
        workers = [partial(_repeat, once, deadline) for _ in range(CHURN_WORKERS)]
        counts = await adapter.run_all(workers)
    return {"count": sum(counts), "seconds": window.seconds}


async def _many(adapter: AsyncAdapter, params: Params, control: Control) -> dict[str, float]:
    total = params.connections
    line = adapter.line(LINE_TEXT)
    conns: list[AsyncConn] = []

    async def opener(first: int) -> list[AsyncConn]:
        opened = []
        for _ in range(first, total, CONNECT_PARALLEL):
            conn = await adapter.connect(params.port)
            await _roundtrip(conn, line)  # the server has accepted it and its handler runs
            opened.append(conn)
        return opened

    openers = [partial(opener, k) for k in range(min(CONNECT_PARALLEL, total))]
    for opened in await adapter.run_all(openers):
        conns += opened
    control.checkpoint("idle", connections=len(conns))
    with control.window() as window:
        deadline = window.began + params.duration
        pingers = [partial(_repeat, partial(_roundtrip, c, line), deadline) for c in conns]
        counts = await adapter.run_all(pingers)
    for conn in conns:
        await _close(adapter, conn)
    return {"count": sum(counts), "seconds": window.seconds}


async def _udp(adapter: AsyncAdapter, params: Params, control: Control) -> dict[str, float]:
    sock = await adapter.udp_client(params.port)
    with control.window() as window:
        count = await _repeat(partial(sock.roundtrip, DATAGRAM), window.began + params.duration)
    return {"count": count, "seconds": window.seconds}


CLIENTS: dict[str, Callable[[AsyncAdapter, Params, Control], Awaitable[dict[str, float]]]] = {
    "bulk": _bulk,
    "pingpong": _pingpong,
    "many": _many,
    "churn": _churn,
    "udp": _udp,
}
