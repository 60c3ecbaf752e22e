# mypy: disable-error-code="misc, empty-body"
"""The zope.interface declarations of greensock (SPEC section 2).

This module declares; it implements nothing. Each interface is a capability of ktor's
``io.ktor.network.sockets`` with an ``I`` in front of ktor's name, and the capabilities are
layered by interface inheritance exactly as ktor layers them (``ISocket`` is an
``IReadWriteSocket`` that is also bound and connected, and so on). A handful of interfaces
that ktor expresses with classes or Kotlin channel types (``ISelectorManager``,
``IConnection``, the builders, ``IDatagramReceiveChannel``/``IDatagramSendChannel``) are
declared too, so that every object greensock hands out can be checked with
``zope.interface.verify.verifyObject``.

Conventions:

* **Names are ktor's**, camelCase included (``openReadChannel``, ``isClosedForRead``,
  ``readUTF8Line``), so ktor's documentation maps 1:1 onto greensock. Python idioms --
  context managers, iteration -- are added on top, never instead.
* **A ktor property is an** ``Attribute``: read it (``sock.isClosed``), never call it.
* **Methods block only the calling greenlet.** Every call that suspends in ktor parks its
  greenlet here, and other greenlets keep running; there is no ``async`` anywhere. Any
  blocking call can be bounded with ``gevent.Timeout``, and a read interrupted that way (or
  by ``Greenlet.kill()``) consumes nothing it did not return.
* **Methods are declared as zope wants them**: without ``self``, with their real parameter
  names and defaults (``verifyObject`` compares them), a typed signature, and a docstring
  that is the behavioural contract -- what it returns, when it blocks, what it raises.
  Annotations name other interfaces where greensock objects are returned; ``Any`` (spelled
  ``_Datagram``, ``_SocketAddress``...) stands for concrete classes whose modules import
  this one.
* **Exceptions** named in the contracts are those of :mod:`greensock.errors` (all importable
  from ``greensock``) or Python's own (``ConnectionRefusedError``, ``socket.gaierror``...).
* **Every** ``timeout=`` (``connect``, ``accept``, ``receive``, ``tls``, ``awaitClosed``,
  ``join``) is None (no bound) or a number of seconds: NaN raises ``ValueError`` and what is
  not a number (``bool`` included) ``TypeError``, at the call; a negative value expires at
  once (the call completes only if it need not wait); an infinite one is None.

Type checking: zope.interface ships no type information, and its methods have no ``self``
and empty bodies by design. The ``# mypy:`` comment at the top turns off the two error codes
those complaints fall under (``misc`` and ``empty-body``), for this file only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zope.interface import Attribute, Interface

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator, Mapping
    from types import TracebackType
    from typing import Any, Literal, TypeAlias

    from _typeshed import SupportsWrite

    # Concrete classes defined by modules that import this one.
    _Datagram: TypeAlias = Any
    _SocketAddress: TypeAlias = Any
    _SocketOptions: TypeAlias = Any

    _ByteOrder: TypeAlias = Literal["big", "little"]
    _ReadableBuffer: TypeAlias = bytes | bytearray | memoryview
    _WritableBuffer: TypeAlias = bytearray | memoryview
    _CauseHandler: TypeAlias = Callable[[BaseException | None], object]
    _Configure: TypeAlias = Callable[[Any], object] | Mapping[str, Any] | None

__all__ = [
    "IABoundSocket",
    "IAConnectedSocket",
    "IAReadable",
    "IASocket",
    "IAWritable",
    "IAcceptable",
    "IBoundDatagramSocket",
    "IByteChannel",
    "IByteReadChannel",
    "IByteWriteChannel",
    "IConfigurable",
    "IConnectedDatagramSocket",
    "IConnection",
    "IDatagramReadChannel",
    "IDatagramReadWriteChannel",
    "IDatagramReceiveChannel",
    "IDatagramSendChannel",
    "IDatagramWriteChannel",
    "IJob",
    "IReadWriteSocket",
    "IReaderJob",
    "ISelectorManager",
    "IServerSocket",
    "IServing",
    "ISocket",
    "ISocketBuilder",
    "ITcpSocketBuilder",
    "IUDPSocketBuilder",
    "IWriterJob",
]


# ---------------------------------------------------------------------------------------------
# Jobs (SPEC section 7)
# ---------------------------------------------------------------------------------------------


class IJob(Interface):
    """A unit of work with a lifetime: active, then completed (normally, failed or cancelled).

    A job that runs code (the pumps of ``attachForReading``/``attachForWriting``) is a
    ``gevent.Greenlet`` or wraps one; a socket's ``socketContext`` is a job that runs no code
    and completes when the socket is closed.
    """

    isActive = Attribute("""True while the job has started and is not completed yet.""")

    isCompleted = Attribute(
        """True once the job is finished for any reason: normally, with an error, or
        cancelled. Never goes back to False."""
    )

    isCancelled = Attribute(
        """True once the job was cancelled -- by ``cancel()``, or because it failed with an
        exception (ktor's meaning). Stays False for a job that completes normally."""
    )

    def join(timeout: float | None = None) -> bool:
        """Block the calling greenlet until the job completes.

        Returns True once the job is completed (at once if it already is), False when
        ``timeout`` seconds pass first; the job is not affected by a timeout. A failed job
        does not make ``join`` raise: inspect the cause through ``invokeOnCompletion``. For a
        socket's ``socketContext``, ``join`` is the socket's ``awaitClosed``.
        """

    def cancel(cause: BaseException | None = None) -> None:
        """Stop the job; idempotent, and no effect on a job that is already completed.

        Returns without waiting for the job to wind down (use ``join`` for that). A pump stops
        pumping and fails its channel with ``cause`` (a ``ClosedChannelException`` when none
        was given: a channel failed with ``GreenletExit`` would silently end the greenlet that
        reads it); completion handlers receive ``cause``, or a ``gevent.GreenletExit`` (the
        cancellation itself, like ktor's ``CancellationException``) when none was given.
        Cancelling a ``socketContext`` closes its socket.
        """

    def invokeOnCompletion(handler: _CauseHandler) -> None:
        """Register ``handler(cause)`` to run once when the job completes.

        ``cause`` is None on a normal completion and the exception otherwise. A handler
        registered after completion runs at once, in the calling greenlet. Handlers run in
        registration order; an exception raised by one is reported (not propagated) and does
        not prevent the others.
        """


