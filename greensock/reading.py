"""Every read operation of ``IByteReadChannel``, written once over a tiny source contract.

A channel keeps the bytes it has received but not yet handed out in one ``bytearray``
(``_buf``); deleting from its front is amortised O(1) in CPython, so no read offset is
needed. An operation first makes sure the bytes it needs are buffered, then decides, and
only then consumes: an operation interrupted while it waits (``gevent.Timeout``, ``kill``,
an error) has consumed nothing (SPEC principle 3).

A transport provides one method, :meth:`ByteReadOperations._fill`: "block until more bytes
were appended to ``_buf``; return False at end of stream". Everything else lives here.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from .arguments import (
    ByteWriteTarget,
    TextSink,
    byte_view,
    check_delimiter,
    check_size,
    number_format,
)
from .errors import (
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ConcurrentIOException,
    TooLongLineException,
)

__all__ = ["READ_STATE", "ByteReadOperations"]

#: "As much as the data makes it need": what an unbounded search asks the source for.
UNBOUNDED = sys.maxsize

_LF = 0x0A
_CR = 0x0D


#: What a mixin's ``__slots__`` holds when its fields belong to the concrete classes.
FIELDS_OF_SUBCLASSES: tuple[str, ...] = ()

#: The fields ``ByteReadOperations.__init__`` sets, besides ``_cause`` (which a
#: channel with both sides shares): what a concrete channel's ``__slots__`` lists.
READ_STATE = ("_buf", "_eof", "_readBusy", "totalBytesRead")

_READ_BUSY = "another greenlet is already blocked reading this channel"


class ByteReadOperations(ABC):
    """The read side of a byte channel; subclasses implement :meth:`_fill` and :meth:`_abort`.

    Concrete channels declare ``__slots__`` with :data:`READ_STATE` (and ``_cause``): one
    object per channel, its fields inline, is what keeps 10,000 connections cache-friendly.
    """

    # Empty: the fields (READ_STATE) are slots of each concrete channel, as no class can have
    # two bases with slots of their own. A name, not a literal: mypy then leaves the field
    # assignments of these methods to the concrete classes.
    __slots__ = FIELDS_OF_SUBCLASSES

    _buf: bytearray
    #: The failure reads raise once the channel was cancelled, closed locally or failed.
    _cause: BaseException | None
    #: The source has ended: no byte will be appended to ``_buf`` any more.
    _eof: bool
    _readBusy: bool
    totalBytesRead: int

    def __init__(self) -> None:
        """Open, with nothing buffered or read yet."""
        self._buf = bytearray()
        self._cause = None
        self._eof = False
        self._readBusy = False
        self.totalBytesRead = 0

    # -- the source contract -------------------------------------------------------------

    @abstractmethod
    def _fill(self, need: int) -> bool:
        """Block until bytes were appended to ``_buf`` (or state changed); False at EOF.

        *need* is how many buffered bytes the waiting read could use in all
        (``UNBOUNDED`` for a search without a limit): in-memory channels let their writer
        go past the capacity that far, and no further.
        """

    @abstractmethod
    def _abort(self, cause: BaseException) -> None:
        """Fail the channel with *cause*: drop unread bytes, wake whoever is blocked on it."""

    def _readInto(self, view: memoryview) -> int:
        """Read at least one byte into *view* while ``_buf`` is empty; -1 at EOF.

        Transports that can receive straight into the caller's memory override this.
        """
        if not self._more(1):
            return -1
        return self._copyOut(view, len(view))

    # -- plumbing ------------------------------------------------------------------------

    def _enterSource(self) -> bool:
        """Check the channel before asking its source; False at end of stream.

        Raises the channel's failure, or ConcurrentIOException when another greenlet is
        already blocked reading. On True the caller owns the source until it clears
        ``_readBusy``.
        """
        cause = self._cause
        if cause is not None:
            raise cause.with_traceback(None)
        if self._eof:
            return False
        if self._readBusy:
            raise ConcurrentIOException(_READ_BUSY)
        self._readBusy = True
        return True

    def _more(self, need: int) -> bool:
        """Ask the source for more bytes; False at end of stream."""
        if not self._enterSource():
            return False
        try:
            if self._fill(need):
                return True
        finally:
            self._readBusy = False
        self._eof = True
        return False

    def _require(self, count: int) -> bool:
        """Block until *count* bytes are buffered; False if the stream ends first."""
        while len(self._buf) < count:
            if not self._more(count):
                return False
        return True

    def _requireExactly(self, count: int, what: str) -> None:
        if not self._require(count):
            raise ClosedReceiveChannelException(
                f"end of stream after {len(self._buf)} of the {count} bytes {what} needs"
            )

    def _consume(self, count: int) -> None:
        del self._buf[:count]
        self.totalBytesRead += count

    def _take(self, count: int) -> bytes:
        buf = self._buf
        if count == len(buf):
            data = bytes(buf)
        else:
            with memoryview(buf) as whole:
                data = bytes(whole[:count])
        self._consume(count)
        return data

    def _copyOut(self, view: memoryview, count: int) -> int:
        count = min(count, len(self._buf))
        with memoryview(self._buf) as whole:
            view[:count] = whole[:count]
        self._consume(count)
        return count

    # -- state ---------------------------------------------------------------------------

    @property
    def availableForRead(self) -> int:
        """Bytes that can be read now without blocking."""
        return len(self._buf)

    @property
    def isClosedForRead(self) -> bool:
        """True once every byte was read and the stream ended, or the channel failed."""
        return self._cause is not None or (self._eof and not self._buf)

    @property
    def closedCause(self) -> BaseException | None:
        """The failure the channel was closed with, None while open or after a normal close."""
        return self._cause

    # -- operations ----------------------------------------------------------------------

    def awaitContent(self, min: int = 1) -> bool:  # ktor's name shadows min()
        """Block until *min* bytes can be read; False when the stream ends first."""
        return self._require(check_size(min, "min"))

    def readAvailable(self, dst: Any, offset: int = 0, length: int | None = None) -> int:
        """Read at least one byte into *dst* (as many as are buffered); -1 at end of stream."""
        view = byte_view(dst, offset, length, writable=True)
        if not view:
            return 0
        if not self._buf:
            return self._readInto(view)
        return self._copyOut(view, len(view))

    def readFully(self, dst: Any, offset: int = 0, length: int | None = None) -> None:
        """Fill *dst* (or its slice) entirely; ClosedReceiveChannelException at end of stream."""
        view = byte_view(dst, offset, length, writable=True)
        self._requireExactly(len(view), "readFully")
        self._copyOut(view, len(view))

    def readPacket(self, size: int) -> bytes:
        """Read exactly *size* bytes; ClosedReceiveChannelException at end of stream."""
        self._requireExactly(check_size(size, "size"), "readPacket")
        return self._take(size)

    def readRemaining(self, limit: int | None = None) -> bytes:
        """Read until end of stream, or until *limit* bytes were read."""
        if limit is None:
            while self._more(UNBOUNDED):
                pass
        else:
            limit = check_size(limit, "limit")
            self._require(limit)
        return self._take(len(self._buf) if limit is None else min(limit, len(self._buf)))

    def _readNumber(self, code: str, byteOrder: str) -> Any:
        layout = number_format(code, byteOrder)
        self._requireExactly(layout.size, "the number")
        value = layout.unpack_from(self._buf)[0]
        self._consume(layout.size)
        return value

    def readByte(self, byteOrder: str = "big") -> int:
        """Read a signed 8-bit integer."""
        return int(self._readNumber("b", byteOrder))

    def readShort(self, byteOrder: str = "big") -> int:
        """Read a signed 16-bit integer."""
        return int(self._readNumber("h", byteOrder))

    def readInt(self, byteOrder: str = "big") -> int:
        """Read a signed 32-bit integer."""
        return int(self._readNumber("i", byteOrder))

    def readLong(self, byteOrder: str = "big") -> int:
        """Read a signed 64-bit integer."""
        return int(self._readNumber("q", byteOrder))

    def readFloat(self, byteOrder: str = "big") -> float:
        """Read an IEEE 754 single-precision number."""
        return float(self._readNumber("f", byteOrder))

    def readDouble(self, byteOrder: str = "big") -> float:
        """Read an IEEE 754 double-precision number."""
        return float(self._readNumber("d", byteOrder))

    def readBoolean(self, byteOrder: str = "big") -> bool:
        """Read one byte; any value but 0 is True."""
        return bool(self._readNumber("B", byteOrder))

    def _peekLine(self, limit: int | None) -> tuple[str, int] | None:
        """Block until a whole line is buffered: (the line decoded, bytes it spans).

        Consumes nothing; None at end of stream before any byte. Scans each byte once,
        however the line arrives.
        """
        if limit is not None:
            check_size(limit, "limit")
        scanned = 0
        need = UNBOUNDED if limit is None else limit + 2
        if not self._buf and not self._more(need):
            return None
        # Each exit of the loop sets the line's length and its terminator's.
        while True:
            buf = self._buf
            end = len(buf)
            stop = end if limit is None else min(end, limit + 1)
            newline = buf.find(b"\n", scanned, stop)
            cr = buf.find(b"\r", scanned, stop if newline < 0 else newline)
            if cr >= 0:
                if cr + 1 < end:
                    length, terminator = cr, 2 if buf[cr + 1] == _LF else 1
                    break
                # A trailing CR may start CRLF: the next byte tells.
                if not self._more(need):
                    length, terminator = cr, 1
                    break
                scanned = cr
                continue
            if newline >= 0:
                length, terminator = newline, 1
                break
            if limit is not None and end > limit:
                raise TooLongLineException(f"line longer than the limit of {limit} bytes")
            scanned = end
            if not self._more(need):
                if not end:
                    return None
                length, terminator = end, 0
                break
        return self._buf[:length].decode("utf-8", "replace"), length + terminator

    def readUTF8Line(self, limit: int | None = None) -> str | None:
        """Read one line (without its terminator); None at end of stream before any byte.

        ``\\n``, ``\\r\\n`` and a lone ``\\r`` end a line. A line longer than *limit* UTF-8
        bytes raises TooLongLineException and consumes nothing. Malformed UTF-8 decodes to
        U+FFFD.
        """
        found = self._peekLine(limit)
        if found is None:
            return None
        line, span = found
        self._consume(span)
        return line

    def readUTF8LineTo(self, out: TextSink, limit: int | None = None) -> bool:
        """Read one line and ``out.write`` it; False at end of stream before any byte.

        The line is consumed only once ``out.write`` returned: if it raises, the line stays.
        """
        found = self._peekLine(limit)
        if found is None:
            return False
        line, span = found
        out.write(line)
        self._consume(span)
        return True

    def readUntilDelimiter(self, delimiter: bytes, dst: Any) -> int:
        """Copy into *dst* the bytes before *delimiter* (which stays unread).

        Returns early when *dst* is full; -1 at end of stream before any byte.
        """
        delimiter = check_delimiter(delimiter)
        view = byte_view(dst, 0, None, writable=True)
        room = len(view)
        if not room:
            return 0
        scanned = 0
        while True:
            buf = self._buf
            end = len(buf)
            found = buf.find(delimiter, scanned, min(end, room + len(delimiter)))
            if found >= 0:
                count = found
                break
            # dst is full once no delimiter can start within it: a delimiter starting at
            # room - 1 is decided only by the byte at room + len(delimiter) - 2.
            if end >= room + len(delimiter) - 1:
                count = room
                break
            scanned = max(0, end - len(delimiter) + 1)
            if not self._more(room + len(delimiter) - 1):
                if not end:
                    return -1
                count = min(end, room)
                break
        return self._copyOut(view, count)

    def skipDelimiter(self, delimiter: bytes) -> None:
        """Consume *delimiter*; ValueError (consuming nothing) when the next bytes differ."""
        delimiter = check_delimiter(delimiter)
        self._requireExactly(len(delimiter), "skipDelimiter")
        if not self._buf.startswith(delimiter):
            raise ValueError(f"the next bytes are not the delimiter {delimiter!r}")
        self._consume(len(delimiter))

    def readUntil(self, delimiter: bytes, limit: int | None = None) -> bytes:
        """Read up to *delimiter*, consume it, and return the bytes before it.

        More than *limit* bytes before it raise TooLongLineException; end of stream before
        it raises ClosedReceiveChannelException; both consume nothing.
        """
        delimiter = check_delimiter(delimiter)
        width = len(delimiter)
        need = UNBOUNDED if limit is None else check_size(limit, "limit") + width
        scanned = 0
        while True:
            buf = self._buf
            end = len(buf)
            found = buf.find(delimiter, scanned, min(end, need))
            if found >= 0:
                data = self._take(found)
                self._consume(width)
                return data
            if end >= need:
                raise TooLongLineException(
                    f"no delimiter {delimiter!r} within the limit of {limit} bytes"
                )
            scanned = max(0, end - width + 1)
            if not self._more(need):
                raise ClosedReceiveChannelException(
                    f"end of stream before the delimiter {delimiter!r}"
                )

    def peek(self, count: int) -> bytes | None:
        """Return the next *count* bytes without consuming them; None at end of stream."""
        if not self._require(check_size(count, "count")):
            return None
        return bytes(self._buf[:count])

    def discard(self, max: int | None = None) -> int:  # ktor's name shadows max()
        """Skip up to *max* bytes (all, to end of stream, when None); return how many.

        Bytes are dropped as they arrive, so that skipping a long stream holds no memory;
        an interrupted discard has dropped what it had skipped.
        """
        limit = UNBOUNDED if max is None else check_size(max, "max")
        dropped = 0
        while dropped < limit:
            if not self._buf and not self._more(1):
                break
            count = min(len(self._buf), limit - dropped)
            self._consume(count)
            dropped += count
        return dropped

    def discardExact(self, n: int) -> None:
        """Skip exactly *n* bytes; ClosedReceiveChannelException if the stream ends first."""
        dropped = self.discard(check_size(n, "n"))
        if dropped < n:
            raise ClosedReceiveChannelException(
                f"end of stream after skipping {dropped} of {n} bytes"
            )

    def copyTo(self, dst: ByteWriteTarget, limit: int | None = None) -> int:
        """Move bytes into the write channel *dst* until end of stream or *limit*; return how many.

        Bytes are taken from here only when *dst* has room for them and placed there at
        once, so an interrupted copy neither loses nor repeats a byte. *dst* is flushed
        whenever this side has nothing more buffered, and at the end.
        """
        limit = UNBOUNDED if limit is None else check_size(limit, "limit")
        copied = 0
        while copied < limit:
            if not self._buf:
                dst.flush()
                # The flush may have blocked while bytes (and the end) arrived here.
                if not self._buf and not self._more(1):
                    break
            dst.awaitFreeSpace()
            count = min(len(self._buf), limit - copied, dst.availableForWrite)
            dst.writeFully(self._take(count))
            copied += count
        dst.flush()
        return copied

    def copyAndClose(self, dst: ByteWriteTarget, limit: int | None = None) -> int:
        """:meth:`copyTo`, then close *dst* (with the error as cause if the copy failed)."""
        try:
            copied = self.copyTo(dst, limit)
        except Exception as exc:
            dst.close(exc)
            raise
        dst.close()
        return copied

    def joinTo(self, dst: ByteWriteTarget, closeOnEnd: bool) -> None:
        """Copy everything into *dst*; close it at the end if *closeOnEnd*."""
        if closeOnEnd:
            self.copyAndClose(dst)
        else:
            self.copyTo(dst)

    def cancel(self, cause: BaseException | None = None) -> bool:
        """Fail the channel: unread bytes are dropped, blocked and later reads raise *cause*.

        Without a cause, ClosedReadChannelException is used. False when already failed.
        """
        if self._cause is not None:
            return False
        self._abort(
            cause if cause is not None else ClosedReadChannelException("channel was cancelled")
        )
        return True

    def lines(self, limit: int | None = None) -> Iterator[str]:
        """Yield :meth:`readUTF8Line` results until end of stream.

        A bad *limit* raises at this call, not at the first iteration.
        """
        if limit is not None:
            check_size(limit, "limit")
        return self._lines(limit)

    def _lines(self, limit: int | None) -> Iterator[str]:
        while (line := self.readUTF8Line(limit)) is not None:
            yield line

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        """Yield the bytes as they arrive, at most *size* at a time, until end of stream.

        A bad *size* raises at this call, not at the first iteration.
        """
        if check_size(size, "size") == 0:
            raise ValueError("size must be > 0")
        return self._chunks(size)

    def _chunks(self, size: int) -> Iterator[bytes]:
        while self._buf or self._more(1):
            yield self._take(min(size, len(self._buf)))
