"""Shared fixtures: connected socket pairs over loopback, and channel pipes over every transport.

Socket pairs come from ``greensock.testing.socketPair``, the testing kit greensock ships;
here they are closed at teardown, and skipped where the machine lacks what they need:

* ``tcp_pair`` — ``(client, server)`` over 127.0.0.1;
* ``tcp6_pair`` — the same over ::1 (skipped when the machine has no IPv6 loopback);
* ``unix_pair`` — over a Unix socket (skipped without AF_UNIX);
* ``socket_pair`` — parametrized over the three.

Outside fixtures, :func:`open_pair` is the same thing as a context manager, for any kind
``socketPair`` makes (``"tls"`` and ``"memory"`` too).

Channel pipes: ``make_pipe(kind, capacity=None, autoFlush=False)`` returns a :class:`Pipe`
whose ``writer`` feeds its ``reader``: one ``ByteChannel`` for ``"memory"`` (reader and writer
are the same object), or the client's write channel and the server's read channel of a
socket pair for ``"tcp"``, ``"tcp6"`` and ``"unix"``. ``make_source(kind, data)`` returns a
read channel that yields *data* then end of stream, for those kinds and ``"content"``
(``ByteReadChannel(data)``).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import pytest
from markers import has_ipv6_loopback, has_unix_sockets

import greensock
from greensock.testing import socketPair

#: Kinds of socket pair the ``socket_pair`` fixture gives.
SOCKET_KINDS = ("tcp", "tcp6", "unix")
#: Pipe kinds with a live writer: in memory, and over the kernel.
PIPE_KINDS = ("memory", "tcp", "unix")
#: Kinds of read channel over fixed content (``make_source``).
SOURCE_KINDS = ("content", "memory", "tcp", "unix")


def skip_if_unavailable(kind: str) -> None:
    """Skip the test when this machine cannot make a ``socketPair`` of *kind*."""
    if kind == "tcp6" and not has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    if kind == "unix" and not has_unix_sockets():
        pytest.skip("this platform has no Unix domain sockets")
    if kind == "tls":
        pytest.importorskip("trustme")


@contextlib.contextmanager
def open_pair(kind: str = "tcp", configure: Any = None) -> Iterator[tuple[Any, Any]]:
    """Yield ``socketPair(kind, configure=configure)``, ``(client, server)``; close both after.

    *configure* applies to the client's ``connect``. Skips kinds this machine lacks.
    """
    skip_if_unavailable(kind)
    client, server = socketPair(kind, configure=configure)
    try:
        yield client, server
    finally:
        client.dispose()
        server.dispose()


@pytest.fixture
def tcp_pair() -> Iterator[tuple[Any, Any]]:
    """A connected ``(client, server)`` TCP pair over 127.0.0.1."""
    with open_pair("tcp") as pair:
        yield pair


@pytest.fixture
def tcp6_pair() -> Iterator[tuple[Any, Any]]:
    """A connected ``(client, server)`` TCP pair over ::1 (skipped without IPv6 loopback)."""
    with open_pair("tcp6") as pair:
        yield pair


@pytest.fixture
def unix_pair() -> Iterator[tuple[Any, Any]]:
    """A connected ``(client, server)`` Unix stream pair."""
    with open_pair("unix") as pair:
        yield pair


@pytest.fixture(params=SOCKET_KINDS)
def socket_pair(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """A connected ``(client, server)`` pair: TCP over 127.0.0.1, TCP over ::1, Unix."""
    with open_pair(request.param) as pair:
        yield pair


@dataclass
class Pipe:
    """A write channel and the read channel it feeds; sockets are None in memory."""

    kind: str
    writer: Any
    reader: Any
    client: Any = None
    server: Any = None
    greenlets: list[gevent.Greenlet] = field(default_factory=list)

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> gevent.Greenlet:
        """``gevent.spawn`` a greenlet that is killed at teardown if still running."""
        greenlet = gevent.spawn(fn, *args, **kwargs)
        self.greenlets.append(greenlet)
        return greenlet


@pytest.fixture
def make_pipe() -> Iterator[Callable[..., Pipe]]:
    """Factory ``make_pipe(kind, capacity=None, autoFlush=False) -> Pipe``.

    *capacity* applies to the in-memory ``ByteChannel`` only (default: its own default).
    """
    stack = contextlib.ExitStack()
    pipes: list[Pipe] = []

    def make(kind: str, capacity: int | None = None, autoFlush: bool = False) -> Pipe:
        if kind == "memory":
            if capacity is None:
                channel = greensock.ByteChannel(autoFlush=autoFlush)
            else:
                channel = greensock.ByteChannel(autoFlush=autoFlush, capacity=capacity)
            pipe = Pipe(kind, channel, channel)
        else:
            client, server = stack.enter_context(open_pair(kind))
            pipe = Pipe(
                kind,
                client.openWriteChannel(autoFlush=autoFlush),
                server.openReadChannel(),
                client,
                server,
            )
        pipes.append(pipe)
        return pipe

    with stack:
        try:
            yield make
        finally:
            for pipe in pipes:
                gevent.killall(pipe.greenlets, timeout=5)


@pytest.fixture
def make_source(make_pipe: Callable[..., Pipe]) -> Callable[[str, bytes], Any]:
    """Factory ``make_source(kind, data)``: a read channel yielding *data*, then end of stream.

    For pipe kinds a greenlet writes *data* and closes the writer, so any size works.
    """

    def make(kind: str, data: bytes) -> Any:
        if kind == "content":
            return greensock.ByteReadChannel(data)
        pipe = make_pipe(kind)

        def feed() -> None:
            pipe.writer.writeFully(data)
            pipe.writer.close()

        pipe.spawn(feed)
        return pipe.reader

    return make


def settle(seconds: float = 0.02) -> None:
    """Let other greenlets (and loopback delivery) run for a moment."""
    gevent.sleep(0)
    gevent.sleep(seconds)


__all__ = [
    "PIPE_KINDS",
    "SOCKET_KINDS",
    "SOURCE_KINDS",
    "Pipe",
    "has_ipv6_loopback",
    "has_unix_sockets",
    "open_pair",
    "settle",
    "skip_if_unavailable",
]


@pytest.fixture
def unix_dir() -> Iterator[Path]:
    """A short temporary directory for Unix socket files (sun_path holds ~108 bytes)."""
    with tempfile.TemporaryDirectory(prefix="gs") as directory:
        yield Path(directory)


@pytest.fixture
def selector() -> Iterator[greensock.SelectorManager]:
    """A SelectorManager of the test's own; closing it closes every socket the test built."""
    manager = greensock.SelectorManager()
    yield manager
    manager.close()
