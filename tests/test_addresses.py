"""Tests of greensock.addresses: address values and their translation to and from sockets."""

from __future__ import annotations

import os
import pathlib
import pickle
import socket
import sys

import pytest
from gevent import socket as gsocket
from markers import needs_ipv6, needs_unix

from greensock.addresses import (
    InetSocketAddress,
    SocketAddress,
    UnixSocketAddress,
    family_of,
    from_sockaddr,
    to_sockaddr,
)

LOOPBACK6 = b"\x00" * 15 + b"\x01"

needs_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the abstract namespace is Linux only"
)


# --- SocketAddress ------------------------------------------------------------------------


def test_SocketAddress_is_abstract() -> None:
    with pytest.raises(TypeError):
        SocketAddress()  # type: ignore[abstract]


def test_both_kinds_are_SocketAddresses() -> None:
    assert isinstance(InetSocketAddress("127.0.0.1", 80), SocketAddress)
    assert isinstance(UnixSocketAddress("/tmp/s"), SocketAddress)


# --- InetSocketAddress: value semantics ---------------------------------------------------


def test_InetSocketAddress_keeps_hostname_and_port() -> None:
    address = InetSocketAddress("example.org", 443)
    assert address.hostname == "example.org"
    assert address.port == 443


def test_InetSocketAddress_is_equal_and_hashable_by_value() -> None:
    a = InetSocketAddress("127.0.0.1", 80)
    b = InetSocketAddress("127.0.0.1", 80)
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != InetSocketAddress("127.0.0.1", 81)
    assert a != InetSocketAddress("localhost", 80)


def test_InetSocketAddress_is_not_equal_to_a_tuple_or_a_unix_address() -> None:
    assert InetSocketAddress("127.0.0.1", 80) != ("127.0.0.1", 80)
    assert InetSocketAddress("a", 0) != UnixSocketAddress("a")


def test_InetSocketAddress_is_immutable() -> None:
    address = InetSocketAddress("127.0.0.1", 80)
    with pytest.raises(AttributeError):
        address.port = 81  # type: ignore[misc]
    with pytest.raises(AttributeError):
        address.hostname = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        address.other = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        object.__setattr__(address, "other", 1)
    with pytest.raises(AttributeError):
        del address.port
    assert address == InetSocketAddress("127.0.0.1", 80)


def test_InetSocketAddress_unpacks_as_host_and_port() -> None:
    host, port = InetSocketAddress("::1", 8080)
    assert (host, port) == ("::1", 8080)
    assert list(InetSocketAddress("h", 1)) == ["h", 1]


def test_InetSocketAddress_supports_match() -> None:
    match InetSocketAddress("127.0.0.1", 80):
        case InetSocketAddress(host, 80):
            assert host == "127.0.0.1"
        case _:
            pytest.fail("the address did not match")


def test_InetSocketAddress_copy_replaces_what_is_given() -> None:
    address = InetSocketAddress("127.0.0.1", 80)
    assert address.copy() == address
    assert address.copy(port=81) == InetSocketAddress("127.0.0.1", 81)
    assert address.copy(hostname="::1") == InetSocketAddress("::1", 80)
    assert address.copy(hostname=b"\x0a\x00\x00\x01", port=0) == InetSocketAddress("10.0.0.1", 0)
    assert address.copy(port=0).port == 0
    with pytest.raises(ValueError):
        address.copy(port=70000)


def test_InetSocketAddress_repr_and_str() -> None:
    assert repr(InetSocketAddress("127.0.0.1", 80)) == "InetSocketAddress('127.0.0.1', 80)"
    assert str(InetSocketAddress("127.0.0.1", 80)) == "127.0.0.1:80"
    assert str(InetSocketAddress("::1", 80)) == "[::1]:80"
    assert str(InetSocketAddress("example.org", 443)) == "example.org:443"


def test_InetSocketAddress_pickles() -> None:
    address = InetSocketAddress("::1", 9)
    assert pickle.loads(pickle.dumps(address)) == address


