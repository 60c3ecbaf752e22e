"""The exceptions of SPEC section 9: their bases, and each row provoked through the real API."""

from __future__ import annotations

import select
import socket
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket

import greensock
from greensock import (
    ByteChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedSendChannelException,
    ClosedWriteChannelException,
    ConcurrentIOException,
    ConnectTimeoutException,
    InetSocketAddress,
    SelectorManager,
    SocketTimeoutException,
    TooLongLineException,
    aSocket,
)

LOCAL = "127.0.0.1"

HIERARCHY = [
    ("ClosedChannelException", OSError),
    ("ClosedReadChannelException", ClosedChannelException),
    ("ClosedWriteChannelException", ClosedChannelException),
    ("ClosedSendChannelException", ClosedChannelException),
    ("ClosedReceiveChannelException", EOFError),
    ("SocketTimeoutException", TimeoutError),
    ("ConnectTimeoutException", TimeoutError),
    ("TooLongLineException", ValueError),
    ("ConcurrentIOException", RuntimeError),
]


@pytest.mark.parametrize(("name", "base"), HIERARCHY, ids=[name for name, _ in HIERARCHY])
def test_each_exception_is_exported_with_its_base(name: str, base: type) -> None:
    exception = getattr(greensock, name)
    assert name in greensock.__all__
    assert issubclass(exception, base)
    assert exception.__module__ == "greensock.errors"
    assert getattr(greensock.errors, name) is exception


def test_the_two_timeouts_and_the_closed_family_are_distinct() -> None:
    assert not issubclass(SocketTimeoutException, ConnectTimeoutException)
    assert not issubclass(ConnectTimeoutException, SocketTimeoutException)
    assert not issubclass(ClosedReceiveChannelException, ClosedChannelException)
    assert issubclass(ClosedChannelException, OSError)  # `except OSError` still catches it


# -- each row of the table, provoked ---------------------------------------------------------------


@pytest.fixture
def pair(selector: SelectorManager) -> tuple[Any, Any]:
    """A connected (client, accepted) TCP pair."""
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    return client, server.accept(timeout=5)


@pytest.mark.timeout(10)
def test_ClosedChannelException_on_a_closed_socket_server_and_selector(
    selector: SelectorManager, pair: tuple[Any, Any]
) -> None:
    client, _ = pair
    client.close()
    with pytest.raises(ClosedChannelException):
        client.openReadChannel()
    server = aSocket(selector).tcp().bind(LOCAL, 0)
    server.close()
    with pytest.raises(ClosedChannelException):
        server.accept()
    selector.close()
    with pytest.raises(ClosedChannelException):
        aSocket(selector).tcp().bind(LOCAL, 0)


@pytest.mark.timeout(10)
def test_ClosedReadChannelException_reading_a_channel_cancelled_or_closed_locally(
    pair: tuple[Any, Any],
) -> None:
    client, accepted = pair
    reader = client.openReadChannel()
    reader.cancel()
    with pytest.raises(ClosedReadChannelException):
        reader.readByte()
    other = accepted.openReadChannel()
    accepted.close()
    with pytest.raises(ClosedReadChannelException):
        other.readByte()


@pytest.mark.timeout(10)
def test_ClosedWriteChannelException_writing_a_closed_write_channel(
    pair: tuple[Any, Any],
) -> None:
    client, _ = pair
    writer = client.openWriteChannel()
    writer.close()
    with pytest.raises(ClosedWriteChannelException):
        writer.writeInt(1)
    memory = ByteChannel()
    memory.close()
    with pytest.raises(ClosedWriteChannelException):
        memory.writeInt(1)


@pytest.mark.timeout(10)
def test_ClosedSendChannelException_sending_on_a_closed_datagram_socket(
    selector: SelectorManager,
) -> None:
    Datagram = pytest.importorskip("greensock.datagram").Datagram
    udp = aSocket(selector).udp().bind(LOCAL, 0)
    target = udp.localAddress
    udp.close()
    with pytest.raises(ClosedSendChannelException):
        udp.send(Datagram(b"x", target))


