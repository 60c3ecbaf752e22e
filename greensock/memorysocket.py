"""Memory sockets: two ``ByteChannel``\\ s stapled into a connected pair of ``ISocket``\\ s.

:func:`memorySocketPair` is what ``greensock.testing.socketPair("memory")`` returns. Each
direction is one :class:`~greensock.ByteChannel` (a *pipe*, 64 KiB of capacity, so writers
feel back-pressure as they would on a kernel socket); a socket hands out one *end* of each:
a read end of the pipe its peer writes, a write end of the pipe its peer reads.

The ends exist so that a memory socket behaves like a kernel one where a bare
``ByteChannel`` would not:

- **A failure never crosses the pipe as it is.** A ``ByteChannel`` failed by one side raises
  the same exception object on the other; a kernel connection tells the other side only
  what TCP can say. So what one end puts on the pipe (the socket's close, ``cancel(cause)``,
  ``close(cause)``) its own users see as it is, and the other end's users see what a kernel
  reports: ``BrokenPipeError`` to a writer whose reader went away, ``ConnectionResetError``
  to a reader whose writer failed.
- **Each end is one side only**: a read end has no write methods, a write end no read ones.
- **Closing the socket** fails the read end with ``ClosedReadChannelException`` and closes the
  write end normally: blocked readers and writers wake with the closed-channel exceptions,
  written bytes still reach the peer, which then sees end of stream.

Both sockets' ``localAddress`` and ``remoteAddress`` are ``UnixSocketAddress("")``, the
unnamed address the kernel reports for ``socket.socketpair()``. ``tls()`` is not supported
(``RuntimeError``): use ``socketPair("tls")``.
"""

from __future__ import annotations

import errno
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import gevent
from zope.interface import implementer
from zope.interface.interface import Method

from .addresses import UnixSocketAddress
from .connection import Connection
from .errors import ClosedChannelException, ClosedReadChannelException, ClosedWriteChannelException
from .interfaces import IByteReadChannel, IByteWriteChannel, ISocket
from .jobs import Job, ReaderJob, WriterJob
from .lifecycle import SocketLifecycle
from .memory import ByteChannel

__all__ = ["MemorySocket", "memorySocketPair"]

#: What both ends of a memory pair report as their addresses (see the module docstring).
UNNAMED = UnixSocketAddress("")

_numbers = itertools.count(1)


def _noTls(
    self: Any,
    context: Any = None,
    serverName: str | None = None,
    serverSide: bool = False,
    timeout: float | None = None,
) -> NoReturn:
    """Not supported on memory sockets (``tls()``, ``connection().tls()``): raises
    ``RuntimeError``."""
    raise RuntimeError(
        "TLS over memory sockets is not supported; use greensock.testing.socketPair('tls')"
    )


class _End(ABC):
    """One end of a pipe; subclasses name the interface they forward and what a failure
    of the other end looks like from here."""

    __slots__ = ("_peerFailure", "_pipe", "own")

    def __init__(self, pipe: ByteChannel) -> None:
        self._pipe = pipe
        #: The failure this end put on the pipe, or its socket's close: what its users see.
        self.own: BaseException | None = None
        self._peerFailure: BaseException | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._pipe!r}>"

    def _seen(self, exc: BaseException) -> BaseException:
        """What this end's users see for *exc*, raised by the pipe."""
        if exc is not self._pipe.closedCause:
            return exc  # end of stream, bad input, something thrown in: as it is
        if self.own is not None:
            return self.own
        if self._peerFailure is None:
            # One exception for every later call, as a failed kernel connection re-raises.
            self._peerFailure = self._failureOfPeer()
        return self._peerFailure

    @abstractmethod
    def _failureOfPeer(self) -> BaseException:
        """The exception this end's users see once the *other* end failed the pipe."""

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the pipe's method *name*; raise what this end's users see if it raises."""
        try:
            return getattr(self._pipe, name)(*args, **kwargs)
        except BaseException as exc:
            seen = self._seen(exc)
            if seen is exc:
                raise
            raise seen.with_traceback(None) from None

    @property
    def closedCause(self) -> BaseException | None:
        """The failure this end's users see; None while open or after a normal close."""
        cause = self._pipe.closedCause
        return None if cause is None else self._seen(cause)


_E = TypeVar("_E", bound=_End)


def _forward(name: str, doc: str, flushAfter: bool) -> Callable[..., Any]:
    """A method that calls the pipe's *name* through ``_End._call`` (and flushes after it
    when *flushAfter* and the end is autoFlush)."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = self._call(name, args, kwargs)
        if flushAfter and self.autoFlush:
            self._call("flush", (), {})
        return result

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


def _forwardAttribute(name: str, doc: str) -> property:
    """A read-only property giving the pipe's *name*."""
    return property(lambda self: getattr(self._pipe, name), doc=doc)