# --- InetSocketAddress: raw bytes, validation ---------------------------------------------


def test_InetSocketAddress_from_4_raw_bytes_is_IPv4_text() -> None:
    assert InetSocketAddress(b"\x7f\x00\x00\x01", 80).hostname == "127.0.0.1"
    assert InetSocketAddress(bytearray(b"\xc0\xa8\x00\x01"), 1).hostname == "192.168.0.1"


def test_InetSocketAddress_from_16_raw_bytes_is_IPv6_text() -> None:
    assert InetSocketAddress(LOOPBACK6, 80).hostname == "::1"
    mapped = b"\x00" * 10 + b"\xff\xff" + b"\x7f\x00\x00\x01"
    assert InetSocketAddress(mapped, 80).hostname == "::ffff:127.0.0.1"


@pytest.mark.parametrize("length", [0, 1, 3, 5, 15, 17, 32])
def test_InetSocketAddress_rejects_raw_bytes_of_other_lengths(length: int) -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        InetSocketAddress(b"\x01" * length, 80)


@pytest.mark.parametrize("port", [0, 1, 80, 65535])
def test_InetSocketAddress_accepts_ports_0_to_65535(port: int) -> None:
    assert InetSocketAddress("h", port).port == port


@pytest.mark.parametrize("port", [-1, 65536, 2**40])
def test_InetSocketAddress_rejects_ports_out_of_range(port: int) -> None:
    with pytest.raises(ValueError, match="65535"):
        InetSocketAddress("h", port)


@pytest.mark.parametrize("port", ["80", 80.0, True, False, None])
def test_InetSocketAddress_rejects_a_port_that_is_not_an_int(port: object) -> None:
    with pytest.raises(TypeError, match="port"):
        InetSocketAddress("h", port)  # type: ignore[arg-type]


@pytest.mark.parametrize("hostname", [None, 127, 1.5, ["127.0.0.1"]])
def test_InetSocketAddress_rejects_a_hostname_that_is_not_str_or_bytes(hostname: object) -> None:
    with pytest.raises(TypeError, match="hostname"):
        InetSocketAddress(hostname, 80)  # type: ignore[arg-type]


def test_InetSocketAddress_rejects_a_NUL_in_the_hostname() -> None:
    with pytest.raises(ValueError, match="NUL"):
        InetSocketAddress("local\0host", 80)


# --- InetSocketAddress.resolveAddress -----------------------------------------------------


def test_resolveAddress_of_IPv4_literal() -> None:
    assert InetSocketAddress("127.0.0.1", 80).resolveAddress() == b"\x7f\x00\x00\x01"
    assert InetSocketAddress("10.1.2.3", 80).resolveAddress() == b"\x0a\x01\x02\x03"


def test_resolveAddress_of_IPv6_literal() -> None:
    assert InetSocketAddress("::1", 80).resolveAddress() == LOOPBACK6
    assert (
        InetSocketAddress("fe80::1%1", 80).resolveAddress() == b"\xfe\x80" + b"\x00" * 13 + b"\x01"
    )


def test_resolveAddress_of_raw_bytes_gives_them_back() -> None:
    assert InetSocketAddress(b"\x01\x02\x03\x04", 0).resolveAddress() == b"\x01\x02\x03\x04"
    assert InetSocketAddress(LOOPBACK6, 0).resolveAddress() == LOOPBACK6


def test_resolveAddress_of_localhost_is_a_loopback_address() -> None:
    raw = InetSocketAddress("localhost", 80).resolveAddress()
    assert raw is not None
    assert raw == LOOPBACK6 or (len(raw) == 4 and raw[0] == 127)


@pytest.mark.parametrize("hostname", ["", "a" * 70, "no-such-host.invalid"])
def test_resolveAddress_of_an_unresolvable_name_is_None(hostname: str) -> None:
    assert InetSocketAddress(hostname, 80).resolveAddress() is None


# --- UnixSocketAddress --------------------------------------------------------------------