@pytest.mark.timeout(10)
def test_ClosedReceiveChannelException_at_eof_of_an_exact_read(pair: tuple[Any, Any]) -> None:
    client, accepted = pair
    out = client.openWriteChannel()
    out.writeFully(b"abc")
    out.close()
    reader = accepted.openReadChannel()
    with pytest.raises(ClosedReceiveChannelException):
        reader.readInt()  # 3 of 4 bytes, then EOF
    with pytest.raises(EOFError):
        reader.readPacket(4)
    assert reader.readPacket(3) == b"abc"  # the failed reads consumed nothing


@pytest.mark.timeout(10)
def test_ClosedReceiveChannelException_receiving_on_a_closed_datagram_socket(
    selector: SelectorManager,
) -> None:
    udp = aSocket(selector).udp().bind(LOCAL, 0)
    blocked = gevent.spawn(udp.receive)
    gevent.sleep(0.02)
    udp.close()
    blocked.join(timeout=2)
    assert isinstance(blocked.exception, ClosedReceiveChannelException)
    with pytest.raises(ClosedReceiveChannelException):
        udp.receive()


@pytest.mark.timeout(10)
def test_SocketTimeoutException_when_socketTimeout_passes(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"socketTimeout": 0.1})
    with pytest.raises(SocketTimeoutException):
        client.openReadChannel().readByte()


@pytest.mark.timeout(10)
def test_ConnectTimeoutException_when_connect_timeout_passes(selector: SelectorManager) -> None:
    # A listener with a full backlog that never accepts leaves later SYNs unanswered.
    made: list[Any] = []
    try:
        listener = gsocket.socket()
        made.append(listener)
        listener.bind((LOCAL, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(10):
            filler = gsocket.socket()
            made.append(filler)
            filler.setblocking(False)
            with pytest.raises(BlockingIOError):
                filler.connect((LOCAL, port))
            if not select.select([], [filler], [], 0.2)[1]:
                break
        else:
            pytest.skip("could not stall a connect on this system")
        with pytest.raises(ConnectTimeoutException):
            aSocket(selector).tcp().connect(InetSocketAddress(LOCAL, port), timeout=0.2)
    finally:
        for sock in made:
            sock.close()


@pytest.mark.timeout(10)
def test_TooLongLineException_for_a_line_over_its_limit(pair: tuple[Any, Any]) -> None:
    client, accepted = pair
    out = client.openWriteChannel()
    out.writeStringUtf8("x" * 100 + "\n")
    out.flush()
    reader = accepted.openReadChannel()
    with pytest.raises(TooLongLineException):
        reader.readUTF8Line(limit=10)
    assert reader.readUTF8Line(limit=200) == "x" * 100  # nothing was consumed


@pytest.mark.timeout(10)
def test_ConcurrentIOException_for_two_greenlets_on_one_side(
    selector: SelectorManager, pair: tuple[Any, Any]
) -> None:
    client, _ = pair
    reader = client.openReadChannel()
    first = gevent.spawn(reader.readByte)
    gevent.sleep(0.02)
    with pytest.raises(ConcurrentIOException):
        reader.readByte()
    assert not first.dead  # the first keeps waiting
    first.kill()
    server = aSocket(selector).tcp().bind(LOCAL, 0)
    accepting = gevent.spawn(server.accept)
    gevent.sleep(0.02)
    with pytest.raises(ConcurrentIOException):
        server.accept(timeout=1)
    accepting.kill()


@pytest.mark.timeout(10)
def test_kernel_errors_stay_pythons_own(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    with socket.socket() as holder:  # bound, not listening: connections are refused
        holder.bind((LOCAL, 0))
        with pytest.raises(ConnectionRefusedError):
            tcp.connect(LOCAL, holder.getsockname()[1])
    with pytest.raises(socket.gaierror):
        tcp.connect("greensock-errors.invalid", 80)
