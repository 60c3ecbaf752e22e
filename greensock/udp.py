r"""UDP sockets (SPEC section 8): bound and connected datagram sockets, and how to make them.

Both kinds are :class:`~greensock.datagramsocket.DatagramSocket`\ s. A
:class:`ConnectedDatagramSocket` adds a peer — the kernel socket is ``connect``-ed, so the
kernel itself drops datagrams from anyone else — and a write channel whose every flush is
one datagram.
"""

from __future__ import annotations

import ipaddress
import socket as stdsocket
from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from ._gevent import KernelSocket
from .addresses import InetSocketAddress, SocketAddress, family_of, from_sockaddr
from .datagramsocket import (
    ADDRESS_CACHE_SIZE,
    MAX_IPV4_PAYLOAD,
    MAX_IPV6_PAYLOAD,
    DatagramSocket,
)
from .dialing import bind
from .errors import naming_target
from .interfaces import IBoundDatagramSocket, IConnectedDatagramSocket
from .jobs import ReaderJob
from .options import UDPSocketOptions
from .resolve import datagram_sockaddr, same_endpoint
from .socketchannels import DatagramWriteChannel
from .sockopts import apply_options

__all__ = [
    "MAX_IPV4_PAYLOAD",
    "MAX_IPV6_PAYLOAD",
    "BoundDatagramSocket",
    "ConnectedDatagramSocket",
    "udp_bind",
    "udp_connect",
]


@implementer(IBoundDatagramSocket)
class BoundDatagramSocket(DatagramSocket):
    """A UDP socket bound to a local address, exchanging datagrams with anyone."""

    __slots__ = ("_destinations",)

    def __init__(self, selector: Any, sock: Any) -> None:
        self._destinations: dict[SocketAddress, Any] = {}
        super().__init__(selector, sock)

    def _destination(self, address: SocketAddress) -> Any:
        sockaddr = self._destinations.get(address)
        if sockaddr is None:
            sockaddr = datagram_sockaddr(address, self._family, "sending to")[1]
            if family_of(address) is None:
                return sockaddr  # a host name: resolved again each time, as DNS may change
            if len(self._destinations) >= ADDRESS_CACHE_SIZE:
                self._destinations.clear()
            self._destinations[address] = sockaddr
        self._lastAddress, self._lastSockaddr = address, sockaddr
        return sockaddr


@implementer(IConnectedDatagramSocket)
class ConnectedDatagramSocket(DatagramSocket):
    """A UDP socket connected to one peer; the kernel drops datagrams from anyone else.

    As a byte stream, received payloads are concatenated in order and each flush of the
    write channel goes out as one datagram.
    """

    __slots__ = ("_maxPayload", "_requested", "remoteAddress")

    def __init__(self, selector: Any, sock: Any, requested: SocketAddress) -> None:
        self.remoteAddress: SocketAddress = from_sockaddr(sock.family, sock.getpeername())
        #: The peer as given to connect (perhaps a host name): sending to it needs no check.
        self._requested = requested
        self._maxPayload = max_payload(self.remoteAddress)
        super().__init__(selector, sock)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.localAddress} -> {self.remoteAddress} {state}>"

    def _destination(self, address: SocketAddress) -> Any:
        if address != self.remoteAddress and address != self._requested:
            sockaddr = datagram_sockaddr(address, self._family, "sending to")[1]
            if not same_endpoint(self._family, sockaddr, self._sock.getpeername()):
                raise ValueError(
                    f"this socket is connected to {self.remoteAddress}; it cannot send to {address}"
                )
        self._lastAddress, self._lastSockaddr = address, None
        return None

    def openWriteChannel(self, autoFlush: bool = False) -> DatagramWriteChannel:
        """A byte channel whose every flush goes to the peer as one datagram.

        Once per socket (RuntimeError the second time, or after :meth:`attachForWriting`);
        ClosedChannelException on a closed socket.
        """
        self._checkOpen()
        if self._writer is not None:
            raise RuntimeError("the write side of this socket is already open (once per socket)")
        writer = self._writer = DatagramWriteChannel(autoFlush)
        writer._owner = self
        return self._writer

    def attachForWriting(self, channel: Any) -> ReaderJob:
        """Pump bytes written to *channel* to the peer; each time it runs dry is a datagram."""
        sink = self.openWriteChannel()
        return ReaderJob(lambda: channel.copyAndClose(sink), channel)


def max_payload(peer: SocketAddress) -> int:
    """The largest UDP payload to *peer*: IPv4's, or IPv6's unless it is IPv4-mapped."""
    assert isinstance(peer, InetSocketAddress)
    ip = ipaddress.ip_address(peer.hostname.partition("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return MAX_IPV6_PAYLOAD
    return MAX_IPV4_PAYLOAD



# -- the builders' entry points -------------------------------------------------------------


def _open(family: int, options: UDPSocketOptions, setup: Callable[[Any], object]) -> Any:
    """A datagram socket of *family* with *options* applied, then *setup* (bind, connect);
    closed again if either fails."""
    sock = KernelSocket.open(family, stdsocket.SOCK_DGRAM)
    try:
        apply_options(sock, options)
        setup(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def udp_bind(
    selector: Any, hostOrAddress: Any, port: int, options: UDPSocketOptions
) -> BoundDatagramSocket:
    """Bind a datagram socket; ``None`` for the host is the IPv4 wildcard address."""
    if hostOrAddress is None:
        hostOrAddress = "0.0.0.0"
    address = (
        hostOrAddress
        if isinstance(hostOrAddress, SocketAddress)
        else InetSocketAddress(hostOrAddress, port)
    )
    family, sockaddr = datagram_sockaddr(address, doing="binding")
    selector._checkUsable()  # resolving may have let another greenlet close the selector
    sock = _open(family, options, lambda sock: bind(sock, address, family, sockaddr))
    return BoundDatagramSocket(selector, sock)


def udp_connect(
    selector: Any,
    remoteAddress: Any,
    localAddress: Any,
    options: UDPSocketOptions,
) -> ConnectedDatagramSocket:
    """A datagram socket connected to *remoteAddress*, bound to *localAddress* when given.

    Without *localAddress* the kernel picks the local address and an ephemeral port.
    """
    if localAddress is None:
        family, peer = datagram_sockaddr(remoteAddress, doing="connecting to")
        here = None
    else:
        family, here = datagram_sockaddr(localAddress, doing="binding")
        peer = datagram_sockaddr(remoteAddress, family, "connecting to")[1]

    def setup(sock: Any) -> None:
        if here is not None:
            bind(sock, localAddress, family, here)
        try:
            sock.connect(peer)
        except OSError as exc:
            naming_target(exc, "connecting to", remoteAddress, family, peer)
            raise

    selector._checkUsable()
    return ConnectedDatagramSocket(selector, _open(family, options, setup), remoteAddress)