def _forwarding(interface: Any) -> Callable[[type[_E]], type[_E]]:
    """Class decorator: forward every member of *interface* the class does not define to
    the pipe, with the interface's docstring; write methods flush after when autoFlush."""

    def decorate(cls: type[_E]) -> type[_E]:
        for name, description in interface.namesAndDescriptions(all=True):
            if any(name in klass.__dict__ for klass in cls.__mro__[:-1]):
                continue
            doc = description.getDoc()
            if isinstance(description, Method):
                setattr(cls, name, _forward(name, doc, name.startswith("write")))
            else:
                setattr(cls, name, _forwardAttribute(name, doc))
        implementer(interface)(cls)
        return cls

    return decorate


@_forwarding(IByteReadChannel)
class ReadEnd(_End):
    """The read side of the pipe the peer writes."""

    __slots__ = ()

    def _failureOfPeer(self) -> BaseException:
        return ConnectionResetError(errno.ECONNRESET, "the peer reset the connection")

    def closeLocally(self, failure: BaseException) -> None:
        """Fail this end with *failure* (first one wins); wake a blocked reader."""
        if self.own is None:
            self.own = failure
        self._pipe.cancel(failure)

    def cancel(self, cause: BaseException | None = None) -> bool:
        """Fail the channel: unread bytes are dropped, blocked and later reads raise *cause*
        (``ClosedReadChannelException`` when None); the peer's writes raise
        ``BrokenPipeError``. False when already failed."""
        if self._pipe.closedCause is not None:
            return False
        self.closeLocally(
            cause if cause is not None else ClosedReadChannelException("channel was cancelled")
        )
        return True

    def copyAndClose(self, dst: Any, limit: int | None = None) -> int:
        """``copyTo``, then close *dst*: normally, or with the failure this end's users see."""
        # Not forwarded: the pipe would close dst with its own cause, which may be the
        # other end's and must not cross (see the module docstring).
        try:
            copied: int = self._call("copyTo", (dst, limit), {})
        except Exception as exc:
            dst.close(exc)
            raise
        dst.close()
        return copied

    def joinTo(self, dst: Any, closeOnEnd: bool) -> None:
        """Copy every byte up to end of stream into *dst*; close it if *closeOnEnd*."""
        if closeOnEnd:
            self.copyAndClose(dst)
        else:
            self._call("copyTo", (dst,), {})

    def lines(self, limit: int | None = None) -> Iterator[str]:
        """Yield ``readUTF8Line(limit)`` results until end of stream."""
        return self._translated(self._call("lines", (limit,), {}))

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        """Yield the bytes as they arrive, in pieces of at most *size*, until end of stream."""
        return self._translated(self._call("chunks", (size,), {}))

    def _translated(self, items: Iterator[Any]) -> Iterator[Any]:
        while True:
            try:
                item = next(items)
            except StopIteration:
                return
            except BaseException as exc:
                seen = self._seen(exc)
                if seen is exc:
                    raise
                raise seen.with_traceback(None) from None
            yield item


@_forwarding(IByteWriteChannel)
class WriteEnd(_End):
    """The write side of the pipe the peer reads."""

    __slots__ = ("autoFlush",)

    def _failureOfPeer(self) -> BaseException:
        return BrokenPipeError(errno.EPIPE, "the peer closed the connection")

    def __init__(self, pipe: ByteChannel) -> None:
        super().__init__(pipe)
        self.autoFlush = False

    def close(self, cause: BaseException | None = None) -> bool:
        """Without *cause*: the peer reads what was written, then end of stream (a
        half-close). With *cause*: pending bytes are dropped, this end's writes raise
        *cause* and the peer's reads ``ConnectionResetError``. False if already closed."""
        if cause is not None and self.own is None:
            self.own = cause
        return self._pipe.close(cause)

    def closeLocally(self, failure: BaseException) -> None:
        """The socket closed: the peer gets what was written, then end of stream; writes
        here raise *failure* where the pipe failed meanwhile."""
        if self.own is None:
            self.own = failure
        self._pipe.close()

    def __enter__(self) -> WriteEnd:
        return self

    def __exit__(self, excType: Any, exc: BaseException | None, tb: Any) -> None:
        self.close(exc)


