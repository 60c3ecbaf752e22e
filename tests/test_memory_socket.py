"""Memory sockets (``socketPair("memory")``): stream sockets over the in-memory pipe.

The conformance checks run on them with every other kind (test_conformance.py); here, what
they do beyond the checks: interfaces, the failures the peer sees (the same as over a Unix
socketpair), lifecycle, attachments, what is not supported. The pipe's own rules are in
test_memory_pipe.py.
"""

from __future__ import annotations

import errno
from typing import Any

import gevent
import pytest
from conftest import open_pair, settle
from zope.interface.verify import verifyObject

import greensock
from greensock import (
    ByteChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedWriteChannelException,
)
from greensock import interfaces as I
from greensock.errors import ClosedReceiveChannelException
from greensock.testing import socketPair

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def pair() -> Any:
    first, second = socketPair("memory")
    yield first, second
    first.dispose()
    second.dispose()


def test_everything_a_memory_socket_hands_out_provides_its_interface(pair: Any) -> None:
    first, second = pair
    assert verifyObject(I.ISocket, first)
    assert verifyObject(I.IJob, first.socketContext)
    assert verifyObject(I.IByteReadChannel, first.openReadChannel())
    assert verifyObject(I.IByteWriteChannel, first.openWriteChannel())
    assert verifyObject(I.IConnection, second.connection())
    third, fourth = socketPair("memory")
    with third, fourth:
        assert verifyObject(I.IWriterJob, third.attachForReading(ByteChannel()))
        assert verifyObject(I.IReaderJob, fourth.attachForWriting(ByteChannel()))


def test_each_end_has_one_side_only(pair: Any) -> None:
    first, _ = pair
    incoming, outgoing = first.openReadChannel(), first.openWriteChannel()
    assert not hasattr(incoming, "writeFully") and not hasattr(incoming, "flush")
    assert not hasattr(outgoing, "readPacket") and not hasattr(outgoing, "cancel")


def test_channels_open_once_and_not_after_close(pair: Any) -> None:
    first, second = pair
    first.openReadChannel()
    first.attachForWriting(ByteChannel())
    with pytest.raises(RuntimeError):
        first.openReadChannel()
    with pytest.raises(RuntimeError):
        first.openWriteChannel()
    with pytest.raises(RuntimeError):
        first.connection()
    with pytest.raises(TypeError):
        second.openWriteChannel(autoFlush=1)
    second.close()
    for opening in (second.openReadChannel, second.openWriteChannel):
        with pytest.raises(ClosedChannelException):
            opening()
    with pytest.raises(ClosedChannelException):
        second.attachForReading(ByteChannel())


# -- transfers, closes and failures: as over a Unix socket pair -----------------------------
#
# A memory socket is a StreamSocket over the in-memory pipe: what a failure on one side shows
# the other is what the kernel would show, so the tests marked BOTH run on Unix pairs too.

BOTH = pytest.mark.parametrize("kind", ["memory", "unix"])


@BOTH
def test_written_bytes_arrive_on_flush_or_at_once_with_autoFlush(kind: str) -> None:
    with open_pair(kind) as (first, second):
        outgoing, incoming = first.openWriteChannel(autoFlush=True), second.openReadChannel()
        assert outgoing.autoFlush
        outgoing.writeInt(7)
        assert incoming.readInt() == 7
        back, answers = second.openWriteChannel(), first.openReadChannel()
        back.writeStringUtf8("not yet\n")
        with pytest.raises(gevent.Timeout):
            with gevent.Timeout(0.05):
                answers.readByte()  # nothing went out before the flush
        back.flush()
        assert answers.readUTF8Line() == "not yet"
        assert back.totalBytesWritten == 8 and answers.totalBytesRead == 8


def test_close_wakes_blocked_users_and_the_peer_sees_the_bytes_then_eof(pair: Any) -> None:
    first, second = pair
    reading = gevent.spawn(first.openReadChannel().readInt)
    outgoing = first.openWriteChannel()
    writing = gevent.spawn(outgoing.writeFully, bytes(200_000))  # more than the pipe holds
    settle()
    assert not reading.ready() and not writing.ready()
    first.close()
    with pytest.raises(ClosedReadChannelException):
        reading.get(timeout=5)
    with pytest.raises(ClosedWriteChannelException):
        writing.get(timeout=5)
    assert first.isClosed and first.awaitClosed(0) and first.socketContext.isCompleted
    incoming = second.openReadChannel()
    assert len(incoming.readRemaining()) == 65536  # what the pipe held: then end of stream
    assert incoming.readAvailable(bytearray(1)) == -1


@BOTH
def test_the_peer_of_a_closed_socket_gets_a_broken_pipe_when_it_flushes(kind: str) -> None:
    with open_pair(kind) as (first, second):
        outgoing = second.openWriteChannel()
        first.close()
        outgoing.writeInt(1)
        with pytest.raises(BrokenPipeError) as broken:
            outgoing.flush()
        assert broken.value.errno == errno.EPIPE
        with pytest.raises(BrokenPipeError) as again:
            outgoing.writeInt(2)
        assert again.value is broken.value  # the connection failed: one error, every time
        assert outgoing.closedCause is broken.value
        with pytest.raises(ClosedChannelException):
            second.openReadChannel()  # the failed connection closed the socket
        assert second.isClosed


