"""The contract between a socket's byte channels and the transport under them.

It runs one way each, and is declared here so that both sides can be read apart:

- a channel calls its transport (:class:`StreamTransport` or :class:`DatagramTransport`)
  to move bytes, to wake the greenlet blocked on it when it is cancelled, and to end its
  output;
- a transport tells a channel what happened to the connection only through the channel's
  declared methods (:class:`ReadEnd`, :class:`WriteEnd`), as asyncio's transports call a
  protocol's ``feed_data``/``feed_eof``; it never writes a channel's fields.

Implementations: :class:`~greensock.stream.StreamSocket` (TCP and Unix streams, and the
in-memory pipe of :class:`~greensock.memorysocket.MemorySocket`),
:class:`~greensock.tls.TlsSocket` (TLS over a stream), and
:class:`~greensock.datagramsocket.DatagramSocket` (UDP seen as a byte stream). The in-memory
:class:`~greensock.memory.ByteChannel` is both ends at once and needs no transport.

Under a stream socket is a :class:`StreamEndpoint`: a kernel socket
(:class:`~greensock._gevent.KernelSocket`) or one end of the in-memory pipe
(:class:`~greensock.memorypipe.PipeEndpoint`). The stream socket's transfers, lifecycle and
error translation are the same over both.

Every transfer raises what the transport's one error path decides (SPEC principle 3): an
error the kernel reports on an open socket fails the connection; a close or cancel on this
side is "closed locally"; anything thrown into a blocked transfer (``gevent.Timeout``,
``Greenlet.kill``) passes through unchanged and leaves the channel as it was.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = [
    "DatagramTransport",
    "NonBlockingStream",
    "ReadEnd",
    "StreamEndpoint",
    "StreamTransport",
    "Transport",
    "WriteEnd",
]


class ReadEnd(Protocol):
    """What a transport may ask of, and tell, a read channel."""

    # Read-only for the transport: plain fields rather than properties, as close() and the
    # transfers read them on every connection and every wait.

    #: The failure the channel was closed with (None while open): its ``closedCause``.
    _cause: BaseException | None
    #: True while a greenlet is blocked reading the channel.
    _readBusy: bool
    #: True once the peer's end of stream was read.
    _eof: bool

    def _failedBy(self, cause: BaseException) -> None:
        """The connection failed or closed under the channel: unread bytes are dropped and
        every later read raises *cause*. Does not wake a blocked reader (the transport does);
        a channel that failed already keeps its first cause."""


class WriteEnd(Protocol):
    """What a transport may ask of, and tell, a write channel."""

    #: The failure the channel was closed with (None while open), read-only for the
    #: transport, as the next two.
    _cause: BaseException | None
    #: True while a greenlet is blocked writing or flushing the channel.
    _writeBusy: bool
    #: True once the channel was closed normally.
    _writeClosed: bool

    def _failedBy(self, cause: BaseException) -> None:
        """As :meth:`ReadEnd._failedBy`: unsent bytes are dropped, writes raise *cause*."""

    def _end(self) -> bytes:
        """No more writes (they raise ClosedWriteChannelException): return the bytes written
        and not yet handed on, for the transport to send last."""


class Transport(Protocol):
    """What every socket under byte channels provides."""

    def _wakeBlocked(self, reading: bool = False, writing: bool = False) -> None:
        """Wake the greenlet blocked reading (*reading*) or writing (*writing*) this
        transport's channel, if any: a channel calls it when it is cancelled."""

    def _finishOutput(self, data: bytes) -> None:
        """The write channel ended normally: send *data*, its last bytes, then end the
        output (half-close; or close the socket, when it is closing); never blocks."""


