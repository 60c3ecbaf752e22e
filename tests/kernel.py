"""What a process holds for greensock's sockets, seen from outside: kernel sockets found by
their public addresses, gevent's watchers on a descriptor, objects left alive.

Tests that check what reached the kernel (socket options, a released descriptor) ask the
kernel, not greensock's private fields: :func:`descriptors` lists this process's sockets
(psutil), keeps those of the same family and type whose own ``getsockname`` and
``getpeername`` match the greensock socket's public ``localAddress`` and ``remoteAddress``
(none for listeners and unconnected datagram sockets), and :func:`kernel_socket` hands a
duplicate of the one that matched to ``getsockopt``/``setsockopt``; a duplicate shares the
socket's options, and closing it leaves the socket open.

Works for TCP over IPv4 and IPv6, Unix stream sockets, UDP, and listening, accepted and
connected sockets alike. The socket must be unambiguous: two unnamed Unix clients of one
server, or two listeners sharing a port, look the same from outside (``descriptors`` and
:func:`sockopts` cover them all; :func:`kernel_socket` and :func:`sockopt` refuse).

:func:`write_watchers` finds gevent's watchers of writability on a descriptor among the
objects alive in this process; :func:`census` and :func:`left_over` tell which objects a
piece of code left alive (with the cyclic collector off: those it could not free by
reference counting alone).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import os
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import psutil
from gevent import get_hub

from greensock import InetSocketAddress, UnixSocketAddress
from greensock.interfaces import (
    IAConnectedSocket,
    IBoundDatagramSocket,
    IConnectedDatagramSocket,
)

__all__ = [
    "census",
    "descriptors",
    "kernel_socket",
    "left_over",
    "sockopt",
    "sockopts",
    "write_watchers",
]


def _address(family: int, sockaddr: Any) -> Any:
    """What the kernel reports, as the public address type greensock uses for *family*."""
    if family in (socket.AF_INET, socket.AF_INET6):
        return InetSocketAddress(sockaddr[0], sockaddr[1])
    return UnixSocketAddress(os.fsdecode(sockaddr))


def _peer(kernel: socket.socket) -> Any:
    """The kernel socket's peer address, None when it has none (a listener, unconnected)."""
    try:
        return _address(kernel.family, kernel.getpeername())
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise
        return None


def descriptors(sock: Any) -> list[int]:
    """This process's descriptors whose kernel socket is the greensock socket *sock*'s.

    *sock* is a greensock stream or datagram socket, or a server. Read its ``localAddress``
    once before closing it (it may be read lazily, and not after a close): a closed socket
    then has no descriptor left.
    """
    datagram = IBoundDatagramSocket.providedBy(sock) or IConnectedDatagramSocket.providedBy(sock)
    kind = socket.SOCK_DGRAM if datagram else socket.SOCK_STREAM
    local = sock.localAddress
    remote = sock.remoteAddress if IAConnectedSocket.providedBy(sock) else None
    found = []
    for connection in psutil.Process().net_connections(kind="all"):
        if connection.type != kind or connection.fd < 0:
            continue
        try:
            kernel = socket.socket(fileno=os.dup(connection.fd))
        except OSError:
            continue  # closed since psutil listed it
        with kernel:
            if kernel.family != connection.family:
                continue
            if _address(kernel.family, kernel.getsockname()) == local and _peer(kernel) == remote:
                found.append(connection.fd)
    return sorted(found)


@contextlib.contextmanager
def kernel_socket(sock: Any) -> Iterator[socket.socket]:
    """A duplicate of the kernel socket under *sock*, closed on exit (the socket stays open).

    AssertionError when no descriptor or several match (see :func:`descriptors`).
    """
    found = descriptors(sock)
    assert len(found) == 1, f"{len(found)} kernel sockets match {sock!r}: {found}"
    with socket.socket(fileno=os.dup(found[0])) as kernel:
        yield kernel


def sockopt(sock: Any, level: int, option: int, buflen: int = 0) -> Any:
    """``getsockopt(level, option[, buflen])`` of the kernel socket under *sock*."""
    args = (level, option, buflen) if buflen else (level, option)
    with kernel_socket(sock) as kernel:
        return kernel.getsockopt(*args)


def sockopts(sock: Any, level: int, option: int) -> list[int]:
    """``getsockopt(level, option)`` of every kernel socket that looks like *sock*'s."""
    values = []
    for fd in descriptors(sock):
        with socket.socket(fileno=os.dup(fd)) as kernel:
            values.append(kernel.getsockopt(level, option))
    return values


def census() -> Counter[type]:
    """How many objects of each type the garbage collector tracks now (sockets, channels
    and jobs are among them): compare two with :func:`left_over`."""
    return Counter(map(type, gc.get_objects()))


def left_over(before: Counter[type], kinds: Iterable[type]) -> dict[str, int]:
    """How many more objects of each of *kinds* are alive than in the census *before*, by
    type name, leaving out those with none more: ``{}`` when all were freed."""
    now = census()
    return {kind.__name__: now[kind] - before[kind] for kind in kinds if now[kind] > before[kind]}


@functools.cache
def _io_watcher_type() -> type:
    """The type of gevent's descriptor watchers (its loop's, libev's or libuv's)."""
    with socket.socket() as sock:
        probe = get_hub().loop.io(sock.fileno(), 1)
        probe.close()
    return type(probe)


def write_watchers(fd: int) -> list[Any]:
    """gevent's watchers of writability on descriptor *fd* alive in this process.

    Found among the objects the garbage collector tracks (watchers are), by their public
    ``fd`` and ``events``: whoever made one, and wherever it is kept.
    """
    kind = _io_watcher_type()
    write = 2  # gevent's WRITE event bit, for libev and libuv alike
    return [
        watcher
        for watcher in gc.get_objects()
        if type(watcher) is kind and watcher.fd == fd and watcher.events & write
    ]
