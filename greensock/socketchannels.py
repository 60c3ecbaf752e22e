"""The byte channels of sockets: over a byte stream (TCP, Unix, TLS) and over datagrams.

Every read and write operation is :mod:`greensock.reading`'s and :mod:`greensock.writing`'s;
the classes here only meet their transport, through the contract of
:mod:`greensock.transport`: they call it to move bytes, and it tells them what happened
to the connection through :meth:`_failedBy` and :meth:`_end`.
"""

from __future__ import annotations

from zope.interface import implementer

from .interfaces import IByteReadChannel, IByteWriteChannel
from .reading import READ_STATE, ByteReadOperations
from .transport import DatagramTransport, StreamTransport
from .writing import WRITE_STATE, ByteWriteOperations

__all__ = [
    "WRITE_CAPACITY",
    "DatagramReadChannel",
    "DatagramWriteChannel",
    "SocketReadChannel",
    "SocketWriteChannel",
]

#: Unflushed bytes a socket write channel holds before it flushes by itself (SPEC section 6).
WRITE_CAPACITY = 65536


class TransportReadChannel(ByteReadOperations):
    """What the read channels of every socket share: failing, waking, the end they saw."""

    __slots__ = ("_cause", *READ_STATE, "_owner")

    # Set by the socket's opener right after making the channel: an __init__ of this class
    # to take it would cost a call more per channel.
    _owner: StreamTransport | DatagramTransport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._owner!r} unread={len(self._buf)}>"

    @property
    def isClosedForWrite(self) -> bool:
        """True once the peer's side of the stream has ended (or the channel failed)."""
        return self._eof or self._cause is not None

    def _failedBy(self, cause: BaseException) -> None:
        if self._cause is None:
            self._cause = cause
        self._buf.clear()

    def _abort(self, cause: BaseException) -> None:
        self._failedBy(cause)
        self._owner._wakeBlocked(reading=True)


@implementer(IByteReadChannel)
class SocketReadChannel(TransportReadChannel):
    """The read channel of a stream socket: bytes come from the kernel on the reader's greenlet.

    A read with nothing buffered receives straight into the caller's memory.
    """

    __slots__ = ()

    _owner: StreamTransport

    def _fill(self, need: int) -> bool:
        scratch = self._owner._scratch
        count = self._owner._receive(scratch, self)
        if not count:
            return False
        self._buf += scratch[:count]
        return True

    def _readInto(self, view: memoryview) -> int:
        if not self._enterSource():
            return -1
        try:
            count = self._owner._receive(view, self)
        finally:
            self._readBusy = False
        if not count:
            self._eof = True
            return -1
        self.totalBytesRead += count
        return count


@implementer(IByteReadChannel)
class DatagramReadChannel(TransportReadChannel):
    """Received payloads as one byte stream: each appended whole, in arrival order.

    Whole datagrams are received and what a read leaves is kept for the next one: received
    into the caller's memory, a datagram longer than it would be cut and its rest lost.
    There is no end of stream: a read blocks until a datagram comes, and closing the socket
    fails it with ClosedReadChannelException.
    """

    __slots__ = ()

    _owner: DatagramTransport

    def _fill(self, need: int) -> bool:
        owner = self._owner
        while True:
            packet = owner._receiveDatagram(self).packet
            # An empty datagram adds nothing to the stream, and is not its end.
            if packet:
                self._buf += packet
                return True


class TransportWriteChannel(ByteWriteOperations):
    """What the write channels of every socket share: closing, failing, waking."""

    __slots__ = ("_cause", *WRITE_STATE, "_owner")

    # Set by the socket's opener, as the read channel's.
    _owner: StreamTransport | DatagramTransport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._owner!r} unflushed={len(self._pending)}>"

    def _failedBy(self, cause: BaseException) -> None:
        if self._cause is None:
            self._cause = cause
        # Rebound, not cleared: a flush blocked in another greenlet may be viewing it.
        self._pending = bytearray()

    def _end(self) -> bytes:
        self._writeClosed = True
        if not self._pending:
            return b""
        data = bytes(self._pending)
        self._pending = bytearray()  # rebound, as in _failedBy
        return data

    def _waitForRoom(self) -> None:
        # Room comes from handing the pending bytes on: the transport blocks until it can.
        self._handOn()

    def close(self, cause: BaseException | None = None) -> bool:
        """Without *cause*: send what is pending (in the background if the kernel cannot take
        it at once), then half-close; the peer sees end of stream and this side keeps reading.
        With *cause*: drop pending bytes and fail the channel at once. False if already closed.
        """
        if self.isClosedForWrite:
            return False
        if cause is not None:
            self._failedBy(cause)
            self._owner._wakeBlocked(writing=True)
            return True
        flushing = self._writeBusy
        last = self._end()
        if flushing:
            # A flush blocked in another greenlet: its bytes go out with the last ones, once.
            self._owner._wakeBlocked(writing=True)
        self._owner._finishOutput(last)
        return True


@implementer(IByteWriteChannel)
class SocketWriteChannel(TransportWriteChannel):
    """The write channel of a stream socket: ``flush`` returns once the kernel took every byte."""

    __slots__ = ()

    _owner: StreamTransport

    def _room(self) -> int:
        return WRITE_CAPACITY - len(self._pending)

    def _handOn(self) -> None:
        pending = self._pending
        send = self._owner._send
        while pending:
            # The bytearray itself, not a view: it is exported only during the system call.
            count = send(pending, self)
            del pending[:count]
            self.totalBytesWritten += count
        owner = self._owner
        if owner._holdsOutput:
            owner._sendHeld(self)

    def _handOnDirectly(self, view: memoryview) -> None:
        send = self._owner._send
        done, total = 0, len(view)
        while done < total:
            count = send(view[done:] if done else view, self)
            done += count
            self.totalBytesWritten += count
        owner = self._owner
        if owner._holdsOutput:
            owner._sendHeld(self)


@implementer(IByteWriteChannel)
class DatagramWriteChannel(TransportWriteChannel):
    """Outgoing bytes as datagrams: each flush sends the pending bytes as one datagram.

    It holds at most the largest payload of the peer's family (65507 bytes over IPv4, 65527
    over IPv6), so that flushing by itself when full still sends one datagram. Closing it
    normally sends what is pending; the socket keeps receiving. A flush is one datagram, so
    bytes always gather in the pending buffer first (no direct hand-on).
    """

    __slots__ = ()

    _owner: DatagramTransport

    def _room(self) -> int:
        return self._owner._maxPayload - len(self._pending)

    def _handOn(self) -> None:
        pending = self._pending
        # The bytearray itself: exported only during the system call, never while waiting.
        self._owner._transmit(pending, None, self)
        # Only now: a send that failed or was interrupted keeps the bytes for the next flush.
        self.totalBytesWritten += len(pending)
        pending.clear()
