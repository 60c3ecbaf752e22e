"""Tests of greensock.options: the option kinds, their checks, and their effect on real sockets."""

from __future__ import annotations

import copy
import pathlib
import pickle
import socket
import struct
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from gevent import socket as gsocket
from markers import needs_ipv6, needs_unix

from greensock.options import (
    AcceptorOptions,
    PeerSocketOptions,
    SocketOptions,
    TCPClientSocketOptions,
    TypeOfService,
    UDPSocketOptions,
    configure_options,
)
from greensock.sockopts import apply_accepted, apply_options

KINDS = [
    SocketOptions,
    AcceptorOptions,
    PeerSocketOptions,
    TCPClientSocketOptions,
    UDPSocketOptions,
]

needs_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="asserts Linux socket behaviour"
)


# --- TypeOfService ------------------------------------------------------------------------


def test_TypeOfService_constants() -> None:
    assert TypeOfService.UNDEFINED.value == 0x00
    assert TypeOfService.IPTOS_LOWCOST.value == 0x02
    assert TypeOfService.IPTOS_RELIABILITY.value == 0x04
    assert TypeOfService.IPTOS_THROUGHPUT.value == 0x08
    assert TypeOfService.IPTOS_LOWDELAY.value == 0x10


def test_TypeOfService_keeps_the_low_8_bits() -> None:
    assert TypeOfService(0x1FF).value == 0xFF
    assert TypeOfService(0x100).value == 0
    assert TypeOfService(-1).value == 0xFF
    assert TypeOfService(0x10).intValue == 0x10
    assert int(TypeOfService(0x28)) == 0x28


def test_TypeOfService_is_equal_and_hashable_by_value() -> None:
    assert TypeOfService(0x10) == TypeOfService.IPTOS_LOWDELAY
    assert TypeOfService(0x110) == TypeOfService(0x10)
    assert hash(TypeOfService(0x10)) == hash(TypeOfService.IPTOS_LOWDELAY)
    assert len({TypeOfService(4), TypeOfService(4), TypeOfService(8)}) == 2
    assert TypeOfService(0x10) != TypeOfService(0x08)
    assert TypeOfService(0x10) != 0x10


def test_TypeOfService_is_immutable() -> None:
    tos = TypeOfService(0x10)
    with pytest.raises(AttributeError):
        tos.value = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        tos.other = 3  # type: ignore[attr-defined]
    assert tos == TypeOfService(0x10)
    assert pickle.loads(pickle.dumps(tos)) == tos
    assert repr(tos) == "TypeOfService(0x10)"


@pytest.mark.parametrize("value", ["16", 16.0, True, None, TypeOfService(1)])
def test_TypeOfService_rejects_a_non_int(value: object) -> None:
    with pytest.raises(TypeError):
        TypeOfService(value)  # type: ignore[arg-type]


# --- kinds and defaults -------------------------------------------------------------------


def test_SocketOptions_defaults() -> None:
    options = SocketOptions()
    assert options.typeOfService == TypeOfService.UNDEFINED
    assert options.reuseAddress is False
    assert options.reusePort is False


def test_AcceptorOptions_defaults() -> None:
    options = AcceptorOptions()
    assert options.backlogSize == 511
    assert options.reuseAddress is False


def test_PeerSocketOptions_defaults() -> None:
    options = PeerSocketOptions()
    assert options.sendBufferSize == -1
    assert options.receiveBufferSize == -1


def test_TCPClientSocketOptions_defaults() -> None:
    options = TCPClientSocketOptions()
    assert options.noDelay is True
    assert options.lingerSeconds == -1
    assert options.keepAlive is None
    assert options.socketTimeout is None
    assert options.sendBufferSize == -1
    assert options.typeOfService == TypeOfService.UNDEFINED


def test_UDPSocketOptions_defaults() -> None:
    options = UDPSocketOptions()
    assert options.broadcast is False
    assert options.receiveBufferSize == -1


def test_kinds_inherit_as_in_ktor() -> None:
    assert issubclass(AcceptorOptions, SocketOptions)
    assert issubclass(PeerSocketOptions, SocketOptions)
    assert issubclass(TCPClientSocketOptions, PeerSocketOptions)
    assert issubclass(UDPSocketOptions, PeerSocketOptions)
    assert not issubclass(AcceptorOptions, PeerSocketOptions)
    assert not issubclass(UDPSocketOptions, TCPClientSocketOptions)


