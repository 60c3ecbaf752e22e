"""Byte channels over a connected stream endpoint, and the lifecycle they share with it.

The endpoint (:class:`~greensock.transport.StreamEndpoint`) is a kernel socket, or one end
of the in-memory pipe: the transfers, the lifecycle and the error translation here are the
same over both.

The read channel calls ``recv_into`` on the caller's own greenlet (no pump, no extra
switch) into one shared scratch buffer, then appends to its own buffer; a read into the
caller's memory with nothing buffered receives straight into it. The write channel sends
with ``send`` (``sendall`` spends a ``getsockopt`` per call) from its pending buffer.

Every transfer goes through :meth:`StreamSocket._transfer`, and every exception of one
through :meth:`StreamSocket._transferFailed`, which asks
:func:`greensock.errors.transfer_outcome` what it means: only an error the kernel reports on
an open socket (or ``socketTimeout``) fails the connection.
"""

from __future__ import annotations

import enum
import logging
import socket as stdsocket
from typing import Any

import gevent

from ._gevent import NoProgress
from .addresses import SocketAddress, from_sockaddr
from .connection import Connection
from .errors import (
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedWriteChannelException,
    Outcome,
    SocketTimeoutException,
    transfer_outcome,
)
from .jobs import Job, ReaderJob, WriterJob
from .lifecycle import SocketLifecycle
from .socketchannels import SocketReadChannel, SocketWriteChannel
from .transport import StreamEndpoint, WriteEnd
from .waitfirst import WaitForAnswers

__all__ = [
    "LINGER_TIMEOUT",
    "SocketState",
    "StreamSocket",
]

log = logging.getLogger(__name__)

#: Receives close() makes, at most, to drop unread bytes before closing the descriptor
#: (see StreamSocket._discardUnread): up to this many scratch buffers' worth.
DISCARD_RECEIVES = 16

class SocketState(enum.Enum):
    """Where a stream socket is in its life; see :meth:`StreamSocket._beginClosing`."""

    OPEN = "open"
    #: close() began, or the connection failed: the channels are closed; the last bytes may
    #: still be on their way out.
    CLOSING = "closing"
    #: The descriptor is released (or handed over to TLS); ``socketContext`` is complete.
    CLOSED = "closed"


OPEN, CLOSING, CLOSED = SocketState.OPEN, SocketState.CLOSING, SocketState.CLOSED

#: Seconds close() keeps sending already-written bytes to a peer that does not read, unless
#: the socket's own ``lingerTimeout`` says otherwise.
LINGER_TIMEOUT = 60.0


