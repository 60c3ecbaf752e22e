"""Pin the declarations of ``greensock.interfaces`` against the SPEC.

These tests are about the interfaces themselves, not about greensock's objects (those are
checked with ``verifyObject`` next to their own tests). They fail when:

* an interface lacks a member the SPEC lists, has one it does not list, or declares a
  method as an attribute (or the reverse) -- ``EXPECTED_MEMBERS``;
* a method's parameter names, defaults or keyword-only markers drift from the SPEC --
  ``EXPECTED_MEMBERS`` again, checked both as zope sees the signature and in the source;
* a base is missing or extra (SPEC section 2's table) -- ``EXPECTED_BASES`` and one
  ``extends`` assertion per row;
* a member or an interface has no docstring.

Each interface is also checked with ``verifyClass``/``verifyObject`` against a small fake
declared with ``@implementer``; the fakes inherit from one another the way the interfaces
do, so a fake only carries what its own interface adds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zope.interface import Interface, implementer
from zope.interface.exceptions import Invalid
from zope.interface.interface import InterfaceClass, Method
from zope.interface.ro import ro
from zope.interface.verify import verifyClass, verifyObject

import greensock.interfaces as interfaces_module
from greensock.interfaces import (
    IABoundSocket,
    IAcceptable,
    IAConnectedSocket,
    IAReadable,
    IASocket,
    IAWritable,
    IBoundDatagramSocket,
    IByteChannel,
    IByteReadChannel,
    IByteWriteChannel,
    IConfigurable,
    IConnectedDatagramSocket,
    IConnection,
    IDatagramReadChannel,
    IDatagramReadWriteChannel,
    IDatagramReceiveChannel,
    IDatagramSendChannel,
    IDatagramWriteChannel,
    IJob,
    IReaderJob,
    IReadWriteSocket,
    ISelectorManager,
    IServerSocket,
    IServing,
    ISocket,
    ISocketBuilder,
    ITcpSocketBuilder,
    IUDPSocketBuilder,
    IWriterJob,
)

# ---------------------------------------------------------------------------------------------
# What the SPEC says
# ---------------------------------------------------------------------------------------------

#: Direct bases of every interface (SPEC section 2's table, plus the extra interfaces).
EXPECTED_BASES: dict[InterfaceClass, set[InterfaceClass]] = {
    IASocket: {Interface},
    IABoundSocket: {Interface},
    IAConnectedSocket: {IAWritable},
    IAReadable: {Interface},
    IAWritable: {Interface},
    IAcceptable: {IASocket},
    IReadWriteSocket: {IASocket, IAReadable, IAWritable},
    ISocket: {IReadWriteSocket, IABoundSocket, IAConnectedSocket},
    IServerSocket: {IASocket, IABoundSocket, IAcceptable},
    IDatagramReadChannel: {Interface},
    IDatagramWriteChannel: {Interface},
    IDatagramReadWriteChannel: {IDatagramReadChannel, IDatagramWriteChannel},
    IBoundDatagramSocket: {IASocket, IABoundSocket, IAReadable, IDatagramReadWriteChannel},
    IConnectedDatagramSocket: {
        IASocket,
        IABoundSocket,
        IAConnectedSocket,
        IReadWriteSocket,
        IDatagramReadWriteChannel,
    },
    IConfigurable: {Interface},
    IByteReadChannel: {Interface},
    IByteWriteChannel: {Interface},
    IByteChannel: {IByteReadChannel, IByteWriteChannel},
    IJob: {Interface},
    IReaderJob: {IJob},
    IWriterJob: {IJob},
    IDatagramReceiveChannel: {Interface},
    IDatagramSendChannel: {Interface},
    ISelectorManager: {Interface},
    IConnection: {Interface},
    ISocketBuilder: {IConfigurable},
    ITcpSocketBuilder: {IConfigurable},
    IUDPSocketBuilder: {IConfigurable},
    IServing: {Interface},
}

ATTRIBUTE = None  # marks an ``Attribute`` in EXPECTED_MEMBERS; a string is a method signature

_TLS = "(context=None, serverName=None, serverSide=False, timeout=None)"
_EXIT = "(exc_type, exc, tb)"
_READ_NUMBER = "(byteOrder='big')"
_WRITE_NUMBER = "(value, byteOrder='big')"

#: Members each interface declares itself (not inherited), with method signatures.
EXPECTED_MEMBERS: dict[InterfaceClass, dict[str, str | None]] = {
    IASocket: {
        "socketContext": ATTRIBUTE,
        "isClosed": ATTRIBUTE,
        "close": "()",
        "dispose": "()",
        "awaitClosed": "(timeout=None)",
        "__enter__": "()",
        "__exit__": _EXIT,
    },
    IABoundSocket: {"localAddress": ATTRIBUTE},
    IAConnectedSocket: {"remoteAddress": ATTRIBUTE},
    IAReadable: {"attachForReading": "(channel)", "openReadChannel": "()"},
    IAWritable: {"attachForWriting": "(channel)", "openWriteChannel": "(autoFlush=False)"},
    IAcceptable: {"accept": "(timeout=None)"},
    IReadWriteSocket: {},
    ISocket: {"connection": "()", "tls": _TLS},
    IServerSocket: {"port": ATTRIBUTE, "__iter__": "()"},
    IDatagramReadChannel: {"incoming": ATTRIBUTE, "receive": "(timeout=None)"},
    IDatagramWriteChannel: {"outgoing": ATTRIBUTE, "send": "(datagram)"},
    IDatagramReadWriteChannel: {},
    IBoundDatagramSocket: {},
    IConnectedDatagramSocket: {},
    IConfigurable: {
        "options": ATTRIBUTE,
        "configure": "(fn=None, **options)",
        "tcpNoDelay": "()",
    },
    IByteReadChannel: {
        "availableForRead": ATTRIBUTE,
        "isClosedForRead": ATTRIBUTE,
        "isClosedForWrite": ATTRIBUTE,
        "closedCause": ATTRIBUTE,
        "totalBytesRead": ATTRIBUTE,
        "awaitContent": "(min=1)",
        "readAvailable": "(dst, offset=0, length=None)",
        "readFully": "(dst, offset=0, length=None)",
        "readPacket": "(size)",
        "readRemaining": "(limit=None)",
        "readByte": _READ_NUMBER,
        "readShort": _READ_NUMBER,
        "readInt": _READ_NUMBER,
        "readLong": _READ_NUMBER,
        "readFloat": _READ_NUMBER,
        "readDouble": _READ_NUMBER,
        "readBoolean": _READ_NUMBER,
        "readUTF8Line": "(limit=None)",
        "readUTF8LineTo": "(out, limit=None)",
        "readUntilDelimiter": "(delimiter, dst)",
        "skipDelimiter": "(delimiter)",
        "readUntil": "(delimiter, limit=None)",
        "peek": "(count)",
        "discard": "(max=None)",
        "discardExact": "(n)",
        "copyTo": "(dst, limit=None)",
        "copyAndClose": "(dst, limit=None)",
        "joinTo": "(dst, closeOnEnd)",
        "cancel": "(cause=None)",
        "lines": "(limit=None)",
        "chunks": "(size=65536)",
    },
    IByteWriteChannel: {
        "availableForWrite": ATTRIBUTE,
        "isClosedForWrite": ATTRIBUTE,
        "autoFlush": ATTRIBUTE,
        "totalBytesWritten": ATTRIBUTE,
        "closedCause": ATTRIBUTE,
        "writeAvailable": "(src, offset=0, length=None)",
        "writeFully": "(src, offset=0, length=None)",
        "writePacket": "(data)",
        "writeByte": _WRITE_NUMBER,
        "writeShort": _WRITE_NUMBER,
        "writeInt": _WRITE_NUMBER,
        "writeLong": _WRITE_NUMBER,
        "writeFloat": _WRITE_NUMBER,
        "writeDouble": _WRITE_NUMBER,
        "writeBoolean": _WRITE_NUMBER,
        "writeStringUtf8": "(text)",
        "flush": "()",
        "flushAndClose": "()",
        "awaitFreeSpace": "()",
        "close": "(cause=None)",
        "__enter__": "()",
        "__exit__": _EXIT,
    },
    IByteChannel: {},
    IJob: {
        "isActive": ATTRIBUTE,
        "isCompleted": ATTRIBUTE,
        "isCancelled": ATTRIBUTE,
        "join": "(timeout=None)",
        "cancel": "(cause=None)",
        "invokeOnCompletion": "(handler)",
    },
    IReaderJob: {"channel": ATTRIBUTE},
    IWriterJob: {"channel": ATTRIBUTE},
    IDatagramReceiveChannel: {
        "isClosedForReceive": ATTRIBUTE,
        "receive": "(timeout=None)",
        "__iter__": "()",
    },
    IDatagramSendChannel: {
        "isClosedForSend": ATTRIBUTE,
        "send": "(datagram)",
        "close": "(cause=None)",
        "invokeOnClose": "(handler)",
    },
    ISelectorManager: {
        "isClosed": ATTRIBUTE,
        "close": "()",
        "__enter__": "()",
        "__exit__": _EXIT,
    },
    IConnection: {
        "socket": ATTRIBUTE,
        "input": ATTRIBUTE,
        "output": ATTRIBUTE,
        "tls": _TLS,
    },
    ISocketBuilder: {"tcp": "()", "udp": "()"},
    ITcpSocketBuilder: {
        "connect": "(hostOrAddress, port=None, *, configure=None, timeout=None)",
        "bind": "(hostOrAddress='0.0.0.0', port=0, *, configure=None)",
    },
    IUDPSocketBuilder: {
        "bind": "(hostOrAddress='0.0.0.0', port=0, *, configure=None)",
        "connect": "(remoteAddress, localAddress=None, *, configure=None)",
    },
    IServing: {
        "server": ATTRIBUTE,
        "activeConnections": ATTRIBUTE,
        "isActive": ATTRIBUTE,
        "stop": "(timeout=None)",
        "join": "(timeout=None)",
        "__enter__": "()",
        "__exit__": _EXIT,
    },
}

ALL_INTERFACES = list(EXPECTED_MEMBERS)


def _ids(iface: InterfaceClass) -> str:
    return str(iface.__name__)


# ---------------------------------------------------------------------------------------------
# Fakes: one per interface, inheriting like the interfaces do
# ---------------------------------------------------------------------------------------------


@implementer(IJob)
class FakeJob:
    isActive = False
    isCompleted = True
    isCancelled = False

    def join(self, timeout: float | None = None) -> bool:
        return True

    def cancel(self, cause: BaseException | None = None) -> None:
        pass

    def invokeOnCompletion(self, handler: Any) -> None:
        pass


@implementer(IReaderJob)
class FakeReaderJob(FakeJob):
    channel = None


@implementer(IWriterJob)
class FakeWriterJob(FakeJob):
    channel = None


@implementer(IByteReadChannel)
class FakeByteReadChannel:
    availableForRead = 0
    isClosedForRead = True
    isClosedForWrite = True
    closedCause = None
    totalBytesRead = 0

    def awaitContent(self, min: int = 1) -> bool:
        return False

    def readAvailable(self, dst: Any, offset: int = 0, length: int | None = None) -> int:
        return -1

    def readFully(self, dst: Any, offset: int = 0, length: int | None = None) -> None:
        pass

    def readPacket(self, size: int) -> bytes:
        return b""

    def readRemaining(self, limit: int | None = None) -> bytes:
        return b""

    def readByte(self, byteOrder: str = "big") -> int:
        return 0

    def readShort(self, byteOrder: str = "big") -> int:
        return 0

    def readInt(self, byteOrder: str = "big") -> int:
        return 0

    def readLong(self, byteOrder: str = "big") -> int:
        return 0

    def readFloat(self, byteOrder: str = "big") -> float:
        return 0.0

    def readDouble(self, byteOrder: str = "big") -> float:
        return 0.0

    def readBoolean(self, byteOrder: str = "big") -> bool:
        return False

    def readUTF8Line(self, limit: int | None = None) -> str | None:
        return None

    def readUTF8LineTo(self, out: Any, limit: int | None = None) -> bool:
        return False

    def readUntilDelimiter(self, delimiter: bytes, dst: Any) -> int:
        return -1

    def skipDelimiter(self, delimiter: bytes) -> None:
        pass

    def readUntil(self, delimiter: bytes, limit: int | None = None) -> bytes:
        return b""

    def peek(self, count: int) -> bytes | None:
        return None

    def discard(self, max: int | None = None) -> int:
        return 0

    def discardExact(self, n: int) -> None:
        pass

    def copyTo(self, dst: Any, limit: int | None = None) -> int:
        return 0

    def copyAndClose(self, dst: Any, limit: int | None = None) -> int:
        return 0

    def joinTo(self, dst: Any, closeOnEnd: bool) -> None:
        pass

    def cancel(self, cause: BaseException | None = None) -> bool:
        return False

    def lines(self, limit: int | None = None) -> Iterator[str]:
        return iter(())

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        return iter(())


@implementer(IByteWriteChannel)
class FakeByteWriteChannel:
    availableForWrite = 0
    isClosedForWrite = True
    autoFlush = False
    totalBytesWritten = 0
    closedCause = None

    def writeAvailable(self, src: Any, offset: int = 0, length: int | None = None) -> int:
        return 0

    def writeFully(self, src: Any, offset: int = 0, length: int | None = None) -> None:
        pass

    def writePacket(self, data: Any) -> None:
        pass

    def writeByte(self, value: int, byteOrder: str = "big") -> None:
        pass

    def writeShort(self, value: int, byteOrder: str = "big") -> None:
        pass

    def writeInt(self, value: int, byteOrder: str = "big") -> None:
        pass

    def writeLong(self, value: int, byteOrder: str = "big") -> None:
        pass

    def writeFloat(self, value: float, byteOrder: str = "big") -> None:
        pass

    def writeDouble(self, value: float, byteOrder: str = "big") -> None:
        pass

    def writeBoolean(self, value: bool, byteOrder: str = "big") -> None:
        pass

    def writeStringUtf8(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def flushAndClose(self) -> None:
        pass

    def awaitFreeSpace(self) -> None:
        pass

    def close(self, cause: BaseException | None = None) -> bool:
        return False

    def __enter__(self) -> FakeByteWriteChannel:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        pass


@implementer(IByteChannel)
class FakeByteChannel(FakeByteReadChannel, FakeByteWriteChannel):
    pass


@implementer(IASocket)
class FakeASocket:
    socketContext = FakeJob()
    isClosed = False

    def close(self) -> None:
        pass

    def dispose(self) -> None:
        pass

    def awaitClosed(self, timeout: float | None = None) -> bool:
        return True

    def __enter__(self) -> FakeASocket:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        pass


@implementer(IABoundSocket)
class FakeABoundSocket:
    localAddress = None


@implementer(IAReadable)
class FakeAReadable:
    def attachForReading(self, channel: Any) -> Any:
        return FakeWriterJob()

    def openReadChannel(self) -> Any:
        return FakeByteReadChannel()


@implementer(IAWritable)
class FakeAWritable:
    def attachForWriting(self, channel: Any) -> Any:
        return FakeReaderJob()

    def openWriteChannel(self, autoFlush: bool = False) -> Any:
        return FakeByteWriteChannel()


@implementer(IAConnectedSocket)
class FakeAConnectedSocket(FakeAWritable):
    remoteAddress = None


@implementer(IAcceptable)
class FakeAcceptable(FakeASocket):
    def accept(self, timeout: float | None = None) -> Any:
        return FakeSocket()


@implementer(IReadWriteSocket)
class FakeReadWriteSocket(FakeASocket, FakeAReadable, FakeAWritable):
    pass


@implementer(IConnection)
class FakeConnection:
    socket = None
    input = None
    output = None

    def tls(
        self,
        context: Any = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> FakeConnection:
        return self


@implementer(ISocket)
class FakeSocket(FakeReadWriteSocket, FakeABoundSocket, FakeAConnectedSocket):
    def connection(self) -> FakeConnection:
        return FakeConnection()

    def tls(
        self,
        context: Any = None,
        serverName: str | None = None,
        serverSide: bool = False,
        timeout: float | None = None,
    ) -> FakeSocket:
        return self


@implementer(IServerSocket)
class FakeServerSocket(FakeAcceptable, FakeABoundSocket, FakeASocket):
    port = 0

    def __iter__(self) -> Iterator[FakeSocket]:
        return iter(())


@implementer(IDatagramReceiveChannel)
class FakeDatagramReceiveChannel:
    isClosedForReceive = True

    def receive(self, timeout: float | None = None) -> Any:
        return None

    def __iter__(self) -> Iterator[Any]:
        return iter(())


@implementer(IDatagramSendChannel)
class FakeDatagramSendChannel:
    isClosedForSend = True

    def send(self, datagram: Any) -> None:
        pass

    def close(self, cause: BaseException | None = None) -> bool:
        return False

    def invokeOnClose(self, handler: Any) -> None:
        pass


@implementer(IDatagramReadChannel)
class FakeDatagramReadChannel:
    incoming = FakeDatagramReceiveChannel()

    def receive(self, timeout: float | None = None) -> Any:
        return None


@implementer(IDatagramWriteChannel)
class FakeDatagramWriteChannel:
    outgoing = FakeDatagramSendChannel()

    def send(self, datagram: Any) -> None:
        pass


@implementer(IDatagramReadWriteChannel)
class FakeDatagramReadWriteChannel(FakeDatagramReadChannel, FakeDatagramWriteChannel):
    pass


@implementer(IBoundDatagramSocket)
class FakeBoundDatagramSocket(
    FakeASocket, FakeABoundSocket, FakeAReadable, FakeDatagramReadWriteChannel
):
    pass


@implementer(IConnectedDatagramSocket)
class FakeConnectedDatagramSocket(
    FakeReadWriteSocket,
    FakeABoundSocket,
    FakeAConnectedSocket,
    FakeDatagramReadWriteChannel,
    FakeASocket,
):
    pass


@implementer(ISelectorManager)
class FakeSelectorManager:
    isClosed = False

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeSelectorManager:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        pass


@implementer(IConfigurable)
class FakeConfigurable:
    options = None

    def configure(self, fn: Any = None, **options: Any) -> FakeConfigurable:
        return self

    def tcpNoDelay(self) -> FakeConfigurable:
        return self


@implementer(ITcpSocketBuilder)
class FakeTcpSocketBuilder(FakeConfigurable):
    def connect(
        self,
        hostOrAddress: Any,
        port: int | None = None,
        *,
        configure: Any = None,
        timeout: float | None = None,
    ) -> FakeSocket:
        return FakeSocket()

    def bind(
        self, hostOrAddress: Any = "0.0.0.0", port: int = 0, *, configure: Any = None
    ) -> FakeServerSocket:
        return FakeServerSocket()


@implementer(IUDPSocketBuilder)
class FakeUDPSocketBuilder(FakeConfigurable):
    def bind(
        self, hostOrAddress: Any = "0.0.0.0", port: int = 0, *, configure: Any = None
    ) -> FakeBoundDatagramSocket:
        return FakeBoundDatagramSocket()

    def connect(
        self, remoteAddress: Any, localAddress: Any = None, *, configure: Any = None
    ) -> FakeConnectedDatagramSocket:
        return FakeConnectedDatagramSocket()


@implementer(ISocketBuilder)
class FakeSocketBuilder(FakeConfigurable):
    def tcp(self) -> FakeTcpSocketBuilder:
        return FakeTcpSocketBuilder()

    def udp(self) -> FakeUDPSocketBuilder:
        return FakeUDPSocketBuilder()


@implementer(IServing)
class FakeServing:
    server = FakeServerSocket()
    activeConnections = 0
    isActive = False

    def stop(self, timeout: float | None = None) -> bool:
        return True

    def join(self, timeout: float | None = None) -> bool:
        return True

    def __enter__(self) -> FakeServing:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        pass


FAKES: dict[InterfaceClass, type] = {
    IASocket: FakeASocket,
    IABoundSocket: FakeABoundSocket,
    IAConnectedSocket: FakeAConnectedSocket,
    IAReadable: FakeAReadable,
    IAWritable: FakeAWritable,
    IAcceptable: FakeAcceptable,
    IReadWriteSocket: FakeReadWriteSocket,
    ISocket: FakeSocket,
    IServerSocket: FakeServerSocket,
    IDatagramReadChannel: FakeDatagramReadChannel,
    IDatagramWriteChannel: FakeDatagramWriteChannel,
    IDatagramReadWriteChannel: FakeDatagramReadWriteChannel,
    IBoundDatagramSocket: FakeBoundDatagramSocket,
    IConnectedDatagramSocket: FakeConnectedDatagramSocket,
    IConfigurable: FakeConfigurable,
    IByteReadChannel: FakeByteReadChannel,
    IByteWriteChannel: FakeByteWriteChannel,
    IByteChannel: FakeByteChannel,
    IJob: FakeJob,
    IReaderJob: FakeReaderJob,
    IWriterJob: FakeWriterJob,
    IDatagramReceiveChannel: FakeDatagramReceiveChannel,
    IDatagramSendChannel: FakeDatagramSendChannel,
    ISelectorManager: FakeSelectorManager,
    IConnection: FakeConnection,
    ISocketBuilder: FakeSocketBuilder,
    ITcpSocketBuilder: FakeTcpSocketBuilder,
    IUDPSocketBuilder: FakeUDPSocketBuilder,
    IServing: FakeServing,
}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _render_arguments(args: ast.arguments) -> str:
    """Render a ``def``'s parameters as ``(a, b=1, *, c=None, **kw)``."""
    parts: list[str] = []
    positional = args.posonlyargs + args.args
    padding: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    for arg, default in zip(positional, padding + list(args.defaults), strict=True):
        parts.append(arg.arg if default is None else f"{arg.arg}={ast.unparse(default)}")
    if args.vararg is not None:
        parts.append(f"*{args.vararg.arg}")
    elif args.kwonlyargs:
        parts.append("*")
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(arg.arg if kw_default is None else f"{arg.arg}={ast.unparse(kw_default)}")
    if args.kwarg is not None:
        parts.append(f"**{args.kwarg.arg}")
    return "(" + ", ".join(parts) + ")"