def test_UnixSocketAddress_keeps_a_str_path() -> None:
    assert UnixSocketAddress("/run/x.sock").path == "/run/x.sock"


def test_UnixSocketAddress_accepts_PathLike_and_bytes() -> None:
    assert UnixSocketAddress(pathlib.Path("/run/x.sock")).path == "/run/x.sock"
    assert UnixSocketAddress(b"/run/x.sock").path == "/run/x.sock"
    assert UnixSocketAddress(pathlib.Path("/run/x.sock")) == UnixSocketAddress("/run/x.sock")


@pytest.mark.parametrize("path", [None, 3, ["/x"]])
def test_UnixSocketAddress_rejects_other_types(path: object) -> None:
    with pytest.raises(TypeError, match="path"):
        UnixSocketAddress(path)  # type: ignore[arg-type]


def test_UnixSocketAddress_rejects_a_NUL_inside_a_file_path() -> None:
    with pytest.raises(ValueError, match="NUL"):
        UnixSocketAddress("/tmp/a\0b")


def test_UnixSocketAddress_is_equal_hashable_and_immutable() -> None:
    a = UnixSocketAddress("/tmp/a")
    assert a == UnixSocketAddress("/tmp/a")
    assert hash(a) == hash(UnixSocketAddress("/tmp/a"))
    assert a != UnixSocketAddress("/tmp/b")
    assert a != "/tmp/a"
    with pytest.raises(AttributeError):
        a.path = "/tmp/b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.other = 1  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(a)) == a


def test_UnixSocketAddress_repr_and_str() -> None:
    assert repr(UnixSocketAddress("/tmp/a")) == "UnixSocketAddress('/tmp/a')"
    assert str(UnixSocketAddress("/tmp/a")) == "/tmp/a"
    assert str(UnixSocketAddress("\0name")) == "@name"
    assert str(UnixSocketAddress("")) == "<unnamed>"


def test_UnixSocketAddress_isSupported_says_whether_AF_UNIX_exists() -> None:
    assert UnixSocketAddress.isSupported() is hasattr(socket, "AF_UNIX")


# --- to_sockaddr / family_of --------------------------------------------------------------


def test_to_sockaddr_of_an_Inet_address_is_host_and_port() -> None:
    assert to_sockaddr(InetSocketAddress("127.0.0.1", 80)) == ("127.0.0.1", 80)
    assert to_sockaddr(InetSocketAddress("::1", 80)) == ("::1", 80)


def test_to_sockaddr_of_a_Unix_address_is_its_path_abstract_included() -> None:
    assert to_sockaddr(UnixSocketAddress("/tmp/s")) == "/tmp/s"
    assert to_sockaddr(UnixSocketAddress("\0abstract")) == "\0abstract"


def test_to_sockaddr_rejects_anything_else() -> None:
    with pytest.raises(TypeError):
        to_sockaddr(("127.0.0.1", 80))  # type: ignore[arg-type]


def test_family_of_tells_the_family_without_resolving() -> None:
    assert family_of(InetSocketAddress("127.0.0.1", 1)) == socket.AF_INET
    assert family_of(InetSocketAddress("::1", 1)) == socket.AF_INET6
    assert family_of(InetSocketAddress("fe80::1%lo", 1)) == socket.AF_INET6
    assert family_of(InetSocketAddress("localhost", 1)) is None
    with pytest.raises(TypeError):
        family_of("127.0.0.1")  # type: ignore[arg-type]


@needs_unix
def test_family_of_a_Unix_address_is_AF_UNIX() -> None:
    assert family_of(UnixSocketAddress("/tmp/s")) == socket.AF_UNIX


# --- from_sockaddr on real sockets --------------------------------------------------------


def _connected_pair(
    family: int, bind_to: object
) -> tuple[gsocket.socket, gsocket.socket, gsocket.socket]:
    server = gsocket.socket(family, socket.SOCK_STREAM)
    server.bind(bind_to)
    server.listen(1)
    client = gsocket.socket(family, socket.SOCK_STREAM)
    client.connect(server.getsockname())
    accepted, _ = server.accept()
    return server, client, accepted


