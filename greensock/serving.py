"""Serving a server socket: a greenlet per connection (SPEC section 10, "Serving").

:func:`serve` starts a :class:`Serving`: one greenlet accepts, by iterating the server
socket, and runs the handler of each connection in a greenlet of its own.

How others shape this, and what we took:

* trio's ``serve_listeners`` runs each handler in a nursery and leaves accept errors to the
  listener; gevent's ``BaseServer`` spawns a greenlet per connection from a pool, keeps its
  tunables as documented class attributes (``stop_timeout``, ``min_delay``...), and its
  ``stop(timeout)`` closes the listener, waits for the handlers, then kills the rest.
* Accept errors are the server socket's job already: iterating it skips dead connections and
  backs off, logging once per episode, when descriptors run out (``ServerSocket.__iter__``).
  Serving adds no second policy on top.
* ``maxConnections`` waits *before* accepting rather than accepting and queueing: the
  connections wait in the kernel's backlog, where they cost no descriptor (a pool that
  accepts first, as gevent's does, holds one per waiting connection).
* At the end of ``stop()`` we close the sockets of the handlers still running instead of
  killing their greenlets, as SPEC asks: each handler sees the closed-channel exception at
  its blocked call and runs its own ``finally`` blocks on its own terms.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import gevent
from gevent.event import Event
from zope.interface import implementer

from .errors import ClosedChannelException
from .interfaces import IServerSocket, IServing
from .timeouts import checked_timeout

__all__ = ["Handler", "ServeSettings", "Serving", "serve", "serve_settings"]

log = logging.getLogger(__name__)

#: A connection handler: called with the accepted ``ISocket``; what it returns is ignored.
Handler = Callable[[Any], object]


@dataclass(frozen=True)
class ServeSettings:
    """The checked options of :func:`serve` (see :func:`serve_settings`)."""

    maxConnections: int | None
    tls: ssl.SSLContext | None
    handshakeTimeout: float | None


def serve_settings(
    maxConnections: int | None = None,
    tls: ssl.SSLContext | None = None,
    handshakeTimeout: float | None = 10.0,
) -> ServeSettings:
    """Check the options of :func:`serve` (``serveWorkers`` checks its own with this, before
    forking, so that a mistake is one error in the caller rather than one per worker).

    TypeError for a wrong type (``bool`` is no count), ValueError for a value out of range.
    """
    if maxConnections is not None:
        if isinstance(maxConnections, bool) or not isinstance(maxConnections, int):
            raise TypeError(
                f"maxConnections must be None or an int, not {type(maxConnections).__name__}"
            )
        if maxConnections < 1:
            raise ValueError(f"maxConnections must be at least 1, not {maxConnections}")
    if tls is not None:
        if not isinstance(tls, ssl.SSLContext):
            raise TypeError(f"tls must be None or an ssl.SSLContext, not {type(tls).__name__}")
        if tls.protocol == ssl.PROTOCOL_TLS_CLIENT:
            # It would fail at every handshake; say so once, here.
            raise ValueError(
                "tls must be a server-side context, such as "
                "ssl.create_default_context(ssl.Purpose.CLIENT_AUTH) with load_cert_chain()"
            )
    return ServeSettings(maxConnections, tls, checked_timeout(handshakeTimeout))


def _peer(sock: Any) -> str:
    """The peer of *sock* for a log message; never raises."""
    try:
        return str(sock.remoteAddress)
    except Exception:  # noqa: BLE001 -- a log message must not fail the connection
        return "an unknown peer"


@implementer(IServing)
class Serving:
    """Connections of one server socket, each handled in a greenlet of its own.

    Made by :func:`serve`, which starts it. See :class:`~greensock.interfaces.IServing` for
    the contract; the tunables below can be set on the class or on one instance.
    """

    #: Seconds ``stop()`` without a timeout lets running handlers finish before closing their
    #: sockets (gevent's ``BaseServer.stop_timeout``); None waits as long as they take. Also
    #: what a ``with`` block's exit waits.
    stopTimeout: float | None = 1.0
    #: The level of the log record of a failed or timed-out TLS handshake. INFO, not WARNING:
    #: a TCP health check or a port scanner fails a handshake every time, and is no fault.
    handshakeFailureLevel: int = logging.INFO

    def __init__(self, server: Any, handler: Handler, settings: ServeSettings) -> None:
        self.server = server
        self._handler = handler
        self._settings = settings
        #: Each running connection's greenlet and its socket now (the TLS one once made).
        self._connections: dict[gevent.Greenlet, Any] = {}
        #: Greenlets whose socket stop() closed: what they raise next is stop()'s doing.
        self._forced: set[gevent.Greenlet] = set()
        self._stopping = False
        #: Set when a connection ends (or stop() is called): the accept loop waits on it
        #: while maxConnections are running.
        self._room = Event()
        self._acceptor = gevent.spawn(self._acceptLoop)

    def __repr__(self) -> str:
        state = "accepting" if self.isActive else "stopped"
        return f"<Serving {self.server.localAddress} {state}, {len(self._connections)} connections>"

    @property
    def activeConnections(self) -> int:
        """Connections being served now (in their handshake or handler, not closed yet)."""
        return len(self._connections)

    @property
    def isActive(self) -> bool:
        """True while connections are being accepted."""
        return not self._stopping and not self._acceptor.dead

    # -- accepting -------------------------------------------------------------------------

    def _acceptLoop(self) -> None:
        """Accept until the server is closed, never more than maxConnections at a time."""
        limit = self._settings.maxConnections
        connections = self._connections
        try:
            # The iteration, not accept(): it skips dead connections and backs off, without
            # raising, while descriptors are short (SPEC section 5).
            accepted = iter(self.server)
            while not self._stopping:
                while limit is not None and len(connections) >= limit and not self._stopping:
                    self._room.clear()
                    self._room.wait()
                if self._stopping:
                    break
                sock = next(accepted, None)
                if sock is None:  # the server was closed
                    break
                connection = gevent.spawn(self._serveConnection, sock)
                connections[connection] = sock  # before it runs: it cannot run before we wait
        except Exception:
            # Not an error of one connection (those the iteration skips): the listener is
            # broken. Close it, so that clients are refused rather than left waiting.
            log.error("%r stopped accepting", self, exc_info=True)
            self.server.dispose()

    # -- one connection --------------------------------------------------------------------

    def _serveConnection(self, sock: Any) -> None:
        """Handshake if asked, run the handler, close the socket whatever happens."""
        me = gevent.getcurrent()
        try:
            if me in self._forced:
                return  # stop() closed it before this greenlet ever ran
            if self._settings.tls is not None:
                sock = self._handshake(me, sock)
                if sock is None:
                    return
            self._handler(sock)
        except (Exception, gevent.Timeout) as exc:  # noqa: BLE001 -- logged, as SPEC asks
            # A handler's own gevent.Timeout escaping is its bug like any other; GreenletExit
            # (someone killed this greenlet) is not an error and is left to gevent.
            self._handlerFailed(me, sock, exc)
        finally:
            self._connections.pop(me, sock).dispose()
            self._forced.discard(me)
            self._room.set()

    def _handshake(self, me: gevent.Greenlet, sock: Any) -> Any:
        """The TLS socket over *sock*, or None when the handshake failed (logged; *sock*
        is closed by the caller)."""
        try:
            secure = sock.tls(
                self._settings.tls, serverSide=True, timeout=self._settings.handshakeTimeout
            )
        except (OSError, EOFError) as exc:  # ssl.SSLError and SocketTimeoutException included
            if me not in self._forced:
                log.log(
                    self.handshakeFailureLevel,
                    "%r: TLS handshake with %s failed: %s",
                    self,
                    _peer(sock),
                    exc or type(exc).__name__,
                )
            return None
        self._connections[me] = secure  # what stop() must close from now on
        return secure

    def _handlerFailed(self, me: gevent.Greenlet, sock: Any, exc: BaseException) -> None:
        if me in self._forced and isinstance(exc, ClosedChannelException):
            log.debug("%r: the handler for %s ended as stop() closed its socket", self, _peer(sock))
            return
        log.error(
            "%r: handler %r raised for the connection from %s",
            self,
            self._handler,
            _peer(sock),
            exc_info=exc,
        )

    # -- stopping --------------------------------------------------------------------------

    def stop(self, timeout: float | None = None) -> bool:
        """Stop accepting, let handlers finish for *timeout* seconds, close the rest.

        None stands for :attr:`stopTimeout`. Blocks the calling greenlet while handlers
        finish; returns True when every one finished by itself. See ``IServing.stop``.
        """
        bound = checked_timeout(self.stopTimeout if timeout is None else timeout)
        self._stopping = True
        self._room.set()
        self.server.close()
        me = gevent.getcurrent()
        others = [g for g in self._connections if g is not me]
        finished = len(gevent.joinall(others, timeout=bound)) == len(others)
        if not finished:
            for connection, sock in list(self._connections.items()):
                if connection is not me and not connection.dead:
                    self._forced.add(connection)
                    sock.dispose()
        return finished

    def join(self, timeout: float | None = None) -> bool:
        """Block until accepting has ended and every handler has returned; False when
        *timeout* seconds passed first. See ``IServing.join``."""
        timeout = checked_timeout(timeout)
        me = gevent.getcurrent()
        with gevent.Timeout(timeout, False):
            self._acceptor.join()
            # No connection starts once the accept loop has ended.
            gevent.joinall([g for g in self._connections if g is not me])
        return self._acceptor.dead and all(g is me for g in self._connections)

    def __enter__(self) -> Serving:
        """The serving itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """``stop()``, which waits :attr:`stopTimeout` for the handlers."""
        self.stop()