def _source_signatures() -> dict[tuple[str, str], str]:
    """Every method of every class in ``greensock/interfaces.py``, as written in the source.

    zope does not record keyword-only parameters, so the source is the only place they can
    be checked.
    """
    tree = ast.parse(Path(interfaces_module.__file__).read_text(encoding="utf-8"))
    found: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[node.name, item.name] = _render_arguments(item.args)
    return found


def _without_keyword_only(signature: str) -> str:
    """``(a, b=1, *, c=None)`` -> ``(a, b=1)``: the part of a signature zope records."""
    return signature.split(", *,")[0].rstrip(")") + ")"


def _missing(name: str) -> property:
    """A property that behaves as if the attribute ``name`` did not exist."""

    def get(self: object) -> Any:
        raise AttributeError(name)

    return property(get)


# ---------------------------------------------------------------------------------------------
# The module
# ---------------------------------------------------------------------------------------------


def test_all_lists_exactly_the_interfaces_of_the_module() -> None:
    declared = {
        name
        for name, value in vars(interfaces_module).items()
        if isinstance(value, InterfaceClass) and value.__module__ == interfaces_module.__name__
    }
    assert set(interfaces_module.__all__) == declared
    assert len(interfaces_module.__all__) == len(set(interfaces_module.__all__))


