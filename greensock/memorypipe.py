"""The in-memory pipe: two ends that behave as a connected pair of non-blocking kernel
stream sockets, and the :class:`~greensock.transport.StreamEndpoint` over each end.

What a memory socket (:mod:`greensock.memorysocket`) runs over, in place of a kernel socket:
its transfers, lifecycle and error translation are :class:`~greensock.stream.StreamSocket`'s
own, so the pipe only has to answer as the kernel would:

- each direction holds at most :data:`CAPACITY` bytes: a send then raises BlockingIOError
  and the writer waits for the peer to receive, as on a full kernel buffer;
- a receive with nothing to read raises BlockingIOError, and returns 0 at the peer's end of
  stream (after its ``shutdown(SHUT_WR)`` or its close);
- a send after the peer closed raises ``BrokenPipeError``, and so does one after this end
  shut its output down;
- closing an end with received bytes unread resets the connection, as a kernel sends RST:
  the peer drops what it had not received yet and its next receive raises
  ``ConnectionResetError``;
- a closed end's calls raise ``OSError(EBADF)``, as a closed descriptor's.

Waits park on a :class:`~greensock.parking.ParkingSpot` per direction and side (the pipe's
"watchers"), woken by the peer's send, receive, shutdown and close; by the endpoint's
``timeout``; or, with gevent's ``cancel_wait_ex``, by ``cancelWaits`` and ``close``.
"""

from __future__ import annotations

import errno
import os
import socket as stdsocket
from typing import TYPE_CHECKING, Any

from gevent.socket import cancel_wait_ex

from .parking import ParkingSpot

__all__ = ["CAPACITY", "PipeEnd", "PipeEndpoint", "pipe_endpoints"]

#: Bytes one direction of the pipe holds before a send would block.
CAPACITY = 65536

#: What both ends report as their own and their peer's address: the unnamed Unix address,
#: as ``socket.socketpair()`` does.
UNNAMED = ""


class _Flow:
    """One direction of the pipe: what one end sent that the other has not received yet."""

    __slots__ = ("broken", "data", "ended", "receiving", "reset", "sending")

    def __init__(self) -> None:
        self.data = bytearray()
        #: The sender shut its output down or closed: end of stream after :attr:`data`.
        self.ended = False
        #: The receiver closed: sends raise BrokenPipeError.
        self.broken = False
        #: The sender closed with bytes unread: the receiver's next receive raises
        #: ConnectionResetError.
        self.reset = False
        #: Where the receiver waits for bytes, and the sender for room.
        self.receiving = ParkingSpot("reading")
        self.sending = ParkingSpot("writing")


def _kernelError(code: int) -> OSError:
    """The error a kernel call raises for *code*: OSError picks the subclass by itself
    (BlockingIOError for EAGAIN, BrokenPipeError for EPIPE...)."""
    return OSError(code, os.strerror(code))


class PipeEnd:
    """One end of the pipe, as a connected non-blocking stream socket: what the transfers
    call (:class:`~greensock.transport.NonBlockingStream`)."""

    __slots__ = ("_in", "_out", "closed")

    def __init__(self, incoming: _Flow, outgoing: _Flow) -> None:
        self._in = incoming
        self._out = outgoing
        #: True once :meth:`close` was called.
        self.closed = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<PipeEnd {state} unread={len(self._in.data)} unsent={len(self._out.data)}>"

    def recv_into(self, buffer: Any) -> int:
        """Move up to ``len(buffer)`` received bytes into *buffer*; 0 at end of stream."""
        if self.closed:
            raise _kernelError(errno.EBADF)
        flow = self._in
        if flow.reset:
            flow.reset = False  # reported once, as the kernel reports a socket's error
            raise _kernelError(errno.ECONNRESET)
        data = flow.data
        if not data:
            if flow.ended:
                return 0
            raise _kernelError(errno.EAGAIN)
        count = min(len(buffer), len(data))
        buffer[:count] = data[:count]
        del data[:count]
        flow.sending.unpark()  # room for the peer's sends
        return count

    def send(self, data: Any) -> int:
        """Take as many bytes of *data* as the direction has room for."""
        if self.closed:
            raise _kernelError(errno.EBADF)
        flow = self._out
        if flow.broken or flow.ended:
            raise _kernelError(errno.EPIPE)
        count = min(CAPACITY - len(flow.data), len(data))
        if count <= 0:
            raise _kernelError(errno.EAGAIN)
        flow.data += memoryview(data)[:count]
        flow.receiving.unpark()
        return count

    def shutdown(self, how: int) -> None:
        """End the output (``SHUT_WR``, the only one a stream socket uses): the peer reads
        what was sent, then end of stream."""
        if how != stdsocket.SHUT_WR:
            raise ValueError("the in-memory pipe only shuts its output down (SHUT_WR)")
        if self.closed:
            raise _kernelError(errno.EBADF)
        self._endOutput()

    def close(self) -> None:
        """Close this end; the peer sees end of stream after what was sent, or a reset when
        received bytes were left unread here. Idempotent."""
        if self.closed:
            return
        self.closed = True
        incoming, outgoing = self._in, self._out
        if incoming.data:
            # As a kernel sends RST: the peer drops what it had not received yet.
            incoming.data.clear()
            outgoing.data.clear()
            outgoing.reset = True
        incoming.broken = True
        incoming.sending.unpark()
        self._endOutput()

    def _endOutput(self) -> None:
        outgoing = self._out
        outgoing.ended = True
        outgoing.receiving.unpark()

    def unread(self) -> int:
        """How many received bytes wait unread (0 once closed)."""
        return 0 if self.closed else len(self._in.data)

    def readable(self) -> bool:
        """True when :meth:`recv_into` would not raise BlockingIOError."""
        flow = self._in
        return self.closed or bool(flow.data) or flow.ended or flow.reset

    def writable(self) -> bool:
        """True when :meth:`send` would not raise BlockingIOError."""
        flow = self._out
        return self.closed or flow.broken or flow.ended or len(flow.data) < CAPACITY