def test_kinds_are_reachable_as_attributes_of_SocketOptions() -> None:
    assert SocketOptions.AcceptorOptions is AcceptorOptions
    assert SocketOptions.PeerSocketOptions is PeerSocketOptions
    assert SocketOptions.TCPClientSocketOptions is TCPClientSocketOptions
    assert SocketOptions.UDPSocketOptions is UDPSocketOptions


def test_constructor_takes_option_values() -> None:
    options = TCPClientSocketOptions(noDelay=False, socketTimeout=2)
    assert options.noDelay is False
    assert options.socketTimeout == 2.0


def test_constructor_rejects_an_unknown_option_with_TypeError() -> None:
    with pytest.raises(TypeError, match="backlogSize"):
        PeerSocketOptions(backlogSize=3)


def test_options_are_mutable_and_compare_by_kind_and_value() -> None:
    a, b = PeerSocketOptions(), PeerSocketOptions()
    assert a == b
    a.sendBufferSize = 4096
    assert a != b
    assert SocketOptions() != AcceptorOptions()
    with pytest.raises(TypeError):
        hash(a)


def test_repr_lists_every_option() -> None:
    text = repr(UDPSocketOptions(broadcast=True))
    assert text.startswith("UDPSocketOptions(")
    for name in ("typeOfService", "reuseAddress", "reusePort", "sendBufferSize", "broadcast=True"):
        assert name in text


# --- unknown attributes -------------------------------------------------------------------


def test_a_misspelt_option_raises_AttributeError_with_a_hint() -> None:
    options = SocketOptions()
    with pytest.raises(AttributeError, match="did you mean 'reuseAddress'"):
        options.resueAddress = True  # type: ignore[attr-defined]
    assert not hasattr(options, "resueAddress")


def test_an_option_of_another_kind_raises_AttributeError_naming_that_kind() -> None:
    with pytest.raises(AttributeError, match="TCPClientSocketOptions"):
        PeerSocketOptions().noDelay = True  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="AcceptorOptions"):
        TCPClientSocketOptions().backlogSize = 3  # type: ignore[attr-defined]


def test_options_cannot_be_deleted() -> None:
    options = SocketOptions()
    with pytest.raises(AttributeError):
        del options.reuseAddress
    assert options.reuseAddress is False


# --- type and range checks ----------------------------------------------------------------

BOOL_OPTIONS = [
    (SocketOptions, "reuseAddress"),
    (SocketOptions, "reusePort"),
    (TCPClientSocketOptions, "noDelay"),
    (UDPSocketOptions, "broadcast"),
]
INT_OPTIONS = [
    (AcceptorOptions, "backlogSize"),
    (PeerSocketOptions, "sendBufferSize"),
    (PeerSocketOptions, "receiveBufferSize"),
    (TCPClientSocketOptions, "lingerSeconds"),
]


@pytest.mark.parametrize(("kind", "name"), BOOL_OPTIONS)
@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0])
def test_bool_options_take_only_bool(kind: type[SocketOptions], name: str, value: object) -> None:
    options = kind()
    before = getattr(options, name)
    with pytest.raises(TypeError, match=name):
        setattr(options, name, value)
    assert getattr(options, name) == before
    setattr(options, name, not before)
    assert getattr(options, name) is (not before)


@pytest.mark.parametrize(("kind", "name"), INT_OPTIONS)
@pytest.mark.parametrize("value", [True, False, 1.0, "1", None])
def test_int_options_take_int_but_not_bool(
    kind: type[SocketOptions], name: str, value: object
) -> None:
    options = kind()
    before = getattr(options, name)
    with pytest.raises(TypeError, match=name):
        setattr(options, name, value)
    assert getattr(options, name) == before
    setattr(options, name, 7)
    assert getattr(options, name) == 7


@pytest.mark.parametrize("value", [0, -1, 2**31])
def test_backlogSize_must_be_positive(value: int) -> None:
    with pytest.raises(ValueError, match="backlogSize"):
        AcceptorOptions().backlogSize = value