def test_every_interface_is_pinned_by_this_test_module() -> None:
    exported = {getattr(interfaces_module, name) for name in interfaces_module.__all__}
    assert exported == set(EXPECTED_MEMBERS) == set(EXPECTED_BASES) == set(FAKES)


def test_module_docstring_explains_the_conventions() -> None:
    doc = interfaces_module.__doc__ or ""
    assert "camelCase" in doc
    assert "Attribute" in doc
    assert "greenlet" in doc


# ---------------------------------------------------------------------------------------------
# Inheritance (SPEC section 2)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_direct_bases_are_the_specs(iface: InterfaceClass) -> None:
    assert set(iface.__bases__) == EXPECTED_BASES[iface]


def test_inheritance_matches_spec_table_row_by_row() -> None:
    # One assertion per row of SPEC section 2's table ("—" rows extend nothing).
    assert IASocket.__bases__ == (Interface,)
    assert IABoundSocket.__bases__ == (Interface,)
    assert IAConnectedSocket.extends(IAWritable)
    assert IAReadable.__bases__ == (Interface,)
    assert IAWritable.__bases__ == (Interface,)
    assert IAcceptable.extends(IASocket)
    assert all(IReadWriteSocket.extends(base) for base in (IASocket, IAReadable, IAWritable))
    assert all(
        ISocket.extends(base) for base in (IReadWriteSocket, IABoundSocket, IAConnectedSocket)
    )
    assert all(IServerSocket.extends(base) for base in (IASocket, IABoundSocket, IAcceptable))
    assert IDatagramReadChannel.__bases__ == (Interface,)
    assert IDatagramWriteChannel.__bases__ == (Interface,)
    assert all(
        IDatagramReadWriteChannel.extends(base)
        for base in (IDatagramReadChannel, IDatagramWriteChannel)
    )
    assert all(
        IBoundDatagramSocket.extends(base)
        for base in (IASocket, IABoundSocket, IAReadable, IDatagramReadWriteChannel)
    )
    assert all(
        IConnectedDatagramSocket.extends(base)
        for base in (
            IASocket,
            IABoundSocket,
            IAConnectedSocket,
            IReadWriteSocket,
            IDatagramReadWriteChannel,
        )
    )
    assert IConfigurable.__bases__ == (Interface,)
    assert all(IByteChannel.extends(base) for base in (IByteReadChannel, IByteWriteChannel))
    assert all(job.extends(IJob) for job in (IReaderJob, IWriterJob))


