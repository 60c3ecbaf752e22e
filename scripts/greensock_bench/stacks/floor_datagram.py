"""The floor plus greensock's ``Datagram`` objects: what the datagram API itself costs on W5.

A diagnostic stack, not run unless asked for (``--stacks floor-datagram``). It answers one
question: is greensock's distance from raw gevent on the UDP echo its own code, or the
objects the SPEC's datagram API makes? It runs the ``floor`` (kernel calls and gevent's C
wait, nothing else) and adds exactly those objects, made as cheaply as greensock makes them:

- each receive returns a ``Datagram`` holding the kernel's bytes and the sender's
  ``InetSocketAddress``, remembered from the last datagram, built without re-checking
  (greensock's ``DatagramSocket._receive`` does the same);
- each client send builds ``Datagram(payload, peer)`` through the public constructor, as a
  program using the API does, and the send reads its packet and address back.

Where this stack is behind raw gevent, no implementation of the API on gevent can be ahead.
It only runs W5: the TCP workloads have no datagram objects to measure.
"""

from __future__ import annotations

import socket
from typing import Any

from greensock import Datagram, InetSocketAddress
from greensock.addresses import to_sockaddr
from greensock.datagram import MAX_DATAGRAM_SIZE

from .. import workloads_sync
from ..child import Control
from ..protocol import HOST, WORKLOADS, Params
from .flat_socket import FlatSocket
from .gevent_raw import RawAdapter

_newObject = object.__new__


class DatagramObjectSocket:
    """A FlatSocket UDP socket whose sends and receives go through ``Datagram`` objects."""

    def __init__(self, peer_port: int) -> None:
        self._sock = FlatSocket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((HOST, 0))
        self.port: int = self._sock.getsockname()[1]
        self._peer = InetSocketAddress(HOST, peer_port)
        # The one peer of the echo, in both forms: greensock remembers the last one too.
        self._lastSockaddr: Any = (HOST, peer_port)
        self._lastAddress: Any = self._peer

    def _receive(self) -> Datagram:
        packet, sockaddr = self._sock.recvfrom(MAX_DATAGRAM_SIZE)
        if sockaddr != self._lastSockaddr:
            self._lastSockaddr, self._lastAddress = sockaddr, InetSocketAddress(*sockaddr)
        datagram = _newObject(Datagram)
        datagram._packet = packet
        datagram._address = self._lastAddress
        return datagram

    def _send(self, datagram: Datagram) -> None:
        address = datagram._address
        if address is self._lastAddress:
            sockaddr = self._lastSockaddr
        else:
            sockaddr = to_sockaddr(address)
        self._sock.sendto(datagram._packet, sockaddr)

    def echo_once(self) -> None:
        """Send one received datagram back to its sender."""
        self._send(self._receive())

    def roundtrip(self, payload: bytes) -> None:
        """Send a new ``Datagram`` of *payload* to the peer and wait for the answer."""
        self._send(Datagram(payload, self._peer))
        self._receive()


class DatagramObjectAdapter(RawAdapter):
    """The floor's adapter, whose UDP sockets make ``Datagram`` objects."""

    def udp_bind(self, peer_port: int = 0) -> DatagramObjectSocket:
        """A UDP socket on 127.0.0.1."""
        return DatagramObjectSocket(peer_port)


def adapter(variant: str) -> DatagramObjectAdapter:
    """The adapter of the stack (no variants)."""
    return DatagramObjectAdapter(FlatSocket)


def missing() -> dict[str, str]:
    """Every workload kind but the UDP echo: this stack measures datagram objects only."""
    kinds = {workload.kind for workload in WORKLOADS.values()} - {"udp"}
    return dict.fromkeys(sorted(kinds), "diagnostic of the datagram API: W5 only")


def main(role: str, params: Params, control: Control, variant: str) -> dict[str, float] | None:
    """Run one side of W5 on the floor with ``Datagram`` objects."""
    return workloads_sync.main(adapter(variant), role, params, control)