@pytest.mark.parametrize("name", ["sendBufferSize", "receiveBufferSize"])
def test_buffer_sizes_take_any_C_int(name: str) -> None:
    options = PeerSocketOptions()
    for value in (-1, 0, -100, 1, 2**31 - 1):
        setattr(options, name, value)
        assert getattr(options, name) == value
    with pytest.raises(ValueError, match=name):
        setattr(options, name, 2**31)


def test_lingerSeconds_is_at_most_65535() -> None:
    options = TCPClientSocketOptions()
    options.lingerSeconds = 65535
    options.lingerSeconds = -5
    assert options.lingerSeconds == -5
    with pytest.raises(ValueError, match="lingerSeconds"):
        options.lingerSeconds = 65536


def test_socketTimeout_takes_int_float_or_None() -> None:
    options = TCPClientSocketOptions()
    options.socketTimeout = 3
    assert options.socketTimeout == 3.0
    assert isinstance(options.socketTimeout, float)
    options.socketTimeout = 0.25
    assert options.socketTimeout == 0.25
    options.socketTimeout = None
    assert options.socketTimeout is None


@pytest.mark.parametrize("value", [True, "1", b"1"])
def test_socketTimeout_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError, match="socketTimeout"):
        TCPClientSocketOptions().socketTimeout = value  # type: ignore[assignment]


@pytest.mark.parametrize("value", [0, 0.0, -1, float("nan"), float("inf")])
def test_socketTimeout_must_be_positive_and_finite(value: float) -> None:
    with pytest.raises(ValueError, match="socketTimeout"):
        TCPClientSocketOptions().socketTimeout = value


def test_keepAlive_takes_bool_or_None() -> None:
    options = TCPClientSocketOptions()
    options.keepAlive = True
    assert options.keepAlive is True
    options.keepAlive = False
    assert options.keepAlive is False
    options.keepAlive = None
    assert options.keepAlive is None
    with pytest.raises(TypeError, match="keepAlive"):
        options.keepAlive = 1  # type: ignore[assignment]


def test_typeOfService_takes_a_TypeOfService_or_wraps_an_int() -> None:
    options = SocketOptions()
    options.typeOfService = TypeOfService.IPTOS_THROUGHPUT
    assert options.typeOfService is TypeOfService.IPTOS_THROUGHPUT
    options.typeOfService = 0x110
    assert options.typeOfService == TypeOfService(0x10)
    for value in (True, "16", 16.0, None):
        with pytest.raises(TypeError, match="typeOfService"):
            options.typeOfService = value  # type: ignore[assignment]


# --- copy and conversion ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_copy_is_equal_and_independent(kind: type[SocketOptions]) -> None:
    original = kind(reuseAddress=True)
    clone = original.copy()
    assert type(clone) is kind
    assert clone == original
    clone.reuseAddress = False
    assert original.reuseAddress is True


def test_copy_and_pickle_modules_work_too() -> None:
    original = TCPClientSocketOptions(lingerSeconds=3, typeOfService=0x08)
    for clone in (
        copy.copy(original),
        copy.deepcopy(original),
        pickle.loads(pickle.dumps(original)),
    ):
        assert clone == original and clone is not original
        clone.lingerSeconds = 4
        assert original.lingerSeconds == 3


def test_convertedTo_carries_shared_options_and_defaults_the_rest() -> None:
    base = SocketOptions(reuseAddress=True, typeOfService=TypeOfService.IPTOS_LOWDELAY)
    peer = base.convertedTo(PeerSocketOptions)
    assert type(peer) is PeerSocketOptions
    assert peer.reuseAddress is True
    assert peer.typeOfService == TypeOfService.IPTOS_LOWDELAY
    assert peer.sendBufferSize == -1

    peer.sendBufferSize = 8192
    client = peer.convertedTo(TCPClientSocketOptions)
    assert type(client) is TCPClientSocketOptions
    assert (client.reuseAddress, client.sendBufferSize, client.noDelay) == (True, 8192, True)

    udp = peer.convertedTo(UDPSocketOptions)
    assert (udp.sendBufferSize, udp.broadcast) == (8192, False)

    acceptor = client.convertedTo(AcceptorOptions)
    assert type(acceptor) is AcceptorOptions
    assert (acceptor.reuseAddress, acceptor.backlogSize) == (True, 511)
    assert not hasattr(acceptor, "sendBufferSize")


