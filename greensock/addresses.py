"""Socket addresses (SPEC section 4): ``SocketAddress`` and its two kinds.

:class:`InetSocketAddress` is a host and a port, :class:`UnixSocketAddress` a path in the
file system (or, on Linux, a name in the abstract namespace). Both are immutable values:
equal and hashable by value, safe as dictionary keys.

Two module functions translate between these values and what Python's socket layer speaks:
:func:`to_sockaddr` gives what ``socket.connect``/``bind``/``sendto`` take, and
:func:`from_sockaddr` turns what ``getsockname``/``getpeername``/``recvfrom`` return back into
an address. :func:`family_of` tells which address family a value needs without resolving it.
Transports use these three and nothing else, so the translation lives in one place.
"""

from __future__ import annotations

import abc
import errno
import functools
import os
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from .lookup import getaddrinfo

__all__ = [
    "InetSocketAddress",
    "SocketAddress",
    "UnixSocketAddress",
    "family_of",
    "from_sockaddr",
    "to_sockaddr",
]


class SocketAddress(abc.ABC):
    """An address a socket can be bound or connected to.

    Abstract: make an :class:`InetSocketAddress` or a :class:`UnixSocketAddress`. Every
    address is immutable; assigning an attribute raises ``AttributeError``.
    """

    __slots__ = ()

    # Hidden from type checkers, which then flag assignments statically too.
    if not TYPE_CHECKING:

        def __setattr__(self, name: str, value: object) -> NoReturn:
            raise AttributeError(f"{type(self).__name__} is immutable; cannot set {name!r}")

        def __delattr__(self, name: str) -> NoReturn:
            raise AttributeError(f"{type(self).__name__} is immutable; cannot delete {name!r}")

    @abc.abstractmethod
    def __eq__(self, other: object) -> bool:
        """Equal to an address of the same kind with the same value."""

    @abc.abstractmethod
    def __hash__(self) -> int:
        """Hash by value, consistent with equality."""


class InetSocketAddress(SocketAddress):
    """An IP socket address: a host name or numeric address, and a port.

    ``hostname`` is a ``str`` — a name such as ``"example.org"`` or a numeric IPv4/IPv6
    address — kept as given (no resolution happens here). It may also be the raw bytes of an
    address: 4 bytes for IPv4, 16 for IPv6, turned into the numeric text form
    (``InetSocketAddress(b"\\x7f\\x00\\x00\\x01", 80).hostname == "127.0.0.1"``).

    The value unpacks as ``host, port = address`` and supports ``match``.

    Raises ``TypeError`` when ``hostname`` is neither ``str`` nor bytes or ``port`` is not an
    ``int`` (``bool`` included), ``ValueError`` for raw bytes of another length than 4 or 16,
    for a hostname containing a NUL character and for a port outside 0..65535.
    """

    __slots__ = ("_hostname", "_port")
    __match_args__ = ("hostname", "port")

    _hostname: str
    _port: int

    def __init__(self, hostname: str | bytes | bytearray, port: int) -> None:
        _set(self, "_hostname", _check_hostname(hostname))
        _set(self, "_port", _check_port(port))

    @property
    def hostname(self) -> str:
        """The host name or numeric address, as given (raw bytes given as numeric text)."""
        return self._hostname

    @property
    def port(self) -> int:
        """The port, 0..65535 (0 asks ``bind`` for an ephemeral port)."""
        return self._port

    def copy(
        self, hostname: str | bytes | bytearray | None = None, port: int | None = None
    ) -> InetSocketAddress:
        """Return an address with ``hostname`` and/or ``port`` replaced (None keeps it)."""
        return InetSocketAddress(
            self._hostname if hostname is None else hostname,
            self._port if port is None else port,
        )

    def resolveAddress(self) -> bytes | None:
        """Return the raw address: 4 bytes (IPv4) or 16 bytes (IPv6), or None if unresolvable.

        A numeric hostname is converted without any lookup (an IPv6 zone such as ``%eth0`` is
        ignored). A name is resolved through gevent's resolver, so this blocks only the
        calling greenlet; the first address the resolver returns wins. Every failure to
        resolve (unknown name, empty name, name not encodable) gives None.
        """
        literal = _parse_literal(self._hostname)
        if literal is not None:
            return literal[1]
        try:
            infos = getaddrinfo(self._hostname, None, 0, socket.SOCK_STREAM)
        except OSError:
            return None
        for family, _type, _proto, _canonname, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                parsed = _parse_literal(sockaddr[0])
                if parsed is not None:
                    return parsed[1]
        return None

    def __iter__(self) -> Iterator[Any]:
        """Yield ``hostname`` then ``port``, so that ``host, port = address`` works."""
        yield self._hostname
        yield self._port

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InetSocketAddress):
            return NotImplemented
        return self._hostname == other._hostname and self._port == other._port

    def __hash__(self) -> int:
        return hash((InetSocketAddress, self._hostname, self._port))

    def __repr__(self) -> str:
        return f"InetSocketAddress({self._hostname!r}, {self._port})"

    def __str__(self) -> str:
        if ":" in self._hostname:
            return f"[{self._hostname}]:{self._port}"
        return f"{self._hostname}:{self._port}"

    def __reduce__(self) -> tuple[type[InetSocketAddress], tuple[str, int]]:
        return (InetSocketAddress, (self._hostname, self._port))


