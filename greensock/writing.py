"""Every write operation of ``IByteWriteChannel``, written once over a small sink contract.

Bytes written and not yet handed on wait in one ``bytearray`` (``_pending``). A transport
provides three methods: how many bytes may be placed now (:meth:`_room`), how to hand the
pending bytes on (:meth:`_handOn`: wake the reader, or ``send`` them to the kernel), and how
to wait until there is room again (:meth:`_waitForRoom`). A hand-off interrupted half-way
keeps every byte that was not taken in ``_pending``, in order, for the next flush.

A sink may also take a write at least as large as the room of an empty channel from where it
is (``_handOnDirectly``): such a write would fill ``_pending`` and be handed on at once, so
the copy into it is spared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .arguments import byte_view, number_format
from .errors import ClosedWriteChannelException, ConcurrentIOException
from .reading import FIELDS_OF_SUBCLASSES

__all__ = ["WRITE_STATE", "ByteWriteOperations"]

_WRITE_BUSY = "another greenlet is already blocked writing this channel"
_INT_WIDTHS = {"b": 8, "h": 16, "i": 32, "q": 64}


#: The fields ``ByteWriteOperations.__init__`` sets, besides ``_cause`` (which a
#: channel with both sides shares): what a concrete channel's ``__slots__`` lists.
WRITE_STATE = ("_pending", "_writeClosed", "_writeBusy", "autoFlush", "totalBytesWritten")


class ByteWriteOperations(ABC):
    """The write side of a byte channel; subclasses implement the sink contract and close().

    Concrete channels declare ``__slots__`` with :data:`WRITE_STATE` (and ``_cause``).
    """

    # Empty: the fields (WRITE_STATE) are slots of each concrete channel, as no class can have
    # two bases with slots of their own. A name, not a literal: mypy then leaves the field
    # assignments of these methods to the concrete classes.
    __slots__ = FIELDS_OF_SUBCLASSES

    _pending: bytearray
    #: The failure writes raise once the channel failed (shared with the read side in memory).
    _cause: BaseException | None
    #: close() without cause was called: writes raise ClosedWriteChannelException.
    _writeClosed: bool
    _writeBusy: bool
    autoFlush: bool
    totalBytesWritten: int

    def __init__(self, autoFlush: bool = False) -> None:
        """Open and empty; with *autoFlush*, every write operation flushes (TypeError unless a
        bool)."""
        if not isinstance(autoFlush, bool):
            raise TypeError(f"autoFlush must be a bool, got {type(autoFlush).__name__}")
        self._pending = bytearray()
        self._cause = None
        self._writeClosed = False
        self._writeBusy = False
        self.autoFlush = autoFlush
        self.totalBytesWritten = 0

    # -- the sink contract ---------------------------------------------------------------

    @abstractmethod
    def _room(self) -> int:
        """How many more bytes may be placed in ``_pending`` without blocking."""

    @abstractmethod
    def _handOn(self) -> None:
        """Hand every pending byte on, blocking as needed; keep the rest on interruption."""

    @abstractmethod
    def _waitForRoom(self) -> None:
        """Block until :meth:`_room` may be positive again (called while it is not)."""

    #: ``_handOnDirectly(view)``, where the sink has it: hand all of *view* on without copying
    #: it into ``_pending`` (which is empty), blocking as needed; called with the channel
    #: marked busy. Interrupted, the bytes already handed on stay handed on (and counted); the
    #: rest were never placed in the channel. None where a sink takes bytes only through
    #: ``_pending`` (the default).
    _handOnDirectly: Callable[[memoryview], None] | None = None

    def _handOnWithoutBlocking(self) -> None:
        """Hand the pending bytes on if that can be done without blocking; else nothing.

        Sinks whose :meth:`_handOn` never blocks (in memory) override this to call it.
        """
        return None

    @abstractmethod
    def close(self, cause: BaseException | None = None) -> bool:
        """Close normally (flush, then end of stream) or, with *cause*, fail at once."""

    # -- plumbing ------------------------------------------------------------------------

    def _checkWritable(self) -> None:
        cause = self._cause
        if cause is not None:
            raise cause.with_traceback(None)
        if self._writeClosed:
            raise ClosedWriteChannelException("the write channel is closed")
        if self._writeBusy:
            # The blocked writer is handing ``_pending`` on; bytes must not slip in under it.
            raise ConcurrentIOException(_WRITE_BUSY)

    def _blocking(self, operation: Any, *args: Any) -> None:
        """Run a write-side operation that may block, enforcing the one-blocked-writer rule."""
        if self._writeBusy:
            raise ConcurrentIOException(_WRITE_BUSY)
        self._writeBusy = True
        try:
            operation(*args)
        finally:
            self._writeBusy = False

    def _roomOrWait(self) -> int:
        while (room := self._room()) <= 0:
            self._blocking(self._waitForRoom)
            self._checkWritable()
        return room

    def _write(self, data: bytes | memoryview) -> None:
        # The three states _checkWritable raises for, tested here first: every write
        # operation comes through, and the call costs more than the rest of a small write.
        if self._cause is not None or self._writeClosed or self._writeBusy:
            self._checkWritable()
        total = len(data)
        room = self._room()
        if total < room or (total == room and self._pending):
            # The common case, one copy and no loop: it all fits.
            self._pending += data
            room -= total
        else:
            view = memoryview(data)
            done = 0
            while done < total:
                # Placing bytes takes exactly their number off the room, so only a full
                # channel needs asking (and waiting) again.
                if room <= 0:
                    room = self._roomOrWait()
                # What is left would fill the empty channel and go out at once anyway:
                # hand it on from where it is, sparing a copy of up to a whole capacity. The
                # channel is as empty afterwards, so the room is unchanged.
                if (
                    total - done >= room
                    and not self._pending
                    and (handOn := self._handOnDirectly) is not None
                ):
                    self._blocking(handOn, view[done:] if done else view)
                    break
                count = min(room, total - done)
                self._pending += view[done : done + count]
                done += count
                room -= count
        if self.autoFlush or room <= 0:
            self.flush()

    # -- state ---------------------------------------------------------------------------

    @property
    def availableForWrite(self) -> int:
        """Bytes that can be written now without blocking (the free capacity)."""
        if self._cause is not None or self._writeClosed:
            return 0
        return max(0, self._room())

    @property
    def isClosedForWrite(self) -> bool:
        """True once closed, normally or with a cause."""
        return self._writeClosed or self._cause is not None

    @property
    def closedCause(self) -> BaseException | None:
        """The failure the channel was closed with, None while open or after a normal close."""
        return self._cause

    # -- operations ----------------------------------------------------------------------

    def writeAvailable(self, src: Any, offset: int = 0, length: int | None = None) -> int:
        """Place as many bytes of *src* as fit now (blocking only while none fit); return how many.

        Without autoFlush it never blocks once it placed a byte. With autoFlush, an
        interruption during its flush leaves the placed bytes pending for the next flush.
        """
        view = byte_view(src, offset, length, writable=False)
        self._checkWritable()
        if not view:
            return 0
        count = min(self._roomOrWait(), len(view))
        self._pending += view[:count]
        if self.autoFlush:
            self.flush()
        elif self._room() <= 0:
            # A full channel hands its bytes on (SPEC section 6), but only where that cannot
            # block: a writeAvailable interrupted after placing bytes would hide its count.
            # Elsewhere the next write or flush hands them on before anything else.
            self._handOnWithoutBlocking()
        return count

    def writeFully(self, src: Any, offset: int = 0, length: int | None = None) -> None:
        """Write every byte of *src* (or its slice), blocking on back-pressure."""
        self._write(byte_view(src, offset, length, writable=False))

    def writePacket(self, data: Any) -> None:
        """Write every byte of *data* (any bytes-like object)."""
        self._write(byte_view(data, 0, None, writable=False))

    def _writeNumber(self, code: str, value: Any, byteOrder: str) -> None:
        layout = number_format(code, byteOrder)
        self._write(layout.pack(value))

    def _writeInteger(self, code: str, value: Any, byteOrder: str) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"expected an int, got {type(value).__name__}")
        bits = _INT_WIDTHS[code]
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise ValueError(f"{value} does not fit in {bits} bits, signed or unsigned")
        self._writeNumber(code if value < 0 else code.upper(), value, byteOrder)

    def writeByte(self, value: int, byteOrder: str = "big") -> None:
        """Write an 8-bit integer (-128..255)."""
        self._writeInteger("b", value, byteOrder)

    def writeShort(self, value: int, byteOrder: str = "big") -> None:
        """Write a 16-bit integer (signed or unsigned range)."""
        self._writeInteger("h", value, byteOrder)

    def writeInt(self, value: int, byteOrder: str = "big") -> None:
        """Write a 32-bit integer (signed or unsigned range)."""
        self._writeInteger("i", value, byteOrder)

    def writeLong(self, value: int, byteOrder: str = "big") -> None:
        """Write a 64-bit integer (signed or unsigned range)."""
        self._writeInteger("q", value, byteOrder)

    def _writeReal(self, code: str, value: Any, byteOrder: str) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TypeError(f"expected a float, got {type(value).__name__}")
        layout = number_format(code, byteOrder)
        try:
            # float() first: struct rejects an int too large for a double with struct.error.
            packed = layout.pack(float(value))
        except OverflowError:
            raise ValueError(
                f"{value!r} is out of range for a {layout.size * 8}-bit float"
            ) from None
        self._write(packed)

    def writeFloat(self, value: float, byteOrder: str = "big") -> None:
        """Write an IEEE 754 single-precision number."""
        self._writeReal("f", value, byteOrder)

    def writeDouble(self, value: float, byteOrder: str = "big") -> None:
        """Write an IEEE 754 double-precision number."""
        self._writeReal("d", value, byteOrder)

    def writeBoolean(self, value: bool, byteOrder: str = "big") -> None:
        """Write one byte: 1 for True, 0 for False."""
        if not isinstance(value, bool):
            raise TypeError(f"expected a bool, got {type(value).__name__}")
        self._writeNumber("B", int(value), byteOrder)

    def writeStringUtf8(self, text: str) -> None:
        """Write *text* encoded as UTF-8 (UnicodeEncodeError for lone surrogates)."""
        if not isinstance(text, str):
            raise TypeError(f"expected a str, got {type(text).__name__}")
        self._write(text.encode("utf-8"))

    def flush(self) -> None:
        """Hand every written byte on; for a socket, return once the kernel took them all.

        Raises the channel's failure once it failed (like every write operation); after a
        normal close there is nothing left to flush and it returns at once.
        """
        cause = self._cause
        if cause is not None:
            raise cause.with_traceback(None)
        if self._pending:
            # _blocking(self._handOn), spelled out: a flush is the one write-side operation
            # every exchange makes, and going through _blocking makes it two calls deeper.
            if self._writeBusy:
                raise ConcurrentIOException(_WRITE_BUSY)
            self._writeBusy = True
            try:
                self._handOn()
            finally:
                self._writeBusy = False

    def flushAndClose(self) -> None:
        """Flush, then close normally."""
        self.flush()
        self.close()

    def awaitFreeSpace(self) -> None:
        """Block while the channel is full."""
        self._checkWritable()
        self._roomOrWait()

    def __enter__(self) -> ByteWriteOperations:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(exc)
