"""aSocket() and the socket builders (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from zope.interface import implementer

from .interfaces import ISocketBuilder, ITcpSocketBuilder, IUDPSocketBuilder
from .options import (
    AcceptorOptions,
    PeerSocketOptions,
    SocketOptions,
    TCPClientSocketOptions,
    UDPSocketOptions,
    configure_options,
)
from .selector import SelectorManager, default_selector
from .tcp import ServerSocket, TcpSocket, tcp_bind, tcp_connect
from .udp import udp_bind, udp_connect

__all__ = ["SocketBuilder", "TcpSocketBuilder", "UDPSocketBuilder", "aSocket"]

Configure = Callable[[Any], object] | Mapping[str, object] | None
_B = TypeVar("_B", bound="_Configurable")
_O = TypeVar("_O", bound=SocketOptions)


class _Configurable:
    """What every builder shares: a selector, an options object, configure(), tcpNoDelay()."""

    # No per-instance dict: a connect through aSocket().tcp() makes two builders.
    __slots__ = ("_noDelay", "_options", "selector")

    #: The kind of options this builder holds (SPEC section 3).
    _KIND: ClassVar[type[SocketOptions]]

    def __init__(
        self, selector: SelectorManager, options: SocketOptions | None = None, noDelay: bool = False
    ) -> None:
        self.selector = selector
        # None until first asked for: most builders are never configured, and a connect
        # through an untouched one needs no options object of its own.
        self._options = options
        self._noDelay = noDelay

    @property
    def options(self) -> Any:
        """This builder's options object (its kind's defaults until changed), mutable."""
        if self._options is None:
            self._options = self._KIND()
        return self._options

    @options.setter
    def options(self, options: SocketOptions) -> None:
        if not isinstance(options, self._KIND):
            raise TypeError(
                f"{type(self).__name__}.options must be a {self._KIND.__name__}, "
                f"not {type(options).__name__}"
            )
        self._options = options

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.options!r}>"

    def configure(self: _B, fn: Configure = None, **options: Any) -> _B:
        """Apply ``fn(options)`` and/or keyword option values; return this same builder.

        TypeError for an unknown option or a wrong type, ValueError for a value out of range.
        """
        configure_options(self.options, fn, options)
        return self

    def tcpNoDelay(self: _B) -> _B:
        """Make TCP sockets connected through this builder use TCP_NODELAY; return it."""
        self._noDelay = True
        return self

    def _converted(self, kind: type[_O]) -> _O | None:
        """A copy of this builder's options as *kind*; None while they are untouched."""
        return None if self._options is None else self._options.convertedTo(kind)

    def _optionsFor(self, kind: type[_O], configure: Configure) -> _O:
        """This builder's options as *kind* with *configure* applied, for one connect/bind.

        The transports only read what they are given: an untouched builder without
        *configure* hands them one shared set of *kind*'s defaults.
        """
        if self._options is None and configure is None:
            # tcpNoDelay() needs no copy either: noDelay is on by default.
            return _SHARED_DEFAULTS[kind]  # type: ignore[return-value]
        options: _O = self.options.convertedTo(kind)
        if self._noDelay and isinstance(options, TCPClientSocketOptions):
            options.noDelay = True
        if configure is None:
            return options
        return configure_options(options, configure)


#: One options object per kind at its defaults, shared by every connect and bind through
#: an untouched builder: never to be changed.
_SHARED_DEFAULTS: dict[type[SocketOptions], SocketOptions] = {
    kind: kind() for kind in (AcceptorOptions, TCPClientSocketOptions, UDPSocketOptions)
}


@implementer(ISocketBuilder)
class SocketBuilder(_Configurable):
    """The entry point of ``aSocket()``: holds ``SocketOptions`` shared by tcp() and udp()."""

    __slots__ = ()

    _KIND = SocketOptions

    def tcp(self) -> TcpSocketBuilder:
        """A TCP builder with its own copy of these options."""
        return TcpSocketBuilder(self.selector, self._converted(PeerSocketOptions), self._noDelay)

    def udp(self) -> UDPSocketBuilder:
        """A UDP builder with its own copy of these options."""
        return UDPSocketBuilder(self.selector, self._converted(UDPSocketOptions))


