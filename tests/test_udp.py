"""UDP over loopback (SPEC section 8): Datagram, bound and connected datagram sockets.

Every datagram stays on 127.0.0.1, ::1 or 127.255.255.255 (the broadcast address of the
loopback network). Waits are bounded by ``receive(timeout=...)`` or ``gevent.Timeout``; peers
that must be "plain" are gevent sockets. The tests named after ktor's are ports of ktor's own
``UDPSocketTest``.
"""

from __future__ import annotations

import errno
import gc
import pickle
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from faults import kernel_faults
from gevent import socket as gsocket
from kernel import census, descriptors, left_over, sockopt
from markers import needs_ipv6
from zope.interface.verify import verifyObject

from greensock import (
    ByteChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedSendChannelException,
    ClosedWriteChannelException,
    ConcurrentIOException,
    InetSocketAddress,
    SelectorManager,
    SocketTimeoutException,
    TypeOfService,
    UnixSocketAddress,
    aSocket,
)
from greensock.datagram import MAX_DATAGRAM_SIZE, Datagram
from greensock.interfaces import (
    IBoundDatagramSocket,
    IByteReadChannel,
    IByteWriteChannel,
    IConnectedDatagramSocket,
    IDatagramReceiveChannel,
    IDatagramSendChannel,
    IJob,
)
from greensock.udp import MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD
from greensock.waitfirst import WaitForAnswers

pytestmark = pytest.mark.timeout(20)


# Broadcasting is tested on Linux only: there 127.255.255.255 is the broadcast address of
# the loopback interface, so nothing can leave the machine. Elsewhere it may be routed out.
needs_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="loopback broadcast (127.255.255.255) is only known to stay on lo on Linux",
)

LOCAL = "127.0.0.1"
LOOPBACK_BROADCAST = "127.255.255.255"
HOSTS = [pytest.param(LOCAL, id="ipv4"), pytest.param("::1", id="ipv6", marks=needs_ipv6)]
#: Seconds any single wait may take before the test fails rather than hangs.
WAIT = 5.0


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def udp(selector: SelectorManager) -> Any:
    """A UDPSocketBuilder on the test's selector."""
    return aSocket(selector).udp()


@pytest.fixture
def plain() -> Iterator[Callable[[str], Any]]:
    """Factory of plain gevent UDP sockets bound to a loopback host; closed at teardown."""
    socks: list[Any] = []

    def make(host: str = LOCAL) -> Any:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = gsocket.socket(family, socket.SOCK_DGRAM)
        socks.append(sock)
        sock.bind((host, 0))
        return sock

    yield make
    for sock in socks:
        sock.close()


def address_of(sock: Any) -> InetSocketAddress:
    """The InetSocketAddress of a plain socket."""
    host, port = sock.getsockname()[:2]
    return InetSocketAddress(host, port)


def plain_receive(sock: Any) -> tuple[bytes, Any]:
    """One datagram from a plain socket, whole, within WAIT seconds."""
    with gevent.Timeout(WAIT):
        data, sender = sock.recvfrom(MAX_DATAGRAM_SIZE + 1)
    return bytes(data), sender


def outcome(fn: Callable[[], Any]) -> gevent.Greenlet:
    """Run *fn* in a greenlet whose value is what it returned or the exception it raised."""

    def run() -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - the exception is the outcome
            return exc

    return gevent.spawn(run)


def settle() -> None:
    """Let spawned greenlets reach their blocking call."""
    gevent.sleep(0.05)


# -- Datagram -------------------------------------------------------------------------------


def test_datagram_is_an_immutable_value() -> None:
    address = InetSocketAddress(LOCAL, 5000)
    payload = bytearray(b"hello")
    datagram = Datagram(payload, address)
    payload[0] = ord("j")  # the datagram took a copy
    assert datagram.packet == b"hello" and type(datagram.packet) is bytes
    assert datagram.address is address
    assert datagram == Datagram(b"hello", InetSocketAddress(LOCAL, 5000))
    assert hash(datagram) == hash(Datagram(b"hello", InetSocketAddress(LOCAL, 5000)))
    assert datagram != Datagram(b"hello", InetSocketAddress(LOCAL, 5001))
    packet, where = datagram
    assert (packet, where) == (b"hello", address)
    with pytest.raises(AttributeError):
        datagram.packet = b"other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        datagram.address = address  # type: ignore[misc]
    with pytest.raises(AttributeError):
        datagram.extra = 1  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(datagram)) == datagram
    assert "5000" in repr(datagram)
    assert "<10000 bytes>" in repr(Datagram(bytes(10000), address))


