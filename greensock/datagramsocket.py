"""What bound and connected UDP sockets share (SPEC section 8): lifecycle, ``send`` and
``receive``, ``incoming``/``outgoing``, and the byte-stream view of received payloads.

Receiving asks the kernel for up to :data:`~greensock.datagram.MAX_DATAGRAM_SIZE` bytes,
so no datagram is ever cut short (``recvfrom`` hands the memory it did not fill back at
once). The I/O runs on the caller's greenlet against the raw socket, waiting on gevent's own
events only when the kernel says "would block": that is gevent's ``recvfrom``/``sendto``
minus one Python frame and minus ``sendto``'s habit of returning 0 (a silently dropped
datagram) when the kernel is still full after one wait.

Every exception of a transfer goes through :meth:`DatagramSocket._transferFailed`.
"""

from __future__ import annotations

import errno
import logging
from abc import abstractmethod
from typing import Any

import gevent
from gevent.lock import Semaphore

from ._gevent import NoProgress
from .addresses import SocketAddress, from_sockaddr
from .datagram import MAX_DATAGRAM_SIZE, Datagram, DatagramReceiveChannel, DatagramSendChannel
from .errors import (
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedSendChannelException,
    ClosedWriteChannelException,
    ConcurrentIOException,
    Outcome,
    SocketTimeoutException,
    transfer_outcome,
)
from .jobs import CompletionHandler, Job, WriterJob
from .lifecycle import SocketLifecycle
from .socketchannels import DatagramReadChannel, DatagramWriteChannel
from .timeouts import checked_timeout
from .waitfirst import WaitForAnswers

__all__ = ["ADDRESS_CACHE_SIZE", "MAX_IPV4_PAYLOAD", "MAX_IPV6_PAYLOAD", "DatagramSocket"]

log = logging.getLogger(__name__)

_newObject = object.__new__

#: The largest UDP payload over IPv4: 65535 minus the IP (20) and UDP (8) headers.
MAX_IPV4_PAYLOAD = 65507
#: The largest UDP payload over IPv6, whose length field leaves out its own 40-byte header.
MAX_IPV6_PAYLOAD = 65527

#: Addresses a socket remembers, in each direction, so that talking to the same peers again
#: costs a dict lookup instead of parsing and validating an address per datagram. Cleared
#: when full: a server talking to many peers pays the parsing, and its memory stays bounded.
ADDRESS_CACHE_SIZE = 256


