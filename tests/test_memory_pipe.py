"""The in-memory pipe (greensock.memorypipe): each rule under which its ends answer as a
connected pair of non-blocking kernel stream sockets, checked at the endpoint; and that a
memory socket's transfers meet them through the stream socket's one error path.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from conftest import settle
from gevent.socket import cancel_wait_ex

from greensock import ClosedReadChannelException, SocketTimeoutException
from greensock._gevent import NoProgress
from greensock.memorypipe import CAPACITY, PipeEndpoint, pipe_endpoints
from greensock.testing import socketPair

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def ends() -> Iterator[tuple[PipeEndpoint, PipeEndpoint]]:
    first, second = pipe_endpoints()
    yield first, second
    first.close()
    second.close()


def receive(end: PipeEndpoint, size: int = CAPACITY) -> bytes:
    buffer = bytearray(size)
    count = end.raw.recv_into(buffer)
    return bytes(buffer[:count])


def parked(call: Any, *args: Any) -> gevent.Greenlet:
    """Run *call* in a greenlet and check that it is blocked."""
    greenlet = gevent.spawn(call, *args)
    settle()
    assert not greenlet.ready()
    return greenlet


# -- transfers -------------------------------------------------------------------------------


def test_bytes_go_through_in_order_and_nothing_there_would_block(ends: Any) -> None:
    first, second = ends
    with pytest.raises(BlockingIOError):
        receive(second)
    assert first.raw.send(b"abc") == 3 and first.raw.send(memoryview(b"_def")[1:]) == 3
    assert second.unreadBytes() == 6
    assert receive(second, 4) == b"abcd" and receive(second) == b"ef"
    assert second.unreadBytes() == 0


def test_end_of_stream_after_shutdown(ends: Any) -> None:
    first, second = ends
    first.raw.send(b"last")
    first.shutdown(socket.SHUT_WR)
    assert receive(second) == b"last"
    assert receive(second) == b"" and receive(second) == b""
    with pytest.raises(BrokenPipeError):
        first.raw.send(b"more")  # this end's output is over
    second.raw.send(b"the other way still works")
    assert receive(first) == b"the other way still works"


def test_end_of_stream_after_close(ends: Any) -> None:
    first, second = ends
    first.raw.send(b"last")
    first.close()
    assert receive(second) == b"last" and receive(second) == b""


def test_a_send_after_the_peer_closed_is_a_broken_pipe(ends: Any) -> None:
    first, second = ends
    second.close()
    with pytest.raises(BrokenPipeError) as broken:
        first.raw.send(b"x")
    assert broken.value.errno == errno.EPIPE


def test_closing_with_bytes_unread_resets_the_connection(ends: Any) -> None:
    first, second = ends
    second.raw.send(b"never read")
    first.raw.send(b"not received yet")
    first.close()
    with pytest.raises(ConnectionResetError) as reset:
        receive(second)  # what was in flight is dropped, as after a RST
    assert reset.value.errno == errno.ECONNRESET
    assert receive(second) == b""  # reported once, as the kernel reports a socket's error
    with pytest.raises(BrokenPipeError):
        second.raw.send(b"x")


def test_closing_with_nothing_unread_is_no_reset(ends: Any) -> None:
    first, second = ends
    second.raw.send(b"read")
    assert receive(first) == b"read"
    first.raw.send(b"sent")
    first.close()
    assert receive(second) == b"sent" and receive(second) == b""


def test_each_direction_holds_64_KiB_then_a_send_would_block(ends: Any) -> None:
    first, second = ends
    assert first.raw.send(bytes(CAPACITY + 1000)) == CAPACITY == 65536
    with pytest.raises(BlockingIOError):
        first.raw.send(b"x")
    assert second.raw.send(b"the other way has its own room") == 30
    assert len(receive(second, 1000)) == 1000
    assert first.raw.send(bytes(5000)) == 1000


def test_a_closed_end_says_bad_descriptor(ends: Any) -> None:
    first, _ = ends
    first.close()
    first.close()  # harmless
    calls = (
        lambda: receive(first),
        lambda: first.raw.send(b"x"),
        lambda: first.shutdown(socket.SHUT_WR),
        first.getpeername,
        first.getsockname,
    )
    for call in calls:
        with pytest.raises(OSError) as closed:
            call()
        assert closed.value.errno == errno.EBADF
    assert first.unreadBytes() == 0


def test_the_ends_look_like_socketpairs(ends: Any) -> None:
    first, second = ends
    kernel, other = socket.socketpair()
    with kernel, other:
        assert first.family == kernel.family == socket.AF_UNIX
        assert first.getpeername() == second.getsockname() == kernel.getpeername()
    with pytest.raises(ValueError):
        first.shutdown(socket.SHUT_RD)


# -- waits -----------------------------------------------------------------------------------


def test_a_wait_on_a_ready_end_returns_at_once(ends: Any) -> None:
    first, second = ends
    first.raw.send(b"x")
    with gevent.Timeout(1):
        second.wait(second.readWatcher)
        first.wait(first.writeWatcher)


def test_a_receive_waits_for_the_peers_send_or_shutdown(ends: Any) -> None:
    first, second = ends
    waiting = parked(second.wait, second.readWatcher)
    first.raw.send(b"x")
    waiting.get(timeout=5)
    assert receive(second) == b"x"
    waiting = parked(second.wait, second.readWatcher)
    first.shutdown(socket.SHUT_WR)
    waiting.get(timeout=5)


def test_a_send_waits_for_room_and_the_blocking_send_takes_it(ends: Any) -> None:
    first, second = ends
    first.raw.send(bytes(CAPACITY))
    waiting = parked(first.wait, first.writeWatcher)
    receive(second, 10)
    waiting.get(timeout=5)
    first.raw.send(bytes(10))
    sending = parked(first.send, b"more")
    receive(second, 10)
    assert sending.get(timeout=5) == 4


def test_a_full_pipe_wakes_its_writer_when_the_peer_closes(ends: Any) -> None:
    first, second = ends
    first.raw.send(bytes(CAPACITY))
    sending = parked(first.send, b"more")
    second.close()
    with pytest.raises(BrokenPipeError):
        sending.get(timeout=5)


def test_a_wait_times_out_with_the_class_given(ends: Any) -> None:
    first, _ = ends
    first.timeout = 0.05
    with pytest.raises(NoProgress):
        first.wait(first.readWatcher, NoProgress)
    with pytest.raises(TimeoutError):
        first.wait(first.readWatcher)  # socket.timeout, as a kernel socket's wait
    first.raw.send(bytes(CAPACITY))
    with pytest.raises(NoProgress):
        first.wait(first.writeWatcher, NoProgress)


def test_cancelWaits_wakes_the_side_asked_for_with_cancel_wait_ex(ends: Any) -> None:
    first, _ = ends
    first.raw.send(bytes(CAPACITY))
    reading = parked(first.wait, first.readWatcher)
    writing = parked(first.wait, first.writeWatcher)
    first.cancelWaits(reading=True, writing=False)
    with pytest.raises(cancel_wait_ex):
        reading.get(timeout=5)
    assert not writing.ready()
    first.cancelWaits(reading=False, writing=True)
    with pytest.raises(cancel_wait_ex):
        writing.get(timeout=5)


def test_close_cancels_this_ends_waits_and_wakes_the_peers(ends: Any) -> None:
    first, _ = ends
    first.raw.send(bytes(CAPACITY))
    ownReader = parked(first.wait, first.readWatcher)
    ownWriter = parked(first.wait, first.writeWatcher)
    first.close()
    for own in (ownReader, ownWriter):
        with pytest.raises(cancel_wait_ex):
            own.get(timeout=5)
    third, fourth = pipe_endpoints()
    peerReader = parked(fourth.wait, fourth.readWatcher)
    third.close()
    peerReader.get(timeout=5)  # woken as usual: its receive then says what happened
    assert receive(fourth) == b""
    fourth.close()


def test_a_second_greenlet_cannot_wait_on_the_same_watcher(ends: Any) -> None:
    first, _ = ends
    waiting = parked(first.wait, first.readWatcher)
    with pytest.raises(RuntimeError):  # ConcurrentIOException
        first.wait(first.readWatcher)
    waiting.kill()


# -- through the stream socket's one error path --------------------------------------------


def test_a_memory_sockets_reset_fails_its_peers_connection() -> None:
    first, second = socketPair("memory")
    with first, second:
        incoming, outgoing = second.openReadChannel(), second.openWriteChannel()
        outgoing.writeFully(b"unread by the first socket")
        outgoing.flush()
        reading = parked(incoming.readByte)
        first._sock.close()  # the endpoint closes with bytes unread: a reset, as RST
        with pytest.raises(ConnectionResetError) as reset:
            reading.get(timeout=5)
        with pytest.raises(ConnectionResetError) as again:
            outgoing.writeInt(1)
        assert again.value is reset.value  # the connection failed: one error for both
        assert second.isClosed


def test_a_memory_sockets_own_timeout_is_no_progress() -> None:
    first, second = socketPair("memory")
    with first, second:
        first._sock.timeout = 0.05  # what socketTimeout sets on a kernel socket
        incoming = first.openReadChannel()
        with pytest.raises(SocketTimeoutException):
            incoming.readByte()
        with pytest.raises(SocketTimeoutException):
            incoming.readByte()  # the connection failed
        assert first.isClosed


def test_a_memory_sockets_close_wakes_its_reader_closed_locally() -> None:
    first, second = socketPair("memory")
    with first, second:
        reading = parked(first.openReadChannel().readByte)
        first.close()
        with pytest.raises(ClosedReadChannelException):
            reading.get(timeout=5)