class StreamSocket(WaitForAnswers, SocketLifecycle):
    """A connected stream socket (TCP over IPv4/IPv6, Unix, or the in-memory pipe): channels,
    attachments, close.

    :attr:`lingerTimeout` (seconds, :data:`LINGER_TIMEOUT` unless set on the socket) bounds
    how long :meth:`close` keeps sending bytes already written in the background before it
    gives up and closes anyway.
    """

    # Fields inline in the object, no per-instance dict: 10,000 connections touch fewer
    # cache lines and hold less memory.
    __slots__ = (
        "_closeCause",
        "_context",
        "_drainer",
        "_hostname",
        "_localAddress",
        "_readOpened",
        "_reader",
        "_resetOnClose",
        "_scratch",
        "_selector",
        "_sock",
        "_state",
        "_writeOpened",
        "_writePump",
        "_writer",
        "lingerTimeout",
        "remoteAddress",
    )

    def __init__(
        self, selector: Any, sock: StreamEndpoint, remote: SocketAddress | None = None
    ) -> None:
        self.lingerTimeout: float = LINGER_TIMEOUT
        #: The host name given to connect: the default ``serverName`` of ``tls()``.
        self._hostname: str | None = None
        #: ``lingerSeconds=0`` was asked (SO_LINGER on, 0 s): close() resets the connection.
        #: Shutting down first would send FIN, and the peer would read a clean end of stream.
        self._resetOnClose = False
        #: Why the socket closed (None for a normal close); what a late socketContext reports.
        self._closeCause: BaseException | None = None
        self._selector = selector
        self._sock: StreamEndpoint = sock
        # The wait-first policy: a new connection's answers come from a peer that has yet
        # to read the question, as a client's first answer and a server's next request do.
        self._answerDue = False
        self._lateAnswers = WaitForAnswers.run
        self._scratch: memoryview = selector._scratch
        # The local address is asked for rarely: read from the kernel on first use only.
        self._localAddress: SocketAddress | None = None
        self.remoteAddress: SocketAddress = (
            remote if remote is not None else from_sockaddr(sock.family, sock.getpeername())
        )
        self._reader: SocketReadChannel | None = None
        self._writer: SocketWriteChannel | None = None
        self._readOpened = False
        self._writeOpened = False
        self._state = OPEN
        self._drainer: gevent.Greenlet | None = None
        #: The attachForWriting pump: closing the socket stops it (its channel's writer must
        #: not be left blocked on a channel nobody reads any more).
        self._writePump: ReaderJob | None = None
        # Made on first use: most sockets never have their context looked at.
        self._context: Job | None = None
        selector._register(self)

    @property
    def localAddress(self) -> SocketAddress:
        """The address this socket is bound to (numeric host for IP).

        Read from the kernel on first use and kept: asked for the first time after the
        socket closed, it raises ClosedChannelException.
        """
        if self._localAddress is None:
            if self._state is CLOSED:
                raise ClosedChannelException("the socket is closed; its local address is gone")
            self._localAddress = from_sockaddr(self._sock.family, self._sock.getsockname())
        return self._localAddress

    @property
    def socketContext(self) -> Job:
        """The job that completes when this socket is closed (cancelling it closes the socket)."""
        if self._context is None:
            self._context = Job(onCancel=lambda cause: self.close())
            if self._state is CLOSED:
                self._context._complete(self._closeCause)
        return self._context

    def __repr__(self) -> str:
        local = (
            self._localAddress
            if self._localAddress is not None or self._state is CLOSED
            else (self.localAddress)
        )
        return f"<{type(self).__name__} {local} -> {self.remoteAddress} {self._state.value}>"

    # -- transfers: the one place OS errors are translated ---------------------------------

    # Both transfers call the endpoint's non-blocking ``raw`` (a kernel socket, see
    # greensock._gevent; or an end of the in-memory pipe) and park on its watcher only when
    # it would block: the same loop as gevent's recv_into/send, one Python frame thinner on
    # the hot path. The timeout (socketTimeout), close and cancel_wait work as on a gevent
    # socket, as they act on the watcher.

    def _receive(self, view: Any, channel: Any) -> int:
        # The first receive after a send awaits the peer's answer: it waits first while the
        # wait-first policy (WaitForAnswers) says answers come late.
        waitFirst = False
        if self._answerDue:
            self._answerDue = False
            if self._lateAnswers:
                self._lateAnswers -= 1
                waitFirst = True
        return self._transfer(self._sock.raw.recv_into, view, True, channel, waitFirst)

    def _send(self, view: Any, channel: Any) -> int:
        count = self._transfer(self._sock.raw.send, view, False, channel)
        self._answerDue = True
        return count

    def _transfer(
        self, call: Any, view: Any, reading: bool, channel: Any, waitFirst: bool = False
    ) -> int:
        """``call(view)`` on the kernel socket, parking on its read (*reading*) or write
        watcher while it would block, and on the read watcher once before the call when
        *waitFirst*. What an exception means is :meth:`_transferFailed`'s to say.
        """
        sock = self._sock
        wait = waitFirst
        while True:
            if wait:
                try:
                    sock.wait(sock.readWatcher if reading else sock.writeWatcher, NoProgress)
                except BaseException as exc:
                    error = self._transferFailed(exc, reading, channel, fromWait=True)
                    if error is exc:
                        raise
                    raise error from None
                # Woken as usual, but perhaps closed meanwhile: a close then owns the bytes.
                closed = self._closedLocally(reading, channel)
                if closed is not None:
                    raise closed
            try:
                count: int = call(view)
                return count
            except BlockingIOError:
                wait = True
                if reading:
                    self._foundNothing()
            except OSError as exc:
                raise self._transferFailed(exc, reading, channel, fromWait=False) from None

    def _transferFailed(
        self, exc: BaseException, reading: bool, channel: Any, fromWait: bool
    ) -> BaseException:
        """What a transfer that raised *exc* raises (SPEC principle 3, section 5), as
        :func:`~greensock.errors.transfer_outcome` decides: the closed-channel exception
        once closed locally; *exc* itself when thrown in; a failed connection (both channels
        fail with the error, the socket is released) for a kernel error or ``socketTimeout``.
        """
        closed = self._closedLocally(reading, channel)
        outcome = transfer_outcome(exc, closed is not None, fromWait)
        if outcome is Outcome.THROWN_IN:
            return exc
        if outcome is Outcome.CLOSED_LOCALLY:
            if closed is None:  # EBADF: the descriptor was closed under the call
                kind = ClosedReadChannelException if reading else ClosedWriteChannelException
                closed = kind("the socket was closed")
            return closed
        failure = exc
        if outcome is Outcome.NO_PROGRESS:
            failure = SocketTimeoutException(
                f"no progress for {self._sock.timeout} s (socketTimeout)"
            )
        self._fail(failure)
        return failure

    def _closedLocally(self, reading: bool, channel: Any) -> BaseException | None:
        """What a transfer on *channel* raises once this side closed or cancelled it; None
        while it is open.

        A channel that failed (cancelled, or the connection died) raises its cause: one
        error for everyone, shared, so its traceback is not extended. After a local close
        began, every transfer is "closed locally", whatever the kernel said: a reset the
        close itself provoked is no failure to report (SPEC section 5).
        """
        cause: BaseException | None = channel._cause
        if cause is not None:
            return cause.with_traceback(None)
        if self._state is not OPEN or (not reading and channel._writeClosed):
            if reading:
                return ClosedReadChannelException("the socket was closed")
            return ClosedWriteChannelException("the write channel was closed")
        return None

    #: Whether a transport layer holds bytes a send reported taken (TLS ciphertext), which
    #: :meth:`_sendHeld` puts on the wire: asked first, so a plain socket's flush makes
    #: no call for nothing. Such a layer also has last words to send at every close
    #: (TLS's close_notify), through :meth:`_finishOutput`.
    _holdsOutput = False

    def _sendHeld(self, channel: WriteEnd) -> None:
        """Put bytes a transport layer still holds on the wire (TLS ciphertext); none here."""

    def _wakeBlocked(self, reading: bool = False, writing: bool = False) -> None:
        """Wake a greenlet blocked on this socket, if any (its transfer then sees why)."""
        self._sock.cancelWaits(reading, writing)

    def _fail(self, failure: BaseException) -> None:
        """The connection is dead: fail both channels with *failure* and release everything."""
        if self._state is CLOSED:
            return
        self._beginClosing()
        for channel in (self._reader, self._writer):
            if channel is not None:
                channel._failedBy(failure)
        if self._writePump is not None:
            self._writePump.cancel(failure)
        self._release(failure)

    # -- lifecycle -----------------------------------------------------------------------

    # The lifecycle is one state, OPEN -> CLOSING -> CLOSED, moved on by _beginClosing and
    # _finished only. CLOSING: close() began (or the connection failed); the channels are
    # closed, and the last bytes may still be draining in the background. CLOSED: the
    # descriptor is released (or handed over to TLS), socketContext is complete.

    def _beginClosing(self) -> bool:
        """OPEN -> CLOSING; False (and no change) if the socket was no longer open."""
        if self._state is not OPEN:
            return False
        self._state = CLOSING
        return True

    def _finished(self, cause: BaseException | None) -> None:
        """-> CLOSED: this object is done with its descriptor; record why, complete the
        context."""
        self._state = CLOSED
        self._closeCause = cause
        # The channels point back at this socket: dropping this side of each cycle lets
        # reference counting free a closed connection at once. Left to the cyclic collector,
        # churning connections cost more time in it than anything else of their own.
        self._reader = self._writer = None
        self._writePump = None
        self._selector._unregister(self)
        if self._context is not None:
            self._context._complete(cause)

    def _checkOpen(self) -> None:
        if self._state is not OPEN:
            raise ClosedChannelException("the socket is closed")

    @property
    def isClosed(self) -> bool:
        """True once the socket is fully closed: bytes sent, descriptor released."""
        return self._state is CLOSED

    def close(self) -> None:
        """Close without blocking for long; see SPEC section 5. Closing twice is harmless."""
        if not self._beginClosing():
            return
        reader, writer = self._reader, self._writer
        if reader is not None:
            reader._failedBy(ClosedReadChannelException("the socket was closed"))
        last = writer._end() if writer is not None else b""
        if self._writePump is not None:
            last += self._writePump.stopTakingRest()
        # Wake whoever is blocked on a channel; a drain greenlet from an earlier half-close is
        # the one waiting to write: let it finish.
        reading = reader is not None and reader._readBusy
        writing = writer is not None and writer._writeBusy and self._drainer is None
        if reading or writing:
            self._wakeBlocked(reading, writing)
        if self._resetOnClose or (not last and self._drainer is None and not self._holdsOutput):
            # Nothing left to send: closing the descriptor sends FIN, or RST when the user
            # asked for an abortive close (no last bytes then).
            self._release(None)
            return
        self._finishOutput(last)

    def _finishOutput(self, data: bytes) -> None:
        """Send *data*, then half-close (or close, once closing): at once, or from a drain
        greenlet."""
        if self._drainer is not None:
            return
        sent = 0
        if data:
            try:
                sent = int(self._sock.raw.send(data))
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                log.debug("%r: could not send the last bytes: %s", self, exc)
                data = b""
            self._countSent(sent)
        if sent < len(data):
            self._drainer = gevent.spawn(self._drain, memoryview(data)[sent:])
        else:
            self._outputDone(None)

    def _drain(self, rest: memoryview) -> None:
        error: BaseException | None = None
        try:
            with gevent.Timeout(self.lingerTimeout, SocketTimeoutException("linger timeout")):
                while rest:
                    count = int(self._sock.send(rest))
                    self._countSent(count)
                    rest = rest[count:]
        except (OSError, SocketTimeoutException) as exc:
            log.debug("%r: gave up sending the last bytes: %s", self, exc)
            error = exc
        self._drainer = None
        self._outputDone(error)

    def _countSent(self, count: int) -> None:
        """Bytes the kernel took from the write channel's last ones count as written."""
        if self._writer is not None:
            self._writer.totalBytesWritten += count

    def _outputDone(self, error: BaseException | None) -> None:
        # A half-close sends FIN now; a full close sends it when the descriptor is closed.
        if error is None and self._state is OPEN:
            try:
                self._sock.shutdown(stdsocket.SHUT_WR)
            except OSError:
                pass  # the peer is gone already: closing below says the rest
        if self._state is CLOSING:
            self._release(error)

    def _detach(self) -> StreamEndpoint:
        """Hand the kernel socket over to a new owner (TLS); this object is closed without it."""
        moved = ClosedChannelException("the socket was handed over to TLS")
        for channel in (self._reader, self._writer):
            if channel is not None:
                channel._failedBy(moved)
        self._beginClosing()
        self._finished(None)
        return self._sock

    def _release(self, cause: BaseException | None) -> None:
        if self._state is CLOSED:
            return
        reader = self._reader
        sawEnd = reader is not None and reader._eof
        self._finished(cause)
        if not (sawEnd or self._resetOnClose):
            self._discardUnread()
        self._sock.close()

    def _discardUnread(self) -> None:
        """Take in and drop what already waits in the kernel's receive buffer.

        Closing a socket with unread bytes makes the kernel reset the connection (RST)
        instead of ending it (FIN), and a reset makes the peer drop what it has received
        and not read yet: the last bytes this side sent. A TLS 1.3 client that never read
        the session tickets its server sent is the common case. Bounded, so that a peer that
        keeps sending cannot hold the close.
        """
        sock = self._sock
        if not sock.unreadBytes():
            return
        receive = sock.raw.recv_into
        scratch = self._scratch
        for _ in range(DISCARD_RECEIVES):
            try:
                if not receive(scratch):
                    return
            except OSError:
                return  # nothing more waits (EAGAIN), or the connection is gone already

    # -- channels ------------------------------------------------------------------------

    def openReadChannel(self) -> SocketReadChannel:
        """The channel of incoming bytes; once per socket (RuntimeError the second time)."""
        if self._state is not OPEN:
            self._checkOpen()
        if self._readOpened:
            raise RuntimeError("the read side of this socket is already open (once per socket)")
        self._readOpened = True
        reader = self._reader = SocketReadChannel()
        reader._owner = self
        return reader

    def openWriteChannel(self, autoFlush: bool = False) -> SocketWriteChannel:
        """The channel of outgoing bytes; once per socket (RuntimeError the second time)."""
        if self._state is not OPEN:
            self._checkOpen()
        if self._writeOpened:
            raise RuntimeError("the write side of this socket is already open (once per socket)")
        channel = SocketWriteChannel(autoFlush)
        channel._owner = self
        self._writeOpened = True
        self._writer = channel
        return channel

    def attachForReading(self, channel: Any) -> WriterJob:
        """Pump incoming bytes into *channel* from a greenlet; it is closed at end of stream."""
        source = self.openReadChannel()
        return WriterJob(lambda: source.copyAndClose(channel), channel)

    def attachForWriting(self, channel: Any) -> ReaderJob:
        """Pump bytes written to *channel* out to the socket; half-close at its end."""
        sink = self.openWriteChannel(autoFlush=False)
        self._writePump = ReaderJob(lambda: channel.copyAndClose(sink), channel)
        return self._writePump

    def connection(self) -> Connection:
        """Open both channels (``autoFlush=False``) and bundle them with this socket."""
        return Connection(self, self.openReadChannel(), self.openWriteChannel())