class UnixSocketAddress(SocketAddress):
    """A Unix domain socket address: a path in the file system.

    ``path`` is a ``str``; an ``os.PathLike`` or ``bytes`` is accepted and converted with
    :func:`os.fspath`/:func:`os.fsdecode`. A path starting with ``"\\0"`` names a socket in
    Linux's abstract namespace (no file is created). The empty path stands for an unnamed
    socket — what the kernel reports for a client that never bound (binding it on Linux
    picks a free abstract name).

    Raises ``TypeError`` for any other type and ``ValueError`` for a file-system path with a
    NUL character inside it (only the abstract namespace may contain NULs).
    """

    __slots__ = ("_path",)
    __match_args__ = ("path",)

    _path: str

    def __init__(self, path: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise TypeError(
                f"UnixSocketAddress path must be str, bytes or os.PathLike, "
                f"not {type(path).__name__}"
            )
        text = os.fsdecode(path)
        if "\0" in text and not text.startswith("\0"):
            raise ValueError(
                f"UnixSocketAddress path {text!r} contains a NUL character; only an abstract "
                f"name (starting with '\\0') may"
            )
        _set(self, "_path", text)

    @property
    def path(self) -> str:
        """The path; ``"\\0..."`` for Linux's abstract namespace, ``""`` for an unnamed socket."""
        return self._path

    @staticmethod
    def isSupported() -> bool:
        """Tell whether this platform has Unix domain sockets (``socket.AF_UNIX``)."""
        return hasattr(socket, "AF_UNIX")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnixSocketAddress):
            return NotImplemented
        return self._path == other._path

    def __hash__(self) -> int:
        return hash((UnixSocketAddress, self._path))

    def __repr__(self) -> str:
        return f"UnixSocketAddress({self._path!r})"

    def __str__(self) -> str:
        # "@name" is how ss(8) and netstat(8) show the abstract namespace.
        if self._path.startswith("\0"):
            return "@" + self._path[1:]
        return self._path or "<unnamed>"

    def __reduce__(self) -> tuple[type[UnixSocketAddress], tuple[str]]:
        return (UnixSocketAddress, (self._path,))


def to_sockaddr(address: SocketAddress) -> tuple[str, int] | str:
    """Return what ``socket.connect``/``bind``/``sendto`` take for ``address``.

    An :class:`InetSocketAddress` gives ``(hostname, port)`` — a name in it is resolved by
    the socket call itself, so transports that want control over resolution resolve first.
    A :class:`UnixSocketAddress` gives its path, a leading ``"\\0"`` (abstract namespace)
    included: Python passes that through as is. Raises ``TypeError`` for anything else.
    """
    if isinstance(address, InetSocketAddress):
        return (address._hostname, address._port)
    if isinstance(address, UnixSocketAddress):
        return address.path
    raise TypeError(f"expected a SocketAddress, not {type(address).__name__}")