def test_extra_interfaces_layer_as_briefed() -> None:
    assert all(
        builder.extends(IConfigurable)
        for builder in (ISocketBuilder, ITcpSocketBuilder, IUDPSocketBuilder)
    )
    # A bound datagram socket is readable as a stream but, unlike a connected one, has no
    # peer to write a stream to.
    assert not IBoundDatagramSocket.extends(IAWritable)
    assert IConnectedDatagramSocket.extends(IAWritable)
    assert not IByteReadChannel.extends(IByteWriteChannel)
    assert not IByteWriteChannel.extends(IByteReadChannel)


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_resolution_order_is_consistent_c3(iface: InterfaceClass) -> None:
    # Strict C3 fails for the seed's base order where an interface is listed before one of
    # its own sub-interfaces; zope would fall back to its legacy order, or raise under
    # ZOPE_INTERFACE_STRICT_IRO=1. The bases are ordered so that it never has to.
    assert ro(iface, strict=True)[0] is iface


# ---------------------------------------------------------------------------------------------
# Members and signatures (SPEC sections 2, 6, 7, 8, 10)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_declares_exactly_the_specs_members(iface: InterfaceClass) -> None:
    assert set(iface.names(all=False)) == set(EXPECTED_MEMBERS[iface])


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_methods_are_methods_and_properties_are_attributes(iface: InterfaceClass) -> None:
    for name, signature in EXPECTED_MEMBERS[iface].items():
        is_method = isinstance(iface[name], Method)
        assert is_method == (signature is not ATTRIBUTE), name


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_method_signatures_as_zope_records_them(iface: InterfaceClass) -> None:
    for name, signature in EXPECTED_MEMBERS[iface].items():
        if signature is not ATTRIBUTE:
            assert iface[name].getSignatureString() == _without_keyword_only(signature), name


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_method_signatures_in_source_keyword_only_included(iface: InterfaceClass) -> None:
    in_source = _source_signatures()
    for name, signature in EXPECTED_MEMBERS[iface].items():
        if signature is not ATTRIBUTE:
            assert in_source[iface.__name__, name] == signature, name