def test_datagram_over_MAX_DATAGRAM_SIZE_is_ValueError() -> None:
    address = InetSocketAddress(LOCAL, 5000)
    assert MAX_DATAGRAM_SIZE == 65535
    assert len(Datagram(bytes(MAX_DATAGRAM_SIZE), address).packet) == MAX_DATAGRAM_SIZE
    with pytest.raises(ValueError, match="65536"):
        Datagram(bytes(MAX_DATAGRAM_SIZE + 1), address)


def test_datagram_rejects_text_and_non_addresses() -> None:
    with pytest.raises(TypeError, match="encode"):
        Datagram("text", InetSocketAddress(LOCAL, 5000))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Datagram(5, InetSocketAddress(LOCAL, 5000))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SocketAddress"):
        Datagram(b"x", (LOCAL, 5000))  # type: ignore[arg-type]


# -- bound sockets: sending and receiving -----------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_send_receive_to_self_ten_times(udp: Any, host: str) -> None:
    """ktor's testSendReceive, on an ephemeral port of both loopbacks."""
    with udp.bind(host, 0) as sock:
        sender = gevent.spawn(
            lambda: [sock.send(Datagram(b"hello", sock.localAddress)) for _ in range(10)]
        )
        for _ in range(10):
            received = sock.receive(timeout=WAIT)
            assert received.packet == b"hello"
            assert received.address == sock.localAddress  # the sender's, numeric
        sender.get(timeout=WAIT)


def test_bind_defaults_to_the_wildcard_address_and_an_ephemeral_port(udp: Any) -> None:
    for sock in (udp.bind(), udp.bind(None)):
        assert isinstance(sock.localAddress, InetSocketAddress)
        assert sock.localAddress.hostname == "0.0.0.0"
        assert sock.localAddress.port > 0
    explicit = udp.bind(InetSocketAddress(LOCAL, 0))
    assert explicit.localAddress.hostname == LOCAL


def test_each_received_datagram_carries_its_own_senders_address(udp: Any) -> None:
    """Runs of one sender and alternations of several: the last sender is remembered, and
    a new one must not be taken for it."""
    server, one, other = udp.bind(LOCAL, 0), udp.bind(LOCAL, 0), udp.bind(LOCAL, 0)
    order = [one, one, other, one, other, other, one]
    for index, sender in enumerate(order):
        sender.send(Datagram(bytes([index]), server.localAddress))
    for index, sender in enumerate(order):
        got = server.receive(timeout=WAIT)
        assert got.packet == bytes([index])
        assert got.address == sender.localAddress


def test_binding_a_used_port_raises_EADDRINUSE(udp: Any) -> None:
    first = udp.bind(LOCAL, 0)
    with pytest.raises(OSError) as caught:
        udp.bind(LOCAL, first.localAddress.port)
    assert caught.value.errno == errno.EADDRINUSE


def test_send_receive_10000_byte_datagrams(udp: Any) -> None:
    """ktor's large-datagram test: 10,000 bytes each way, through incoming and outgoing."""
    one, other = udp.bind(LOCAL, 0), udp.bind(LOCAL, 0)
    payload = bytes(range(256)) * 39 + bytes(16)
    assert len(payload) == 10000
    one.outgoing.send(Datagram(payload, other.localAddress))
    received = other.incoming.receive(timeout=WAIT)
    assert received.packet == payload and received.address == one.localAddress
    other.send(Datagram(payload[::-1], received.address))
    assert one.receive(timeout=WAIT).packet == payload[::-1]