class IReaderJob(IJob):
    """A job that reads from a channel: the pump started by ``attachForWriting``."""

    channel = Attribute(
        """The ``IByteWriteChannel`` side of the channel this job reads from: what the user
        writes there, the job takes out (for ``attachForWriting``, to the socket)."""
    )


class IWriterJob(IJob):
    """A job that writes into a channel: the pump started by ``attachForReading``."""

    channel = Attribute(
        """The ``IByteReadChannel`` side of the channel this job writes into: the user reads
        there what the job puts in (for ``attachForReading``, bytes from the socket)."""
    )


# ---------------------------------------------------------------------------------------------
# Byte channels (SPEC section 6)
# ---------------------------------------------------------------------------------------------


class IByteReadChannel(Interface):
    """The reading side of a byte stream: a socket's input, or an in-memory ``ByteChannel``.

    Rules common to every blocking read below:

    * It blocks only the calling greenlet, until the bytes it needs are available or the
      stream ends. While one greenlet is blocked reading, a second greenlet that would block
      reading the same channel raises ``ConcurrentIOException`` (the first keeps waiting).
    * A read that raises, or that is interrupted by ``gevent.Timeout``/``Greenlet.kill()``,
      consumes nothing: the channel is left exactly as it was.
    * A read that needs more bytes than the channel's capacity lets the buffer grow as far
      as that read needs and no further; pass a ``limit`` where the peer is not trusted.
    * After a local ``cancel(cause)`` reads raise ``cause`` (``ClosedReadChannelException``
      when none was given). When the writer closed with a cause, or the connection failed
      (``ConnectionResetError``, ``BrokenPipeError``, ``SocketTimeoutException`` from the
      ``socketTimeout`` option), reads raise that error, then and every time after.
    * Peer EOF is not an error: ``readAvailable`` returns -1, ``readUTF8Line`` returns None,
      ``awaitContent`` returns False, and exact reads raise ``ClosedReceiveChannelException``
      (an ``EOFError``).
    * Numbers are big-endian unless ``byteOrder="little"``. A negative count or length, or an
      ``offset``/``length`` outside ``dst``, raises ``ValueError``.
    """

    availableForRead = Attribute("""Number of bytes that can be read right now without blocking.""")

    isClosedForRead = Attribute(
        """True when no read can ever return another byte: the writer closed and every byte
        was read, or the channel was cancelled or failed."""
    )

    isClosedForWrite = Attribute(
        """True once the writing side is closed, normally or with a cause. Bytes written
        before a normal close may still be waiting to be read."""
    )

    closedCause = Attribute(
        """The exception the channel was closed, cancelled or failed with; None while it is
        open or after a normal close."""
    )

    totalBytesRead = Attribute(
        """Number of bytes consumed from this channel so far. Peeked bytes do not count."""
    )

    def awaitContent(min: int = 1) -> bool:
        """Block until at least ``min`` bytes are available for reading; consume nothing.

        Returns True when they are (at once if they already are), False when the stream ends
        before ``min`` bytes arrive -- the bytes that did arrive stay readable.
        """

    def readAvailable(dst: _WritableBuffer, offset: int = 0, length: int | None = None) -> int:
        """Copy the bytes available now into ``dst[offset:offset + length]``.

        ``length`` defaults to the room left in ``dst`` after ``offset``. Blocks only until at
        least one byte is available, then copies as many as are there and fit. Returns the
        number of bytes copied, -1 at EOF, 0 at once when ``length`` is 0. ``dst`` is a
        ``bytearray`` or a writable ``memoryview``; a read-only buffer raises ``TypeError``.
        """

    def readFully(dst: _WritableBuffer, offset: int = 0, length: int | None = None) -> None:
        """Fill exactly ``dst[offset:offset + length]`` (default: the rest of ``dst``).

        Blocks until that many bytes have been read. When the stream ends first, raises
        ``ClosedReceiveChannelException`` and consumes nothing.
        """

    def readPacket(size: int) -> bytes:
        """Read exactly ``size`` bytes and return them (``b""`` for 0).

        When the stream ends before ``size`` bytes, raises ``ClosedReceiveChannelException``
        and consumes nothing.
        """

    def readRemaining(limit: int | None = None) -> bytes:
        """Read until EOF, or until ``limit`` bytes have been read, and return the bytes.

        Returns fewer than ``limit`` bytes (possibly ``b""``) only at EOF. Without ``limit``
        the whole rest of the stream is held in memory, as asked.
        """

    def readByte(byteOrder: _ByteOrder = "big") -> int:
        """Read one byte as a signed 8-bit integer (-128..127).

        Raises ``ClosedReceiveChannelException`` at EOF. ``byteOrder`` is accepted for
        uniformity with the wider reads.
        """

    def readShort(byteOrder: _ByteOrder = "big") -> int:
        """Read two bytes as a signed 16-bit integer.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        before two bytes.
        """

    def readInt(byteOrder: _ByteOrder = "big") -> int:
        """Read four bytes as a signed 32-bit integer.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        before four bytes.
        """

    def readLong(byteOrder: _ByteOrder = "big") -> int:
        """Read eight bytes as a signed 64-bit integer.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        before eight bytes.
        """

    def readFloat(byteOrder: _ByteOrder = "big") -> float:
        """Read four bytes as an IEEE 754 single-precision float.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        before four bytes.
        """

    def readDouble(byteOrder: _ByteOrder = "big") -> float:
        """Read eight bytes as an IEEE 754 double-precision float.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        before eight bytes.
        """

    def readBoolean(byteOrder: _ByteOrder = "big") -> bool:
        """Read one byte; any non-zero value is True.

        Raises ``ClosedReceiveChannelException`` at EOF. ``byteOrder`` is accepted for
        uniformity with the numeric reads.
        """

    def readUTF8Line(limit: int | None = None) -> str | None:
        """Read one line and return it decoded, without its terminator.

        ``\\n``, ``\\r\\n`` and a lone ``\\r`` each end a line; a trailing ``\\r`` waits for
        the next byte to tell which, and at EOF it is a line end. A last line without a
        terminator is returned; EOF before any byte returns None. ``limit`` counts the UTF-8
        bytes of the line (terminator excluded): a longer line raises
        ``TooLongLineException`` and consumes nothing. Malformed UTF-8 decodes to U+FFFD; a
        code point split across network reads decodes whole.
        """

    def readUTF8LineTo(out: SupportsWrite[str], limit: int | None = None) -> bool:
        """Read one line, as ``readUTF8Line`` does, and pass it to ``out.write``.

        Returns True when a line was read (even an empty one), False at EOF before any byte
        (``out`` is then not written to). Raises ``TooLongLineException`` like
        ``readUTF8Line``, consuming nothing and writing nothing.
        """

    def readUntilDelimiter(delimiter: bytes, dst: _WritableBuffer) -> int:
        """Copy bytes into ``dst`` up to, not including, the next ``delimiter``.

        The delimiter stays unread (see ``skipDelimiter``). Returns early when ``dst`` is
        full. Returns the number of bytes copied -- 0 when the delimiter is next -- or -1 at
        EOF with nothing left to copy; at EOF without a delimiter, the remaining bytes are
        copied. An empty ``delimiter`` raises ``ValueError``.
        """

    def skipDelimiter(delimiter: bytes) -> None:
        """Consume ``delimiter``, which must be the next bytes of the stream.

        Raises ``ValueError``, consuming nothing, when the next bytes are something else, and
        ``ClosedReceiveChannelException`` when the stream ends before ``len(delimiter)``
        bytes.
        """

    def readUntil(delimiter: bytes, limit: int | None = None) -> bytes:
        """Read up to the next ``delimiter``, consume it, and return the bytes before it.

        More than ``limit`` bytes before the delimiter raise ``TooLongLineException``; EOF
        before the delimiter raises ``ClosedReceiveChannelException``; both consume nothing.
        An empty ``delimiter`` raises ``ValueError``.
        """

    def peek(count: int) -> bytes | None:
        """Block until ``count`` bytes are available and return them without consuming them.

        Returns None when the stream ends before ``count`` bytes; what did arrive stays
        readable.
        """

    def discard(max: int | None = None) -> int:
        """Consume and drop up to ``max`` bytes (every byte to EOF when None).

        Blocks until that many were dropped or the stream ended; returns how many were.
        """

    def discardExact(n: int) -> None:
        """Consume and drop exactly ``n`` bytes.

        Raises ``ClosedReceiveChannelException``, consuming nothing, when the stream ends
        first.
        """

    def copyTo(dst: IByteWriteChannel, limit: int | None = None) -> int:
        """Copy bytes from this channel into ``dst`` until EOF or ``limit`` bytes.

        Returns the number of bytes copied. ``dst`` is flushed before returning and never
        closed (see ``copyAndClose``); a failure of either channel is raised as is, and
        ``dst`` keeps what was copied before it. Blocks on ``dst``'s back-pressure too.
        """

    def copyAndClose(dst: IByteWriteChannel, limit: int | None = None) -> int:
        """``copyTo`` followed by closing ``dst``; return the number of bytes copied.

        On success ``dst`` is closed normally (its reader drains it, then sees EOF). When
        this channel fails, ``dst`` is closed with the same cause, and the cause is raised.
        """

    def joinTo(dst: IByteWriteChannel, closeOnEnd: bool) -> None:
        """Copy every byte up to EOF into ``dst``, then flush it; close it if ``closeOnEnd``.

        When this channel fails, the cause is raised, and ``dst`` is closed with it if
        ``closeOnEnd``.
        """

    def cancel(cause: BaseException | None = None) -> bool:
        """Fail the channel at once from the reading side.

        Unread bytes are dropped; greenlets blocked on either side, and every later read and
        write, raise ``cause`` -- a ``ClosedReadChannelException`` when none is given. Returns
        True if this call closed the channel, False if it was already closed.
        """

    def lines(limit: int | None = None) -> Iterator[str]:
        """Yield ``readUTF8Line(limit)`` results until EOF (the None is not yielded).

        Errors are raised from the iteration, with ``readUTF8Line``'s guarantees.
        """

    def chunks(size: int = 65536) -> Iterator[bytes]:
        """Yield the bytes as they arrive, in non-empty ``bytes`` of at most ``size``, until EOF.

        A ``size`` below 1 raises ``ValueError``.
        """


