"""Resolution: every question about where a socket goes, answered in one place.

- Is it numeric? :func:`numeric_infos` answers without the resolver for a numeric host or
  a Unix path (gevent's resolver is a thread pool: asking it for ``127.0.0.1`` costs a
  thread hand-off, and starts the pool).
- Where does ``connect``/``bind`` go? :func:`connect_target` turns the arguments into an
  address, :func:`resolve` asks the resolver for a name, :func:`bind_sockaddr` picks the
  address a listener binds.
- Where does a datagram go? :func:`datagram_sockaddr`, for a datagram socket's family.

TCP, UDP and happy eyeballs all use these; they reach the resolver through
:mod:`greensock.lookup` only. Failures name
what was being done and to which address (:func:`~greensock.errors.naming_target`).
"""

from __future__ import annotations

import errno
import functools
import socket as stdsocket
from collections.abc import Sequence
from typing import Any

from .addresses import InetSocketAddress, SocketAddress, family_of, to_sockaddr
from .errors import naming_target
from .lookup import AddrInfo, getaddrinfo

__all__ = [
    "AddrInfo",
    "bind_sockaddr",
    "connect_target",
    "datagram_sockaddr",
    "host_target",
    "numeric_infos",
    "resolve",
    "same_endpoint",
]



def connect_target(hostOrAddress: Any, port: int | None) -> SocketAddress:
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
def host_target(host: str, port: int) -> tuple[SocketAddress, tuple[AddrInfo] | None]:
    """The target of ``connect(host, port)``, and its entry when *host* is numeric.

    Kept for the last 256 pairs: a program reconnects to few hosts, and the checks and the
    parse cost more than the rest of a connect's Python. A name gives None: the resolver
    is asked at every connect, as its answers change.
    """
    target = connect_target(host, port)
    return target, numeric_infos(target, stdsocket.SOCK_STREAM)


def numeric_infos(target: SocketAddress, kind: int) -> tuple[AddrInfo] | None:
    """The one ``getaddrinfo``-shaped entry of a numeric host or a Unix path; None for a
    host name, which only the resolver can answer (see :func:`resolve`).

    A numeric host or a Unix path needs no resolution: skipping gevent's resolver (a thread
    pool by default) makes a connect to ``127.0.0.1`` several times cheaper.
    """
    family = family_of(target)
    return None if family is None else ((family, kind, 0, "", to_sockaddr(target)),)


def resolve(
    host: str, port: int, kind: int, family: int = 0, flags: int = 0, doing: str = "resolving"
) -> list[AddrInfo]:
    """The resolver's answer for *host* and *port* (:func:`greensock.lookup.getaddrinfo`),
    for connect, bind and datagrams alike.

    Raises ``socket.gaierror`` when *host* does not resolve, its message naming *host* and
    *port* and what was being done (*doing*: ``"connecting to"``, ``"binding"``...). A name
    the IDNA codec refuses (a label over 63 characters, an empty label) is one: it raises
    ``socket.gaierror`` too, never ``UnicodeError``.
    """
    try:
        return getaddrinfo(host, port, family, kind, flags)
    except stdsocket.gaierror as exc:
        naming_target(exc, doing, InetSocketAddress(host, port))
        raise


def bind_sockaddr(target: SocketAddress, kind: int) -> tuple[int, Any]:
    """The family and sockaddr a listener of *kind* binds for *target*: itself when numeric
    (or a Unix path), else the resolver's first answer for a passive socket."""
    infos: Sequence[AddrInfo] | None = numeric_infos(target, kind)
    if infos is None:
        assert isinstance(target, InetSocketAddress)
        infos = resolve(
            target._hostname, target._port, kind, flags=stdsocket.AI_PASSIVE, doing="binding"
        )
    return infos[0][0], infos[0][4]


def datagram_sockaddr(
    address: SocketAddress, family: int = 0, doing: str = "resolving"
) -> tuple[int, Any]:
    """The family and the sockaddr that ``bind``/``connect``/``sendto`` take for *address*.

    *family* is the socket's (0 while there is none yet). A numeric host is used as is, an
    IPv4 one mapped into IPv6 for an IPv6 socket (dual stack); a host name is resolved
    through gevent's resolver — never the C library's, which would block every greenlet.
    Raises TypeError for an address that is not an InetSocketAddress, ``socket.gaierror``
    for an unresolvable or malformed name (its message naming the address and what was
    being *done*: ``"binding"``, ``"sending to"``...), OSError (EAFNOSUPPORT) for an IPv6
    address on an IPv4 socket.
    """
    if not isinstance(address, InetSocketAddress):
        raise TypeError(f"UDP needs an InetSocketAddress, not {type(address).__name__}")
    literal = family_of(address)
    if literal is None:
        flags = stdsocket.AI_V4MAPPED if family == stdsocket.AF_INET6 else 0
        info = resolve(
            address._hostname, address._port, stdsocket.SOCK_DGRAM, family, flags, doing
        )[0]
        return info[0], info[4]
    if family in (0, literal):
        return literal, (address.hostname, address.port)
    if literal == stdsocket.AF_INET:
        return family, ("::ffff:" + address.hostname, address.port)
    raise OSError(errno.EAFNOSUPPORT, f"an IPv4 socket cannot reach the IPv6 address {address}")


def same_endpoint(family: int, one: Any, other: Any) -> bool:
    """Whether two sockaddrs of *family* name the same address and port, however spelt."""

    def packed(sockaddr: Any) -> bytes:
        return stdsocket.inet_pton(family, sockaddr[0].partition("%")[0])

    return bool(one[1] == other[1] and packed(one) == packed(other))
