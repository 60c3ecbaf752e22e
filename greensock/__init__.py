"""greensock: Kotlin ktor's raw-socket API (``io.ktor.network.sockets``) for gevent.

Every call that suspends in ktor blocks only the calling greenlet here. The interfaces are
in :mod:`greensock.interfaces`; this module re-exports the public names.
"""

#: The version of greensock; setup.cfg reads it from here (``attr: greensock.__version__``).
__version__ = "0.1.0"

from .addresses import InetSocketAddress, SocketAddress, UnixSocketAddress
from .builders import SocketBuilder, TcpSocketBuilder, UDPSocketBuilder, aSocket
from .connection import Connection
from .datagram import MAX_DATAGRAM_SIZE, Datagram
from .errors import (
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedSendChannelException,
    ClosedWriteChannelException,
    ConcurrentIOException,
    ConnectTimeoutException,
    SocketTimeoutException,
    TooLongLineException,
)
from .memory import ByteChannel, ByteReadChannel
from .options import (
    AcceptorOptions,
    PeerSocketOptions,
    SocketOptions,
    TCPClientSocketOptions,
    TypeOfService,
    UDPSocketOptions,
)
from .selector import SelectorManager
from .serving import Serving, serve
from .workers import serveWorkers

__all__ = [
    "MAX_DATAGRAM_SIZE",
    "AcceptorOptions",
    "ByteChannel",
    "ByteReadChannel",
    "ClosedChannelException",
    "ClosedReadChannelException",
    "ClosedReceiveChannelException",
    "ClosedSendChannelException",
    "ClosedWriteChannelException",
    "ConcurrentIOException",
    "ConnectTimeoutException",
    "Connection",
    "Datagram",
    "InetSocketAddress",
    "PeerSocketOptions",
    "SelectorManager",
    "Serving",
    "SocketAddress",
    "SocketBuilder",
    "SocketOptions",
    "SocketTimeoutException",
    "TCPClientSocketOptions",
    "TcpSocketBuilder",
    "TooLongLineException",
    "TypeOfService",
    "UDPSocketBuilder",
    "UDPSocketOptions",
    "UnixSocketAddress",
    "aSocket",
    "serve",
    "serveWorkers",
]