class IByteWriteChannel(Interface):
    """The writing side of a byte stream: a socket's output, or an in-memory ``ByteChannel``.

    Written bytes are handed on (made visible to the reader, or given to the kernel for a
    socket) on ``flush()``, on every write when ``autoFlush``, or when the pending bytes reach
    the capacity. Rules common to every blocking write below:

    * A writer blocks only its own greenlet, while the channel holds ``capacity`` bytes not
      yet read (back-pressure) -- unless a reader waits for more than that. While one
      greenlet is blocked writing, a second greenlet that would block writing the same
      channel raises ``ConcurrentIOException``.
    * A write interrupted while blocked on back-pressure leaves the bytes it had already
      placed in the channel there, in order; they go out with the next flush.
    * Writing after a normal ``close()`` raises ``ClosedWriteChannelException``. After
      ``close(cause)`` or a reader's ``cancel(cause)``, writes raise that cause; after a
      connection failure, the kernel's error (``ConnectionResetError``, ``BrokenPipeError``)
      or ``SocketTimeoutException``.
    * Numbers are big-endian unless ``byteOrder="little"``; integer writes accept the signed
      or the unsigned range of their width and raise ``ValueError`` outside it, writing
      nothing.
    """

    availableForWrite = Attribute(
        """Free capacity: the number of bytes that can be written now without blocking."""
    )

    isClosedForWrite = Attribute(
        """True once the channel was closed, normally or with a cause, or cancelled by its
        reader."""
    )

    autoFlush = Attribute(
        """True when every write is flushed as it is made; fixed when the channel is made."""
    )

    totalBytesWritten = Attribute(
        """Number of bytes handed on so far: made visible to the reader, or -- for a socket --
        taken by the kernel. Bytes still pending are not counted."""
    )

    closedCause = Attribute(
        """The exception the channel was closed or cancelled with; None while it is open or
        after a normal close."""
    )

    def writeAvailable(src: _ReadableBuffer, offset: int = 0, length: int | None = None) -> int:
        """Write as much of ``src[offset:offset + length]`` as fits now; return the count.

        ``length`` defaults to the rest of ``src``. Blocks only while the channel is full, so
        at least one byte is written unless ``length`` is 0.
        """

    def writeFully(src: _ReadableBuffer, offset: int = 0, length: int | None = None) -> None:
        """Write all of ``src[offset:offset + length]`` (default: the rest of ``src``).

        Blocks on back-pressure as often as needed.
        """

    def writePacket(data: _ReadableBuffer) -> None:
        """Write all of ``data``, blocking on back-pressure as often as needed."""

    def writeByte(value: int, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as one byte; it must be in -128..255."""

    def writeShort(value: int, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as two bytes; it must be in -2**15..2**16 - 1."""

    def writeInt(value: int, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as four bytes; it must be in -2**31..2**32 - 1."""

    def writeLong(value: int, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as eight bytes; it must be in -2**63..2**64 - 1."""

    def writeFloat(value: float, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as a four-byte IEEE 754 single-precision float.

        A finite value too large for single precision raises ``ValueError``.
        """

    def writeDouble(value: float, byteOrder: _ByteOrder = "big") -> None:
        """Write ``value`` as an eight-byte IEEE 754 double-precision float."""

    def writeBoolean(value: bool, byteOrder: _ByteOrder = "big") -> None:
        """Write one byte, 1 for True and 0 for False.

        ``byteOrder`` is accepted for uniformity with the numeric writes.
        """

    def writeStringUtf8(text: str) -> None:
        """Write ``text`` encoded as UTF-8.

        A string that cannot be encoded (a lone surrogate) raises ``UnicodeEncodeError``
        and writes nothing.
        """

    def flush() -> None:
        """Hand every pending byte on.

        On a socket, returns once the kernel has taken every pending byte (blocking while it
        cannot). Interrupted, it keeps every byte the kernel has not taken in the channel,
        and the next ``flush()`` sends them. On a closed channel, raises as writes do.
        """

    def flushAndClose() -> None:
        """``flush()`` then ``close()``: the reader gets every byte, then EOF."""

    def awaitFreeSpace() -> None:
        """Block while the channel is full; return once at least one byte can be written.

        Raises as writes do when the channel is closed.
        """

    def close(cause: BaseException | None = None) -> bool:
        """Close the channel; return True if this call closed it, False if it already was.

        Without ``cause``: pending bytes are flushed, the reader drains them and then sees
        EOF; on a socket this half-closes the connection (the peer sees EOF, this side keeps
        reading). With ``cause``: immediate failure -- unread bytes are dropped, and blocked
        and later readers and writers raise ``cause``.
        """

    def __enter__() -> IByteWriteChannel:
        """Return the channel itself."""

    def __exit__(
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the channel: normally, or with the escaping exception as cause.

        Never suppresses the exception.
        """


class IByteChannel(IByteReadChannel, IByteWriteChannel):
    """Both sides of one byte stream: what is written at one end is read at the other.

    The in-memory pipe ``ByteChannel(autoFlush=False, capacity=65536)`` provides it, and so
    does any channel given to ``attachForReading``/``attachForWriting``.
    """


# ---------------------------------------------------------------------------------------------
# Sockets (SPEC sections 2, 5 and 10)
# ---------------------------------------------------------------------------------------------


class IASocket(Interface):
    """Base of every socket: closing and the socket's lifetime.

    Usable as a context manager: ``with`` closes the socket on exit.
    """

    socketContext = Attribute(
        """An ``IJob`` that completes when the socket is closed; it runs no code, and its
        ``join`` is ``awaitClosed``."""
    )

    isClosed = Attribute(
        """True once closing is done: bytes already written have reached the peer (or were
        given up), the file descriptor is closed and ``socketContext`` completed. True at
        once after ``close()`` when nothing was left to send."""
    )

    def close() -> None:
        """Close the socket; never blocks for long. Closing twice is harmless.

        Stops new operations, lets bytes already written reach the peer and then sends FIN
        (in the background when the kernel cannot take them at once), wakes greenlets blocked
        on this socket's channels (readers raise ``ClosedReadChannelException``, writers
        ``ClosedWriteChannelException``), closes the file descriptor and completes
        ``socketContext``. Later operations raise ``ClosedChannelException``.
        """

    def dispose() -> None:
        """``close()`` that swallows any error; for clean-up paths."""

    def awaitClosed(timeout: float | None = None) -> bool:
        """Block until the socket is completely closed (``isClosed``).

        Returns True once it is, False when ``timeout`` seconds pass first. Does not close
        the socket by itself.
        """

    def __enter__() -> IASocket:
        """Return the socket itself."""

    def __exit__(
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the socket, whether or not an exception escaped; never suppresses it."""


class IABoundSocket(Interface):
    """A socket bound to a local address."""

    localAddress = Attribute(
        """The local ``SocketAddress``: an ``InetSocketAddress`` with the numeric host for an
        IP socket, a ``UnixSocketAddress`` for a Unix one. A stream socket reads it from the
        kernel on first use and keeps it; read for the first time after the socket closed,
        it raises ``ClosedChannelException``."""
    )


class IAReadable(Interface):
    """A socket whose incoming bytes can be read as a byte stream.

    Reading is opened once per socket: ``openReadChannel`` and ``attachForReading`` each
    count as opening it.
    """

    def attachForReading(channel: IByteChannel) -> IWriterJob:
        """Start a pump that copies incoming bytes into ``channel``; return its job.

        The pump flushes ``channel`` as it goes, closes it at EOF and fails it with the error
        when the socket fails. Raises ``RuntimeError`` when reading was already opened, and
        ``ClosedChannelException`` on a closed socket.
        """

    def openReadChannel() -> IByteReadChannel:
        """Return the channel of incoming bytes.

        Reads on it do the I/O on the reading greenlet. A second call, or a call after
        ``attachForReading``, raises ``RuntimeError``; a call on a closed socket raises
        ``ClosedChannelException``.
        """


class IAWritable(Interface):
    """A socket to which outgoing bytes can be written as a byte stream.

    Writing is opened once per socket: ``openWriteChannel`` and ``attachForWriting`` each
    count as opening it.
    """

    def attachForWriting(channel: IByteChannel) -> IReaderJob:
        """Start a pump that sends what is written to ``channel``; return its job.

        At ``channel``'s EOF the pump half-closes the connection. Raises ``RuntimeError``
        when writing was already opened, and ``ClosedChannelException`` on a closed socket.
        """

    def openWriteChannel(autoFlush: bool = False) -> IByteWriteChannel:
        """Return the channel for outgoing bytes; with ``autoFlush`` every write is flushed.

        The channel holds up to 64 KiB of unflushed bytes before it flushes by itself;
        closing it normally half-closes the connection. A second call, or a call after
        ``attachForWriting``, raises ``RuntimeError``; a call on a closed socket raises
        ``ClosedChannelException``.
        """


class IAConnectedSocket(IAWritable):
    """A socket connected to a peer."""

    remoteAddress = Attribute(
        """The peer's ``SocketAddress``: an ``InetSocketAddress`` with the numeric host for an
        IP socket, a ``UnixSocketAddress`` for a Unix one."""
    )


class IAcceptable(IASocket):
    """A source of sockets, such as a server socket."""

    def accept(timeout: float | None = None) -> IASocket:
        """Block until a connection arrives and return its socket.

        A server socket returns an ``ISocket``. Connections wait in the kernel's backlog
        until accepted. When ``timeout`` seconds pass first, raises
        ``SocketTimeoutException`` and the server stays usable. Raises
        ``ClosedChannelException`` on a closed server, and in a greenlet blocked here when
        the server is closed.

        A connection that failed before it was accepted (``ECONNABORTED``, ``EPROTO``,
        ``EPERM`` from a firewall) is skipped. Running out of descriptors or memory
        (``EMFILE``, ``ENFILE``, ``ENOBUFS``, ``ENOMEM``) raises that ``OSError`` after a
        back-off delay (10 ms, doubling with each consecutive failure up to 1 s) during which
        other greenlets run, so that a loop that catches it and retries never spins.
        """


class IReadWriteSocket(IASocket, IAReadable, IAWritable):
    """A socket that is both readable and writable."""


class IConnection(Interface):
    """A socket together with its two opened channels (``socket.connection()``)."""

    socket = Attribute("""The ``ISocket`` the channels belong to.""")

    input = Attribute("""The socket's ``IByteReadChannel``.""")

    output = Attribute("""The socket's ``IByteWriteChannel``, opened with ``autoFlush=False``.""")

    def tls(
        context: ssl.SSLContext | None = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> IConnection:
        """Upgrade the connection to TLS (STARTTLS) and return a new connection over it.

        The new connection's ``socket`` is the TLS socket; this connection must not be used
        afterwards. Pending output is flushed first. Raises ``RuntimeError`` when unread
        plaintext is buffered in ``input`` (it would be lost). Arguments and the other errors
        are those of ``ISocket.tls``.
        """


class ISocket(IReadWriteSocket, IABoundSocket, IAConnectedSocket):
    """A connected stream socket (TCP or Unix, plain or TLS)."""

    def connection() -> IConnection:
        """Open both channels (``autoFlush=False``) and return them with the socket.

        Raises as ``openReadChannel``/``openWriteChannel`` do: ``RuntimeError`` when either
        direction was already opened, ``ClosedChannelException`` on a closed socket.
        """

    def tls(
        context: ssl.SSLContext | None = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> ISocket:
        """Perform a TLS handshake over this socket and return the TLS socket.

        Client side by default: ``context`` defaults to ``ssl.create_default_context()``,
        and the certificate is checked against ``serverName``, which defaults to the host
        name given to ``connect``. ``serverSide=True`` needs a ``context`` (``ValueError``
        otherwise). ALPN and client certificates come through the context. Only valid before
        either channel is opened (``RuntimeError`` otherwise); the original socket must not
        be used afterwards. Raises ``SocketTimeoutException`` when ``timeout`` seconds pass
        before the handshake completes, and ``ssl.SSLError`` when it fails.
        """


# The seed lists ASocket first; it comes after IAcceptable (which extends it) here so that
# zope can compute a consistent C3 resolution order. The set of bases is the seed's.
class IServerSocket(IAcceptable, IABoundSocket, IASocket):
    """A listening stream socket; ``accept`` returns ``ISocket`` providers.

    Its port can be bound again as soon as it is closed, and a Unix server's socket file is
    removed when it closes. Iterating it yields accepted sockets and ends only when it is
    closed: running out of descriptors or memory backs off as ``accept`` does, without
    raising, is logged once per episode through the ``greensock`` logger, and accepting goes
    on once descriptors are free again.
    """

    port = Attribute(
        """The bound port number (useful after binding port 0); None for a Unix server."""
    )

    def __iter__() -> Iterator[ISocket]:
        """Yield accepted sockets, one ``accept()`` each, until the server is closed.

        The server being closed ends the iteration instead of raising.
        """


# ---------------------------------------------------------------------------------------------
# Datagrams (SPEC section 8)
# ---------------------------------------------------------------------------------------------


class IDatagramReceiveChannel(Interface):
    """The incoming side of a datagram socket (its ``incoming`` attribute)."""

    isClosedForReceive = Attribute("""True once the socket is closed: ``receive`` would raise.""")

    def receive(timeout: float | None = None) -> _Datagram:
        """Block for the next datagram and return it; its ``address`` is the sender's.

        When ``timeout`` seconds pass first, raises ``SocketTimeoutException`` and the socket
        stays usable. Raises ``ClosedReceiveChannelException`` after close, and in a greenlet
        blocked here when the socket is closed.
        """

    def __iter__() -> Iterator[_Datagram]:
        """Yield received datagrams until the socket is closed, which ends the iteration."""


class IDatagramSendChannel(Interface):
    """The outgoing side of a datagram socket (its ``outgoing`` attribute)."""

    isClosedForSend = Attribute("""True once the socket is closed: ``send`` would raise.""")

    def send(datagram: _Datagram) -> None:
        """Send ``datagram`` to its address; the same as the socket's ``send``."""

    def close(cause: BaseException | None = None) -> bool:
        """Close the whole socket; return True if this call closed it, False if already closed.

        The close handler (``invokeOnClose``) is called with ``cause``.
        """

    def invokeOnClose(handler: _CauseHandler) -> None:
        """Register the one ``handler(cause)`` to call when the socket closes.

        ``cause`` is None on a normal close. It is called once, synchronously when the socket
        closes, or at once if the socket is already closed. Registering a second handler
        raises ``RuntimeError``.
        """


class IDatagramReadChannel(Interface):
    """Something datagrams can be received from."""

    incoming = Attribute("""The ``IDatagramReceiveChannel`` of received datagrams.""")

    def receive(timeout: float | None = None) -> _Datagram:
        """Block for the next datagram and return it; its ``address`` is the sender's.

        When ``timeout`` seconds pass first, raises ``SocketTimeoutException`` and the socket
        stays usable. Raises ``ClosedReceiveChannelException`` after close, and in a greenlet
        blocked here when the socket is closed.
        """


class IDatagramWriteChannel(Interface):
    """Something datagrams can be sent through."""

    outgoing = Attribute("""The ``IDatagramSendChannel`` for datagrams to send.""")

    def send(datagram: _Datagram) -> None:
        """Send ``datagram`` to its address; block until the kernel takes it.

        Raises ``ClosedSendChannelException`` after close; ``OSError`` (``EMSGSIZE``) for a
        datagram too large for the address family (over 65507 bytes on IPv4), the socket
        staying usable; ``PermissionError`` for a broadcast address without the ``broadcast``
        option; ``ValueError``, on a connected socket, for an address other than the peer's.
        """


class IDatagramReadWriteChannel(IDatagramReadChannel, IDatagramWriteChannel):
    """Something datagrams can be both received from and sent through."""


class IBoundDatagramSocket(IASocket, IABoundSocket, IAReadable, IDatagramReadWriteChannel):
    """A UDP socket bound to a local address, exchanging datagrams with anyone.

    Its read channel (``openReadChannel``) yields the payloads of every received datagram,
    in order.
    """


# The seed lists ASocket first; it comes last here, after the interfaces that extend it, so
# that zope can compute a consistent C3 resolution order. The set of bases is the seed's.
class IConnectedDatagramSocket(
    IReadWriteSocket, IABoundSocket, IAConnectedSocket, IDatagramReadWriteChannel, IASocket
):
    """A UDP socket connected to one peer, and only exchanging datagrams with it.

    As a byte stream, received payloads are concatenated in order, and each flush of the
    write channel goes out as one datagram.
    """


# ---------------------------------------------------------------------------------------------
# Selector, configuration and builders (SPEC section 3)
# ---------------------------------------------------------------------------------------------


class ISelectorManager(Interface):
    """Owner of the sockets built through it, bound to the gevent hub of its OS thread.

    Using it from another OS thread raises ``RuntimeError`` saying so. Usable as a context
    manager: ``with`` closes it on exit.
    """

    isClosed = Attribute("""True once ``close()`` was called.""")

    def close() -> None:
        """Close every socket built through this selector and refuse new ones.

        A greenlet blocked on one of those sockets wakes with ``ClosedChannelException``;
        later ``connect``/``bind`` through this selector raise ``ClosedChannelException``.
        Closing twice is harmless.
        """

    def __enter__() -> ISelectorManager:
        """Return the selector itself."""

    def __exit__(
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the selector; never suppresses an escaping exception."""


class IConfigurable(Interface):
    """A builder holding socket options, configured in place."""

    options = Attribute(
        """The builder's options object (a ``SocketOptions`` kind), mutable. Option objects
        reject unknown attribute names with ``AttributeError``. It may be replaced by
        another options object of the builder's kind (``TypeError`` for anything else)."""
    )

    def configure(
        fn: Callable[[_SocketOptions], object] | None = None, **options: Any
    ) -> IConfigurable:
        """Apply ``fn(self.options)``, then the keyword ``options``; return this same builder.

        An unknown option name or a value of the wrong type raises ``TypeError`` naming the
        option; an out-of-range value raises ``ValueError``.
        """

    def tcpNoDelay() -> IConfigurable:
        """Make TCP sockets connected through this builder use TCP_NODELAY; return the builder.

        TCP_NODELAY is already the default; on a UDP builder this changes nothing.
        """


class ISocketBuilder(IConfigurable):
    """The entry builder returned by ``aSocket(selector=None)``; holds ``SocketOptions``."""

    def tcp() -> ITcpSocketBuilder:
        """Return a TCP builder with its own copy of these options (``PeerSocketOptions``)."""

    def udp() -> IUDPSocketBuilder:
        """Return a UDP builder with its own copy of these options (``UDPSocketOptions``)."""


class ITcpSocketBuilder(IConfigurable):
    """Builds TCP and Unix stream sockets: clients with ``connect``, servers with ``bind``.

    In both methods ``configure`` is a callable that receives an options object, or a dict of
    option values; it applies to a copy of this builder's options of the kind that call uses,
    and raises as ``IConfigurable.configure`` does. Both raise ``ClosedChannelException``
    when the selector is closed.
    """

    def connect(
        hostOrAddress: str | _SocketAddress,
        port: int | None = None,
        *,
        configure: _Configure = None,
        timeout: float | None = None,
    ) -> ISocket:
        """Connect to ``(hostOrAddress, port)`` or to a ``SocketAddress``; return the socket.

        ``connect("example.org", 80)``, ``connect(InetSocketAddress(...))``,
        ``connect(UnixSocketAddress(path))``; a host name without a port, or a port with an
        address object, raises ``TypeError``. ``configure`` applies to
        ``TCPClientSocketOptions``. A name with several addresses is tried happy-eyeballs
        style (RFC 8305: families interleaved, 250 ms apart); when every attempt fails, the
        first attempt's exception is raised, with an ``exceptions`` attribute listing every
        attempt's error. ``timeout`` bounds the whole
        connect, resolution included, and raises ``ConnectTimeoutException``. A closed port
        raises ``ConnectionRefusedError``, an unresolvable or malformed host name (a label
        over 63 characters, an empty label) ``socket.gaierror``, never ``UnicodeError``;
        their messages name the host and port tried, their ``errno`` is the kernel's or the
        resolver's.
        """

    def bind(
        hostOrAddress: str | _SocketAddress | None = "0.0.0.0",
        port: int = 0,
        *,
        configure: _Configure = None,
    ) -> IServerSocket:
        """Listen on ``(hostOrAddress, port)`` or on a ``SocketAddress``; return the server.

        ``bind()`` and ``bind(None)`` listen on the wildcard address and an ephemeral port.
        ``configure`` applies to ``AcceptorOptions``. A port in use raises ``OSError`` with
        ``errno.EADDRINUSE``, a host name that does not resolve (or is malformed)
        ``socket.gaierror``; their messages name the address.
        """


class IUDPSocketBuilder(IConfigurable):
    """Builds UDP sockets: bound ones with ``bind``, connected ones with ``connect``.

    In both methods ``configure`` works as for ``ITcpSocketBuilder``, on a copy of this
    builder's ``UDPSocketOptions``. Both raise ``ClosedChannelException`` when the selector
    is closed.
    """

    def bind(
        hostOrAddress: str | _SocketAddress | None = "0.0.0.0",
        port: int = 0,
        *,
        configure: _Configure = None,
    ) -> IBoundDatagramSocket:
        """Bind a datagram socket to ``(hostOrAddress, port)`` or a ``SocketAddress``.

        ``bind()`` and ``bind(None)`` use the wildcard address and an ephemeral port. A port
        in use raises ``OSError`` with ``errno.EADDRINUSE``, a host name that does not
        resolve (or is malformed) ``socket.gaierror``; their messages name the address.
        """

    def connect(
        remoteAddress: _SocketAddress,
        localAddress: _SocketAddress | None = None,
        *,
        configure: _Configure = None,
    ) -> IConnectedDatagramSocket:
        """Make a datagram socket connected to ``remoteAddress``.

        It is bound to ``localAddress``, or to an ephemeral local address when None. Errors
        as ``bind``'s, their messages naming the address that failed.
        """


# ---------------------------------------------------------------------------------------------
# Serving (SPEC section 10)
# ---------------------------------------------------------------------------------------------


class IServing(Interface):
    """A server socket being served: ``greensock.serve(server, handler)`` returns one.

    A greenlet of its own accepts connections (backing off, without raising, when
    descriptors or memory run out) and runs ``handler(socket)`` for each in a greenlet of
    its own; the socket is closed when the handler returns or raises, and an exception
    escaping a handler is logged at ERROR level, with its traceback, through the
    ``greensock`` logger, and never stops serving. Usable as a context manager: ``with``
    gives the serving itself and calls ``stop()`` on exit.
    """

    server = Attribute("""The ``IServerSocket`` being served; ``stop()`` closes it.""")

    activeConnections = Attribute(
        """How many accepted connections are being served now: in their TLS handshake or
        their handler, and not closed yet."""
    )

    isActive = Attribute(
        """True while connections are being accepted: False once ``stop()`` was called, the
        server socket was closed, or accepting failed for good (that error is logged)."""
    )

    def stop(timeout: float | None = None) -> bool:
        """Stop accepting, let running handlers finish, then close the sockets of the rest.

        Closes the server socket at once (connections still in its backlog are refused),
        then blocks the calling greenlet until every handler has returned, for at most
        ``timeout`` seconds (None: the implementation's documented default bound, an
        infinite number: no bound). The sockets of handlers still running then are closed:
        their blocked calls raise the closed-channel exceptions
        (``ClosedReadChannelException``, ``ClosedWriteChannelException``). Returns True when
        every handler had finished by itself, False when some sockets had to be closed;
        ``join()`` waits for those handlers to return. A handler calling ``stop()`` is not
        waited for by its own call. Calling it again is harmless. ``ValueError`` for a NaN
        ``timeout``, ``TypeError`` for a non-number.
        """

    def join(timeout: float | None = None) -> bool:
        """Block until serving has stopped and every handler has returned.

        Returns True then, False when ``timeout`` seconds (None: no bound) passed first.
        Serving stops through ``stop()``, or when the server socket is closed. A handler
        joining is not waited for by its own call.
        """

    def __enter__() -> IServing:
        """Return the serving itself."""

    def __exit__(
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Call ``stop()``; never suppresses an escaping exception."""
