"""The exception hierarchy of greensock (SPEC section 9).

Each class keeps ktor's name and derives from the built-in exception a Python network
programmer would catch for the same situation, so ``except OSError`` or ``except EOFError``
keeps working on code that never heard of greensock.

Kernel errors stay Python's own (``ConnectionRefusedError``, ``ConnectionResetError``,
``socket.gaierror``...); :func:`closed_by_another_greenlet` is the one place that recognises
gevent's way of saying "this file descriptor was closed under you".
"""

from __future__ import annotations

import errno

from gevent.socket import cancel_wait_ex

__all__ = [
    "ClosedChannelException",
    "ClosedReadChannelException",
    "ClosedReceiveChannelException",
    "ClosedSendChannelException",
    "ClosedWriteChannelException",
    "ConcurrentIOException",
    "ConnectTimeoutException",
    "SocketTimeoutException",
    "TooLongLineException",
]


class ClosedChannelException(OSError):
    """An operation on a closed socket, server socket or selector."""


class ClosedReadChannelException(ClosedChannelException):
    """Reading a channel that was cancelled or closed locally."""


class ClosedWriteChannelException(ClosedChannelException):
    """Writing to a write channel that is closed."""


class ClosedSendChannelException(ClosedChannelException):
    """Sending on a closed datagram socket."""


class ClosedReceiveChannelException(EOFError):
    """An exact read met end of stream, or receiving on a closed datagram socket."""


class SocketTimeoutException(TimeoutError):
    """``socketTimeout`` passed without progress on a read or write; the connection failed."""


class ConnectTimeoutException(TimeoutError):
    """``connect(timeout=...)`` passed before a connection was established."""


class TooLongLineException(ValueError):
    """A line (or a delimited record) is longer than the ``limit`` given to the read."""


class ConcurrentIOException(RuntimeError):
    """A second greenlet tried to block on a side of a channel another greenlet is blocked on."""


def closed_by_another_greenlet(exc: BaseException) -> bool:
    """Tell whether *exc* is gevent waking a blocked greenlet because its socket was closed.

    gevent throws ``cancel_wait_ex`` (an ``OSError`` with ``EBADF``) into a greenlet blocked on
    a socket that another greenlet closes; a closed file descriptor used afterwards gives
    ``EBADF`` too. Both mean "closed locally", never a kernel failure worth reporting.
    """
    return isinstance(exc, cancel_wait_ex) or (
        isinstance(exc, OSError) and exc.errno == errno.EBADF
    )
