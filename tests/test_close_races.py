"""A local close is "closed locally" for everyone blocked on the socket, never a kernel error
it provoked, and it ends the connection cleanly (SPEC section 5)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gevent
import pytest
from conftest import open_pair, settle

import greensock

pytestmark = pytest.mark.timeout(60)

def _write_forever(channel: Any) -> None:
    block = bytes(60_000)
    for _ in range(10_000):  # bounded: 600 MB, far more than any buffer holds
        channel.writePacket(block)
        channel.flush()


@pytest.mark.parametrize("peerHasUnreadBytes", [False, True])
@pytest.mark.parametrize("lingerSeconds", [-1, 0])
@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_a_writer_blocked_when_its_socket_closes_gets_ClosedWriteChannelException(
    kind: str, lingerSeconds: int, peerHasUnreadBytes: bool
) -> None:
    for _ in range(10):
        with open_pair(kind, configure={"lingerSeconds": lingerSeconds}) as (client, server):
            if peerHasUnreadBytes:
                toClient = server.openWriteChannel()
                toClient.writePacket(b"unread by the client" * 100)
                toClient.flush()
            writing = gevent.spawn(_write_forever, client.openWriteChannel())
            settle(0.05)
            assert not writing.ready()
            client.close()
            with pytest.raises(greensock.ClosedWriteChannelException):
                writing.get(timeout=10)


def test_closing_a_selector_over_many_busy_sockets_reports_only_closed_channels(
    tmp_path: Path,
) -> None:
    selector = greensock.SelectorManager()
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    peers, greenlets = [], []
    with server:
        for _ in range(50):
            client = greensock.aSocket(selector).tcp().connect("127.0.0.1", server.port, timeout=10)
            peer = server.accept(timeout=10)
            peers.append(peer)
            toClient = peer.openWriteChannel()
            toClient.writePacket(os.urandom(1000))
            toClient.flush()
            # Half of the peers read everything they get, half nothing: busy both ways.
            if len(peers) % 2:
                peerInput = peer.openReadChannel()
                gevent.spawn(lambda channel=peerInput: channel.discard())
            greenlets.append(gevent.spawn(_write_forever, client.openWriteChannel()))
            reading = client.openReadChannel()
            greenlets.append(gevent.spawn(lambda channel=reading: channel.discard()))
        settle(0.1)
        selector.close()
        gevent.joinall(greenlets, timeout=20)
        for greenlet in greenlets:
            assert greenlet.dead
            assert isinstance(
                greenlet.exception,
                (greensock.ClosedReadChannelException, greensock.ClosedWriteChannelException),
            ), repr(greenlet.exception)
        for peer in peers:
            peer.dispose()


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_close_wakes_a_blocked_reader_while_output_is_still_draining(kind: str) -> None:
    # A fixed send buffer (no autotuning): once full, it stays full while the peer does not
    # read.
    with open_pair(kind, configure={"sendBufferSize": 65536}) as (client, server):
        # Its flush blocks with bytes pending: close() has them to drain.
        writing = gevent.spawn(_write_forever, client.openWriteChannel())
        reading = gevent.spawn(client.openReadChannel().readUTF8Line)
        settle(0.05)
        assert not writing.ready() and not reading.ready()
        client.close()
        with pytest.raises(greensock.ClosedReadChannelException):
            reading.get(timeout=2)
        with pytest.raises(greensock.ClosedWriteChannelException):
            writing.get(timeout=2)
        assert not client.isClosed, "the last bytes should still be draining"
        # The peer reads what was handed on, then a clean end of stream.
        received = server.openReadChannel().readRemaining()
        assert len(received) >= 60_000
        assert client.awaitClosed(timeout=10)


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_closing_with_unread_bytes_ends_the_connection_cleanly(kind: str) -> None:
    """Unread bytes in the kernel would make the close a reset, and the peer would lose the
    last bytes it had not read yet."""
    with open_pair(kind) as (client, server):
        toClient = server.openWriteChannel()
        toClient.writePacket(b"never read" * 1000)
        toClient.flush()
        settle(0.05)
        output = client.openWriteChannel()
        output.writeStringUtf8("last words\n")
        output.flush()
        client.close()
        settle(0.2)  # a reset would have arrived by now
        fromClient = server.openReadChannel()
        assert fromClient.readUTF8Line() == "last words"
        assert fromClient.readUTF8Line() is None


def test_lingerSeconds_0_on_a_unix_socket_still_drains_and_ends_cleanly() -> None:
    """SO_LINGER is not applied to Unix sockets, which know no reset: dropping the pending
    bytes there would end the stream early with a clean EOF, a truncation nobody sees."""
    block = bytes(range(256)) * 200
    written = 0

    def write(channel: Any) -> None:
        nonlocal written
        for _ in range(1_000):  # bounded: 51 MB, far more than the buffers hold
            channel.writePacket(block)
            written += 1  # placed in the channel: close() owes it to the peer
            channel.flush()

    with open_pair("unix", configure={"lingerSeconds": 0, "sendBufferSize": 65536}) as (
        client,
        server,
    ):
        writing = gevent.spawn(write, client.openWriteChannel())
        settle(0.05)
        assert not writing.ready()
        client.close()
        with pytest.raises(greensock.ClosedWriteChannelException):
            writing.get(timeout=5)
        received = server.openReadChannel().readRemaining()
        assert received == block * written
