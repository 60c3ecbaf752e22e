"""Faults end in the documented exception, never a hang (SPEC section 5):

* a peer that resets the connection (SO_LINGER 0) during a read, a write or a flush: the
  kernel's ConnectionResetError/BrokenPipeError, re-raised by every later read and write;
* a close from another greenlet during every blocking call: readers get
  ClosedReadChannelException, writers ClosedWriteChannelException — never a kernel error the
  close itself provoked —, accept ClosedChannelException, UDP receive
  ClosedReceiveChannelException; close() wakes them at once, even while output still drains;
* a SelectorManager closed over many busy sockets: every blocked greenlet gets the closed
  exception of its side.

The module's leak check (conftest) makes sure none of it leaves a descriptor or a greenlet.
"""

from __future__ import annotations

import collections
from typing import Any

import gevent
import pytest

import greensock

from . import _support
from ._streams import READ_OPERATIONS, build_read
from ._support import PATIENCE, STREAM_KINDS, Spawned, connected_pair, outcome, saturate, settle

pytestmark = pytest.mark.timeout(60)

RESET_ERRORS = (ConnectionResetError, BrokenPipeError)
#: Small kernel buffers, so that a writer blocks after a few hundred kB.
SMALL_BUFFERS = {"sendBufferSize": 4096, "receiveBufferSize": 4096}


def _needs(kind: str) -> None:
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")


def _blocked_read(reader: Any, operation: str) -> Any:
    import random

    record = build_read(operation, random.Random(operation))
    return lambda: record.attempt(reader)


# -- a peer that resets the connection ------------------------------------------------------


@pytest.mark.parametrize("operation", ["readAvailable", "readPacket", "readUTF8Line", "readInt"])
def test_peer_reset_during_a_read_raises_ConnectionResetError_for_every_later_call(
    operation: str,
) -> None:
    with connected_pair("tcp", {"lingerSeconds": 0}) as (peer, sock), Spawned() as spawn:
        reader, writer = sock.openReadChannel(), sock.openWriteChannel()
        reading = spawn(_blocked_read(reader, operation))
        settle(0.05)
        assert not reading.dead
        peer.close()  # SO_LINGER 0: RST
        failure = outcome(reading)
        assert isinstance(failure, ConnectionResetError), (
            f"{operation} blocked while the peer reset got {failure!r}"
        )
        with pytest.raises(RESET_ERRORS):
            reader.readAvailable(bytearray(10))
        with pytest.raises(RESET_ERRORS):
            writer.writeFully(b"x")
            writer.flush()


@pytest.mark.parametrize("blocked_in", ["writeFully", "flush"])
def test_peer_reset_during_a_blocked_write_raises_the_kernel_error(blocked_in: str) -> None:
    with connected_pair("tcp", {**SMALL_BUFFERS, "lingerSeconds": 0}) as (peer, sock), \
            Spawned() as spawn:
        # The peer (never reading) is the client with small buffers; sock writes to it.
        writer, reader = sock.openWriteChannel(), sock.openReadChannel()
        peer.openReadChannel()
        block = b"\x5a" * 1_000_000

        def write() -> None:
            while True:
                if blocked_in == "flush":
                    writer.writeFully(block[:60_000])  # fits: only the flush blocks
                    writer.flush()
                else:
                    writer.writeFully(block)

        writing = spawn(write)
        _support.wait_until_stalled(lambda: writer.totalBytesWritten)
        assert not writing.dead, f"the writer ended: {outcome(writing)!r}"
        peer.close()  # RST
        failure = outcome(writing)
        assert isinstance(failure, RESET_ERRORS), (
            f"a {blocked_in} blocked while the peer reset got {failure!r}"
        )
        with pytest.raises(RESET_ERRORS):
            writer.writeFully(b"more")
            writer.flush()
        with pytest.raises(RESET_ERRORS):
            reader.readAvailable(bytearray(10))


