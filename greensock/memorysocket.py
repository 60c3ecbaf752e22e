"""Memory sockets: stream sockets over the in-memory pipe, for tests.

:func:`memorySocketPair` is what ``greensock.testing.socketPair("memory")`` returns. A
:class:`MemorySocket` is a :class:`~greensock.stream.StreamSocket` whose endpoint is one end
of the in-memory pipe (:mod:`greensock.memorypipe`) instead of a kernel socket: its
channels, lifecycle, close (linger, drain), attachments and error translation are those of
every TCP and Unix socket, and the pipe answers as a pair of connected Unix sockets would
(64 KiB each way, so writers feel back-pressure; end of stream after a half-close; a
``BrokenPipeError`` to a writer whose peer closed).

What differs from a kernel socket: there is no file descriptor and no selector (closing a
``SelectorManager`` leaves memory sockets open), options cannot be set, and ``tls()`` (or
``connection().tls()``) raises ``RuntimeError``: use ``socketPair("tls")``. Both sockets'
``localAddress`` and ``remoteAddress`` are ``UnixSocketAddress("")``, the unnamed address the
kernel reports for ``socket.socketpair()``.
"""

from __future__ import annotations

from typing import Any, NoReturn

from zope.interface import implementer

from .addresses import UnixSocketAddress
from .interfaces import ISocket
from .memorypipe import pipe_endpoints
from .selector import default_selector
from .stream import StreamSocket

__all__ = ["MemorySocket", "memorySocketPair"]

#: What both ends of a memory pair report as their addresses (see the module docstring).
UNNAMED = UnixSocketAddress("")


class _NoSelector:
    """Stands in for the ``SelectorManager`` a stream socket is made with: memory sockets
    belong to none, so registering is nothing, and a selector's close cannot reach them.

    It lends the receive scratch buffer of the calling thread's default selector: a socket
    fills it and copies out with no greenlet switch in between, so sharing it is safe within
    a thread, and a memory socket costs no buffer of its own.
    """

    __slots__ = ()

    @property
    def _scratch(self) -> memoryview:
        return default_selector()._scratch

    def _register(self, sock: Any) -> None:
        pass

    def _unregister(self, sock: Any) -> None:
        pass


_NO_SELECTOR = _NoSelector()


@implementer(ISocket)
class MemorySocket(StreamSocket):
    """One socket of a memory pair: a stream socket over one end of the in-memory pipe.

    Behaves as a Unix stream socket does (SPEC sections 5 to 7), with the differences the
    module docstring lists.
    """

    __slots__ = ()

    def tls(
        self,
        context: Any = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> NoReturn:
        """Not supported on memory sockets: raises ``RuntimeError`` (use
        ``greensock.testing.socketPair('tls')``)."""
        raise RuntimeError(
            "TLS over memory sockets is not supported; use greensock.testing.socketPair('tls')"
        )

    def _upgradeToTls(self, *args: Any, **kwargs: Any) -> NoReturn:
        # What Connection.tls (STARTTLS) calls: not supported either.
        self.tls()


def memorySocketPair() -> tuple[MemorySocket, MemorySocket]:
    """Two memory sockets connected to each other, channels not opened yet."""
    first, second = pipe_endpoints()
    return MemorySocket(_NO_SELECTOR, first, UNNAMED), MemorySocket(_NO_SELECTOR, second, UNNAMED)
