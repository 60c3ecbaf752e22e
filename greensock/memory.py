"""In-memory channels: the :class:`ByteChannel` pipe and :func:`ByteReadChannel` over content."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from .arguments import check_size
from .interfaces import IByteChannel, IByteReadChannel
from .parking import ParkingSpot
from .reading import READ_STATE, ByteReadOperations
from .writing import WRITE_STATE, ByteWriteOperations

__all__ = ["ByteChannel", "ByteReadChannel", "ContentReadChannel"]


@implementer(IByteChannel)
class ByteChannel(ByteReadOperations, ByteWriteOperations):
    """A pipe between one writing and one reading greenlet, holding at most *capacity* bytes.

    Written bytes become readable on :meth:`flush`, on every write with *autoFlush*, or when
    the channel is full. A writer blocks while *capacity* bytes are unread (flushed or not),
    unless the blocked reader needs more than that for its read to complete: then the
    buffer may grow as far as that read needs, and no further.

    Reads block the calling greenlet until their bytes are flushed in (or the channel is
    closed); writes block it while the channel is full. One reading and one writing
    greenlet at a time: a second that would block on the same side raises
    ConcurrentIOException. Reads at end of stream return -1/None or raise
    ClosedReceiveChannelException (exact reads), writes after ``close()`` raise
    ClosedWriteChannelException, and after ``close(cause)`` or ``cancel(cause)`` both raise
    *cause*. ``ByteChannel(capacity=0)`` raises ValueError. See
    :class:`~greensock.interfaces.IByteChannel` for every operation.
    """

    __slots__ = (
        "_cause",
        *READ_STATE,
        *WRITE_STATE,
        "capacity",
        "_readerNeed",
        "_readerSpot",
        "_writerSpot",
    )

    def __init__(self, autoFlush: bool = False, capacity: int = 65536) -> None:
        if check_size(capacity, "capacity") == 0:
            raise ValueError("capacity must be > 0")
        ByteReadOperations.__init__(self)
        ByteWriteOperations.__init__(self, autoFlush)
        self.capacity = capacity
        #: How many buffered bytes the parked reader's read could use (0: nobody waits).
        self._readerNeed = 0
        self._readerSpot = ParkingSpot("reading")
        self._writerSpot = ParkingSpot("writing")

    def __repr__(self) -> str:
        state = "open" if not self.isClosedForWrite else "closed"
        return f"<ByteChannel {state} unread={len(self._buf)} unflushed={len(self._pending)}>"

    # -- source contract -----------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        # Only the writer appends to _buf: it grew, or the wake-up was about something else.
        before = len(self._buf)
        self._readerNeed = need
        # A writer waiting for room may now go on up to what this read needs.
        self._writerSpot.unpark()
        try:
            while True:
                self._readerSpot.park()
                cause = self._cause
                if cause is not None:
                    raise cause.with_traceback(None)
                if len(self._buf) > before:
                    return True
                if self._eof:
                    return False
        finally:
            self._readerNeed = 0

    def _consume(self, count: int) -> None:
        super()._consume(count)
        self._writerSpot.unpark()

    def _abort(self, cause: BaseException) -> None:
        self._cause = cause
        self._buf.clear()
        self._pending.clear()
        self._readerSpot.unpark()
        self._writerSpot.unpark()

    # -- sink contract -------------------------------------------------------------------

    def _room(self) -> int:
        return max(self.capacity, self._readerNeed) - len(self._buf) - len(self._pending)

    def _handOn(self) -> None:
        pending = self._pending
        count = len(pending)
        if not self._buf:
            # Swap rather than copy: the reader's empty buffer becomes the pending one.
            self._buf, self._pending = pending, self._buf
        else:
            self._buf += pending
            pending.clear()
        self.totalBytesWritten += count
        self._readerSpot.unpark()

    def _handOnWithoutBlocking(self) -> None:
        if self._pending:
            self._handOn()

    def _waitForRoom(self) -> None:
        if self._pending:
            self._handOn()
        if self._room() <= 0:
            self._writerSpot.park()

    def close(self, cause: BaseException | None = None) -> bool:
        """Close: without *cause*, flush and let the reader drain then see end of stream.

        With *cause*, fail at once: unread bytes are dropped and blocked or later readers
        and writers raise *cause*. False when the channel was already closed.
        """
        if self.isClosedForWrite:
            return False
        if cause is not None:
            self._abort(cause)
            return True
        if self._pending:
            self._handOn()
        self._writeClosed = True
        self._eof = True
        self._readerSpot.unpark()
        self._writerSpot.unpark()
        return True


@implementer(IByteReadChannel)
class ContentReadChannel(ByteReadOperations):
    """A read channel that yields fixed content, then end of stream."""

    __slots__ = ("_cause", *READ_STATE)

    def __init__(self, content: bytes) -> None:
        super().__init__()
        self._buf += content
        self._eof = True

    def __repr__(self) -> str:
        return f"<ByteReadChannel unread={len(self._buf)}>"

    @property
    def isClosedForWrite(self) -> bool:
        """Always True: nobody writes into fixed content."""
        return True

    def _fill(self, need: int) -> bool:
        return False

    def _abort(self, cause: BaseException) -> None:
        self._cause = cause
        self._buf.clear()


def ByteReadChannel(content: Any = b"") -> ContentReadChannel:  # ktor's name
    """A channel that yields *content* (a ``str`` is encoded as UTF-8), then end of stream.

    ktor's ``ByteReadChannel(content)``: a read channel over fixed content, for tests and for
    code that takes an ``IByteReadChannel``. Its reads never block (the content is all
    there); past the content they behave as at end of stream (-1, None,
    ClosedReceiveChannelException). Raises TypeError when *content* is neither bytes-like
    nor ``str``.
    """
    if isinstance(content, str):
        data = content.encode("utf-8")
    elif isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
    else:
        raise TypeError(f"content must be bytes or str, got {type(content).__name__}")
    return ContentReadChannel(data)