def test_unix_peer_closing_under_a_blocked_write_raises_BrokenPipeError() -> None:
    with connected_pair("unix") as (peer, sock), Spawned() as spawn:
        writer = sock.openWriteChannel()
        writing = saturate(writer, spawn)
        peer.close()
        failure = outcome(writing)
        assert isinstance(failure, RESET_ERRORS), f"the blocked writer got {failure!r}"


# -- close from another greenlet ------------------------------------------------------------


@pytest.mark.parametrize("operation", READ_OPERATIONS)
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_close_from_another_greenlet_wakes_a_blocked_read_with_ClosedReadChannelException(
    kind: str, operation: str
) -> None:
    _needs(kind)
    with connected_pair(kind) as (_client, server), Spawned() as spawn:
        reader = server.openReadChannel()
        reading = spawn(_blocked_read(reader, operation))
        settle(0.05)
        assert not reading.dead, f"{operation} did not block: {outcome(reading)!r}"
        server.close()
        failure = outcome(reading)
        assert isinstance(failure, greensock.ClosedReadChannelException), (
            f"{operation} blocked on a {kind} socket closed by another greenlet got {failure!r}"
        )
        assert server.awaitClosed(PATIENCE)


@pytest.mark.parametrize("blocked_in", ["writeFully", "flush"])
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_close_from_another_greenlet_wakes_a_blocked_writer_with_ClosedWriteChannelException(
    kind: str, blocked_in: str
) -> None:
    _needs(kind)
    for round_ in range(10):  # the wrong exception came now and then: try it often
        with connected_pair(kind, SMALL_BUFFERS) as (client, server), Spawned() as spawn:
            # Unread bytes waiting at the closing side make the kernel answer its close with
            # an RST: the closed writer must still see a local close.
            answer = server.openWriteChannel()
            answer.writeFully(b"unread" * 100)
            answer.flush()
            writer = client.openWriteChannel()
            block = b"\x33" * 400_000

            def write(writer: Any = writer, block: bytes = block) -> None:
                while True:
                    if blocked_in == "flush":
                        writer.writeFully(block[:50_000])
                        writer.flush()
                    else:
                        writer.writeFully(block)

            writing = spawn(write)
            _support.wait_until_stalled(lambda w=writer: w.totalBytesWritten, quiet=0.1)
            assert not writing.dead, f"the writer ended: {outcome(writing)!r}"
            client.close()
            failure = outcome(writing)
            assert isinstance(failure, greensock.ClosedWriteChannelException), (
                f"round {round_}: a {blocked_in} blocked on a {kind} socket closed by another "
                f"greenlet got {failure!r}"
            )
            server.close()
            assert client.awaitClosed(PATIENCE)


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_close_wakes_a_blocked_reader_at_once_while_output_still_drains(kind: str) -> None:
    _needs(kind)
    with connected_pair(kind, SMALL_BUFFERS) as (client, server), Spawned() as spawn:
        writer, reader = client.openWriteChannel(), client.openReadChannel()
        server.openReadChannel()  # the peer never reads: the client's output cannot drain
        saturate(writer, spawn).kill()
        # Bytes written and not flushed: close() has to send them, and the kernel is full.
        assert writer.writeAvailable(b"pending, never flushed" * 2500) > 10_000
        reading = spawn(reader.readAvailable, bytearray(10))
        settle(0.05)
        assert not reading.dead
        with gevent.Timeout(1, AssertionError("close() blocked")):
            client.close()
        assert not client.isClosed, "the output drained although the peer reads nothing"
        reading.join(2)
        assert reading.dead, "close() left the reader blocked while output was draining"
        failure = outcome(reading)
        assert isinstance(failure, greensock.ClosedReadChannelException), failure
        server.close()  # the drain fails: the socket closes
        assert client.awaitClosed(PATIENCE)


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_cancelling_the_read_channel_wakes_the_blocked_reader(kind: str) -> None:
    _needs(kind)
    with connected_pair(kind) as (_client, server), Spawned() as spawn:
        reader = server.openReadChannel()
        reading = spawn(reader.readUTF8Line)
        settle(0.05)
        assert reader.cancel() is True
        failure = outcome(reading)
        assert isinstance(failure, greensock.ClosedReadChannelException), failure


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_closing_the_write_channel_with_a_cause_wakes_the_blocked_writer_with_it(
    kind: str,
) -> None:
    _needs(kind)
    with connected_pair(kind, SMALL_BUFFERS) as (client, server), Spawned() as spawn:
        writer = client.openWriteChannel()
        server.openReadChannel()
        writing = saturate(writer, spawn)
        cause = _support.Own("closed with a cause")
        assert writer.close(cause) is True
        assert outcome(writing) is cause