def test_from_sockaddr_round_trips_IPv4() -> None:
    server, client, accepted = _connected_pair(
        socket.AF_INET, to_sockaddr(InetSocketAddress("127.0.0.1", 0))
    )
    with server, client, accepted:
        local = from_sockaddr(server.family, server.getsockname())
        assert isinstance(local, InetSocketAddress)
        assert local.hostname == "127.0.0.1"
        assert local.port == server.getsockname()[1] != 0
        assert from_sockaddr(client.family, client.getpeername()) == local
        assert from_sockaddr(accepted.family, accepted.getpeername()) == from_sockaddr(
            client.family, client.getsockname()
        )
        # The address goes back into the socket layer unchanged.
        assert to_sockaddr(local) == server.getsockname()


@needs_ipv6
def test_from_sockaddr_round_trips_IPv6_dropping_flow_and_scope() -> None:
    server, client, accepted = _connected_pair(
        socket.AF_INET6, to_sockaddr(InetSocketAddress("::1", 0))
    )
    with server, client, accepted:
        raw = server.getsockname()
        assert len(raw) == 4
        local = from_sockaddr(server.family, raw)
        assert local == InetSocketAddress("::1", raw[1])
        assert str(local) == f"[::1]:{raw[1]}"
        assert from_sockaddr(client.family, client.getpeername()) == local
        assert from_sockaddr(accepted.family, accepted.getpeername()).resolveAddress() == LOOPBACK6  # type: ignore[attr-defined]


def test_from_sockaddr_of_recvfrom_is_the_sender() -> None:
    with (
        gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
        gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
    ):
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        b.sendto(b"hi", to_sockaddr(from_sockaddr(a.family, a.getsockname())))
        data, sender = a.recvfrom(16)
        assert data == b"hi"
        assert from_sockaddr(a.family, sender) == InetSocketAddress("127.0.0.1", b.getsockname()[1])


@needs_unix
def test_from_sockaddr_round_trips_a_Unix_path(unix_dir: pathlib.Path) -> None:
    address = UnixSocketAddress(unix_dir / "s.sock")
    server, client, accepted = _connected_pair(socket.AF_UNIX, to_sockaddr(address))
    with server, client, accepted:
        assert from_sockaddr(server.family, server.getsockname()) == address
        assert from_sockaddr(client.family, client.getpeername()) == address
        # A client that never bound is unnamed: the kernel says "".
        assert from_sockaddr(accepted.family, accepted.getpeername()) == UnixSocketAddress("")
        assert from_sockaddr(client.family, client.getsockname()) == UnixSocketAddress("")
    os.unlink(address.path)


@needs_unix
@needs_linux
def test_from_sockaddr_turns_abstract_bytes_into_a_NUL_prefixed_str() -> None:
    name = f"\0greensock-test-{os.getpid()}"
    server, client, accepted = _connected_pair(socket.AF_UNIX, to_sockaddr(UnixSocketAddress(name)))
    with server, client, accepted:
        raw = server.getsockname()
        assert isinstance(raw, bytes)  # what CPython reports for the abstract namespace
        local = from_sockaddr(server.family, raw)
        assert local == UnixSocketAddress(name)
        assert isinstance(local, UnixSocketAddress)
        assert local.path.startswith("\0")
        assert from_sockaddr(client.family, client.getpeername()) == local


@needs_unix
@needs_linux
def test_from_sockaddr_of_an_autobound_abstract_name() -> None:
    with gsocket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(to_sockaddr(UnixSocketAddress("")))  # Linux picks a free abstract name
        local = from_sockaddr(sock.family, sock.getsockname())
        assert isinstance(local, UnixSocketAddress)
        assert local.path.startswith("\0") and len(local.path) > 1


def test_from_sockaddr_rejects_an_unknown_family() -> None:
    with pytest.raises(ValueError, match="family"):
        from_sockaddr(12345, ("x", 1))