@implementer(ISocket)
class MemorySocket(SocketLifecycle):
    """One socket of a memory pair: reads the pipe *incoming*, writes the pipe *outgoing*.

    Behaves as a kernel stream socket does (SPEC sections 5 to 7), with the differences the
    module docstring lists. :attr:`lingerTimeout` bounds how long :meth:`close` lets an
    ``attachForWriting`` pump hand on what its channel still holds.
    """

    #: Seconds close() lets the attachForWriting pump finish before it stops it.
    lingerTimeout: float = 60.0

    def __init__(self, incoming: ByteChannel, outgoing: ByteChannel, name: str) -> None:
        self._reader = ReadEnd(incoming)
        self._writer = WriteEnd(outgoing)
        self._name = name
        self._readOpened = False
        self._writeOpened = False
        self._closing = False
        self._closed = False
        self._writePump: ReaderJob | None = None
        self.socketContext = Job(onCancel=lambda cause: self.close())
        self.localAddress = UNNAMED
        self.remoteAddress = UNNAMED

    def __repr__(self) -> str:
        state = "closed" if self._closed else "closing" if self._closing else "open"
        return f"<MemorySocket {self._name} {state}>"

    @property
    def isClosed(self) -> bool:
        """True once closed, and the attachForWriting pump (if any) handed its bytes on."""
        return self._closed

    def _checkOpen(self) -> None:
        if self._closing:
            raise ClosedChannelException("the socket is closed")

    def openReadChannel(self) -> ReadEnd:
        """The channel of incoming bytes; once per socket (RuntimeError the second time)."""
        self._checkOpen()
        if self._readOpened:
            raise RuntimeError("the read side of this socket is already open (once per socket)")
        self._readOpened = True
        return self._reader

    def openWriteChannel(self, autoFlush: bool = False) -> WriteEnd:
        """The channel of outgoing bytes; once per socket (RuntimeError the second time)."""
        if not isinstance(autoFlush, bool):
            raise TypeError(f"autoFlush must be a bool, got {type(autoFlush).__name__}")
        self._checkOpen()
        if self._writeOpened:
            raise RuntimeError("the write side of this socket is already open (once per socket)")
        self._writeOpened = True
        self._writer.autoFlush = autoFlush
        return self._writer

    def attachForReading(self, channel: Any) -> WriterJob:
        """Pump incoming bytes into *channel* from a greenlet; it is closed at end of stream."""
        source = self.openReadChannel()
        return WriterJob(lambda: source.copyAndClose(channel), channel)

    def attachForWriting(self, channel: Any) -> ReaderJob:
        """Pump bytes written to *channel* to the peer; half-close at its end of stream."""
        sink = self.openWriteChannel()
        self._writePump = ReaderJob(lambda: channel.copyAndClose(sink), channel)
        return self._writePump

    def connection(self) -> Connection:
        """Open both channels (``autoFlush=False``) and bundle them with this socket."""
        return _MemoryConnection(self, self.openReadChannel(), self.openWriteChannel())

    tls = _noTls

    def close(self) -> None:
        """Close; never blocks. Closing twice is harmless.

        Blocked readers wake with ``ClosedReadChannelException``, blocked writers with
        ``ClosedWriteChannelException``; the peer reads what was written, then end of stream,
        and its writes raise ``BrokenPipeError``. An ``attachForWriting`` pump first hands on
        what its channel holds (for up to :attr:`lingerTimeout` seconds, in the background):
        :attr:`isClosed` becomes true then.
        """
        if self._closing:
            return
        self._closing = True
        self._reader.closeLocally(ClosedReadChannelException("the socket was closed"))
        pump = self._writePump
        if pump is None or pump.isCompleted:
            self._finish()
            return
        # As a kernel socket does: the attached channel is closed normally, and what it
        # holds still goes out (the pump closes the write end at its end of stream).
        pump.channel.close()
        limit = gevent.spawn_later(
            self.lingerTimeout, pump.cancel, ClosedWriteChannelException("linger timeout")
        )

        def finished(cause: BaseException | None) -> None:
            limit.kill(block=False)
            self._finish()

        pump.invokeOnCompletion(finished)

    def _finish(self) -> None:
        self._writer.closeLocally(ClosedWriteChannelException("the socket was closed"))
        self._closed = True
        self._writePump = None
        self.socketContext._complete(None)


class _MemoryConnection(Connection):
    """A memory socket's connection: STARTTLS is not supported either."""

    __slots__ = ()

    tls = _noTls


def memorySocketPair() -> tuple[MemorySocket, MemorySocket]:
    """Two memory sockets connected to each other, channels not opened yet."""
    forward, backward = ByteChannel(), ByteChannel()
    number = next(_numbers)
    return (
        MemorySocket(backward, forward, f"#{number}a"),
        MemorySocket(forward, backward, f"#{number}b"),
    )