@BOTH
def test_a_cause_stays_on_its_side_the_peer_sees_the_close(kind: str) -> None:
    with open_pair(kind) as (first, second):
        outgoing, incoming = first.openWriteChannel(), second.openReadChannel()
        cause = ValueError("the writer's own")
        waiting = gevent.spawn(incoming.readPacket, 4)
        settle()
        assert outgoing.close(cause)
        with pytest.raises(ValueError) as own:
            outgoing.writeInt(1)
        assert own.value is cause and outgoing.closedCause is cause
        settle()
        assert not waiting.ready()  # a channel's failure does not cross the connection
        first.close()
        with pytest.raises(ClosedReceiveChannelException):
            waiting.get(timeout=5)
        assert incoming.closedCause is None


@BOTH
def test_cancelling_the_read_channel_leaves_the_peers_writes_alone(kind: str) -> None:
    with open_pair(kind) as (first, second):
        incoming, outgoing = first.openReadChannel(), second.openWriteChannel()
        assert incoming.cancel()
        assert not incoming.cancel()
        with pytest.raises(ClosedReadChannelException):
            incoming.readByte()
        outgoing.writeFully(b"x")
        outgoing.flush()  # the kernel (the pipe) takes it: nobody reads it
        first.close()
        with pytest.raises(BrokenPipeError):
            outgoing.writeFully(b"y")
            outgoing.flush()


def test_closing_the_write_end_half_closes(pair: Any) -> None:
    first, second = pair
    with first.openWriteChannel() as outgoing:
        outgoing.writeStringUtf8("question\n")
    incoming = second.openReadChannel()
    assert list(incoming.lines()) == ["question"]
    assert not first.isClosed and not second.isClosed
    answer = second.openWriteChannel()
    answer.writeStringUtf8("answer")
    answer.close()
    assert first.openReadChannel().readRemaining() == b"answer"


@BOTH
def test_lines_and_chunks_end_at_the_peers_close(kind: str) -> None:
    with open_pair(kind) as (first, second):
        outgoing = first.openWriteChannel()
        incoming = second.openReadChannel()
        outgoing.writeStringUtf8("one\ntwo")
        outgoing.flush()
        lines = incoming.lines()
        assert next(lines) == "one"
        first.close()  # the peer then sees "two" and the end of stream, normally
        assert list(lines) == ["two"]
    with open_pair(kind) as (third, fourth):
        chunks = fourth.openReadChannel().chunks()
        with third.openWriteChannel() as output:
            output.writeFully(b"last")
        assert list(chunks) == [b"last"]


@BOTH
def test_copyAndClose_closes_its_destination_with_what_this_side_sees(kind: str) -> None:
    with open_pair(kind) as (_, second):
        destination = ByteChannel()
        copying = gevent.spawn(second.openReadChannel().copyAndClose, destination)
        settle()
        second.close()
        with pytest.raises(ClosedReadChannelException):
            copying.get(timeout=5)
        assert isinstance(destination.closedCause, ClosedReadChannelException)


def test_the_lifecycle_of_a_memory_socket(pair: Any) -> None:
    first, second = pair
    assert not first.awaitClosed(0.01)
    with pytest.raises(ValueError):
        first.awaitClosed(float("nan"))
    handled: list[Any] = []
    first.socketContext.invokeOnCompletion(handled.append)
    first.socketContext.cancel()  # cancelling the context closes the socket
    assert first.isClosed and handled and isinstance(handled[0], gevent.GreenletExit)
    first.close()
    first.dispose()
    with second:
        assert "open" in repr(second)
    assert second.isClosed and "closed" in repr(second)


def test_attachments_pump_both_ways(pair: Any) -> None:
    first, second = pair
    intoFirst, fromSecond = ByteChannel(), ByteChannel()
    reading = first.attachForReading(intoFirst)
    writing = second.attachForWriting(fromSecond)
    fromSecond.writeStringUtf8("through two pumps\n")
    fromSecond.close()
    assert intoFirst.readUTF8Line() == "through two pumps"
    assert intoFirst.readUTF8Line() is None
    assert writing.join(5) and reading.join(5)
    assert reading.channel is intoFirst and writing.channel is fromSecond


def test_close_lets_the_write_pump_hand_on_what_its_channel_holds(pair: Any) -> None:
    first, second = pair
    channel = ByteChannel()
    first.attachForWriting(channel)
    channel.writeFully(bytes(100_000))  # more than the pipe to the peer holds
    channel.flush()
    first.close()
    assert not first.isClosed  # still handing on, as a kernel socket drains
    assert len(second.openReadChannel().readRemaining()) == 100_000
    assert first.awaitClosed(5)


def test_the_write_pump_gives_up_after_lingerTimeout(pair: Any) -> None:
    first, _ = pair
    first.lingerTimeout = 0.05
    channel = ByteChannel()
    job = first.attachForWriting(channel)
    channel.writeFully(bytes(100_000))
    channel.flush()
    first.close()  # the peer never reads
    assert first.awaitClosed(5)
    assert job.isCancelled


def test_close_fails_the_read_pump_with_the_closed_channel(pair: Any) -> None:
    first, _ = pair
    channel = ByteChannel()
    job = first.attachForReading(channel)
    settle()
    first.close()
    assert job.join(5) and job.isCancelled
    with pytest.raises(ClosedReadChannelException):
        channel.readByte()


def test_tls_is_not_supported_on_memory_sockets(pair: Any) -> None:
    first, second = pair
    with pytest.raises(RuntimeError, match=r"socketPair\('tls'\)"):
        first.tls()
    connection = second.connection()
    assert isinstance(connection, greensock.Connection) and connection.socket is second
    with pytest.raises(RuntimeError, match="not supported"):
        connection.tls()
