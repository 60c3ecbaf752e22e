"""Applying socket options to a kernel socket (``setsockopt``), for every transport.

The transports call :func:`apply_options` once on a fresh socket, before ``bind``/``connect``
(buffer sizes only shape the TCP window when set before the handshake), and
:func:`apply_accepted` on accepted sockets.
"""

from __future__ import annotations

import errno
import socket
import struct
import sys
from typing import Any

from .options import (
    AcceptorOptions,
    SocketOptions,
)

__all__ = ["apply_accepted", "apply_options"]

_LINGER = struct.Struct("ii")

# The JDK turns SO_REUSEADDR on for every server socket except on Windows, where it would let
# another process steal the port; ktor inherits that, and SPEC section 5 asks for it.
_LISTENERS_REUSE_ADDRESS = sys.platform != "win32"


def apply_options(sock: Any, options: SocketOptions) -> None:
    """Set the socket options ``options`` asks for on ``sock``, a fresh socket.

    Call once, before ``bind``/``connect``. What is set depends on the kind of ``options``
    and on ``sock.family``/``sock.type``; an option at its "not set" value is not touched,
    so the system default stays:

    - every kind, IP sockets only: ``SO_REUSEADDR`` when ``reuseAddress`` (and always for
      ``AcceptorOptions`` on a TCP socket, except on Windows), ``SO_REUSEPORT`` when
      ``reusePort``, ``IP_TOS`` (IPv4) or ``IPV6_TCLASS`` (IPv6, plus ``IP_TOS`` for
      IPv4-mapped traffic where the system allows) unless ``typeOfService`` is UNDEFINED;
    - ``PeerSocketOptions``: ``SO_SNDBUF``/``SO_RCVBUF`` when > 0;
    - ``AcceptorOptions``: ``TCP_NODELAY`` on the listening TCP socket over IP, which its
      accepted connections inherit where the system passes it on (Linux, the BSDs);
    - ``TCPClientSocketOptions``: ``TCP_NODELAY`` when ``noDelay`` (TCP over IP only),
      ``SO_LINGER`` when ``lingerSeconds`` >= 0, ``SO_KEEPALIVE`` unless ``keepAlive`` is
      None (IP only);
    - ``UDPSocketOptions``: ``SO_BROADCAST`` when ``broadcast`` (IP only).

    Unix domain sockets get only the buffer sizes and linger. ``backlogSize`` and
    ``socketTimeout`` are for the transport. Raises ``OSError`` from the kernel, and
    ``OSError`` (``ENOPROTOOPT``) for ``reusePort`` where the platform has no SO_REUSEPORT.
    """
    # The kernel socket, under a KernelSocket or as it is: its family and type are
    # plain ints, where gevent's properties build enums, and its setsockopt is a C call.
    sock = getattr(sock, "raw", sock)
    inet = sock.family in (socket.AF_INET, socket.AF_INET6)
    tcp = inet and sock.type == socket.SOCK_STREAM

    # The values by name, each kind holding exactly its own options: an option a kind lacks
    # reads as its "not set" value below. (One dict lookup each, where the attributes and
    # the kind tests cost a Python call apiece, on every connect.)
    values = options._values
    if inet:
        if values["reuseAddress"] or (
            tcp and isinstance(options, AcceptorOptions) and _LISTENERS_REUSE_ADDRESS
        ):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if values["reusePort"]:
            sock.setsockopt(socket.SOL_SOCKET, _so_reuseport(), 1)
        tos = values["typeOfService"]._value
        if tos:  # 0 is UNDEFINED
            _set_type_of_service(sock, tos)

    if values.get("sendBufferSize", 0) > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, values["sendBufferSize"])
    if values.get("receiveBufferSize", 0) > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, values["receiveBufferSize"])

    # A listener's TCP_NODELAY is for its connections: see apply_accepted.
    if tcp and (values.get("noDelay") or isinstance(options, AcceptorOptions)):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lingerSeconds = values.get("lingerSeconds", -1)
    if lingerSeconds >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER.pack(1, lingerSeconds))
    keepAlive = values.get("keepAlive")
    if inet and keepAlive is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(keepAlive))

    if inet and values.get("broadcast"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)


def apply_accepted(sock: Any, family: int | None = None, check: bool = True) -> bool:
    """Make sure an accepted connection has ``TCP_NODELAY`` (TCP over IP only).

    True when nothing had to be set: a socket that is no TCP over IP, or one that inherited
    ``TCP_NODELAY`` from its listener (:func:`apply_options` sets it there). Where the
    system passes it on, a server that saw it once need not check again: every later
    connection inherits it too, which spares a system call per accept. Where it does not,
    the server passes ``check=False`` from then on: set without asking first. Everything
    else an accepted socket inherits from its listener in the kernel. A caller that passes
    *family* (the listener's) vouches for a stream socket, and saves asking the socket twice.
    """
    if family is None:
        if sock.type != socket.SOCK_STREAM:
            return True
        family = sock.family
    if family not in (socket.AF_INET, socket.AF_INET6):
        return True
    kernel = getattr(sock, "raw", sock)
    if check and kernel.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY):
        return True
    kernel.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return False


def _so_reuseport() -> int:
    option: int | None = getattr(socket, "SO_REUSEPORT", None)
    if option is None:
        raise OSError(
            errno.ENOPROTOOPT, "reusePort: this platform has no SO_REUSEPORT socket option"
        )
    return option


def _set_type_of_service(sock: socket.socket, tos: int) -> None:
    if sock.family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        return
    tclass: int | None = getattr(socket, "IPV6_TCLASS", None)
    if tclass is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, tclass, tos)
    # Traffic of a dual-stack socket to an IPv4(-mapped) peer is marked with IP_TOS; not
    # every system lets an IPv6 socket set it, and the IPv6 class above is what was asked.
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
    except OSError:
        pass