def test_close_wakes_a_blocked_accept_with_ClosedChannelException() -> None:
    with _support.listening("tcp") as (server, _target), Spawned() as spawn:
        accepting = spawn(server.accept)
        settle(0.05)
        server.close()
        failure = outcome(accepting)
        assert isinstance(failure, greensock.ClosedChannelException), failure
        with pytest.raises(greensock.ClosedChannelException):
            server.accept()


@pytest.mark.parametrize("api", ["receive", "incoming", "read channel"])
def test_close_wakes_a_blocked_udp_receive(api: str) -> None:
    sock = greensock.aSocket().udp().bind("127.0.0.1", 0)
    with Spawned() as spawn:
        if api == "receive":
            receiving = spawn(sock.receive)
            expected: type = greensock.ClosedReceiveChannelException
        elif api == "incoming":
            receiving = spawn(lambda: list(sock.incoming))
            expected = list
        else:
            channel = sock.openReadChannel()
            receiving = spawn(channel.readPacket, 4)
            expected = greensock.ClosedReadChannelException
        settle(0.05)
        assert not receiving.dead
        sock.close()
        result = outcome(receiving)
        assert isinstance(result, expected), f"{api} woken by close got {result!r}"
        if api == "incoming":
            assert result == []


def test_close_wakes_a_blocked_tls_handshake() -> None:
    _needs("tls")
    with connected_pair("tcp") as (client, _server), Spawned() as spawn:
        shaking = spawn(client.tls, _support.tls().client, serverName="localhost")
        settle(0.05)
        client.close()
        failure = outcome(shaking)
        assert isinstance(failure, greensock.ClosedChannelException), (
            f"a handshake blocked on a socket closed by another greenlet got {failure!r}"
        )


# -- the in-memory ByteChannel --------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "at_end"),
    [
        ("readAvailable", -1),
        ("readUTF8Line", None),
        ("peek", None),
        ("awaitContent", False),
        ("readRemaining", b""),
        ("discard", 0),
        ("chunks", []),
        ("lines", []),
        ("readPacket", greensock.ClosedReceiveChannelException),
        ("readUntil", greensock.ClosedReceiveChannelException),
    ],
)
def test_bytechannel_close_wakes_a_waiting_reader_with_end_of_stream(
    operation: str, at_end: Any
) -> None:
    calls = {
        "readAvailable": lambda ch: ch.readAvailable(bytearray(10)),
        "readUTF8Line": lambda ch: ch.readUTF8Line(),
        "peek": lambda ch: ch.peek(3),
        "awaitContent": lambda ch: ch.awaitContent(3),
        "readRemaining": lambda ch: ch.readRemaining(),
        "discard": lambda ch: ch.discard(),
        "chunks": lambda ch: list(ch.chunks()),
        "lines": lambda ch: list(ch.lines()),
        "readPacket": lambda ch: ch.readPacket(3),
        "readUntil": lambda ch: ch.readUntil(b"\n"),
    }
    channel = greensock.ByteChannel()
    with Spawned() as spawn:
        reading = spawn(calls[operation], channel)
        settle()
        assert channel.close() is True
        result = outcome(reading)
    if isinstance(at_end, type):
        assert isinstance(result, at_end), f"{operation} woken by close() gave {result!r}"
    else:
        assert result == at_end and type(result) is type(at_end), (
            f"{operation} woken by close() gave {result!r}, expected {at_end!r} (end of stream)"
        )


