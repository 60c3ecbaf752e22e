"""TCP (and Unix stream) sockets: connect, bind, accept."""

from __future__ import annotations

import contextlib
import functools
import os
import socket as stdsocket
from collections.abc import Iterator, Sequence
from typing import Any

import gevent
from zope.interface import implementer

from .addresses import (
    InetSocketAddress,
    SocketAddress,
    from_sockaddr,
)
from .connect import AddrInfo, bind, connect_first, numeric_infos, resolve
from .errors import (
    ClosedChannelException,
    ConcurrentIOException,
    ConnectTimeoutException,
    SocketTimeoutException,
    closed_by_another_greenlet,
)
from .interfaces import IServerSocket, ISocket
from .jobs import Job
from .kernel import KernelSocket
from .lifecycle import SocketLifecycle
from .options import AcceptorOptions, TCPClientSocketOptions, apply_accepted, apply_options
from .stream import StreamSocket
from .timeouts import checked_timeout

__all__ = ["ServerSocket", "TcpSocket", "tcp_bind", "tcp_connect"]


@implementer(ISocket)
class TcpSocket(StreamSocket):
    """A connected TCP or Unix stream socket."""

    __slots__ = ()


@implementer(IServerSocket)
class ServerSocket(SocketLifecycle):
    """A listening socket; :meth:`accept` (or iteration) yields connected sockets."""

    def __init__(self, selector: Any, sock: Any, unixPath: str | None) -> None:
        self._selector = selector
        self._sock = sock
        self._unixPath = unixPath
        self.localAddress: SocketAddress = from_sockaddr(sock.family, sock.getsockname())
        self.port: int | None = (
            self.localAddress.port if isinstance(self.localAddress, InetSocketAddress) else None
        )
        self._family: int = sock._sock.family
        #: Whether accepted connections inherit what apply_accepted sets (None: not known
        #: yet). Once seen, the later ones are left alone, or set without asking first.
        self._acceptedInherit: bool | None = None
        self._accepting = False
        self._closed = False
        self.socketContext = Job(onCancel=lambda cause: self.close())
        selector._register(self)

    def __repr__(self) -> str:
        return f"<ServerSocket {self.localAddress} {'closed' if self._closed else 'open'}>"

    @property
    def isClosed(self) -> bool:
        """True once closed."""
        return self._closed

    def accept(self, timeout: float | None = None) -> TcpSocket:
        """Block until a connection arrives and return it.

        Raises SocketTimeoutException after *timeout* seconds (the server stays usable),
        ClosedChannelException on a closed server or when it is closed while waiting, and
        ConcurrentIOException when another greenlet is already accepting.
        """
        timeout = checked_timeout(timeout)  # ValueError for NaN, TypeError for a non-number
        if self._closed:
            raise ClosedChannelException("the server socket is closed")
        if self._accepting:
            raise ConcurrentIOException("another greenlet is already accepting on this server")
        self._accepting = True
        try:
            if timeout is None:
                conn, address = self._sock.accept()
            else:
                expired = SocketTimeoutException(f"no connection within {timeout} s")
                with gevent.Timeout(timeout, expired):
                    conn, address = self._sock.accept()
        except OSError as exc:
            if self._closed or closed_by_another_greenlet(exc):
                raise ClosedChannelException("the server socket was closed") from None
            raise
        finally:
            self._accepting = False
        try:
            # The listener's family, known already: asking the new socket costs a call.
            inherit = self._acceptedInherit
            if not inherit:
                self._acceptedInherit = apply_accepted(conn, self._family, inherit is None)
            return TcpSocket(self._selector, conn, from_sockaddr(self._family, address))
        except BaseException:
            conn.close()
            raise

    def __iter__(self) -> Iterator[TcpSocket]:
        """Yield accepted sockets until the server is closed."""
        while True:
            try:
                yield self.accept()
            except ClosedChannelException:
                return

    def close(self) -> None:
        """Stop listening, wake a blocked accept, remove a Unix socket file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        if self._unixPath and not self._unixPath.startswith("\0"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._unixPath)
        self._selector._unregister(self)
        self.socketContext._complete(None)


_AF_UNIX = getattr(stdsocket, "AF_UNIX", None)


def _target(hostOrAddress: Any, port: int | None) -> SocketAddress:
    """Normalise connect/bind arguments into an address.

    TypeError for a host name without a port, or a port with an address object (the
    address carries its own: a second one would be silently ignored).
    """
    # A host name first: the common case, and a miss of the ABC's isinstance costs a call.
    if isinstance(hostOrAddress, str):
        if port is None:
            raise TypeError("a port is needed with a host name")
        return InetSocketAddress(hostOrAddress, port)
    if isinstance(hostOrAddress, SocketAddress):
        if port is not None:
            raise TypeError(
                f"a port ({port!r}) was given with the address {hostOrAddress}, which has its own"
            )
        return hostOrAddress
    raise TypeError(f"expected a host name or a SocketAddress, got {type(hostOrAddress).__name__}")


@functools.lru_cache(maxsize=256)
def _hostTarget(host: str, port: int) -> tuple[SocketAddress, tuple[AddrInfo] | None]:
    """The target of ``connect(host, port)``, and its entry when *host* is numeric.

    Kept for the last 256 pairs: a program reconnects to few hosts, and the checks and the
    parse cost more than the rest of a connect's Python. A name gives None: the resolver
    is asked at every connect, as its answers change.
    """
    target = _target(host, port)
    return target, numeric_infos(target, stdsocket.SOCK_STREAM)


def tcp_connect(
    selector: Any,
    hostOrAddress: Any,
    port: int | None,
    options: TCPClientSocketOptions,
    timeout: float | None,
) -> TcpSocket:
    """Connect a stream socket; ``timeout`` bounds resolution and connection together.

    A failure to resolve or to connect names the host and port in its message.
    """
    if timeout is not None:
        timeout = checked_timeout(timeout)
    infos: Sequence[AddrInfo] | None
    if type(hostOrAddress) is str and type(port) is int:
        target, infos = _hostTarget(hostOrAddress, port)
    else:
        target = _target(hostOrAddress, port)
        infos = numeric_infos(target, stdsocket.SOCK_STREAM)
    # A host name is resolved; anything else is connected to as it is, and is the address
    # the connected socket reports as its peer.
    resolving = infos is None
    # Resolving and connecting may block: until done, a SelectorManager.close() throws
    # ClosedChannelException into this greenlet, and *timeout* bounds them together. Spelled
    # out rather than a context manager, whose making, entering and leaving cost 1.3% of a
    # whole connection's instructions (connect, one line each way, close: W4).
    caller = selector._startBuilding()
    timer = None
    try:
        if timeout is not None:
            expired = ConnectTimeoutException(f"connect to {target} timed out after {timeout} s")
            timer = gevent.Timeout.start_new(timeout, expired)
        if infos is None:
            assert isinstance(target, InetSocketAddress)
            infos = resolve(
                target._hostname, target._port, stdsocket.SOCK_STREAM, doing="connecting to"
            )
        sock, sockaddr = connect_first(infos, options, target)
    finally:
        if timer is not None:
            timer.close()
        selector._stopBuilding(caller)
    # The values, not the attributes: one dict lookup each instead of a descriptor call.
    values = options._values
    try:
        socketTimeout = values["socketTimeout"]
        sock.timeout = socketTimeout
        remote = from_sockaddr(sock._sock.family, sockaddr) if resolving else target
        connected = TcpSocket(selector, sock, remote)
        connected._resetOnClose = values["lingerSeconds"] == 0
    except BaseException:
        sock.close()
        raise
    if isinstance(target, InetSocketAddress):
        connected._hostname = target._hostname
    return connected


def tcp_bind(
    selector: Any, hostOrAddress: Any, port: int | None, options: AcceptorOptions
) -> ServerSocket:
    """Bind and listen; the wildcard address on an ephemeral port by default.

    A failure to resolve or to bind (``EADDRINUSE``) names the address in its message.
    """
    if isinstance(hostOrAddress, SocketAddress) and port == 0:
        port = None  # bind(address): the default port is no second port
    target = _target("0.0.0.0" if hostOrAddress is None else hostOrAddress, port)
    # A numeric host or a Unix path is not resolved: gevent's resolver would start a thread
    # that then stays in the process for nothing.
    infos: Sequence[AddrInfo] | None = numeric_infos(target, stdsocket.SOCK_STREAM)
    if infos is None:
        assert isinstance(target, InetSocketAddress)
        infos = resolve(
            target._hostname,
            target._port,
            stdsocket.SOCK_STREAM,
            flags=stdsocket.AI_PASSIVE,
            doing="binding",
        )
    family, sockaddr = infos[0][0], infos[0][4]
    selector._checkUsable()
    sock = KernelSocket.open(family, stdsocket.SOCK_STREAM)
    try:
        apply_options(sock, options)
        bind(sock, target, family, sockaddr)
        sock.listen(options.backlogSize)
    except BaseException:
        sock.close()
        raise
    unixPath = sockaddr if family == _AF_UNIX and isinstance(sockaddr, str) else None
    return ServerSocket(selector, sock, unixPath)
