"""TCP (and Unix stream) sockets: connect, bind, accept."""

from __future__ import annotations

import contextlib
import enum
import errno
import logging
import os
import socket as stdsocket
import time
from collections.abc import Iterator, Sequence
from typing import Any

import gevent
from gevent.event import Event
from zope.interface import implementer

from ._gevent import KernelSocket
from .addresses import (
    InetSocketAddress,
    SocketAddress,
    from_sockaddr,
)
from .dialing import bind, connect_first
from .errors import (
    ClosedChannelException,
    ConcurrentIOException,
    ConnectTimeoutException,
    SocketTimeoutException,
    closed_by_another_greenlet,
)
from .interfaces import IServerSocket, ISocket
from .jobs import Job
from .lifecycle import SocketLifecycle
from .options import AcceptorOptions, TCPClientSocketOptions
from .resolve import (
    AddrInfo,
    bind_sockaddr,
    connect_target,
    host_target,
    numeric_infos,
    resolve,
)
from .sockopts import apply_accepted, apply_options
from .stream import StreamSocket
from .timeouts import checked_timeout
from .tls import TlsUpgrade

__all__ = [
    "AcceptErrorAction",
    "ServerSocket",
    "TcpSocket",
    "accept_error_action",
    "tcp_bind",
    "tcp_connect",
]

log = logging.getLogger(__name__)


@implementer(ISocket)
class TcpSocket(TlsUpgrade, StreamSocket):
    """A connected TCP or Unix stream socket."""

    __slots__ = ()


# -- accept errors ----------------------------------------------------------------------------
#
# accept(2) fails in three ways (the review of the docs of POSIX, Linux, the BSDs, macOS and
# Windows in trio's _highlevel_socket.py is the fuller version):
#
# 1. The pending connection died before it was taken: ECONNABORTED (the BSDs), EPERM (a
#    Linux firewall), and on Linux any network error the connection met, which accept(2)
#    passes on ("treat them like EAGAIN by retrying", says its man page). That connection
#    is gone from the backlog and the next one is fine: accept skips it.
# 2. The process or the system is out of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
#    ENOMEM). The connection stays in the backlog and the listener stays readable, so an
#    immediate retry fails again at once: a loop that retries spins, and starves the very
#    greenlets whose closes would free descriptors.
# 3. Anything else (EINVAL: not listening...) is a broken listener or a bug: raised.
#
# What others do with 2: asyncio logs and stops accepting for 1 s; trio's SocketListener
# raises at once and its serve_listeners logs and sleeps 100 ms at every failure; gevent's
# baseserver stops accepting for a delay that starts at 10 ms and doubles up to 1 s, reset
# by a success; libuv closes a spare descriptor to accept and drop the connection. Dropping
# is not ours to choose: SPEC wants the connections to wait and be served. We take gevent's
# schedule (short at first, so a brief shortage costs little latency; capped, so a long one
# costs one failed system call a second) and sleep *inside* accept, before raising: a
# caller's ``except OSError: continue`` cannot spin, yet still sees the error and may shed
# load. Iteration, which has nobody to raise to, logs once per episode and goes on.


class AcceptErrorAction(enum.Enum):
    """What :meth:`ServerSocket.accept` does with an error of the kernel's accept."""

    #: The error concerns one pending connection, which is gone: accept the next one.
    SKIP = "skip"
    #: Out of descriptors or memory: wait (the back-off), then raise the error.
    BACK_OFF = "back off"
    #: Anything else: raise the error at once.
    RAISE = "raise"


def _errnos(*names: str) -> frozenset[int]:
    """The error numbers of *names* this platform defines."""
    return frozenset(getattr(errno, name) for name in names if hasattr(errno, name))


#: Errors of one pending connection: SPEC's three, then those accept(2) on Linux passes on
#: from a connection that failed in the backlog (its man page's list for TCP/IP), then
#: ECONNRESET and ETIMEDOUT, which on a listener can only be a connection's too. EOPNOTSUPP
#: is also "this socket cannot accept", which a listener greensock bound never is.
_CONNECTION_ERRNOS = _errnos(
    "ECONNABORTED", "EPROTO", "EPERM",
    "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN", "ENONET", "EHOSTUNREACH", "EOPNOTSUPP",
    "ENETUNREACH",
    "ECONNRESET", "ETIMEDOUT",
)  # fmt: skip
#: Out of descriptors (process, system) or of memory (socket buffers, kernel).
_EXHAUSTION_ERRNOS = _errnos("EMFILE", "ENFILE", "ENOBUFS", "ENOMEM")