class StreamTransport(Transport, Protocol):
    """A byte-stream transport: what :class:`~greensock.socketchannels.SocketReadChannel`
    and :class:`~greensock.socketchannels.SocketWriteChannel` use."""

    #: A receive buffer shared by every socket of the thread: filled and copied out with
    #: no greenlet switch in between, so an idle connection holds none of its own.
    _scratch: memoryview
    #: Whether the transport holds bytes a send reported taken (TLS ciphertext), to be put
    #: on the wire by :meth:`_sendHeld` before a flush returns.
    _holdsOutput: bool

    def _receive(self, view: Any, channel: ReadEnd) -> int:
        """Receive at least one byte into *view* for *channel*, blocking only the calling
        greenlet; 0 at end of stream."""

    def _send(self, view: Any, channel: WriteEnd) -> int:
        """Send some of *view* for *channel*, blocking only the calling greenlet; how many
        bytes the transport took."""

    def _sendHeld(self, channel: WriteEnd) -> None:
        """Put on the wire what the transport holds (see :attr:`_holdsOutput`)."""


class DatagramTransport(Transport, Protocol):
    """A datagram transport: what the datagram socket's byte channels use."""

    #: The largest payload one datagram may carry to the peer.
    _maxPayload: int

    def _receiveDatagram(self, channel: ReadEnd) -> Any:
        """Block for the next datagram (a :class:`~greensock.datagram.Datagram`)."""

    def _transmit(self, data: Any, sockaddr: Any, channel: WriteEnd) -> None:
        """Send *data* as one datagram to the connected peer (*sockaddr* None), blocking
        until the kernel takes it."""


class NonBlockingStream(Protocol):
    """The calls a stream transfer makes: a connected non-blocking stream socket's own."""

    def recv_into(self, buffer: Any) -> int:
        """Receive into *buffer*: how many bytes, 0 at the peer's end of stream;
        BlockingIOError when nothing waits, OSError (EBADF once closed, the connection's
        error otherwise) when it fails."""

    def send(self, data: Any) -> int:
        """Send some of *data*: how many bytes were taken; BlockingIOError when no room is
        left, OSError when it fails (``BrokenPipeError`` once the peer is gone)."""


class StreamEndpoint(Protocol):
    """What a stream socket (:class:`~greensock.stream.StreamSocket`) runs over: the
    connected end of a byte stream and the readiness to wait for on it.

    Implementations: :class:`~greensock._gevent.KernelSocket` (the kernel's TCP and Unix
    sockets) and :class:`~greensock.memorypipe.PipeEndpoint` (one end of the in-memory pipe).
    """

    @property
    def raw(self) -> NonBlockingStream:
        """What the transfers call; after :meth:`close`, its calls raise OSError(EBADF)."""

    #: Seconds a :meth:`wait` may last (None: no bound): the socket's ``socketTimeout``.
    timeout: float | None

    @property
    def readWatcher(self) -> Any:
        """What :meth:`wait` parks on until ``raw.recv_into`` would not block."""

    @property
    def writeWatcher(self) -> Any:
        """What :meth:`wait` parks on until ``raw.send`` would not block."""

    @property
    def family(self) -> int:
        """The address family, for :func:`~greensock.addresses.from_sockaddr`."""

    def wait(self, watcher: Any, timeoutError: Any = None) -> None:
        """Park the calling greenlet (only) until *watcher* is ready, at most :attr:`timeout`
        seconds: then raise *timeoutError* (a class). Woken by :meth:`cancelWaits` or
        :meth:`close`, it raises gevent's ``cancel_wait_ex``; anything thrown into the
        greenlet comes out as it is."""

    def cancelWaits(self, reading: bool, writing: bool) -> None:
        """Raise ``cancel_wait_ex`` in the greenlet parked on the read (*reading*) or write
        (*writing*) watcher, if any, at the hub's next turn."""

    def send(self, data: Any) -> int:
        """Send some of *data*, waiting (as :meth:`wait` does) while no room is left; the
        close-time drain's call."""

    def unreadBytes(self) -> int:
        """How many received bytes wait unread (0 once closed; 1 for "perhaps", where the
        system cannot say)."""

    def getpeername(self) -> Any:
        """The peer's address, as the kernel reports it (a sockaddr)."""

    def getsockname(self) -> Any:
        """This end's address, as the kernel reports it (a sockaddr)."""

    def shutdown(self, how: int) -> None:
        """End the output (``SHUT_WR``): the peer reads end of stream after the bytes sent."""

    def close(self) -> None:
        """Release the endpoint; greenlets parked on it wake with ``cancel_wait_ex``.
        Idempotent."""
