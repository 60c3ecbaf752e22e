"""TLS over a connected stream socket: an ``ssl.SSLObject`` driven through two ``MemoryBIO``s.

The TLS socket is a :class:`~greensock.stream.StreamSocket` whose two transfer hooks
encrypt and decrypt: the channels, the lifecycle and the error translation are the plain
socket's own. Ciphertext produced but not yet taken by the kernel waits in ``_cipher``
and goes out before anything else, so an interrupted flush neither loses nor repeats bytes.
"""

from __future__ import annotations

import ssl
from typing import Any

import gevent
from zope.interface import implementer

from .errors import SocketTimeoutException
from .interfaces import ISocket
from .stream import StreamSocket
from .timeouts import checked_timeout
from .transport import ReadEnd, WriteEnd

__all__ = ["TlsSocket", "TlsUpgrade", "start_tls"]

#: Plaintext handed to the SSLObject at a time: one TLS record's worth.
_RECORD = 16384


class TlsUpgrade:
    """What makes a stream socket able to start TLS: ``tls()`` (SPEC section 10).

    Mixed into the sockets that provide ``ISocket``; ``Connection.tls`` (STARTTLS) upgrades
    its socket through :meth:`_upgradeToTls`, once it checked and flushed its channels.
    """

    __slots__ = ()

    def tls(
        self,
        context: ssl.SSLContext | None = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> TlsSocket:
        """Run a TLS handshake over this socket and return the TLS socket.

        The channels must not be open yet (RuntimeError); this socket must not be used
        afterwards. See :func:`start_tls` for the errors.
        """
        return self._upgradeToTls(context, serverName, serverSide, timeout)

    def _upgradeToTls(
        self,
        context: ssl.SSLContext | None,
        serverName: str | None,
        serverSide: bool,
        timeout: float | None,
        channelsOpen: bool = False,
    ) -> TlsSocket:
        assert isinstance(self, StreamSocket)
        return start_tls(self, context, serverName, serverSide, timeout, channelsOpen)


@implementer(ISocket)
class TlsSocket(TlsUpgrade, StreamSocket):
    """A TLS connection over a stream socket; ``tls()`` on it starts TLS inside TLS."""

    __slots__ = ("_cipher", "_incoming", "_notified", "_outgoing", "_plainHeld", "_tls")

    def __init__(
        self,
        plain: StreamSocket,
        tls: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        cipher: bytearray,
    ) -> None:
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing
        self._cipher = cipher
        self._notified = False
        #: Plaintext decrypted before close_notify went out and not read yet (see _notify).
        self._plainHeld = bytearray()
        super().__init__(plain._selector, plain._detach(), plain.remoteAddress)
        self._hostname = plain._hostname

    @property
    def cipher(self) -> tuple[str, str, int] | None:
        """The negotiated cipher (name, protocol, secret bits)."""
        return self._tls.cipher()

    @property
    def sslObject(self) -> ssl.SSLObject:
        """The ``ssl.SSLObject``: peer certificate, ALPN protocol, TLS version..."""
        return self._tls

    def _receive(self, view: memoryview, channel: ReadEnd) -> int:
        held = self._plainHeld
        if held:
            count = min(len(view), len(held))
            view[:count] = held[:count]
            del held[:count]
            return count
        while True:
            try:
                return int(self._tls.read(len(view), view))
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                return 0  # the peer's close_notify: a clean end of stream
            except ssl.SSLError as exc:
                raise self._transferFailed(exc, True, channel, fromWait=False) from None
            _pull(super()._receive, self._scratch, self._incoming, channel)

    def _send(self, view: memoryview, channel: WriteEnd) -> int:
        if self._cipher:
            _push(super()._send, self._cipher, channel)
        try:
            count = int(self._tls.write(view[:_RECORD]))
        except ssl.SSLError as exc:
            raise self._transferFailed(exc, False, channel, fromWait=False) from None
        # Reported as taken now; _sendHeld puts it on the wire before the flush returns.
        self._cipher += self._outgoing.read()
        return count

    _holdsOutput = True

    def _sendHeld(self, channel: WriteEnd) -> None:
        self._cipher += self._outgoing.read()
        _push(super()._send, self._cipher, channel)

    def _notify(self) -> None:
        """Produce close_notify, keeping every byte the peer sent that is not read yet.

        ``unwrap()`` asks OpenSSL to shut down twice: once to write close_notify, once to
        read the peer's, and that second call drops the application data it reads on the
        way. After a half-close this side still reads: so the records already received are
        set aside while it runs, and the plaintext of a record half read is kept in
        ``_plainHeld``, which :meth:`_receive` hands out first.
        """
        tls = self._tls
        pending = tls.pending()
        if pending:
            self._plainHeld += tls.read(pending)
        received = self._incoming.read()
        try:
            tls.unwrap()
        finally:
            self._incoming.write(received)

    def _finishOutput(self, data: bytes) -> None:
        # Encrypt what is left, then close_notify (once); the plain socket sends the ciphertext.
        if not self.isClosed and not self._notified:
            self._notified = True
            try:
                if data:
                    self._tls.write(data)
                self._notify()
            except ssl.SSLError:
                pass  # SSLWantReadError: the peer's close_notify has not come yet, as usual
        # A new buffer rather than the old one grown: a flush blocked in another greenlet may
        # still be viewing it (BufferError). That flush wakes closed; its bytes go out here.
        rest = bytes(self._cipher) + self._outgoing.read()
        self._cipher = bytearray()
        super()._finishOutput(rest)


def _pull(receive: Any, scratch: memoryview, incoming: ssl.MemoryBIO, channel: Any) -> bool:
    """Receive ciphertext into *incoming*; False (and EOF written) at the stream's end."""
    count = receive(scratch, channel)
    if count:
        incoming.write(scratch[:count])
    else:
        incoming.write_eof()
    return bool(count)


def _push(send: Any, cipher: bytearray, channel: Any) -> None:
    """Send every buffered ciphertext byte; what the kernel did not take stays buffered."""
    while cipher:
        with memoryview(cipher) as view:
            count = send(view, channel)
        del cipher[:count]


class _Handshake:
    """A TLS handshake over a plain socket's own transfers.

    Stands in for a channel while they run (nothing can have failed it), and remembers
    whether a byte of the peer's handshake arrived: a handshake interrupted before that
    consumed nothing, and the socket stays open and plain (SPEC section 10). A client's
    hello has gone out by then: a peer that got it will refuse a second one, so a client
    that calls tls() again should know that its peer never saw the first.
    """

    _cause: BaseException | None = None
    _writeClosed = False

    def __init__(
        self,
        plain: StreamSocket,
        tls: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._plain = plain
        self._tls = tls
        self._incoming = incoming
        self._outgoing = outgoing
        self.peerSpoke = False

    def run(self) -> bytearray:
        """Run the handshake to its end; return the ciphertext not yet sent."""
        plain, tls = self._plain, self._tls
        cipher = bytearray()
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
            self._send(cipher)
            self.peerSpoke |= _pull(plain._receive, plain._scratch, self._incoming, self)
        self._send(cipher)
        return cipher

    def _send(self, cipher: bytearray) -> None:
        cipher += self._outgoing.read()
        if cipher:
            _push(self._plain._send, cipher, self)


def start_tls(
    plain: StreamSocket,
    context: ssl.SSLContext | None,
    serverName: str | None,
    serverSide: bool,
    timeout: float | None,
    channelsOpen: bool = False,
) -> TlsSocket:
    """Handshake over *plain* and return the TLS socket; *plain* must not be used afterwards.

    RuntimeError when *plain*'s channels are open; ValueError for ``serverSide`` without a
    context, and for a client without *serverName* whose socket has no host name (a Unix
    or accepted socket) when the context checks host names; ``ssl.SSLError`` (e.g.
    ``SSLCertVerificationError``) when the handshake fails, and SocketTimeoutException after
    *timeout* seconds. A timeout (or any exception thrown in) before a byte of the peer's
    handshake arrived leaves *plain* open and plain, to try again; once the peer's handshake
    bytes arrived, and after any failure, *plain* is closed.
    """
    if context is not None and not isinstance(context, ssl.SSLContext):
        raise TypeError(f"context must be an ssl.SSLContext, got {type(context).__name__}")
    if serverSide and context is None:
        raise ValueError("a server-side TLS socket needs a context with its certificate")
    timeout = checked_timeout(timeout)  # ValueError for NaN, TypeError for a non-number
    if not channelsOpen and (plain._readOpened or plain._writeOpened):
        raise RuntimeError("tls() needs a socket whose channels are not open yet")
    plain._checkOpen()
    if isinstance(plain, TlsSocket):
        raise RuntimeError("this socket already speaks TLS")
    if context is None:
        context = ssl.create_default_context()
    if serverName is None and not serverSide:
        serverName = plain._hostname
        if serverName is None and context.check_hostname:
            # As ssl.wrap_socket does: a certificate is never accepted unchecked.
            raise ValueError(
                "this socket has no host name to check the server's certificate against "
                "(a Unix socket, an accepted socket): pass serverName, or a context with "
                "check_hostname=False"
            )
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(
        incoming,
        outgoing,
        server_side=serverSide,
        server_hostname=None if serverSide else serverName,
    )
    handshake = _Handshake(plain, tls, incoming, outgoing)
    try:
        with gevent.Timeout(
            timeout, SocketTimeoutException(f"TLS handshake took over {timeout} s")
        ):
            cipher = handshake.run()
    except BaseException as exc:
        # Half a handshake leaves the connection in no usable state; none leaves it plain.
        if handshake.peerSpoke or isinstance(exc, ssl.SSLError):
            plain.close()
        raise
    return TlsSocket(plain, tls, incoming, outgoing, cipher)