def test_convertedTo_is_independent_of_the_source() -> None:
    source = PeerSocketOptions()
    converted = source.convertedTo(PeerSocketOptions)
    converted.sendBufferSize = 1
    assert source.sendBufferSize == -1


def test_convertedTo_rejects_what_is_not_an_options_class() -> None:
    with pytest.raises(TypeError):
        SocketOptions().convertedTo(dict)  # type: ignore[type-var]


# --- configure_options --------------------------------------------------------------------


def test_configure_options_with_a_function() -> None:
    options = TCPClientSocketOptions()
    seen: list[Any] = []

    def fn(o: TCPClientSocketOptions) -> None:
        seen.append(o)
        o.noDelay = False

    assert configure_options(options, fn) is options
    assert seen == [options] and seen[0] is options
    assert options.noDelay is False


def test_configure_options_with_a_dict_as_fn_or_values() -> None:
    options = UDPSocketOptions()
    assert configure_options(options, {"broadcast": True}) is options
    assert options.broadcast is True
    configure_options(options, values={"receiveBufferSize": 1 << 16, "typeOfService": 8})
    assert options.receiveBufferSize == 1 << 16
    assert options.typeOfService == TypeOfService.IPTOS_THROUGHPUT


def test_configure_options_applies_fn_then_values() -> None:
    options = AcceptorOptions()
    configure_options(options, lambda o: setattr(o, "backlogSize", 5), {"backlogSize": 9})
    assert options.backlogSize == 9


def test_configure_options_with_nothing_changes_nothing() -> None:
    options = SocketOptions()
    assert configure_options(options) is options
    assert options == SocketOptions()


def test_configure_options_unknown_name_is_TypeError_naming_it() -> None:
    options = PeerSocketOptions()
    with pytest.raises(TypeError, match="noDelay"):
        configure_options(options, values={"noDelay": True})
    with pytest.raises(TypeError, match="resueAddress"):
        configure_options(options, {"resueAddress": True})


def test_configure_options_wrong_type_and_range_name_the_option() -> None:
    options = AcceptorOptions()
    with pytest.raises(TypeError, match="reuseAddress"):
        configure_options(options, values={"reuseAddress": 1})
    with pytest.raises(ValueError, match="backlogSize"):
        configure_options(options, values={"backlogSize": 0})


def test_configure_options_applies_a_mapping_all_or_nothing() -> None:
    options = TCPClientSocketOptions()
    with pytest.raises(TypeError, match="keepAlive"):
        configure_options(options, values={"noDelay": False, "keepAlive": "yes"})
    with pytest.raises(TypeError, match="bogus"):
        configure_options(options, values={"lingerSeconds": 3, "bogus": 1})
    assert options == TCPClientSocketOptions()