def serve(
    server: Any,
    handler: Handler,
    *,
    maxConnections: int | None = None,
    tls: ssl.SSLContext | None = None,
    handshakeTimeout: float | None = 10.0,
) -> Serving:
    """Serve *server* (an ``IServerSocket``, TCP or Unix): run ``handler(socket)`` in a
    greenlet of its own for every connection accepted; return the :class:`Serving` at once.

    The socket is closed when the handler returns or raises; an exception escaping a handler
    is logged at ERROR level with its traceback (logger ``greensock.serving``) and serving
    goes on. With *maxConnections*, no connection is accepted while that many are being
    served: the others wait in the kernel's backlog. With *tls* (a server-side
    ``ssl.SSLContext``), each connection's handshake runs in its own greenlet, bounded by
    *handshakeTimeout* seconds (None: no bound); one that fails or takes too long is logged
    (at :attr:`Serving.handshakeFailureLevel`) and closed, and never reaches the handler.
    Running out of descriptors backs off and recovers (SPEC section 5).

    Blocks on nothing. Raises TypeError when *server* is no ``IServerSocket``, *handler* is
    not callable, or an option has the wrong type; ValueError for an option out of range
    (``maxConnections`` < 1, a client-side *tls* context, a NaN *handshakeTimeout*);
    ClosedChannelException when *server* is closed already.
    """
    if not IServerSocket.providedBy(server):
        raise TypeError(f"server must be an IServerSocket, not {type(server).__name__}")
    if not callable(handler):
        raise TypeError(f"handler must be callable, not {type(handler).__name__}")
    settings = serve_settings(maxConnections, tls, handshakeTimeout)
    if server.isClosed:
        raise ClosedChannelException("the server socket is closed")
    return Serving(server, handler, settings)