class DatagramSocket(WaitForAnswers, SocketLifecycle):
    """What bound and connected datagram sockets share.

    ``receive``/``send`` block only the calling greenlet. One greenlet at a time may block
    receiving (the datagram API and the read channel together): a second raises
    ConcurrentIOException. Senders that find the kernel's buffer full wait their turn
    instead, since many greenlets answering through one socket is the normal shape of a UDP
    server.
    """

    # Fields inline in the object and no per-instance dict, as on stream sockets.
    __slots__ = (
        "_closeHandlerSet",
        "_closed",
        "_family",
        "_lastAddress",
        "_lastSender",
        "_lastSenderAddress",
        "_lastSockaddr",
        "_reader",
        "_receiver",
        "_selector",
        "_sendTurn",
        "_sender",
        "_senders",
        "_sock",
        "_writer",
        "localAddress",
        "socketContext",
    )

    #: The largest payload the write channel sends as one datagram (set by the family).
    _maxPayload: int = MAX_IPV4_PAYLOAD

    def __init__(self, selector: Any, sock: Any) -> None:
        self._selector = selector
        self._sock = sock
        self._family: int = sock.family
        self.localAddress: SocketAddress = from_sockaddr(sock.family, sock.getsockname())
        self._closed = False
        #: Who is receiving now (the socket itself or its read channel); None when nobody.
        self._receiver: Any = None
        #: Who is waiting for the kernel to take a datagram; None when nobody.
        self._sender: Any = None
        # The wait-first policy covers every receive, once one found nothing queued.
        self._lateAnswers = 0
        # The last destination and its sockaddr, by identity: answering the address object
        # a receive returned (the sender cache hands out the same one each time), or a client
        # sending to the same address again and again, costs neither hashing nor parsing.
        self._lastAddress: Any = None
        self._lastSockaddr: Any = None
        self._sendTurn = Semaphore()
        self._reader: DatagramReadChannel | None = None
        self._writer: DatagramWriteChannel | None = None
        self._closeHandlerSet = False
        self._senders: dict[Any, SocketAddress] = {}
        # The last sender's sockaddr and address: a client hearing from its one server, or a
        # server from the same peer again, compares two tuples instead of hashing one.
        self._lastSender: Any = None
        self._lastSenderAddress: Any = None
        self.socketContext = Job(onCancel=self._close)
        selector._register(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.localAddress} {'closed' if self._closed else 'open'}>"

    # The two views are made on each use rather than kept: kept, each would hold the socket
    # that holds it, a cycle that only the cyclic collector frees once the socket is dropped.

    @property
    def incoming(self) -> DatagramReceiveChannel:
        """The received datagrams as a channel: ``receive``, iteration until closed."""
        return DatagramReceiveChannel(self)

    @property
    def outgoing(self) -> DatagramSendChannel:
        """The channel of datagrams to send: ``send``, ``close(cause)``, ``invokeOnClose``."""
        return DatagramSendChannel(self)

    # -- datagrams -------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> Datagram:
        """Block for the next datagram; its ``address`` is the sender's.

        Raises SocketTimeoutException after *timeout* seconds (nothing is consumed, the
        socket stays usable), ClosedReceiveChannelException on a closed socket and in a
        greenlet blocked here when the socket is closed, ConcurrentIOException when another
        greenlet is already blocked receiving. Kernel errors stay Python's own (a connected
        socket whose peer is not listening raises ConnectionRefusedError). ValueError for a
        NaN *timeout*, TypeError for one that is not a number; a negative one expires at once.
        """
        if timeout is not None:
            timeout = checked_timeout(timeout)
        if self._closed:
            raise ClosedReceiveChannelException("the socket is closed")
        if timeout is None:
            return self._receiveDatagram(self)
        with gevent.Timeout(timeout, SocketTimeoutException(f"no datagram within {timeout} s")):
            return self._receiveDatagram(self)

    def send(self, datagram: Datagram) -> None:
        """Send *datagram* to its address; block until the kernel takes it.

        Raises ClosedSendChannelException on a closed socket; OSError (EMSGSIZE) for a
        packet too large for the family (over 65507 bytes on IPv4), the socket staying
        usable; PermissionError for a broadcast address without ``broadcast=True``;
        ``socket.gaierror`` for an unresolvable or malformed host name; ValueError, on a
        connected socket, for an address other than the peer's.
        """
        if not isinstance(datagram, Datagram):
            raise TypeError(f"expected a Datagram, got {type(datagram).__name__}")
        if self._closed:
            raise ClosedSendChannelException("the socket is closed")
        address = datagram._address
        if address is self._lastAddress:
            sockaddr = self._lastSockaddr
        else:
            sockaddr = self._destination(address)
        self._transmit(datagram._packet, sockaddr, self)

    @abstractmethod
    def _destination(self, address: SocketAddress) -> Any:
        """What ``sendto`` takes for *address*, None to ``send`` to the connected peer; may
        remember it in ``_lastAddress``/``_lastSockaddr``."""

    def _senderAddress(self, sockaddr: Any) -> SocketAddress:
        """The address of the sender *sockaddr*: parsed once, then remembered."""
        senders = self._senders
        address = senders.get(sockaddr)
        if address is None:
            if len(senders) >= ADDRESS_CACHE_SIZE:
                senders.clear()
            address = senders[sockaddr] = from_sockaddr(self._family, sockaddr)
        self._lastSender, self._lastSenderAddress = sockaddr, address
        return address

    # -- transfers: the one place OS errors are translated ---------------------------------

    def _receiveDatagram(self, who: Any) -> Datagram:
        """The next datagram, for *who*: the socket (datagram API) or its read channel."""
        if self._receiver is not None:
            raise ConcurrentIOException(
                "another greenlet is already blocked receiving on this socket"
            )
        self._receiver = who
        sock = self._sock
        try:
            if self._lateAnswers:  # the wait-first policy (WaitForAnswers)
                self._lateAnswers -= 1
                self._wait(sock.readWatcher, who, False)
            while True:
                try:
                    # Once closed, gevent's stand-in for the socket raises EBADF here.
                    packet, sockaddr = sock.raw.recvfrom(MAX_DATAGRAM_SIZE)
                    break
                except BlockingIOError:
                    self._foundNothing()
                except OSError as exc:
                    raise self._transferFailed(exc, who, False, fromWait=False) from None
                self._wait(sock.readWatcher, who, False)
        finally:
            self._receiver = None
        # A client hearing from its one server, or a server from the same peer again,
        # compares two tuples instead of hashing one.
        if sockaddr == self._lastSender:
            address = self._lastSenderAddress
        else:
            address = self._senderAddress(sockaddr)
        # Made without Datagram's checks, which the kernel's bytes and a parsed address
        # pass: this is the receive path of every datagram socket.
        datagram = _newObject(Datagram)
        datagram._packet = packet
        datagram._address = address
        return datagram

    def _transmit(self, data: Any, sockaddr: Any, who: Any) -> None:
        """Hand one datagram to the kernel (``send`` when *sockaddr* is None), waiting while
        its buffer is full; *who* is the socket (datagram API) or its write channel."""
        while True:
            raw = self._sock.raw
            try:
                if sockaddr is None:
                    raw.send(data)
                else:
                    raw.sendto(data, sockaddr)
                return
            except BlockingIOError:
                pass
            except OSError as exc:
                raise self._transferFailed(exc, who, True, fromWait=False) from None
            with self._sendTurn:
                self._sender = who
                try:
                    self._wait(self._sock.writeWatcher, who, True)
                finally:
                    self._sender = None

    def _wait(self, watcher: Any, who: Any, sending: bool) -> None:
        """Wait for *watcher* on behalf of *who* (see :meth:`_transferFailed`)."""
        try:
            self._sock.wait(watcher, NoProgress)
        except BaseException as exc:
            error = self._transferFailed(exc, who, sending, fromWait=True)
            if error is exc:
                raise
            raise error from None
        closed = self._closedFor(who, sending)
        if closed is not None:
            raise closed

    def _closedFor(self, who: Any, sending: bool) -> BaseException | None:
        """What *who* raises once the socket was closed or its channel cancelled; None while
        it is open."""
        cause: BaseException | None = None if who is self else who._cause
        if cause is not None:
            return cause.with_traceback(None)
        return self._closedError(who, sending) if self._closed else None

    def _closedError(self, who: Any, sending: bool) -> BaseException:
        """The closed-channel exception of the API *who* uses: the datagram API's, or a byte
        channel's."""
        if who is self:
            if sending:
                return ClosedSendChannelException("the socket is closed")
            return ClosedReceiveChannelException("the socket is closed")
        if sending:
            return ClosedWriteChannelException("the socket is closed")
        return ClosedReadChannelException("the socket is closed")

    def _transferFailed(
        self, exc: BaseException, who: Any, sending: bool, fromWait: bool
    ) -> BaseException:
        """What a receive or send that raised *exc* raises, as
        :func:`~greensock.errors.transfer_outcome` decides; the socket stays usable unless
        closed.

        Closed locally (before, or under the caller): see :meth:`_closedFor`. Thrown in:
        *exc* itself. gevent's default socket timeout: SocketTimeoutException. A kernel
        error is raised as it is (ConnectionRefusedError...), EMSGSIZE and EACCES with a
        message that says what to do.
        """
        closed = self._closedFor(who, sending)
        outcome = transfer_outcome(exc, closed is not None, fromWait)
        if outcome is Outcome.THROWN_IN:
            return exc
        if outcome is Outcome.CLOSED_LOCALLY:
            return closed or self._closedError(who, sending)
        if outcome is Outcome.NO_PROGRESS:
            # socket.setdefaulttimeout: the socket stays usable, as after receive(timeout=).
            return SocketTimeoutException(f"no progress for {self._sock.timeout} s")
        assert isinstance(exc, OSError)
        if exc.errno == errno.EMSGSIZE:
            return OSError(
                errno.EMSGSIZE,
                f"{exc.strerror}: the datagram is larger than its address family allows "
                f"({MAX_IPV4_PAYLOAD} bytes over IPv4, {MAX_IPV6_PAYLOAD} over IPv6)",
            )
        if exc.errno == errno.EACCES and sending:
            return PermissionError(
                errno.EACCES,
                f"{exc.strerror}: sending to a broadcast address needs the broadcast=True option",
            )
        return exc

    # -- the owner contract of the byte channels ------------------------------------------

    def _wakeBlocked(self, reading: bool = False, writing: bool = False) -> None:
        """A channel was cancelled: wake it if it is the one blocked on this socket."""
        if self._closed:
            return
        self._sock.cancelWaits(
            reading and self._reader is not None and self._receiver is self._reader,
            writing and self._writer is not None and self._sender is self._writer,
        )

    def _finishOutput(self, data: bytes) -> None:
        """The write channel ended: send its last bytes as one datagram, without blocking.

        A datagram the kernel cannot take at once is dropped (and logged), as the network
        may drop any datagram: closing never waits.
        """
        if data and not self._sock.closed:
            try:
                self._sock.raw.send(data)
            except OSError as exc:
                log.debug("%r: dropped the last %d bytes written: %s", self, len(data), exc)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def isClosed(self) -> bool:
        """True once closed; closing a datagram socket is immediate."""
        return self._closed

    def close(self) -> None:
        """Close at once; closing twice is harmless.

        Wakes a greenlet blocked in ``receive`` (ClosedReceiveChannelException) or on a byte
        channel (ClosedReadChannelException/ClosedWriteChannelException), sends what the
        write channel holds unflushed as a last datagram, releases the file descriptor,
        calls the close handler and completes ``socketContext``.
        """
        self._close(None)

    def _close(self, cause: BaseException | None) -> bool:
        if self._closed:
            return False
        self._closed = True
        reader, writer = self._reader, self._writer
        if reader is not None:
            reader._failedBy(ClosedReadChannelException("the socket was closed"))
        if writer is not None and not writer.isClosedForWrite:
            self._finishOutput(writer._end())
        # gevent throws cancel_wait_ex into greenlets blocked on it; _transferFailed says
        # "closed".
        self._sock.close()
        # The channels point back at this socket: without them it is freed by reference
        # counting alone once dropped (openReadChannel/openWriteChannel now raise anyway).
        self._reader = self._writer = None
        self._selector._unregister(self)
        self.socketContext._complete(cause)
        return True

    def _invokeOnClose(self, handler: CompletionHandler) -> None:
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {type(handler).__name__}")
        if self._closeHandlerSet:
            raise RuntimeError("a close handler is already registered (one per socket)")
        self._closeHandlerSet = True
        # socketContext completes exactly once, with the close's cause, and runs a handler
        # registered after completion at once: the contract of invokeOnClose.
        self.socketContext.invokeOnCompletion(handler)

    def _checkOpen(self) -> None:
        if self._closed:
            raise ClosedChannelException("the socket is closed")

    def openReadChannel(self) -> DatagramReadChannel:
        """The payloads of received datagrams as one byte stream, in order.

        Once per socket (RuntimeError the second time, or after :meth:`attachForReading`);
        ClosedChannelException on a closed socket.
        """
        self._checkOpen()
        if self._reader is not None:
            raise RuntimeError("the read side of this socket is already open (once per socket)")
        reader = self._reader = DatagramReadChannel()
        reader._owner = self
        return self._reader

    def attachForReading(self, channel: Any) -> WriterJob:
        """Pump received payloads into *channel* from a greenlet; it fails when the socket does."""
        source = self.openReadChannel()
        return WriterJob(lambda: source.copyAndClose(channel), channel)
