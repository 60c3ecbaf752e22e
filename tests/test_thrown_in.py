"""Whatever is thrown into a blocked call propagates unchanged and leaves the channel intact.

SPEC principle 3: ``gevent.Timeout`` (with or without an exception of the caller's own) and
``Greenlet.kill`` (with any exception, ``OSError`` and ``TimeoutError`` — which is
``socket.timeout`` — included) are no failure of the connection. Only an error the kernel
reports on the socket fails it. Checked on every transport: TCP, Unix, TLS, the in-memory
pipe and UDP.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
import pytest
from conftest import open_pair, settle

import greensock

pytestmark = pytest.mark.timeout(30)

STREAM_KINDS = ("tcp", "unix", "tls", "memory")


@dataclass
class Link:
    """``out`` feeds ``into``; over a socket, ``back`` feeds ``backInto`` the other way."""

    out: Any
    into: Any
    back: Any
    backInto: Any


@contextlib.contextmanager
def open_link(kind: str) -> Iterator[Link]:
    if kind == "memory":
        forward, backward = greensock.ByteChannel(), greensock.ByteChannel()
        yield Link(forward, forward, backward, backward)
        return
    with open_pair(kind) as (client, server):
        yield Link(
            client.openWriteChannel(),
            server.openReadChannel(),
            server.openWriteChannel(),
            client.openReadChannel(),
        )


class Thrower:
    """One way of interrupting a blocked call, and how to tell that it came through intact."""

    def __init__(self, name: str, make: Callable[[], Any], kill: bool) -> None:
        self.name = name
        self._make = make
        self._kill = kill

    def __repr__(self) -> str:
        return self.name

    def interrupt(self, call: Callable[[], Any]) -> BaseException:
        """Run *call* in a greenlet, interrupt it once it blocks; return what it raised."""
        thrown = self._make()
        caught: list[BaseException] = []

        def run() -> None:
            try:
                if self._kill:
                    call()
                else:
                    with thrown:
                        call()
            except BaseException as exc:
                caught.append(exc)
                raise

        greenlet = gevent.spawn(run)
        settle(0.05)
        if self._kill:
            greenlet.kill(thrown, block=True, timeout=5)
        greenlet.join(timeout=5)
        assert greenlet.dead, "the interrupted call never returned"
        assert caught, f"{call} was not interrupted: it returned {greenlet.value!r}"
        exc = caught[0]
        if self._kill:
            assert exc is thrown
        elif isinstance(thrown, gevent.Timeout):
            expected = thrown.exception
            if expected is None:
                assert exc is thrown
            elif isinstance(expected, BaseException):
                assert exc is expected
            else:  # a class: gevent raises a new instance of exactly that class
                assert type(exc) is expected
        return exc


def _timeout(exception: Any) -> Callable[[], gevent.Timeout]:
    # Long enough for the call to block first, short enough to keep the suite quick.
    return lambda: gevent.Timeout(0.1, exception)


THROWERS = [
    Thrower("Timeout", _timeout(None), kill=False),
    Thrower("Timeout-TimeoutError", _timeout(TimeoutError("deadline")), kill=False),
    Thrower("Timeout-TimeoutError-class", _timeout(TimeoutError), kill=False),
    Thrower("Timeout-OSError", _timeout(OSError(5, "caller's own")), kill=False),
    Thrower("kill", gevent.GreenletExit, kill=True),
    Thrower("kill-OSError", lambda: OSError(5, "caller's own"), kill=True),
    Thrower("kill-ConnectionResetError", lambda: ConnectionResetError(104, "own"), kill=True),
    Thrower("kill-TimeoutError", lambda: TimeoutError("caller's own"), kill=True),
]


@pytest.mark.parametrize("thrower", THROWERS, ids=repr)
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_exception_thrown_into_a_blocked_read_leaves_the_connection_intact(
    kind: str, thrower: Thrower
) -> None:
    with open_link(kind) as link:
        link.out.writeStringUtf8("par")
        link.out.flush()
        thrower.interrupt(link.into.readUTF8Line)
        # Nothing consumed, nothing failed: the line completes, and both ways still work.
        link.out.writeStringUtf8("tial\n")
        link.out.flush()
        assert link.into.readUTF8Line() == "partial"
        assert link.into.closedCause is None
        link.back.writeStringUtf8("answer\n")
        link.back.flush()
        assert link.backInto.readUTF8Line() == "answer"


@pytest.mark.parametrize("thrower", THROWERS, ids=repr)
@pytest.mark.parametrize("kind", ("tcp", "unix", "tls"))
def test_exception_thrown_into_a_blocked_flush_keeps_every_byte(
    kind: str, thrower: Thrower
) -> None:
    chunk = bytes(range(256)) * 200  # 51,200 bytes: placed whole, handed on by flush()
    count = 400  # 20 MB: more than loopback's buffers hold, so a flush blocks
    with open_link(kind) as link:
        sent = 0

        def write() -> None:
            nonlocal sent
            while sent < count:
                link.out.writePacket(chunk)
                sent += 1
                link.out.flush()

        thrower.interrupt(write)
        assert 0 < sent < count, "the flush never blocked"
        # The interrupted flush kept its bytes; reading everything now sees each byte once.
        reader = gevent.spawn(link.into.readPacket, count * len(chunk))
        link.out.flush()
        write()
        link.out.flush()
        assert reader.get(timeout=20) == chunk * count
        assert link.out.totalBytesWritten == count * len(chunk)
        link.back.writeStringUtf8("still there\n")
        link.back.flush()
        assert link.backInto.readUTF8Line() == "still there"


@pytest.mark.parametrize("thrower", THROWERS, ids=repr)
def test_exception_thrown_into_a_blocked_receive_leaves_the_datagram_socket_intact(
    thrower: Thrower,
) -> None:
    udp = greensock.aSocket().udp()
    with udp.bind("127.0.0.1", 0) as server, udp.connect(server.localAddress) as client:
        thrower.interrupt(server.receive)
        # The receive slot is free again: no ConcurrentIOException, and the socket works.
        client.send(greensock.Datagram(b"after", server.localAddress))
        datagram = server.receive(timeout=5)
        assert datagram.packet == b"after"
        server.send(greensock.Datagram(b"answer", datagram.address))
        assert client.receive(timeout=5).packet == b"answer"


@pytest.mark.parametrize("thrower", THROWERS[:3], ids=repr)
def test_exception_thrown_into_a_datagram_read_channel_leaves_it_intact(
    thrower: Thrower,
) -> None:
    udp = greensock.aSocket().udp()
    with udp.bind("127.0.0.1", 0) as server, udp.connect(server.localAddress) as client:
        channel = server.openReadChannel()
        thrower.interrupt(lambda: channel.readPacket(4))
        client.send(greensock.Datagram(b"abcd", server.localAddress))
        assert channel.readPacket(4) == b"abcd"


def test_socket_timeout_still_fails_the_connection_with_its_own_exception() -> None:
    """The one timeout that is the connection's: socketTimeout, with the seconds it had."""
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    with server, greensock.aSocket().tcp().connect(
        "127.0.0.1", server.port, configure={"socketTimeout": 0.1}
    ) as client, server.accept(timeout=5):
        channel = client.openReadChannel()
        with pytest.raises(greensock.SocketTimeoutException, match=r"0\.1 s"):
            channel.readUTF8Line()
        with pytest.raises(greensock.SocketTimeoutException):
            channel.readUTF8Line()
        assert client.awaitClosed(timeout=5)