def test_keyword_only_parameters_of_the_builders() -> None:
    # zope ignores keyword-only parameters, so pin the SPEC section 3 ones explicitly.
    in_source = _source_signatures()
    assert in_source["ITcpSocketBuilder", "connect"].endswith("*, configure=None, timeout=None)")
    assert in_source["ITcpSocketBuilder", "bind"].endswith("*, configure=None)")
    assert in_source["IUDPSocketBuilder", "bind"].endswith("*, configure=None)")
    assert in_source["IUDPSocketBuilder", "connect"].endswith("*, configure=None)")


def test_a_byte_channel_has_both_sides_members() -> None:
    names = set(IByteChannel.names(all=True))
    assert set(EXPECTED_MEMBERS[IByteReadChannel]) <= names
    assert set(EXPECTED_MEMBERS[IByteWriteChannel]) <= names
    # ``close`` comes from the write side, ``cancel`` from the read side.
    assert {"close", "cancel", "__enter__", "__exit__", "lines", "chunks"} <= names


def test_socket_gets_every_capability_through_its_bases() -> None:
    names = set(ISocket.names(all=True))
    for capability in (IASocket, IABoundSocket, IAConnectedSocket, IAReadable, IAWritable):
        assert set(EXPECTED_MEMBERS[capability]) <= names, capability.__name__