@pytest.mark.parametrize(
    ("host", "largest"),
    [
        pytest.param(LOCAL, MAX_IPV4_PAYLOAD, id="ipv4"),
        pytest.param("::1", MAX_IPV6_PAYLOAD, id="ipv6", marks=needs_ipv6),
    ],
)
def test_the_largest_datagram_of_the_family_is_received_whole(
    udp: Any, host: str, largest: int
) -> None:
    sock = udp.bind(host, 0)
    payload = bytes(range(251)) * (largest // 251) + bytes(largest % 251)
    sock.send(Datagram(payload, sock.localAddress))
    assert sock.receive(timeout=WAIT).packet == payload


def test_a_datagram_too_large_for_ipv4_is_EMSGSIZE_and_the_socket_stays_usable(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with pytest.raises(OSError) as caught:
        sock.send(Datagram(bytes(MAX_IPV4_PAYLOAD + 1), sock.localAddress))
    assert caught.value.errno == errno.EMSGSIZE
    assert str(MAX_IPV4_PAYLOAD) in str(caught.value)
    assert not isinstance(caught.value, ClosedChannelException)
    assert not sock.isClosed
    sock.send(Datagram(b"still here", sock.localAddress))
    assert sock.receive(timeout=WAIT).packet == b"still here"


def test_receive_timeout_raises_SocketTimeoutException_and_loses_nothing(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with pytest.raises(SocketTimeoutException):
        sock.receive(timeout=0.05)
    with pytest.raises(SocketTimeoutException):
        sock.incoming.receive(timeout=0.05)
    for index in range(3):
        sock.send(Datagram(bytes([index]), sock.localAddress))
    assert [sock.receive(timeout=WAIT).packet for _ in range(3)] == [b"\0", b"\1", b"\2"]


def test_datagrams_queued_behind_a_blocking_receive_all_arrive_in_order(udp: Any) -> None:
    """A receive that had to wait makes the next ones wait first: queued data still flows."""
    sock = udp.bind(LOCAL, 0)
    waiting = outcome(lambda: sock.receive(timeout=WAIT))
    settle()
    count = 3 * WaitForAnswers.run
    for index in range(count):
        sock.send(Datagram(index.to_bytes(2, "big"), sock.localAddress))
    assert waiting.get(timeout=WAIT).packet == b"\0\0"
    received = [sock.receive(timeout=WAIT).packet for _ in range(count - 1)]
    assert received == [index.to_bytes(2, "big") for index in range(1, count)]


def test_an_empty_datagram_is_a_datagram(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    sock.send(Datagram(b"", sock.localAddress))
    assert sock.receive(timeout=WAIT) == Datagram(b"", sock.localAddress)


def test_sending_to_a_host_name_resolves_it(udp: Any, plain: Callable[[str], Any]) -> None:
    peer = plain(LOCAL)
    sock = udp.bind(LOCAL, 0)
    sock.send(Datagram(b"by name", InetSocketAddress("localhost", address_of(peer).port)))
    assert plain_receive(peer)[0] == b"by name"


def test_sending_to_a_unix_address_is_TypeError(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with pytest.raises(TypeError, match="InetSocketAddress"):
        sock.send(Datagram(b"x", UnixSocketAddress("/tmp/nowhere")))
    with pytest.raises(TypeError):
        sock.send(b"not a datagram")


@needs_ipv6
def test_an_ipv6_wildcard_socket_reaches_ipv4_peers(udp: Any, plain: Callable[[str], Any]) -> None:
    peer = plain(LOCAL)
    sock = udp.bind("::", 0)
    sock.send(Datagram(b"mapped", address_of(peer)))
    data, sender = plain_receive(peer)
    assert data == b"mapped"
    peer.sendto(b"back", sender)
    assert sock.receive(timeout=WAIT).packet == b"back"


def test_an_ipv4_socket_cannot_send_to_ipv6(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with pytest.raises(OSError) as caught:
        sock.send(Datagram(b"x", InetSocketAddress("::1", 9)))
    assert caught.value.errno == errno.EAFNOSUPPORT


# -- one blocked receiver, closing ------------------------------------------------------------


def test_a_second_blocked_receive_raises_ConcurrentIOException(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    first = outcome(lambda: sock.receive(timeout=WAIT))
    settle()
    with pytest.raises(ConcurrentIOException):
        sock.receive(timeout=WAIT)
    with pytest.raises(ConcurrentIOException):
        sock.openReadChannel().readPacket(1)
    sock.send(Datagram(b"for the first", sock.localAddress))
    assert first.get(timeout=WAIT).packet == b"for the first"


def test_close_wakes_a_blocked_receive_with_ClosedReceiveChannelException(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    blocked = outcome(sock.receive)
    settle()
    sock.close()
    assert isinstance(blocked.get(timeout=WAIT), ClosedReceiveChannelException)


def test_closing_the_selector_wakes_a_blocked_receive(selector: SelectorManager) -> None:
    sock = aSocket(selector).udp().bind(LOCAL, 0)
    blocked = outcome(sock.incoming.receive)
    settle()
    selector.close()
    assert isinstance(blocked.get(timeout=WAIT), ClosedReceiveChannelException)
    assert sock.isClosed


def test_after_close_receive_and_send_raise(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    target = sock.localAddress
    sock.close()
    with pytest.raises(ClosedReceiveChannelException):
        sock.receive()
    with pytest.raises(ClosedReceiveChannelException):
        sock.incoming.receive(timeout=1)
    with pytest.raises(ClosedSendChannelException):
        sock.send(Datagram(b"x", target))
    with pytest.raises(ClosedSendChannelException):
        sock.outgoing.send(Datagram(b"x", target))
    with pytest.raises(ClosedChannelException):
        sock.openReadChannel()
    assert sock.incoming.isClosedForReceive and sock.outgoing.isClosedForSend


def test_close(udp: Any) -> None:
    """ktor's testClose: socketContext completes and the socket is closed; twice is harmless."""
    sock = udp.bind()
    assert len(descriptors(sock)) == 1
    assert not sock.isClosed and sock.socketContext.isActive
    assert not sock.incoming.isClosedForReceive and not sock.outgoing.isClosedForSend
    sock.close()
    sock.close()
    sock.dispose()
    assert sock.socketContext.join(WAIT)
    assert sock.isClosed and sock.awaitClosed(WAIT)
    assert descriptors(sock) == []  # the file descriptor is released
    with udp.bind(LOCAL, 0) as managed:
        pass
    assert managed.isClosed


def test_closed_sockets_are_freed_by_reference_counting_alone(udp: Any) -> None:
    # A socket and its channels point at each other while open; left in a cycle once closed,
    # it would wait for the cyclic collector, a cost for programs that open many.
    def exchange() -> set[type]:
        server = udp.bind(LOCAL, 0)
        client = udp.connect(server.localAddress)
        for sock in (server, client):
            sock.socketContext.invokeOnCompletion(lambda cause: None)
        client.outgoing.send(Datagram(b"ping", server.localAddress))
        request = server.incoming.receive(timeout=WAIT)
        server.send(Datagram(b"pong", request.address))
        assert client.openReadChannel().readPacket(4) == b"pong"
        output = client.openWriteChannel()
        output.writeFully(b"last")
        for sock in (server, client):
            sock.close()
        made = (server, client, server.incoming, client.outgoing, output, server.socketContext)
        return {type(thing) for thing in made}

    gc.collect()
    gc.disable()
    try:
        before = census()
        kinds = exchange()
        assert left_over(before, kinds) == {}
    finally:
        gc.enable()


def test_cancelling_socketContext_closes_the_socket(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    sock.socketContext.cancel()
    assert sock.isClosed and sock.socketContext.isCancelled


def test_incoming_iteration_ends_when_the_socket_closes(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    for index in range(3):
        sock.send(Datagram(bytes([index]), sock.localAddress))
    seen: list[bytes] = []

    def consume() -> None:
        for datagram in sock.incoming:
            seen.append(datagram.packet)
            if len(seen) > 3:
                break  # bounded even if close never ends the iteration

    consumer = gevent.spawn(consume)
    settle()
    sock.close()
    consumer.get(timeout=WAIT)
    assert seen == [b"\0", b"\1", b"\2"]


# -- outgoing: close and invokeOnClose (ktor's tests) -------------------------------------------


def test_invokeOnClose_takes_one_handler_called_once(udp: Any) -> None:
    """ktor's testInvokeOnClose."""
    sock = udp.bind()
    calls: list[Any] = []
    sock.outgoing.invokeOnClose(calls.append)
    with pytest.raises(RuntimeError):
        sock.outgoing.invokeOnClose(lambda cause: calls.append("second"))
    sock.close()
    sock.close()
    assert sock.awaitClosed(WAIT)
    assert calls == [None]


def test_outgoing_close_with_a_cause_closes_the_socket_and_calls_the_handler(udp: Any) -> None:
    """ktor's testOutgoingInvokeOnClose."""
    sock = udp.bind()
    calls: list[Any] = []
    sock.outgoing.invokeOnClose(calls.append)
    cause = AssertionError("boom")
    assert sock.outgoing.close(cause) is True
    assert calls == [cause]  # synchronously
    assert sock.socketContext.join(WAIT) and sock.isClosed
    assert sock.outgoing.close() is False
    assert calls == [cause]


def test_invokeOnClose_is_called_by_socket_close(udp: Any) -> None:
    """ktor's testOutgoingInvokeOnCloseWithSocketClose."""
    sock = udp.bind()
    calls: list[Any] = []
    sock.outgoing.invokeOnClose(calls.append)
    sock.close()
    assert calls == [None]
    assert sock.socketContext.join(WAIT) and sock.isClosed


def test_invokeOnClose_after_close_runs_at_once(udp: Any) -> None:
    """ktor's testOutgoingInvokeOnClosed: registered after close(cause), called at once."""
    sock = udp.bind()
    cause = AssertionError("boom")
    sock.outgoing.close(cause)
    calls: list[Any] = []
    sock.outgoing.invokeOnClose(calls.append)
    assert calls == [cause]
    with pytest.raises(RuntimeError):
        sock.outgoing.invokeOnClose(calls.append)
    with pytest.raises(TypeError):
        udp.bind().outgoing.invokeOnClose("not callable")


# -- broadcast (ktor's tests, on the loopback network) ---------------------------------------


@needs_linux
def test_broadcast_without_the_option_is_PermissionError(udp: Any) -> None:
    """ktor's testBroadcastFails: the kernel refuses before anything is sent."""
    sock = udp.bind()
    assert sockopt(sock, socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
    with pytest.raises(PermissionError, match="Permission denied") as caught:
        sock.send(Datagram(b"0123456789", InetSocketAddress(LOOPBACK_BROADCAST, 9)))
    assert "broadcast=True" in str(caught.value)
    assert not sock.isClosed
    sock.send(Datagram(b"usable", sock.localAddress.copy(hostname=LOCAL)))
    assert sock.receive(timeout=WAIT).packet == b"usable"


@needs_linux
def test_broadcast_with_the_option_reaches_a_wildcard_receiver(udp: Any) -> None:
    """ktor's testBroadcastSuccessful, sent to the loopback network's broadcast address."""
    receiver = udp.bind(InetSocketAddress("0.0.0.0", 0))
    sender = udp.bind(LOCAL, 0, configure={"broadcast": True})
    assert sockopt(sender, socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
    target = InetSocketAddress(LOOPBACK_BROADCAST, receiver.localAddress.port)
    try:
        sender.send(Datagram(b"0123456789", target))
    except OSError as exc:
        pytest.skip(f"this kernel refuses loopback broadcast: {exc}")
    try:
        received = receiver.receive(timeout=2)
    except SocketTimeoutException:
        pytest.skip("this kernel does not deliver loopback broadcast to a wildcard socket")
    assert received.packet == b"0123456789"
    assert received.address.port == sender.localAddress.port


# -- options on the real socket ---------------------------------------------------------------


def test_udp_options_are_applied_to_the_kernel_socket(udp: Any) -> None:
    has_reuse_port = hasattr(socket, "SO_REUSEPORT")
    sock = udp.configure(broadcast=True).bind(
        LOCAL,
        0,
        configure={
            "reuseAddress": True,
            "reusePort": has_reuse_port,
            "sendBufferSize": 65536,
            "receiveBufferSize": 131072,
            "typeOfService": TypeOfService.IPTOS_LOWDELAY,
        },
    )
    assert sockopt(sock, socket.SOL_SOCKET, socket.SO_BROADCAST) == 1
    assert sockopt(sock, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
    if has_reuse_port:
        assert sockopt(sock, socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
    # Linux doubles buffer sizes for its bookkeeping; others keep them.
    assert sockopt(sock, socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
    assert sockopt(sock, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 131072
    assert sockopt(sock, socket.IPPROTO_IP, socket.IP_TOS) == 0x10
    plain_defaults = aSocket(udp.selector).udp().bind(LOCAL, 0)
    assert sockopt(plain_defaults, socket.SOL_SOCKET, socket.SO_BROADCAST) == 0
    assert sockopt(plain_defaults, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0


def test_connect_applies_options_too(udp: Any) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress, configure=lambda o: setattr(o, "broadcast", True))
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_BROADCAST) == 1


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="BSDs need SO_REUSEPORT, not SO_REUSEADDR, to bind one UDP port twice",
)
def test_reuseAddress_lets_two_sockets_share_a_port(udp: Any) -> None:
    first = udp.bind(LOCAL, 0, configure={"reuseAddress": True})
    second = udp.bind(LOCAL, first.localAddress.port, configure={"reuseAddress": True})
    assert second.localAddress == first.localAddress


# -- connected sockets ------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_connect_exchanges_datagrams_with_the_peer(udp: Any, host: str) -> None:
    """ktor's testConnect, both ways, on both loopbacks."""
    server = udp.bind(host, 0)
    client = udp.connect(server.localAddress)
    assert client.remoteAddress == server.localAddress
    assert client.localAddress.hostname == host and client.localAddress.port > 0
    client.send(Datagram(b"ping", server.localAddress))
    request = server.receive(timeout=WAIT)
    assert request == Datagram(b"ping", client.localAddress)
    server.send(Datagram(b"pong", request.address))
    assert client.receive(timeout=WAIT) == Datagram(b"pong", server.localAddress)


def test_connect_binds_the_given_local_address(udp: Any, plain: Callable[[str], Any]) -> None:
    spare = plain(LOCAL)
    port = address_of(spare).port
    spare.close()  # a port that was free a moment ago
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress, InetSocketAddress(LOCAL, port))
    assert client.localAddress == InetSocketAddress(LOCAL, port)


def test_a_connected_socket_only_hears_its_peer(udp: Any, plain: Callable[[str], Any]) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    stranger = plain(LOCAL)
    stranger.sendto(b"from a stranger", (LOCAL, client.localAddress.port))
    server.send(Datagram(b"from the peer", client.localAddress))
    assert client.receive(timeout=WAIT).packet == b"from the peer"
    with pytest.raises(SocketTimeoutException):
        client.receive(timeout=0.2)


def test_a_connected_socket_refuses_other_destinations(udp: Any) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    elsewhere = server.localAddress.copy(port=(server.localAddress.port % 60000) + 1024)
    with pytest.raises(ValueError, match="connected"):
        client.send(Datagram(b"x", elsewhere))
    # The same peer spelt differently is the peer.
    client.send(Datagram(b"raw bytes", InetSocketAddress(b"\x7f\0\0\1", server.localAddress.port)))
    assert server.receive(timeout=WAIT).packet == b"raw bytes"


def test_a_connected_socket_reports_a_refused_peer_and_stays_usable(
    udp: Any, plain: Callable[[str], Any]
) -> None:
    gone = plain(LOCAL)
    target = address_of(gone)
    gone.close()  # nobody listens there any more: loopback answers ICMP port unreachable
    client = udp.connect(target)
    client.send(Datagram(b"anyone?", target))
    with pytest.raises(ConnectionRefusedError):
        client.receive(timeout=WAIT)
    assert not client.isClosed
    with pytest.raises(SocketTimeoutException):
        client.receive(timeout=0.05)


# -- the byte-stream view ---------------------------------------------------------------------


def test_a_connected_read_channel_concatenates_payloads_in_order(udp: Any) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    reader = client.openReadChannel()
    for payload in (b"first line\nsec", b"", b"ond line\n", b"\x00\x00\x00\x2a"):
        server.send(Datagram(payload, client.localAddress))
    with gevent.Timeout(WAIT):
        assert reader.readUTF8Line() == "first line"
        assert reader.readUTF8Line() == "second line"
        assert reader.readInt() == 42
    assert reader.totalBytesRead == 27


def test_a_short_read_keeps_the_rest_of_the_datagram(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    reader = sock.openReadChannel()
    sock.send(Datagram(b"0123456789", sock.localAddress))
    small = bytearray(4)
    with gevent.Timeout(WAIT):
        assert reader.readAvailable(small) == 4
        assert bytes(small) == b"0123"
        assert reader.availableForRead == 6
        assert reader.readPacket(6) == b"456789"


def test_an_empty_datagram_adds_nothing_to_the_byte_stream(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    reader = sock.openReadChannel()
    sock.send(Datagram(b"", sock.localAddress))
    sock.send(Datagram(b"x", sock.localAddress))
    buffer = bytearray(8)
    with gevent.Timeout(WAIT):
        assert reader.readAvailable(buffer) == 1  # never 0, never end of stream
    assert buffer[:1] == b"x"


def test_a_bound_read_channel_yields_every_payload_in_order(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    other = udp.bind(LOCAL, 0)
    reader = sock.openReadChannel()
    for index in range(5):
        (sock if index % 2 else other).send(Datagram(b"%d," % index, sock.localAddress))
    with gevent.Timeout(WAIT):
        assert reader.readPacket(10) == b"0,1,2,3,4,"


def test_each_flush_of_the_write_channel_is_one_datagram(
    udp: Any, plain: Callable[[str], Any]
) -> None:
    peer = plain(LOCAL)
    client = udp.connect(address_of(peer))
    writer = client.openWriteChannel()
    writer.writeStringUtf8("one ")
    writer.writeStringUtf8("datagram")
    writer.flush()
    writer.writeInt(7)
    writer.flush()
    writer.flush()  # nothing pending: no empty datagram
    assert plain_receive(peer)[0] == b"one datagram"
    assert plain_receive(peer)[0] == b"\0\0\0\7"
    assert writer.totalBytesWritten == 16
    peer.settimeout(0.1)
    with pytest.raises(socket.timeout):
        peer.recvfrom(100)


def test_a_full_write_channel_flushes_one_largest_datagram(
    udp: Any, plain: Callable[[str], Any]
) -> None:
    peer = plain(LOCAL)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client = udp.connect(address_of(peer))
    writer = client.openWriteChannel()
    assert writer.availableForWrite == MAX_IPV4_PAYLOAD
    data = bytes(range(256)) * 300
    writer.writeFully(data)
    writer.flush()
    first, second = plain_receive(peer)[0], plain_receive(peer)[0]
    assert len(first) == MAX_IPV4_PAYLOAD
    assert first + second == data


def test_autoFlush_sends_each_write_as_a_datagram(udp: Any, plain: Callable[[str], Any]) -> None:
    peer = plain(LOCAL)
    writer = udp.connect(address_of(peer)).openWriteChannel(autoFlush=True)
    writer.writePacket(b"a")
    writer.writePacket(b"bc")
    assert [plain_receive(peer)[0] for _ in range(2)] == [b"a", b"bc"]


def test_closing_the_write_channel_sends_what_is_pending_and_keeps_receiving(
    udp: Any, plain: Callable[[str], Any]
) -> None:
    peer = plain(LOCAL)
    client = udp.connect(address_of(peer))
    writer = client.openWriteChannel()
    writer.writePacket(b"last words")
    assert writer.close() is True
    assert plain_receive(peer)[0] == b"last words"
    with pytest.raises(ClosedWriteChannelException):
        writer.writePacket(b"more")
    peer.sendto(b"still listening", (LOCAL, client.localAddress.port))
    assert client.receive(timeout=WAIT).packet == b"still listening"


def test_closing_the_socket_sends_unflushed_bytes(udp: Any, plain: Callable[[str], Any]) -> None:
    peer = plain(LOCAL)
    client = udp.connect(address_of(peer))
    writer = client.openWriteChannel()
    writer.writePacket(b"unflushed")
    client.close()
    assert plain_receive(peer)[0] == b"unflushed"
    with pytest.raises(ClosedWriteChannelException):
        writer.writePacket(b"x")


def test_close_wakes_a_blocked_channel_read_with_ClosedReadChannelException(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    reader = sock.openReadChannel()
    blocked = outcome(lambda: reader.readPacket(4))
    settle()
    sock.close()
    assert isinstance(blocked.get(timeout=WAIT), ClosedReadChannelException)
    with pytest.raises(ClosedReadChannelException):
        reader.readPacket(1)


def test_cancelling_the_read_channel_wakes_its_reader_and_spares_the_socket(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    reader = sock.openReadChannel()
    blocked = outcome(lambda: reader.readPacket(4))
    settle()
    cause = RuntimeError("enough")
    assert reader.cancel(cause)
    assert blocked.get(timeout=WAIT) is cause
    sock.send(Datagram(b"socket ok", sock.localAddress))
    assert sock.receive(timeout=WAIT).packet == b"socket ok"


def test_channels_open_once(udp: Any) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    client.openReadChannel()
    client.openWriteChannel()
    with pytest.raises(RuntimeError):
        client.openReadChannel()
    with pytest.raises(RuntimeError):
        client.openWriteChannel()
    with pytest.raises(RuntimeError):
        client.attachForReading(ByteChannel())
    with pytest.raises(RuntimeError):
        client.attachForWriting(ByteChannel())
    closed = udp.connect(server.localAddress)
    closed.close()
    for open_channel in (
        closed.openReadChannel,
        closed.openWriteChannel,
        lambda: closed.attachForReading(ByteChannel()),
        lambda: closed.attachForWriting(ByteChannel()),
    ):
        with pytest.raises(ClosedChannelException):
            open_channel()


def test_attached_channels_pump_datagrams(udp: Any) -> None:
    server = udp.bind(LOCAL, 0)
    client = udp.connect(server.localAddress)
    incoming = ByteChannel()
    reading = server.attachForReading(incoming)
    outgoing = ByteChannel()
    writing = client.attachForWriting(outgoing)
    outgoing.writePacket(b"pumped")
    outgoing.flush()
    with gevent.Timeout(WAIT):
        assert incoming.readPacket(6) == b"pumped"
    outgoing.close()
    assert writing.join(WAIT)
    assert verifyObject(IJob, reading)
    server.close()
    assert reading.join(WAIT)
    with pytest.raises(ClosedReadChannelException):
        incoming.readPacket(1)


# -- the one-sender-at-a-time path, which loopback never takes by itself ----------------------


def test_a_send_the_kernel_cannot_take_yet_waits_and_is_not_dropped(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with kernel_faults(sock, "sendto", [errno.EAGAIN] * 3) as faults:
        sock.send(Datagram(b"eventually", sock.localAddress))
        assert faults.codes == []
    assert sock.receive(timeout=WAIT).packet == b"eventually"


def test_senders_waiting_for_the_kernel_take_turns(udp: Any) -> None:
    sock = udp.bind(LOCAL, 0)
    with kernel_faults(sock, "sendto", [errno.EAGAIN] * 4) as faults:
        senders = [
            outcome(lambda i=index: sock.send(Datagram(bytes([i]), sock.localAddress)))
            for index in range(3)
        ]
        assert [sender.get(timeout=WAIT) for sender in senders] == [None, None, None]
        assert faults.codes == []
    received = sorted(sock.receive(timeout=WAIT).packet for _ in range(3))
    assert received == [b"\0", b"\1", b"\2"]


# -- interfaces ------------------------------------------------------------------------------


def test_objects_provide_their_interfaces(udp: Any) -> None:
    bound = udp.bind(LOCAL, 0)
    connected = udp.connect(bound.localAddress)
    assert verifyObject(IBoundDatagramSocket, bound)
    assert verifyObject(IConnectedDatagramSocket, connected)
    for sock in (bound, connected):
        assert verifyObject(IDatagramReceiveChannel, sock.incoming)
        assert verifyObject(IDatagramSendChannel, sock.outgoing)
        assert verifyObject(IJob, sock.socketContext)
    assert verifyObject(IByteReadChannel, bound.openReadChannel())
    assert verifyObject(IByteReadChannel, connected.openReadChannel())
    assert verifyObject(IByteWriteChannel, connected.openWriteChannel())
    assert not IConnectedDatagramSocket.providedBy(bound)