def test_configure_options_rejects_what_is_neither_callable_nor_mapping() -> None:
    with pytest.raises(TypeError, match="callable"):
        configure_options(SocketOptions(), 3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        configure_options({"reuseAddress": True}, None)  # type: ignore[type-var]


# --- effect on real sockets ---------------------------------------------------------------


def _int_option(sock: Any, level: int, name: int) -> int:
    value: int = sock.getsockopt(level, name)
    return value


def _linger(sock: Any) -> tuple[int, int]:
    on, seconds = struct.unpack("ii", sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
    return on, seconds


@pytest.fixture
def tcp4() -> Iterator[Any]:
    with gsocket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        yield sock


@pytest.fixture
def udp4() -> Iterator[Any]:
    with gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        yield sock


def test_defaults_leave_a_TCP_client_socket_as_the_system_made_it(tcp4: Any) -> None:
    with gsocket.socket(socket.AF_INET, socket.SOCK_STREAM) as fresh:
        sndbuf = _int_option(fresh, socket.SOL_SOCKET, socket.SO_SNDBUF)
        rcvbuf = _int_option(fresh, socket.SOL_SOCKET, socket.SO_RCVBUF)
    apply_options(tcp4, TCPClientSocketOptions())
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    assert _int_option(tcp4, socket.IPPROTO_IP, socket.IP_TOS) == 0
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_SNDBUF) == sndbuf
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_RCVBUF) == rcvbuf
    assert _linger(tcp4)[0] == 0
    # ... except TCP_NODELAY, on by default.
    assert _int_option(tcp4, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_noDelay_False_leaves_Nagle_on(tcp4: Any) -> None:
    apply_options(tcp4, TCPClientSocketOptions(noDelay=False))
    assert _int_option(tcp4, socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_every_TCP_client_option_is_set_on_IPv4(tcp4: Any) -> None:
    options = TCPClientSocketOptions(
        reuseAddress=True,
        typeOfService=TypeOfService.IPTOS_LOWDELAY,
        sendBufferSize=65536,
        receiveBufferSize=98304,
        lingerSeconds=7,
        keepAlive=True,
        socketTimeout=1.5,
    )
    apply_options(tcp4, options)
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
    assert _int_option(tcp4, socket.IPPROTO_IP, socket.IP_TOS) == 0x10
    # Linux doubles buffer sizes (room for bookkeeping); others keep them.
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 98304
    assert _linger(tcp4) == (1, 7)
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
    assert _int_option(tcp4, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_lingerSeconds_0_is_set(tcp4: Any) -> None:
    apply_options(tcp4, TCPClientSocketOptions(lingerSeconds=0))
    assert _linger(tcp4) == (1, 0)


def test_keepAlive_False_turns_keepalive_off(tcp4: Any) -> None:
    tcp4.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    apply_options(tcp4, TCPClientSocketOptions(keepAlive=False))
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
def test_reusePort_is_set_only_when_asked(tcp4: Any, udp4: Any) -> None:
    apply_options(tcp4, TCPClientSocketOptions())
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    apply_options(udp4, UDPSocketOptions(reusePort=True))
    assert _int_option(udp4, socket.SOL_SOCKET, socket.SO_REUSEPORT) != 0


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
def test_reusePort_lets_two_sockets_share_a_port() -> None:
    options = UDPSocketOptions(reusePort=True)
    with (
        gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
        gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
    ):
        apply_options(a, options)
        apply_options(b, options)
        a.bind(("127.0.0.1", 0))
        b.bind(a.getsockname())
        assert a.getsockname() == b.getsockname()


@pytest.mark.skipif(hasattr(socket, "SO_REUSEPORT"), reason="SO_REUSEPORT exists here")
def test_reusePort_where_the_platform_lacks_it_is_a_clear_OSError(udp4: Any) -> None:
    with pytest.raises(OSError, match="SO_REUSEPORT"):
        apply_options(udp4, UDPSocketOptions(reusePort=True))


@needs_linux
def test_acceptor_sockets_always_reuse_the_address(tcp4: Any) -> None:
    apply_options(tcp4, AcceptorOptions())
    assert _int_option(tcp4, socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0


def test_acceptor_options_set_typeOfService(tcp4: Any) -> None:
    apply_options(tcp4, AcceptorOptions(typeOfService=TypeOfService.IPTOS_THROUGHPUT))
    assert _int_option(tcp4, socket.IPPROTO_IP, socket.IP_TOS) == 0x08


def test_UDP_defaults_set_nothing(udp4: Any) -> None:
    apply_options(udp4, UDPSocketOptions())
    assert _int_option(udp4, socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
    assert _int_option(udp4, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
    assert _int_option(udp4, socket.IPPROTO_IP, socket.IP_TOS) == 0


def test_UDP_broadcast_buffers_and_TOS_are_set(udp4: Any) -> None:
    options = UDPSocketOptions(
        broadcast=True, sendBufferSize=32768, typeOfService=TypeOfService.IPTOS_LOWCOST
    )
    apply_options(udp4, options)
    assert _int_option(udp4, socket.SOL_SOCKET, socket.SO_BROADCAST) != 0
    assert _int_option(udp4, socket.SOL_SOCKET, socket.SO_SNDBUF) >= 32768
    # UDP keeps the ECN bits that Linux reserves on TCP sockets.
    assert _int_option(udp4, socket.IPPROTO_IP, socket.IP_TOS) == 0x02


@needs_ipv6
def test_typeOfService_is_the_traffic_class_on_IPv6() -> None:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with gsocket.socket(socket.AF_INET6, kind) as sock:
            apply_options(sock, PeerSocketOptions(typeOfService=TypeOfService.IPTOS_LOWDELAY))
            assert _int_option(sock, socket.IPPROTO_IPV6, socket.IPV6_TCLASS) == 0x10


@needs_ipv6
def test_IPv6_defaults_leave_the_traffic_class_alone() -> None:
    with gsocket.socket(socket.AF_INET6, socket.SOCK_STREAM) as fresh:
        default = _int_option(fresh, socket.IPPROTO_IPV6, socket.IPV6_TCLASS)
    with gsocket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        apply_options(sock, TCPClientSocketOptions())
        assert _int_option(sock, socket.IPPROTO_IPV6, socket.IPV6_TCLASS) == default
        assert _int_option(sock, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@needs_ipv6
def test_every_TCP_client_option_is_set_on_IPv6() -> None:
    options = TCPClientSocketOptions(
        reuseAddress=True, receiveBufferSize=65536, lingerSeconds=2, keepAlive=True
    )
    with gsocket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        apply_options(sock, options)
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
        assert _linger(sock) == (1, 2)
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0


def test_a_configured_socket_still_connects_and_accepts() -> None:
    with gsocket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        apply_options(server, AcceptorOptions(typeOfService=TypeOfService.IPTOS_LOWDELAY))
        server.bind(("127.0.0.1", 0))
        server.listen(AcceptorOptions().backlogSize)
        with gsocket.socket(socket.AF_INET, socket.SOCK_STREAM) as client:
            apply_options(client, TCPClientSocketOptions(keepAlive=True, lingerSeconds=1))
            client.connect(server.getsockname())
            accepted, _ = server.accept()
            with accepted:
                apply_accepted(accepted)
                assert _int_option(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"


def _accepted_by(listener_options: AcceptorOptions | None) -> tuple[Any, Any, Any]:
    """A listener (with *listener_options* applied, if any), a client, and the accepted side."""
    server = gsocket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if listener_options is not None:
        apply_options(server, listener_options)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    client = gsocket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    return server, client, accepted


def test_a_listener_gets_TCP_NODELAY_for_its_connections() -> None:
    server, client, accepted = _accepted_by(AcceptorOptions())
    with server, client, accepted:
        assert _int_option(server, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@needs_linux
def test_apply_accepted_says_whether_the_connection_inherited_TCP_NODELAY() -> None:
    server, client, accepted = _accepted_by(AcceptorOptions())
    with server, client, accepted:
        assert apply_accepted(accepted, socket.AF_INET) is True
        assert _int_option(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    server, client, accepted = _accepted_by(None)  # a listener without it: set per socket
    with server, client, accepted:
        assert _int_option(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert apply_accepted(accepted) is False
        assert _int_option(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    server, client, accepted = _accepted_by(None)  # known not to inherit: set, not asked
    with server, client, accepted:
        assert apply_accepted(accepted, check=False) is False
        assert _int_option(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@needs_unix
def test_IP_only_options_are_skipped_on_Unix_stream_sockets(unix_dir: pathlib.Path) -> None:
    options = TCPClientSocketOptions(
        reuseAddress=True,
        reusePort=True,
        typeOfService=TypeOfService.IPTOS_LOWDELAY,
        keepAlive=True,
        sendBufferSize=65536,
        lingerSeconds=3,
    )
    with gsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        apply_options(sock, options)  # no error
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        # Socket-level options that do mean something for Unix sockets are applied.
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
        assert _linger(sock) == (1, 3)
        # ... and the socket works.
        with gsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            apply_options(server, AcceptorOptions(typeOfService=0x10, reusePort=True))
            path = str(unix_dir / "s.sock")
            server.bind(path)
            server.listen(1)
            sock.connect(path)
            accepted, _ = server.accept()
            with accepted:
                # No TCP_NODELAY on a Unix socket, no error, and nothing to check next time.
                assert apply_accepted(accepted) is True
                sock.sendall(b"x")
                assert accepted.recv(1) == b"x"


@needs_unix
def test_broadcast_is_skipped_on_Unix_datagram_sockets() -> None:
    with gsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        apply_options(sock, UDPSocketOptions(broadcast=True, receiveBufferSize=65536))
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
        assert _int_option(sock, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536


def test_apply_accepted_sets_nothing_on_UDP(udp4: Any) -> None:
    apply_accepted(udp4)  # TCP_NODELAY is for TCP only: no error
