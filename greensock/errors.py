"""The exception hierarchy of greensock (SPEC section 9).

Each class keeps ktor's name and derives from the built-in exception a Python network
programmer would catch for the same situation, so ``except OSError`` or ``except EOFError``
keeps working on code that never heard of greensock.

Kernel errors stay Python's own (``ConnectionRefusedError``, ``ConnectionResetError``,
``socket.gaierror``...); :func:`closed_by_another_greenlet` is the one place that recognises
gevent's way of saying "this file descriptor was closed under you", :func:`transfer_outcome`
the one place that decides what a failed transfer means, and
:func:`naming_target` the one place that makes a failed connect, bind or resolution say
what it tried.
"""

from __future__ import annotations

import enum
import errno
from typing import Any, TypeVar

from gevent.socket import cancel_wait_ex

from ._gevent import NoProgress
from .addresses import from_sockaddr

__all__ = [
    "ClosedChannelException",
    "ClosedReadChannelException",
    "ClosedReceiveChannelException",
    "ClosedSendChannelException",
    "ClosedWriteChannelException",
    "ConcurrentIOException",
    "ConnectTimeoutException",
    "Outcome",
    "SocketTimeoutException",
    "TooLongLineException",
    "transfer_outcome",
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


class Outcome(enum.Enum):
    """What happened to a transfer that raised: see :func:`transfer_outcome`."""

    #: This side closed the socket, or cancelled or closed the channel: "closed locally".
    CLOSED_LOCALLY = "closed locally"
    #: Something the caller threw into the wait (``gevent.Timeout``, ``kill``): raise it as
    #: it is, and leave the connection as it was.
    THROWN_IN = "thrown in"
    #: The socket's own timeout (``socketTimeout``) passed with no progress.
    NO_PROGRESS = "no progress"
    #: The kernel reported an error on this socket.
    KERNEL_ERROR = "kernel error"


def transfer_outcome(exc: BaseException, closedLocally: bool, fromWait: bool) -> Outcome:
    """Decide what a transfer's exception *exc* means; the one place every transport asks.

    *closedLocally*: this side closed or cancelled the socket or the channel (then nothing
    else matters: a reset the close itself provoked is no failure to report). *fromWait*:
    *exc* came out of a wait for readiness rather than out of the kernel call. A wait ends in
    an exception for three reasons only: a local close (``cancel_wait_ex``), the socket's own
    timeout (:class:`~greensock._gevent.NoProgress`, which nothing else raises), or whatever
    the caller threw in. A kernel call fails for two: the descriptor is gone (EBADF, closed
    locally) or the kernel says why.
    """
    if closedLocally:
        return Outcome.CLOSED_LOCALLY
    if fromWait:
        return Outcome.NO_PROGRESS if isinstance(exc, NoProgress) else Outcome.THROWN_IN
    if closed_by_another_greenlet(exc):
        return Outcome.CLOSED_LOCALLY
    return Outcome.KERNEL_ERROR


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