# ---------------------------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_interface_has_a_docstring(iface: InterfaceClass) -> None:
    assert (iface.__doc__ or "").strip()


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_every_member_has_a_docstring(iface: InterfaceClass) -> None:
    for name in iface.names(all=False):
        assert iface[name].getDoc().strip(), f"{iface.__name__}.{name}"


def _doc(iface: InterfaceClass, name: str | None = None) -> str:
    """The docstring of ``iface`` itself, or of its member ``name``."""
    return str(iface.__doc__ if name is None else iface[name].getDoc())


def test_contracts_name_the_specs_exceptions() -> None:
    # Spot checks that the docstrings carry the behavioural contract, not just a summary.
    assert "ClosedReceiveChannelException" in _doc(IByteReadChannel, "readPacket")
    assert "TooLongLineException" in _doc(IByteReadChannel, "readUTF8Line")
    assert "ConcurrentIOException" in _doc(IByteReadChannel)
    assert "ClosedWriteChannelException" in _doc(IByteWriteChannel)
    assert "SocketTimeoutException" in _doc(IAcceptable, "accept")
    assert "ClosedChannelException" in _doc(IAcceptable, "accept")
    assert "RuntimeError" in _doc(IAReadable, "openReadChannel")
    assert "ClosedSendChannelException" in _doc(IDatagramWriteChannel, "send")
    assert "ClosedReceiveChannelException" in _doc(IDatagramReadChannel, "receive")
    assert "ValueError" in _doc(ISocket, "tls")
    assert "ConnectTimeoutException" in _doc(ITcpSocketBuilder, "connect")
    assert "RuntimeError" in _doc(IDatagramSendChannel, "invokeOnClose")