def accept_error_action(code: int | None) -> AcceptErrorAction:
    """What accept does with an ``OSError`` of error number *code* (None: no number).

    A closed listener (EBADF) is recognised before this is asked.
    """
    if code in _CONNECTION_ERRNOS:
        return AcceptErrorAction.SKIP
    if code in _EXHAUSTION_ERRNOS:
        return AcceptErrorAction.BACK_OFF
    return AcceptErrorAction.RAISE


@implementer(IServerSocket)
class ServerSocket(SocketLifecycle):
    """A listening socket; :meth:`accept` (or iteration) yields connected sockets."""

    #: Seconds :meth:`accept` waits, after a first failure for lack of descriptors or memory
    #: (EMFILE, ENFILE, ENOBUFS, ENOMEM), before raising it. Each consecutive failure doubles
    #: the wait up to :attr:`acceptBackoffMax`; a successful accept starts again from here.
    #: Set it on the class, or on one server. (gevent's baseserver: ``min_delay``.)
    acceptBackoffFirst: float = 0.010
    #: The longest of those waits, seconds: while descriptors stay short, a server tries
    #: about once per this long. (gevent's baseserver: ``max_delay``.)
    acceptBackoffMax: float = 1.0

    def __init__(self, selector: Any, sock: Any, unixPath: str | None) -> None:
        self._selector = selector
        self._sock = sock
        self._unixPath = unixPath
        self.localAddress: SocketAddress = from_sockaddr(sock.family, sock.getsockname())
        self.port: int | None = (
            self.localAddress.port if isinstance(self.localAddress, InetSocketAddress) else None
        )
        self._family: int = sock.raw.family
        #: Whether accepted connections inherit what apply_accepted sets (None: not known
        #: yet). Once seen, the later ones are left alone, or set without asking first.
        self._acceptedInherit: bool | None = None
        self._accepting = False
        self._closed = False
        #: The last back-off wait of the current run of failures for lack of resources; 0.0
        #: when the last accept succeeded.
        self._acceptDelay = 0.0
        #: Set by close(): ends a back-off wait at once.
        self._closing = Event()
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

        A connection that failed before it was accepted (ECONNABORTED, EPROTO, EPERM from a
        firewall, the network errors Linux passes on) is skipped: accept waits for the next.
        Running out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) raises that
        OSError, after a wait during which other greenlets run: :attr:`acceptBackoffFirst`,
        doubled at each consecutive failure up to :attr:`acceptBackoffMax`, so a loop that
        catches it and calls accept again never spins. The wait counts against *timeout*; a
        close during it raises ClosedChannelException at once. Other OSErrors are raised.
        """
        timeout = checked_timeout(timeout)  # ValueError for NaN, TypeError for a non-number
        if self._closed:
            raise ClosedChannelException("the server socket is closed")
        if self._accepting:
            raise ConcurrentIOException("another greenlet is already accepting on this server")
        self._accepting = True
        timer = None
        try:
            if timeout is not None:
                expired = SocketTimeoutException(f"no connection within {timeout} s")
                timer = gevent.Timeout.start_new(timeout, expired)
            try:
                conn, address = self._sock.accept()
            except OSError as exc:
                conn, address = self._acceptAfter(exc)
        finally:
            if timer is not None:
                timer.close()
            self._accepting = False
        if self._acceptDelay:
            self._acceptDelay = 0.0  # a success ends a run of failures
        try:
            # The listener's family, known already: asking the new socket costs a call.
            inherit = self._acceptedInherit
            if not inherit:
                self._acceptedInherit = apply_accepted(conn, self._family, inherit is None)
            return TcpSocket(self._selector, conn, from_sockaddr(self._family, address))
        except BaseException:
            conn.close()
            raise

    def _acceptAfter(self, exc: OSError) -> tuple[KernelSocket, Any]:
        """accept's slow path, once the kernel's accept failed with *exc*.

        Skips dead connections until one is accepted (returned); backs off then raises for
        lack of resources; raises anything else (ClosedChannelException once closed).
        """
        while True:
            if self._closed or closed_by_another_greenlet(exc):
                raise ClosedChannelException("the server socket was closed") from None
            action = accept_error_action(exc.errno)
            if action is not AcceptErrorAction.SKIP:
                if action is AcceptErrorAction.BACK_OFF:
                    self._backOff(exc)
                raise exc
            log.debug("%r skipped a connection that failed before it was accepted: %s", self, exc)
            # A turn to the others between two, so a burst of dead connections cannot starve
            # them.
            gevent.sleep(0)
            try:
                accepted: tuple[KernelSocket, Any] = self._sock.accept()
                return accepted
            except OSError as again:
                exc = again

    def _backOff(self, exc: OSError) -> None:
        """Wait the next back-off delay (other greenlets run); ClosedChannelException if closed."""
        delay = self._acceptDelay
        delay = self._acceptDelay = min(
            delay * 2 if delay else self.acceptBackoffFirst, self.acceptBackoffMax
        )
        log.debug("%r: accept failed (%s); raising it in %.3f s", self, exc, delay)
        self._closing.wait(delay)
        if self._closed:
            raise ClosedChannelException("the server socket was closed") from None

    def __iter__(self) -> Iterator[TcpSocket]:
        """Yield accepted sockets until the server is closed.

        Skips connections that failed before they were accepted, as :meth:`accept` does.
        Running out of descriptors or memory does not end the iteration: it backs off as
        accept does, without raising, logs a WARNING on the ``greensock.tcp`` logger once per
        episode (and INFO when an accept succeeds again, which ends the episode), and goes on
        accepting. Other OSErrors and ConcurrentIOException are raised.
        """
        failures = 0
        since = 0.0
        while True:
            try:
                sock = self.accept()
            except ClosedChannelException:
                return
            except OSError as exc:
                if accept_error_action(exc.errno) is not AcceptErrorAction.BACK_OFF:
                    raise
                if not failures:
                    since = time.monotonic()
                    log.warning(
                        "%r cannot accept: %s; connections wait in the backlog, retrying"
                        " with back-off (at most %s s apart) until this passes",
                        self,
                        exc,
                        self.acceptBackoffMax,
                    )
                failures += 1
                continue
            if failures:
                log.info(
                    "%r accepts again (%d failed tries in %.2f s)",
                    self,
                    failures,
                    time.monotonic() - since,
                )
                failures = 0
            yield sock

    def close(self) -> None:
        """Stop listening, wake a blocked accept, remove a Unix socket file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        self._closing.set()
        if self._unixPath and not self._unixPath.startswith("\0"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._unixPath)
        self._selector._unregister(self)
        self.socketContext._complete(None)


_AF_UNIX = getattr(stdsocket, "AF_UNIX", None)


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
        target, infos = host_target(hostOrAddress, port)
    else:
        target = connect_target(hostOrAddress, port)
        infos = numeric_infos(target, stdsocket.SOCK_STREAM)
    # A host name is resolved; anything else is connected to as it is, and is the address
    # the connected socket reports as its peer.
    resolving = infos is None
    # Resolving and connecting may block: until done, a SelectorManager.close() throws
    # ClosedChannelException into this greenlet, and *timeout* bounds them together. Spelled
    # out rather than a context manager: this runs once per connect, where a context
    # manager's object and calls would be most of the Python this function runs.
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
        remote = from_sockaddr(sock.raw.family, sockaddr) if resolving else target
        connected = TcpSocket(selector, sock, remote)
        # lingerSeconds=0 is an abortive close (RST) over IP; a Unix socket has no such
        # thing (the option is not applied to it): its close stays orderly, and drains.
        connected._resetOnClose = values["lingerSeconds"] == 0 and sock.raw.family != _AF_UNIX
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
    target = connect_target("0.0.0.0" if hostOrAddress is None else hostOrAddress, port)
    family, sockaddr = bind_sockaddr(target, stdsocket.SOCK_STREAM)
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
