"""Opening kernel sockets towards an address: connecting (happy eyeballs) and binding.

:func:`connect_first` connects stream sockets, :func:`bind` binds every kind of socket; both
name what they tried when they fail (:func:`~greensock.errors.naming_target`). Where the
addresses come from is :mod:`greensock.resolve`'s business.

A host name with several addresses is tried in interleaved families (RFC 8305 "happy
eyeballs"): attempts start 250 ms apart, or as soon as the previous one failed; the first
to connect wins and the others are closed. When every attempt fails, the first attempt's
exception is raised with an ``exceptions`` attribute listing every attempt's error in order.
"""

from __future__ import annotations

import errno
import os
import socket as stdsocket
import time
from collections.abc import Sequence
from typing import Any

import gevent
from gevent.event import Event

from ._gevent import KernelSocket
from .errors import naming_target
from .options import SocketOptions
from .resolve import AddrInfo
from .sockopts import apply_options

__all__ = [
    "STAGGER",
    "bind",
    "connect_first",
    "interleave_families",
]

#: Seconds between the starts of two connection attempts (RFC 8305's recommended 250 ms).
STAGGER = 0.25



def interleave_families(infos: Sequence[AddrInfo]) -> list[AddrInfo]:
    """Reorder ``getaddrinfo`` results so families alternate, the first family first."""
    if not infos:
        return []
    first = infos[0][0]
    same = [info for info in infos if info[0] == first]
    other = [info for info in infos if info[0] != first]
    ordered: list[AddrInfo] = []
    for index in range(max(len(same), len(other))):
        ordered.extend(group[index] for group in (same, other) if index < len(group))
    return ordered


def connect_first(
    infos: Sequence[AddrInfo], options: SocketOptions, target: object = None
) -> tuple[Any, Any]:
    """Connect to the first of *infos* that accepts; return ``(KernelSocket, sockaddr)``.

    Each new socket gets *options* before it connects. Attempts run in their own
    greenlets, staggered; losers are closed. Raises the first attempt's error (with
    ``exceptions``) when all fail; each attempt's error names the address it tried, and
    *target* (what the caller asked for: a host name and port) when given.
    """
    if not infos:
        raise ValueError("no address to connect to")
    ordered = interleave_families(infos) if len(infos) > 1 else infos
    if len(ordered) == 1:
        # One address (a numeric host, a Unix path): no race to run, connect right here.
        try:
            return _open(ordered[0], options, target), ordered[0][4]
        except Exception as exc:
            exc.exceptions = [exc]  # type: ignore[attr-defined]
            raise
    errors: list[BaseException | None] = [None] * len(ordered)
    winner: list[tuple[Any, Any]] = []
    settled = Event()  # a winner, or every attempt failed
    progress = Event()  # an attempt ended, either way

    def attempt(index: int, info: AddrInfo) -> None:
        try:
            sock = _open(info, options, target)
        except Exception as exc:  # noqa: BLE001 - every attempt's error is kept and reported
            errors[index] = exc
            if all(error is not None for error in errors):
                settled.set()
            progress.set()
            return
        if winner:
            sock.close()
            return
        winner.append((sock, info[4]))
        settled.set()
        progress.set()

    attempts: list[gevent.Greenlet] = []
    try:
        for index, info in enumerate(ordered):
            if settled.is_set():
                break
            progress.clear()
            attempts.append(gevent.spawn(attempt, index, info))
            if index + 1 < len(ordered):
                progress.wait(STAGGER)
        settled.wait()
    except BaseException:
        # Interrupted (a timeout, the selector closing...) maybe just after a winner connected.
        for sock, _ in winner:
            sock.close()
        raise
    finally:
        for pending in attempts:
            pending.kill(block=False)
    if winner:
        return winner[0]
    first = errors[0]
    assert first is not None
    first.exceptions = list(errors)  # type: ignore[attr-defined]
    raise first


def _open(info: AddrInfo, options: SocketOptions, target: object = None) -> Any:
    """A new kernel socket for *info* with *options* set, connected; closed if that fails."""
    family, kind, proto, _, sockaddr = info
    sock = KernelSocket.open(family, kind, proto)
    try:
        apply_options(sock, options)
        _connect(sock, sockaddr, target)
    except BaseException:
        sock.close()
        raise
    return sock


#: What a non-blocking connect answers while the TCP handshake runs.
_IN_PROGRESS = frozenset({errno.EINPROGRESS, errno.EALREADY})

#: Seconds between tries at a Unix listener whose backlog is full: the first, and the most.
_FULL_BACKLOG_RETRY = (0.001, 0.05)


def _connect(sock: Any, sockaddr: Any, target: object = None) -> None:
    """Connect the socket *sock* to a numeric *sockaddr*, parking only this greenlet.

    gevent's ``connect`` asks the kernel four times (``SO_ERROR``, ``connect``, and both
    again after the wait) and always waits. Here a handshake in progress is asked about once
    more at once: over loopback it is over by the time the first ``connect`` returns, and
    the second one says so, which saves a trip through the hub (and the write watcher that
    trip needs). Otherwise the greenlet waits until the socket is writable and asks
    ``SO_ERROR``. The wait is gevent's own, so gevent's default timeout applies and a close
    (``cancel_wait``) wakes it.

    A Unix listener whose backlog is full answers ``EAGAIN``, and nothing signals when it has
    room (the unconnected socket is writable at once: waiting on it would spin): the connect
    is tried again after a pause that doubles up to 50 ms, until the caller's timeout (or
    gevent's default one: ``TimeoutError``).
    Raises ``OSError`` (``ConnectionRefusedError``...) as the kernel says, its message
    naming *sockaddr* (and *target*, what the caller asked for, when given).
    """
    kernel = sock.raw
    pause, longest = _FULL_BACKLOG_RETRY
    deadline = None if sock.timeout is None else time.monotonic() + sock.timeout
    while True:
        result = kernel.connect_ex(sockaddr)
        if result in _IN_PROGRESS:
            result = kernel.connect_ex(sockaddr)
        if not result or result == errno.EISCONN:
            return
        if result in _IN_PROGRESS:
            sock.wait(sock.writeWatcher)
            result = kernel.getsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_ERROR)
            if not result:
                return
        elif result == errno.EAGAIN:
            if deadline is not None and time.monotonic() + pause > deadline:
                # What gevent's wait raises.
                timedOut = TimeoutError("timed out")
                raise naming_target(timedOut, "connecting to", target, kernel.family, sockaddr)
            gevent.sleep(pause)
            pause = min(pause * 2, longest)
            continue
        # OSError picks the subclass from the errno: ConnectionRefusedError...
        failure = OSError(result, os.strerror(result))
        raise naming_target(failure, "connecting to", target, kernel.family, sockaddr)


def bind(sock: Any, target: object, family: int, sockaddr: Any) -> None:
    """Bind *sock* (of *family*) to *sockaddr*, resolved from *target*, for TCP and UDP
    alike; an error (``EADDRINUSE``...) names them in its message."""
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        naming_target(exc, "binding", target, family, sockaddr)
        raise