@implementer(ITcpSocketBuilder)
class TcpSocketBuilder(_Configurable):
    """Builds TCP (and Unix stream) client and server sockets."""

    __slots__ = ()

    _KIND = PeerSocketOptions

    def connect(
        self,
        hostOrAddress: Any,
        port: int | None = None,
        *,
        configure: Configure = None,
        timeout: float | None = None,
    ) -> TcpSocket:
        """Connect to a host and port, an InetSocketAddress or a UnixSocketAddress.

        ``connect("127.0.0.1", 9002)``, ``connect(InetSocketAddress(host, port))``,
        ``connect(UnixSocketAddress(path))``; *configure* (a callable or a dict) applies to
        a copy of this builder's options as ``TCPClientSocketOptions``. A host name with
        several addresses is tried happy-eyeballs style (RFC 8305).

        Blocks the calling greenlet while the name resolves and the connection is made;
        *timeout* seconds bound the whole of it, resolution included. Raises
        ConnectTimeoutException when *timeout* passes, ConnectionRefusedError for a closed
        port, socket.gaierror for a name that does not resolve or is malformed (the
        messages name the host and port tried), TypeError/ValueError for bad arguments or
        options, ClosedChannelException when the selector is closed.
        """
        # tcp_connect checks that the selector is usable as it starts building.
        options = self._optionsFor(TCPClientSocketOptions, configure)
        return tcp_connect(self.selector, hostOrAddress, port, options, timeout)

    def bind(
        self, hostOrAddress: Any = "0.0.0.0", port: int = 0, *, configure: Configure = None
    ) -> ServerSocket:
        """Listen on an address (the wildcard address on an ephemeral port by default).

        ``bind("127.0.0.1", 9002)``, ``bind(InetSocketAddress(...))``,
        ``bind(UnixSocketAddress(path))``; ``bind()`` or ``bind(None)`` is the wildcard
        address on a port the kernel picks (read it from the server's ``port``).
        *configure* applies to a copy of the options as ``AcceptorOptions``.

        Blocks the calling greenlet only while a host name resolves. Raises OSError with
        ``errno.EADDRINUSE`` for a port in use, socket.gaierror for a host name that does
        not resolve, TypeError/ValueError for bad arguments or options,
        ClosedChannelException when the selector is closed.
        """
        self.selector._checkUsable()
        options = self._optionsFor(AcceptorOptions, configure)
        return tcp_bind(self.selector, hostOrAddress, port, options)


@implementer(IUDPSocketBuilder)
class UDPSocketBuilder(_Configurable):
    """Builds UDP sockets, bound or connected."""

    __slots__ = ()

    _KIND = UDPSocketOptions

    def bind(
        self, hostOrAddress: Any = "0.0.0.0", port: int = 0, *, configure: Configure = None
    ) -> Any:
        """Bind a datagram socket (the wildcard address on an ephemeral port by default).

        The socket exchanges datagrams with anyone; *configure* applies to a copy of the
        options (``UDPSocketOptions``). Blocks the calling greenlet only while a host name
        resolves. Raises OSError with ``errno.EADDRINUSE`` for a port in use,
        socket.gaierror for a host name that does not resolve, TypeError/ValueError for bad
        arguments or options, ClosedChannelException when the selector is closed.
        """
        self.selector._checkUsable()
        options = self._optionsFor(UDPSocketOptions, configure)
        return udp_bind(self.selector, hostOrAddress, port, options)

    def connect(
        self, remoteAddress: Any, localAddress: Any = None, *, configure: Configure = None
    ) -> Any:
        """A datagram socket that exchanges datagrams with *remoteAddress* only.

        It is bound to *localAddress*, or to an ephemeral local address when None. Blocks
        the calling greenlet only while a host name resolves. Raises as :meth:`bind` does,
        the messages naming the address that failed.
        """
        self.selector._checkUsable()
        options = self._optionsFor(UDPSocketOptions, configure)
        return udp_connect(self.selector, remoteAddress, localAddress, options)


def aSocket(selector: SelectorManager | None = None) -> SocketBuilder:
    """Start building a socket; without *selector*, the calling thread's default is used.

    ``aSocket().tcp().connect(host, port)``, ``aSocket().tcp().bind(host, port)``,
    ``aSocket().udp().bind(...)``: the builder holds ``SocketOptions``, which ``tcp()`` and
    ``udp()`` copy. The sockets built through it belong to *selector* (closing it closes
    them). Blocks on nothing. Raises TypeError when *selector* is not a SelectorManager;
    the builders' ``connect`` and ``bind`` raise ClosedChannelException when the selector
    is closed, and RuntimeError when it belongs to another OS thread.
    """
    if selector is not None and not isinstance(selector, SelectorManager):
        raise TypeError(f"selector must be a SelectorManager, got {type(selector).__name__}")
    return SocketBuilder(selector if selector is not None else default_selector())
