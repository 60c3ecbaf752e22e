"""The exception hierarchy of greensock (SPEC section 9).

Each class keeps ktor's name and derives from the built-in exception a Python network
programmer would catch for the same situation, so ``except OSError`` or ``except EOFError``
keeps working on code that never heard of greensock.

Kernel errors stay Python's own (``ConnectionRefusedError``, ``ConnectionResetError``,
``socket.gaierror``...); :func:`closed_by_another_greenlet` is the one place that recognises
gevent's way of saying "this file descriptor was closed under you", and
:func:`naming_target` the one place that makes a failed connect, bind or resolution say
what it tried.
"""

from __future__ import annotations

import errno
from typing import Any, TypeVar

from gevent.socket import cancel_wait_ex

from .addresses import from_sockaddr

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


_E = TypeVar("_E", bound=OSError)


def naming_target(exc: _E, doing: str, target: object, family: int = 0, sockaddr: Any = None) -> _E:
    """Make *exc*'s message say what failed: ``doing`` (``"connecting to"``, ``"binding"``...)
    *target* (a ``SocketAddress`` or a host name), and, when *sockaddr* (of *family*) is
    given and reads otherwise, the address actually tried; return *exc* itself.

    ``[Errno 111] Connection refused`` becomes ``[Errno 111] Connection refused (connecting
    to localhost:1 at 127.0.0.1:1)``. The exception is changed in place, so it keeps its
    class (``ConnectionRefusedError``, ``socket.gaierror``...), its ``errno``, its traceback
    and every attribute set on it (``exceptions``); its ``strerror`` (and ``args``, which
    ``repr`` and pickling use) gain the text. One without an ``errno`` but a one-string
    message (``TimeoutError("timed out")``) gains it in that message.

    Only for errors made by the kernel or the resolver for this one call, on the failure
    path: never for an exception thrown into a waiting greenlet (``gevent.Timeout``,
    ``kill``), which must reach the caller unchanged, and never for one that may be raised
    in several places at once.
    """
    place = "" if target is None else str(target)
    if sockaddr is not None:
        tried = str(from_sockaddr(family, sockaddr))
        place = f"{place} at {tried}" if place and place != tried else tried
    what = f"({doing} {place})"
    if exc.strerror is not None:
        exc.strerror = f"{exc.strerror} {what}"
        exc.args = (exc.errno, exc.strerror)
    elif len(exc.args) == 1 and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0]} {what}",)
    return exc