@pytest.mark.parametrize("closing", ["close(cause)", "cancel(cause)", "cancel()"])
@pytest.mark.parametrize(
    "operation", ["readAvailable", "readUTF8Line", "readPacket", "chunks", "awaitContent"]
)
def test_bytechannel_failed_while_a_reader_waits_raises_the_cause_in_it(
    operation: str, closing: str
) -> None:
    calls = {
        "readAvailable": lambda ch: ch.readAvailable(bytearray(10)),
        "readUTF8Line": lambda ch: ch.readUTF8Line(),
        "readPacket": lambda ch: ch.readPacket(3),
        "chunks": lambda ch: list(ch.chunks()),
        "awaitContent": lambda ch: ch.awaitContent(3),
    }
    channel = greensock.ByteChannel()
    cause = KeyError("the cause")
    with Spawned() as spawn:
        reading = spawn(calls[operation], channel)
        settle()
        if closing == "close(cause)":
            channel.close(cause)
        elif closing == "cancel(cause)":
            channel.cancel(cause)
        else:
            channel.cancel()
        result = outcome(reading)
    if closing == "cancel()":
        assert isinstance(result, greensock.ClosedReadChannelException), (
            f"{operation} woken by cancel() gave {result!r}"
        )
    else:
        assert result is cause, f"{operation} woken by {closing} gave {result!r}, not the cause"


@pytest.mark.parametrize("closing", ["close()", "close(cause)", "cancel(cause)"])
def test_bytechannel_close_wakes_a_writer_blocked_on_a_full_channel(closing: str) -> None:
    channel = greensock.ByteChannel(capacity=16)
    cause = KeyError("the cause")
    with Spawned() as spawn:
        writing = spawn(channel.writeFully, b"x" * 100)
        settle()
        assert not writing.dead
        if closing == "close()":
            channel.close()
        elif closing == "close(cause)":
            channel.close(cause)
        else:
            channel.cancel(cause)
        result = outcome(writing)
    if closing == "close()":
        assert isinstance(result, greensock.ClosedWriteChannelException), result
    else:
        assert result is cause, f"the writer woken by {closing} got {result!r}"


# -- a SelectorManager closed over many busy sockets ---------------------------------------


def test_selector_close_over_many_busy_sockets_gives_only_closed_channel_exceptions() -> None:
    pairs_per_round, rounds = 60, 5
    seen: collections.Counter[str] = collections.Counter()
    wrong: list[str] = []
    for _ in range(rounds):
        selector = greensock.SelectorManager()
        with Spawned() as spawn:
            server = greensock.aSocket(selector).tcp().bind("127.0.0.1", 0)
            sockets = []
            for _ in range(pairs_per_round):
                client = greensock.aSocket(selector).tcp().connect(
                    "127.0.0.1", server.port, timeout=PATIENCE
                )
                sockets += [client, server.accept(timeout=PATIENCE)]
            block = b"\x77" * 100_000

            def write(channel: Any, block: bytes = block) -> None:
                while True:
                    channel.writeFully(block)

            def read(channel: Any) -> None:
                dst = bytearray(7)
                while channel.readAvailable(dst) > 0:
                    gevent.sleep(0.001)

            greenlets = []
            for sock in sockets:
                greenlets.append((spawn(write, sock.openWriteChannel()), "writer"))
                greenlets.append((spawn(read, sock.openReadChannel()), "reader"))
            settle(0.1)
            selector.close()
            for greenlet, side in greenlets:
                result = outcome(greenlet)
                seen[f"{side}: {type(result).__name__}"] += 1
                expected = (
                    greensock.ClosedWriteChannelException
                    if side == "writer"
                    else greensock.ClosedReadChannelException
                )
                if not isinstance(result, expected):
                    wrong.append(f"{side} got {result!r}")
            for sock in sockets:
                assert sock.awaitClosed(PATIENCE)
    assert not wrong, (
        f"{len(wrong)} of {sum(seen.values())} blocked greenlets got another exception than "
        f"their side's closed-channel exception: {wrong[:5]} (all: {dict(seen)})"
    )