# ---------------------------------------------------------------------------------------------
# Verification against fakes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_fake_verifies_as_class(iface: InterfaceClass) -> None:
    assert verifyClass(iface, FAKES[iface])


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_fake_verifies_as_object(iface: InterfaceClass) -> None:
    assert verifyObject(iface, FAKES[iface]())


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_every_member_is_required_by_verifyObject(iface: InterfaceClass) -> None:
    # Take each member (own or inherited) away from the fake in turn: verification must
    # notice, or the declaration checks nothing real.
    fake = FAKES[iface]
    for name in iface.names(all=True):
        broken = type(f"Broken{fake.__name__}", (fake,), {name: _missing(name)})
        with pytest.raises(Invalid):
            verifyObject(iface, broken())


@pytest.mark.parametrize("iface", ALL_INTERFACES, ids=_ids)
def test_a_method_with_too_few_parameters_fails_verifyClass(iface: InterfaceClass) -> None:
    fake = FAKES[iface]
    for name in iface.names(all=True):
        member = iface[name]
        if isinstance(member, Method) and member.getSignatureInfo()["positional"]:

            def no_parameters(self: object) -> None:
                pass

            broken = type(f"Broken{fake.__name__}", (fake,), {name: no_parameters})
            with pytest.raises(Invalid):
                verifyClass(iface, broken)
