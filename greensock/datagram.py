"""``Datagram``, one UDP packet and its address, and the channels of datagrams a datagram
socket offers as ``incoming`` and ``outgoing`` (SPEC section 8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from zope.interface import implementer

from .addresses import InetSocketAddress, SocketAddress
from .errors import ClosedReceiveChannelException
from .interfaces import IDatagramReceiveChannel, IDatagramSendChannel
from .jobs import CompletionHandler

__all__ = ["MAX_DATAGRAM_SIZE", "Datagram", "DatagramReceiveChannel", "DatagramSendChannel"]

#: The largest packet a ``Datagram`` holds: the 16-bit length of UDP. The kernel refuses less
#: than that on the wire (65507 bytes over IPv4, 65527 over IPv6); ``send`` says so.
MAX_DATAGRAM_SIZE = 65535

# Bytes of a packet shown by repr(); a 10 kB payload would drown the address.
_REPR_BYTES = 32


class Datagram:
    """A UDP datagram: ``packet`` (``bytes``) targeted to, or received from, ``address``.

    ``Datagram(packet, address)`` takes any bytes-like ``packet`` (copied into ``bytes``, so
    later changes to a ``bytearray`` do not show) and a :class:`SocketAddress`. Immutable
    (``packet`` and ``address`` are read-only, and no attribute can be added), equal and
    hashable by value; unpacks as ``packet, address = datagram``. A received datagram
    carries the sender's address.

    Raises ``TypeError`` when ``packet`` is not bytes-like (a ``str`` must be encoded first)
    or ``address`` is no ``SocketAddress``, and ``ValueError`` for a packet over
    :data:`MAX_DATAGRAM_SIZE` bytes.
    """

    __slots__ = ("_address", "_packet")
    __match_args__ = ("packet", "address")

    _packet: bytes
    _address: SocketAddress

    def __init__(self, packet: bytes | bytearray | memoryview, address: SocketAddress) -> None:
        if not isinstance(packet, bytes):
            try:
                packet = bytes(memoryview(packet))
            except TypeError:
                raise TypeError(
                    f"a Datagram packet must be bytes-like, not {type(packet).__name__}"
                    + (" (encode the text first)" if isinstance(packet, str) else "")
                ) from None
        if len(packet) > MAX_DATAGRAM_SIZE:
            raise ValueError(
                f"datagram size limit exceeded: {len(packet)} of at most {MAX_DATAGRAM_SIZE} bytes"
            )
        # The exact-type test first: the ABC's isinstance costs more than the rest of __init__.
        if type(address) is not InetSocketAddress and not isinstance(address, SocketAddress):
            raise TypeError(
                f"a Datagram address must be a SocketAddress, not {type(address).__name__}"
            )
        self._packet = packet
        self._address = address

    @property
    def packet(self) -> bytes:
        """The payload."""
        return self._packet

    @property
    def address(self) -> SocketAddress:
        """Where the datagram goes (to send) or where it came from (received)."""
        return self._address

    def __iter__(self) -> Iterator[Any]:
        """Yield ``packet`` then ``address``, so that ``packet, address = datagram`` works."""
        yield self._packet
        yield self._address

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Datagram):
            return NotImplemented
        return self._packet == other._packet and self._address == other._address

    def __hash__(self) -> int:
        return hash((Datagram, self._packet, self._address))

    def __repr__(self) -> str:
        packet = self._packet
        shown = repr(packet) if len(packet) <= _REPR_BYTES else f"<{len(packet)} bytes>"
        return f"Datagram({shown}, {self._address!r})"

    def __reduce__(self) -> tuple[type[Datagram], tuple[bytes, SocketAddress]]:
        return (Datagram, (self._packet, self._address))


class DatagramEndpoint(Protocol):
    """What ``incoming`` and ``outgoing`` use of their datagram socket."""

    @property
    def isClosed(self) -> bool:
        """True once the socket is closed."""

    def receive(self, timeout: float | None = None) -> Datagram:
        """Block for the next datagram."""

    def send(self, datagram: Datagram) -> None:
        """Send *datagram*."""

    def _close(self, cause: BaseException | None) -> bool:
        """Close the socket, its close handler getting *cause*; False if already closed."""

    def _invokeOnClose(self, handler: CompletionHandler) -> None:
        """Register the one close handler."""


@implementer(IDatagramReceiveChannel)
class DatagramReceiveChannel:
    """A datagram socket's ``incoming``: ``receive``, and iteration until the socket closes."""

    __slots__ = ("_socket",)

    def __init__(self, socket: DatagramEndpoint) -> None:
        self._socket = socket

    def __repr__(self) -> str:
        return f"<incoming of {self._socket!r}>"

    @property
    def isClosedForReceive(self) -> bool:
        """True once the socket is closed: :meth:`receive` would raise."""
        return self._socket.isClosed

    def receive(self, timeout: float | None = None) -> Datagram:
        """The socket's :meth:`DatagramSocket.receive`."""
        return self._socket.receive(timeout)

    def __iter__(self) -> Iterator[Datagram]:
        """Yield received datagrams until the socket is closed (from any greenlet)."""
        receive = self._socket.receive
        while True:
            try:
                datagram = receive()
            except ClosedReceiveChannelException:
                return
            yield datagram


@implementer(IDatagramSendChannel)
class DatagramSendChannel:
    """A datagram socket's ``outgoing``: ``send``, ``close(cause)`` and one close handler."""

    __slots__ = ("_socket",)

    def __init__(self, socket: DatagramEndpoint) -> None:
        self._socket = socket

    def __repr__(self) -> str:
        return f"<outgoing of {self._socket!r}>"

    @property
    def isClosedForSend(self) -> bool:
        """True once the socket is closed: :meth:`send` would raise."""
        return self._socket.isClosed

    def send(self, datagram: Datagram) -> None:
        """The socket's :meth:`DatagramSocket.send`."""
        self._socket.send(datagram)

    def close(self, cause: BaseException | None = None) -> bool:
        """Close the whole socket, the close handler getting *cause*; False if already closed."""
        return self._socket._close(cause)

    def invokeOnClose(self, handler: CompletionHandler) -> None:
        """Register the one ``handler(cause)`` called when the socket closes.

        It is called once: synchronously by the close (``cause`` None unless the socket was
        closed through :meth:`close` with a cause), or at once if the socket is already
        closed. A second registration raises RuntimeError; a non-callable TypeError.
        """
        self._socket._invokeOnClose(handler)
