"""Deliberately broken socket pairs, to show that each conformance check catches its rule.

Each breakage is a small wrapper around a real pair from ``socketPair``: a
:class:`WrappedSocket` forwards everything to its real socket, and lets a subclass wrap the
channels it hands out or change what ``close()`` does. :data:`BROKEN` names them all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
from gevent.lock import Semaphore
from zope.interface import implementer

from greensock import (
    ByteChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ConcurrentIOException,
)
from greensock.errors import ClosedReceiveChannelException, ClosedWriteChannelException
from greensock.interfaces import ISocket
from greensock.testing import socketPair


@implementer(ISocket)
class WrappedSocket:
    """An ISocket that forwards to *inner*; subclasses break one thing."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writeChannel: Any = None

    # -- the hooks -----------------------------------------------------------------------

    def wrapRead(self, channel: Any) -> Any:
        return channel

    def wrapWrite(self, channel: Any) -> Any:
        return channel

    # -- ISocket, forwarded ----------------------------------------------------------------

    @property
    def socketContext(self) -> Any:
        return self.inner.socketContext

    @property
    def isClosed(self) -> bool:
        return bool(self.inner.isClosed)

    @property
    def localAddress(self) -> Any:
        return self.inner.localAddress

    @property
    def remoteAddress(self) -> Any:
        return self.inner.remoteAddress

    def close(self) -> None:
        release = getattr(self.writeChannel, "release", None)
        if release is not None and not self.inner.isClosed:
            release()
        self.inner.close()

    def dispose(self) -> None:
        self.inner.dispose()

    def awaitClosed(self, timeout: float | None = None) -> bool:
        return bool(self.inner.awaitClosed(timeout))

    def __enter__(self) -> WrappedSocket:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close()

    def openReadChannel(self) -> Any:
        return self.wrapRead(self.inner.openReadChannel())

    def openWriteChannel(self, autoFlush: bool = False) -> Any:
        self.writeChannel = self.wrapWrite(self.inner.openWriteChannel(autoFlush))
        return self.writeChannel

    def attachForReading(self, channel: Any) -> Any:
        return self.inner.attachForReading(channel)

    def attachForWriting(self, channel: Any) -> Any:
        return self.inner.attachForWriting(channel)

    def connection(self) -> Any:
        return self.inner.connection()

    def tls(
        self,
        context: Any = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> Any:
        return self.inner.tls(context, serverName, serverSide, timeout)


class ChannelWrapper:
    """A channel that forwards every attribute to *inner*, but what a subclass defines."""

    def __init__(self, inner: Any, owner: WrappedSocket) -> None:
        self.inner = inner
        self.owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(exc)


def broken(wrapRead: Any = None, wrapWrite: Any = None, close: Any = None) -> type[WrappedSocket]:
    """A WrappedSocket class whose channels are wrapped by the given ChannelWrapper classes,
    and whose close() is *close* (given the socket) when given."""
    namespace: dict[str, Any] = {}
    if wrapRead is not None:
        namespace["wrapRead"] = lambda self, channel: wrapRead(channel, self)
    if wrapWrite is not None:
        namespace["wrapWrite"] = lambda self, channel: wrapWrite(channel, self)
    if close is not None:
        namespace["close"] = close
    return type("BrokenSocket", (WrappedSocket,), namespace)


# -- reads ---------------------------------------------------------------------------------


class DroppingReads(ChannelWrapper):
    """Every 37th read first drops a byte that is already buffered."""

    calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not (callable(attribute) and name.startswith("read")):
            return attribute

        def dropping(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls % 37 == 0 and self.inner.availableForRead:
                self.inner.discardExact(1)
            return attribute(*args, **kwargs)

        return dropping


class BytewiseReads(ChannelWrapper):
    """The four reads of SPEC principle 3 made of readByte calls: interrupted half-way, they
    have consumed the bytes they read so far, and those are lost."""

    def _byte(self) -> int:
        return int(self.inner.readByte()) & 0xFF

    def readPacket(self, size: int) -> bytes:
        return bytes(self._byte() for _ in range(size))

    def readFully(self, dst: Any, offset: int = 0, length: int | None = None) -> None:
        end = len(dst) if length is None else offset + length
        for index in range(offset, end):
            dst[index] = self._byte()

    def readInt(self, byteOrder: str = "big") -> int:
        return int.from_bytes(self.readPacket(4), "big", signed=True)

    def readUTF8Line(self, limit: int | None = None) -> str | None:
        line = bytearray()
        while True:
            try:
                byte = self._byte()
            except ClosedReceiveChannelException:
                return line.decode(errors="replace") if line else None
            if byte == 0x0A:
                return line.rstrip(b"\r").decode(errors="replace")
            line.append(byte)


class TranslatedInterrupts(ChannelWrapper):
    """Reads turn whatever is thrown into them into a ClosedChannelException of their own."""

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not (callable(attribute) and name.startswith("read")):
            return attribute

        def translating(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except (gevent.Timeout, gevent.GreenletExit, OSError, TimeoutError) as exc:
                if isinstance(exc, ClosedChannelException):
                    raise
                raise ClosedChannelException(f"interrupted: {exc!r}") from exc

        return translating


class EofOnClose(ChannelWrapper):
    """A read woken by the local close() sees the end of stream instead of the closed
    channel: -1, None, False or an EOFError."""

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name.startswith("__"):
            return attribute

        def asEnd(*args: Any, **kwargs: Any) -> Any:
            try:
                return attribute(*args, **kwargs)
            except ClosedReadChannelException:
                if name == "readAvailable":
                    return -1
                if name in ("readUTF8Line", "peek"):
                    return None
                if name == "awaitContent":
                    return False
                raise ClosedReceiveChannelException("end of stream") from None

        return asEnd


class DeafToClose(ChannelWrapper):
    """A read woken by the local close() goes back to waiting (for up to 60 s)."""

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name.startswith("__"):
            return attribute

        def deaf(*args: Any, **kwargs: Any) -> Any:
            for _ in range(600):
                try:
                    return attribute(*args, **kwargs)
                except ClosedReadChannelException:
                    gevent.sleep(0.1)
            raise AssertionError("unreachable in a test's time")

        return deaf


class Unguarded(ChannelWrapper):
    """A second reader waits its turn on a lock instead of being refused."""

    def __init__(self, inner: Any, owner: WrappedSocket) -> None:
        super().__init__(inner, owner)
        self.lock = Semaphore()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not (callable(attribute) and (name.startswith("read") or name in ("peek",
                                                                            "awaitContent"))):
            return attribute

        def serialized(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                return attribute(*args, **kwargs)

        return serialized


# -- writes and closes ---------------------------------------------------------------------


class WholeClose(ChannelWrapper):
    """Closing the write channel closes the whole socket, not only its direction."""

    def close(self, cause: BaseException | None = None) -> bool:
        result = bool(self.inner.close(cause))
        self.owner.close()
        return result

    def flushAndClose(self) -> None:
        self.inner.flush()
        self.close()



class NoEof(WholeClose):
    """Closing the write channel flushes and refuses later writes, but sends no EOF."""

    closed = False

    @property
    def isClosedForWrite(self) -> bool:
        return self.closed

    def close(self, cause: BaseException | None = None) -> bool:
        if self.closed:
            return False
        self.inner.flush()
        self.closed = True
        return True

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if self.closed and callable(attribute) and name.startswith("write"):
            raise ClosedWriteChannelException("closed (without telling the peer)")
        return attribute


class BufferedWrites(ChannelWrapper):
    """Writes wait in a buffer of the wrapper's own until flush(), which subclasses make;
    every write* method encodes its bytes as greensock's would."""

    def __init__(self, inner: Any, owner: WrappedSocket) -> None:
        super().__init__(inner, owner)
        self.pending = bytearray()
        self.flushing = False
        self.closed = False
        self.encoder = ByteChannel(capacity=1 << 30)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("write"):
            return getattr(self.inner, name)
        encode = getattr(self.encoder, name)

        def write(*args: Any, **kwargs: Any) -> Any:
            if self.closed:
                raise ClosedWriteChannelException("the write channel is closed")
            if self.flushing:  # as the real ones: no bytes may slip under a blocked flush
                raise ConcurrentIOException("a flush is blocked in another greenlet")
            encode(*args, **kwargs)
            self.encoder.flush()
            self.pending += self.encoder.readPacket(self.encoder.availableForRead)

        return write

    def flush(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """The socket closes: hand what is pending on for the real close to deliver (not
        under a blocked flush, which the close wakes)."""
        if self.closed or self.flushing:
            self.closed = True
            return
        self.closed = True
        data, self.pending = bytes(self.pending), bytearray()
        self.inner.writeFully(data)

    def close(self, cause: BaseException | None = None) -> bool:
        if self.closed:
            return False
        self.flush()
        self.closed = True
        return bool(self.inner.close(cause))

    def flushAndClose(self) -> None:
        self.close()


class LossyFlush(BufferedWrites):
    """flush() empties the wrapper's buffer first, then hands the bytes on in small
    pieces, each flushed: a flush interrupted while the kernel is full loses the pieces it
    had not handed on yet."""

    PIECE = 512

    def flush(self) -> None:
        data = memoryview(bytes(self.pending))
        self.pending.clear()
        self.flushing = True
        try:
            for start in range(0, len(data), self.PIECE):
                self.inner.writeFully(data[start : start + self.PIECE])
                self.inner.flush()
        finally:
            self.flushing = False


class SwappingFlush(BufferedWrites):
    """Every third flush sends the second half of its bytes before the first."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        if self.flushes % 3 == 0 and len(self.pending) > 1:
            half = len(self.pending) // 2
            self.pending[:] = self.pending[half:] + self.pending[:half]
        data, self.pending = bytes(self.pending), bytearray()
        self.inner.writeFully(data)
        self.inner.flush()


class Bottomless(BufferedWrites):
    """flush() never blocks: a greenlet of the wrapper's own hands the bytes on, from a
    queue that grows without bound (no back-pressure)."""

    def __init__(self, inner: Any, owner: WrappedSocket) -> None:
        super().__init__(inner, owner)
        self.queue: list[bytes] = []
        self.pump: gevent.Greenlet | None = None

    def flush(self) -> None:
        if self.pending:
            self.queue.append(bytes(self.pending))
            self.pending.clear()
        if self.queue and (self.pump is None or self.pump.dead):
            self.pump = gevent.spawn(self._pump)

    def _pump(self) -> None:
        try:
            while self.queue:
                self.inner.writeFully(self.queue.pop(0))
                self.inner.flush()
        except ClosedChannelException:
            pass  # the socket was closed: nobody will read the rest

    def close(self, cause: BaseException | None = None) -> bool:
        if self.closed:
            return False
        self.flush()
        self.closed = True
        if self.pump is not None:
            self.pump.join()
        return bool(self.inner.close(cause))


def closeDroppingUnflushed(self: WrappedSocket) -> None:
    """close() that fails the write channel first: unflushed bytes never leave."""
    if self.writeChannel is not None:
        self.writeChannel.close(ClosedWriteChannelException("dropped"))
    self.inner.close()


#: Every broken kind of socket, by name.
BROKEN: dict[str, type[WrappedSocket]] = {
    "drops a byte now and then": broken(wrapRead=DroppingReads),
    "reads lose bytes when interrupted": broken(wrapRead=BytewiseReads),
    "reads translate what is thrown in": broken(wrapRead=TranslatedInterrupts),
    "close() wakes readers with EOF": broken(wrapRead=EofOnClose),
    "close() does not wake a blocked reader": broken(wrapRead=DeafToClose),
    "a second reader waits instead of being refused": broken(wrapRead=Unguarded),
    "the write channel's close() closes the socket": broken(wrapWrite=WholeClose),
    "the write channel's close() sends no EOF": broken(wrapWrite=NoEof),
    "an interrupted flush loses its bytes": broken(wrapWrite=LossyFlush),
    "flushes swap their halves": broken(wrapWrite=SwappingFlush),
    "no back-pressure": broken(wrapWrite=Bottomless),
    "close() drops unflushed bytes": broken(close=closeDroppingUnflushed),
}


def brokenPair(name: str, kind: str = "tcp") -> Callable[[], tuple[Any, Any]]:
    """A makePair whose pairs are two sockets of the broken kind *name* over *kind*."""
    wrapper = BROKEN[name]

    def make() -> tuple[Any, Any]:
        first, second = socketPair(kind)
        return wrapper(first), wrapper(second)

    return make