def from_sockaddr(family: int, sockaddr: Any) -> SocketAddress:
    """Turn what ``getsockname``/``getpeername``/``recvfrom`` returned into an address.

    For ``AF_INET``/``AF_INET6``, an :class:`InetSocketAddress` with the numeric host as the
    kernel reports it (IPv4-mapped IPv6 addresses stay in their IPv6 form, a zone the
    host text carries stays); the IPv6 flow info and scope id of the tuple are dropped.
    For ``AF_UNIX``, a :class:`UnixSocketAddress`: the abstract names the kernel reports as
    ``bytes`` become a ``str`` starting with ``"\\0"``, an unnamed socket the empty path.
    Raises ``ValueError`` for another family.
    """
    if family in (socket.AF_INET, socket.AF_INET6):
        # What the kernel reports needs none of the constructor's checks: a connect and an
        # accept make one each, and the checks were most of their cost.
        address = _new(InetSocketAddress)
        _set(address, "_hostname", sockaddr[0])
        _set(address, "_port", sockaddr[1])
        return address
    if family == getattr(socket, "AF_UNIX", None):
        return UnixSocketAddress(sockaddr)
    raise ValueError(f"unsupported address family {family!r}")


def family_of(address: SocketAddress) -> socket.AddressFamily | None:
    """Tell which address family ``address`` needs, without resolving anything.

    ``AF_UNIX`` for a :class:`UnixSocketAddress`; ``AF_INET`` or ``AF_INET6`` for an
    :class:`InetSocketAddress` whose hostname is a numeric address; None for a host name,
    which must be resolved to know. Raises ``TypeError`` for anything else, and ``OSError``
    (``EAFNOSUPPORT``) for a Unix address where the platform has no Unix sockets.
    """
    if isinstance(address, InetSocketAddress):
        literal = _parse_literal(address._hostname)
        return None if literal is None else literal[0]
    if isinstance(address, UnixSocketAddress):
        if not UnixSocketAddress.isSupported():
            raise OSError(errno.EAFNOSUPPORT, "Unix domain sockets are not supported here")
        return socket.AF_UNIX
    raise TypeError(f"expected a SocketAddress, not {type(address).__name__}")


# Addresses are immutable: their own __setattr__ refuses, so fields are set through object's.
_new = object.__new__
_set = object.__setattr__


def _check_hostname(hostname: object) -> str:
    if isinstance(hostname, str):
        if "\0" in hostname:
            raise ValueError(f"InetSocketAddress hostname {hostname!r} contains a NUL character")
        return hostname
    if isinstance(hostname, (bytes, bytearray)):
        if len(hostname) == 4:
            return socket.inet_ntop(socket.AF_INET, bytes(hostname))
        if len(hostname) == 16:
            return socket.inet_ntop(socket.AF_INET6, bytes(hostname))
        raise ValueError(f"a raw address is 4 bytes (IPv4) or 16 bytes (IPv6), not {len(hostname)}")
    raise TypeError(
        f"InetSocketAddress hostname must be str or bytes, not {type(hostname).__name__}"
    )


def _check_port(port: object) -> int:
    if type(port) is int and 0 <= port <= 0xFFFF:
        return port  # the common case, in one test
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"InetSocketAddress port must be int, not {type(port).__name__}")
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port} is outside 0..65535")
    return int(port)


# Kept for the last hosts seen: a program connects to few hosts, many times each.
@functools.lru_cache(maxsize=256)
def _parse_literal(host: str) -> tuple[socket.AddressFamily, bytes] | None:
    """Return the family and raw bytes of a numeric address, None for anything else."""
    try:
        return socket.AF_INET, socket.inet_pton(socket.AF_INET, host)
    except (OSError, ValueError):
        pass
    # An IPv6 zone ("fe80::1%eth0") selects an interface; it is not part of the address.
    try:
        return socket.AF_INET6, socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
    except (OSError, ValueError):
        return None