class PipeEndpoint:
    """A :class:`~greensock.transport.StreamEndpoint` over one end of the pipe (:attr:`raw`):
    what a memory socket runs over, as a TCP socket runs over a
    :class:`~greensock._gevent.KernelSocket`."""

    __slots__ = ("raw", "readWatcher", "timeout", "writeWatcher")

    #: An unnamed Unix socket's family, as ``socket.socketpair()`` makes.
    family = stdsocket.AF_UNIX

    def __init__(self, raw: PipeEnd) -> None:
        #: The end itself: the transfers call it directly.
        self.raw = raw
        #: Where a receive waits for bytes, and a send for room.
        self.readWatcher = raw._in.receiving
        self.writeWatcher = raw._out.sending
        #: Seconds a wait may last (None: no bound).
        self.timeout: float | None = None

    def __repr__(self) -> str:
        return f"<PipeEndpoint {self.raw!r}>"

    def wait(self, watcher: ParkingSpot, timeoutError: Any = None) -> None:
        """Park until *watcher*'s side of the end is ready (at once if it is): at most
        :attr:`timeout` seconds, then *timeoutError* (by default ``TimeoutError``, which
        ``socket.timeout`` is)."""
        raw = self.raw
        ready = raw.readable() if watcher is self.readWatcher else raw.writable()
        if not ready:
            watcher.park(self.timeout, timeoutError or TimeoutError("timed out"))

    def cancelWaits(self, reading: bool, writing: bool) -> None:
        """Raise ``cancel_wait_ex`` in the greenlet parked reading (*reading*) or writing
        (*writing*), if any, at the hub's next turn."""
        if reading:
            self.readWatcher.interrupt(cancel_wait_ex())
        if writing:
            self.writeWatcher.interrupt(cancel_wait_ex())

    def send(self, data: Any) -> int:
        """Send some of *data*, waiting while the pipe is full; the count sent."""
        raw = self.raw
        while not raw.writable():
            self.wait(self.writeWatcher)
        return raw.send(data)

    def unreadBytes(self) -> int:
        """How many received bytes wait unread."""
        return self.raw.unread()

    def getpeername(self) -> str:
        """The unnamed Unix address, as ``socket.socketpair()`` reports."""
        self._checkOpen()
        return UNNAMED

    def getsockname(self) -> str:
        """The unnamed Unix address, as ``socket.socketpair()`` reports."""
        self._checkOpen()
        return UNNAMED

    def shutdown(self, how: int) -> None:
        """End the output (``SHUT_WR``)."""
        self.raw.shutdown(how)

    def close(self) -> None:
        """Close the end; greenlets parked on it wake with ``cancel_wait_ex``. Idempotent."""
        self.raw.close()
        self.cancelWaits(True, True)

    def _checkOpen(self) -> None:
        if self.raw.closed:
            raise _kernelError(errno.EBADF)


def pipe_endpoints() -> tuple[PipeEndpoint, PipeEndpoint]:
    """The two ends of a new pipe, each as an endpoint."""
    forward, backward = _Flow(), _Flow()
    return PipeEndpoint(PipeEnd(backward, forward)), PipeEndpoint(PipeEnd(forward, backward))


if TYPE_CHECKING:
    from .transport import StreamEndpoint

    def _isStreamEndpoint(endpoint: PipeEndpoint) -> StreamEndpoint:
        return endpoint  # mypy checks PipeEndpoint against the protocol here
