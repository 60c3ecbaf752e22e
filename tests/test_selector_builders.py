"""aSocket(), SelectorManager and the builders: ownership, threads, configure, options applied.

Sockets are real, on loopback; option effects are read back from the kernel with
``getsockopt`` on the kernel socket found by the greensock socket's addresses (tests/kernel.py).
"""

from __future__ import annotations

import gc
import select
import socket
import struct
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from kernel import kernel_socket, sockopt, sockopts
from zope.interface.verify import verifyObject

from greensock import (
    AcceptorOptions,
    ClosedChannelException,
    ClosedReadChannelException,
    ConnectTimeoutException,
    PeerSocketOptions,
    SelectorManager,
    SocketBuilder,
    SocketOptions,
    TCPClientSocketOptions,
    TcpSocketBuilder,
    TypeOfService,
    UDPSocketBuilder,
    UDPSocketOptions,
    aSocket,
)
from greensock.interfaces import (
    ISelectorManager,
    ISocketBuilder,
    ITcpSocketBuilder,
    IUDPSocketBuilder,
)

LOCAL = "127.0.0.1"


def in_thread(work: Callable[[], Any]) -> Any:
    """Run *work* in a new OS thread (with its own gevent hub); return or raise its outcome."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc
        finally:
            gevent.get_hub().destroy(destroy_loop=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the thread did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def stalled_port(made: list[Any]) -> int:
    """A loopback port whose SYNs go unanswered (see test_tcp.stalled_listener)."""
    listener = gsocket.socket()
    made.append(listener)
    listener.bind((LOCAL, 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    for _ in range(10):
        filler = gsocket.socket()
        made.append(filler)
        filler.setblocking(False)
        with pytest.raises(BlockingIOError):
            filler.connect((LOCAL, port))
        if not select.select([], [filler], [], 0.2)[1]:
            return port
    pytest.skip("could not fill a listener's backlog to stall a connect on this system")


# -- aSocket and the default selector -----------------------------------------------------------


def test_aSocket_uses_one_default_selector_per_thread() -> None:
    mine = aSocket().selector
    assert isinstance(mine, SelectorManager)
    assert aSocket().selector is mine
    theirs = in_thread(lambda: (aSocket().selector, aSocket().selector))
    assert theirs[0] is theirs[1]
    assert theirs[0] is not mine


@pytest.mark.timeout(15)
def test_the_default_selector_of_another_thread_builds_working_sockets() -> None:
    def echo() -> str:
        tcp = aSocket().tcp()
        with tcp.bind(LOCAL, 0) as server, tcp.connect(LOCAL, server.port) as client:
            accepted = server.accept(timeout=5)
            client.openWriteChannel(autoFlush=True).writeStringUtf8("threaded\n")
            line = accepted.openReadChannel().readUTF8Line()
            accepted.close()
            return str(line)

    assert in_thread(echo) == "threaded"


def test_a_closed_default_selector_is_replaced() -> None:
    def replace() -> bool:
        first = aSocket().selector
        first.close()
        second = aSocket().selector
        return second is not first and not second.isClosed

    assert in_thread(replace)


def test_a_finished_threads_default_selector_is_released() -> None:
    refs: list[Any] = []

    def work() -> None:
        refs.append(weakref.ref(aSocket().selector))

    thread = threading.Thread(target=work, daemon=True)  # its hub is left for the GC
    thread.start()
    thread.join(10)
    gc.collect()
    assert len(refs) == 1 and refs[0]() is None


def test_aSocket_uses_the_given_selector(selector: SelectorManager) -> None:
    builder = aSocket(selector)
    assert builder.selector is selector
    assert builder.tcp().selector is selector
    assert builder.udp().selector is selector
    with pytest.raises(TypeError, match="SelectorManager"):
        aSocket("not a selector")  # type: ignore[arg-type]


def test_selector_and_builders_provide_their_interfaces(selector: SelectorManager) -> None:
    assert verifyObject(ISelectorManager, selector)
    builder = aSocket(selector)
    assert verifyObject(ISocketBuilder, builder)
    assert verifyObject(ITcpSocketBuilder, builder.tcp())
    assert verifyObject(IUDPSocketBuilder, builder.udp())


# -- SelectorManager.close ------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_closing_the_selector_closes_every_socket_and_wakes_blocked_greenlets(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    other_server = tcp.bind(LOCAL, 0)
    reading = gevent.spawn(client.openReadChannel().readPacket, 1)
    accepting = gevent.spawn(other_server.accept)
    gevent.sleep(0.05)
    assert not reading.dead and not accepting.dead

    selector.close()
    gevent.joinall([reading, accepting], timeout=2)
    assert isinstance(reading.exception, ClosedReadChannelException)
    assert isinstance(reading.exception, ClosedChannelException)
    assert isinstance(accepting.exception, ClosedChannelException)
    for sock in (server, client, accepted, other_server):
        assert sock.awaitClosed(2), sock
        assert sock.isClosed
    assert selector.isClosed


@pytest.mark.timeout(10)
def test_closing_the_selector_wakes_a_greenlet_that_is_connecting(
    selector: SelectorManager,
) -> None:
    made: list[Any] = []
    try:
        port = stalled_port(made)
        connecting = gevent.spawn(aSocket(selector).tcp().connect, LOCAL, port, timeout=5)
        gevent.sleep(0.1)
        assert not connecting.dead
        selector.close()
        connecting.join(timeout=2)
        assert connecting.dead
        assert isinstance(connecting.exception, ClosedChannelException)
    finally:
        for sock in made:
            sock.close()


@pytest.mark.timeout(10)
def test_a_connect_however_it_ends_leaves_no_greenlet_for_close_to_interrupt(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    tcp.connect(LOCAL, server.port).close()
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind((LOCAL, 0))
        free = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        tcp.connect(LOCAL, free)
    made: list[Any] = []
    try:
        with pytest.raises(ConnectTimeoutException):
            tcp.connect(LOCAL, stalled_port(made), timeout=0.1)
    finally:
        for sock in made:
            sock.close()
    # A connect still counted as in progress would get ClosedChannelException thrown in
    # by the close, at the hub's next turn: here, in the middle of something else.
    selector.close()
    gevent.sleep(0.05)


@pytest.mark.timeout(10)
def test_a_closed_selector_refuses_to_connect_or_bind(selector: SelectorManager) -> None:
    server = aSocket().tcp().bind(LOCAL, 0)  # on the default selector: stays open
    try:
        builder = aSocket(selector)
        selector.close()
        with pytest.raises(ClosedChannelException):
            builder.tcp().connect(LOCAL, server.port)
        with pytest.raises(ClosedChannelException):
            builder.tcp().bind(LOCAL, 0)
        with pytest.raises(ClosedChannelException):
            builder.udp().bind(LOCAL, 0)
        assert not server.isClosed
    finally:
        server.close()


def test_closing_a_selector_twice_and_with(selector: SelectorManager) -> None:
    with SelectorManager() as manager:
        server = aSocket(manager).tcp().bind(LOCAL, 0)
        assert not manager.isClosed
    assert manager.isClosed and server.isClosed
    manager.close()
    assert manager.isClosed


@pytest.mark.timeout(15)
def test_using_a_selector_from_another_thread_raises_RuntimeError(
    selector: SelectorManager,
) -> None:
    server = aSocket(selector).tcp().bind(LOCAL, 0)
    for attempt in (
        lambda: aSocket(selector).tcp().connect(LOCAL, server.port),
        lambda: aSocket(selector).tcp().bind(LOCAL, 0),
        lambda: aSocket(selector).udp().bind(LOCAL, 0),
        selector.close,
    ):
        with pytest.raises(RuntimeError, match="another OS thread"):
            in_thread(attempt)
    # Still usable, and still open, in its own thread.
    assert not selector.isClosed and not server.isClosed
    client = aSocket(selector).tcp().connect(LOCAL, server.port)
    assert server.accept(timeout=5).remoteAddress == client.localAddress


# -- builders and configure ----------------------------------------------------------------------


def test_builders_hold_the_option_kind_of_their_level(selector: SelectorManager) -> None:
    builder = aSocket(selector)
    assert isinstance(builder, SocketBuilder)
    assert type(builder.options) is SocketOptions
    assert isinstance(builder.tcp(), TcpSocketBuilder)
    assert type(builder.tcp().options) is PeerSocketOptions
    assert isinstance(builder.udp(), UDPSocketBuilder)
    assert type(builder.udp().options) is UDPSocketOptions


@pytest.mark.timeout(10)
def test_a_builders_options_can_be_replaced_by_options_of_its_kind(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    tcp.options = PeerSocketOptions(receiveBufferSize=32768)
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    # Linux doubles what it is asked for (bookkeeping); other systems keep it.
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 32768
    for wrong in (AcceptorOptions(), None, {"receiveBufferSize": 1024}):
        with pytest.raises(TypeError, match="PeerSocketOptions"):
            tcp.options = wrong
    assert tcp.options == PeerSocketOptions(receiveBufferSize=32768)


def test_configure_returns_the_same_builder_and_changes_its_options(
    selector: SelectorManager,
) -> None:
    builder = aSocket(selector)
    assert builder.configure(reuseAddress=True) is builder
    assert builder.options.reuseAddress is True

    def set_tos(options: Any) -> None:
        options.typeOfService = TypeOfService.IPTOS_LOWDELAY

    tcp = builder.tcp()
    assert tcp.configure(set_tos, sendBufferSize=8192) is tcp
    assert tcp.options.typeOfService == TypeOfService.IPTOS_LOWDELAY
    assert tcp.options.sendBufferSize == 8192
    assert tcp.configure({"receiveBufferSize": 16384}) is tcp
    assert tcp.options.receiveBufferSize == 16384
    udp = builder.udp()
    assert udp.configure(broadcast=True) is udp and udp.options.broadcast is True


def test_configure_rejects_unknown_options_and_bad_values(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    with pytest.raises(TypeError, match="resueAddress"):
        tcp.configure(resueAddress=True)
    with pytest.raises(TypeError, match="reuseAddress"):
        tcp.configure(reuseAddress=1)
    with pytest.raises(ValueError, match="lingerSeconds"):
        tcp.connect(LOCAL, 9, configure={"lingerSeconds": 70000})
    with pytest.raises(TypeError, match="noDelay"):
        tcp.configure(noDelay=True)  # a connect option, not one of the tcp() builder
    assert tcp.options == PeerSocketOptions()


def test_tcp_and_udp_get_their_own_copies_of_the_options(selector: SelectorManager) -> None:
    builder = aSocket(selector).configure(reuseAddress=True)
    tcp, udp = builder.tcp(), builder.udp()
    assert tcp.options.reuseAddress and udp.options.reuseAddress
    tcp.configure(reuseAddress=False)
    assert builder.options.reuseAddress is True
    assert udp.options.reuseAddress is True
    builder.configure(reusePort=True)
    assert not tcp.options.reusePort and not udp.options.reusePort
    assert builder.tcp().options is not builder.tcp().options


@pytest.mark.timeout(10)
@pytest.mark.parametrize("style", ["dict", "callable"])
def test_configure_on_connect_and_bind_applies_to_a_copy(
    selector: SelectorManager, style: str
) -> None:
    tcp = aSocket(selector).tcp()
    seen: list[Any] = []

    def configure(values: dict[str, Any]) -> Any:
        if style == "dict":
            return values

        def apply(options: Any) -> None:
            seen.append(options)
            for name, value in values.items():
                setattr(options, name, value)

        return apply

    server = tcp.bind(LOCAL, 0, configure=configure({"backlogSize": 8}))
    client = tcp.connect(LOCAL, server.port, configure=configure({"keepAlive": True}))
    plain = tcp.connect(LOCAL, server.port)
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert sockopt(plain, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
    assert tcp.options == PeerSocketOptions()  # the builder is unchanged
    if style == "callable":
        # Each call got its own options object, of the kind that call uses.
        assert [type(options) for options in seen] == [AcceptorOptions, TCPClientSocketOptions]
        assert seen[0].backlogSize == 8 and seen[1].keepAlive is True


@pytest.mark.timeout(10)
def test_tcpNoDelay_returns_the_builder_and_sockets_use_TCP_NODELAY(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    assert tcp.tcpNoDelay() is tcp
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    assert sockopt(client, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert sockopt(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    udp = aSocket(selector).udp()
    before = udp.options.copy()
    assert udp.tcpNoDelay() is udp
    assert udp.options == before
    builder = aSocket(selector)
    assert builder.tcpNoDelay() is builder


@pytest.mark.timeout(10)
def test_noDelay_false_leaves_TCP_NODELAY_alone_but_accepted_sockets_get_it(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"noDelay": False})
    accepted = server.accept(timeout=5)
    assert sockopt(client, socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
    assert sockopt(accepted, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    # Later connections too, whether the server still checks them or saw them inherit it.
    for _ in range(3):
        tcp.connect(LOCAL, server.port, configure={"noDelay": False})
        later = server.accept(timeout=5)
        assert sockopt(later, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.timeout(10)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux passes TCP_NODELAY on")
def test_a_server_whose_connections_inherit_TCP_NODELAY_stops_setting_it(
    selector: SelectorManager,
) -> None:
    server = aSocket(selector).tcp().bind(LOCAL, 0)
    assert sockopt(server, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    aSocket(selector).tcp().connect(LOCAL, server.port)
    first = server.accept(timeout=5)
    assert sockopt(first, socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    # The server saw its first connection inherit TCP_NODELAY: it leaves later ones alone.
    # Seen from the kernel, with the listener's option turned off behind its back: a server
    # that still checked (or set) it would turn it on again on the next connection.
    with kernel_socket(server) as listener:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
    aSocket(selector).tcp().connect(LOCAL, server.port)
    later = server.accept(timeout=5)
    assert sockopt(later, socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


# -- options reach the kernel ---------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_connect_options_take_effect_on_the_connected_socket(selector: SelectorManager) -> None:
    tcp = (
        aSocket(selector)
        .configure(reuseAddress=True, typeOfService=TypeOfService.IPTOS_THROUGHPUT)
        .tcp()
        .configure(sendBufferSize=32768, receiveBufferSize=65536)
    )
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"keepAlive": True, "lingerSeconds": 7})
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
    assert sockopt(client, socket.IPPROTO_IP, socket.IP_TOS) == 0x08
    # Linux doubles the value asked for (bookkeeping overhead); others keep it.
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_SNDBUF) >= 32768
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_RCVBUF) >= 65536
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    linger = sockopt(client, socket.SOL_SOCKET, socket.SO_LINGER, 8)
    assert struct.unpack("ii", linger) == (1, 7)


@pytest.mark.timeout(10)
def test_options_left_at_their_defaults_are_not_set(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
    assert sockopt(client, socket.IPPROTO_IP, socket.IP_TOS) == 0
    linger = sockopt(client, socket.SOL_SOCKET, socket.SO_LINGER, 8)
    assert struct.unpack("ii", linger)[0] == 0


@pytest.mark.timeout(10)
def test_keepAlive_false_turns_it_off(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"keepAlive": False})
    assert sockopt(client, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


@pytest.mark.timeout(10)
def test_bind_options_take_effect_on_the_listener(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0, configure={"typeOfService": 0x10})
    assert sockopt(server, socket.IPPROTO_IP, socket.IP_TOS) == 0x10
    if sys.platform != "win32":
        # Listeners always get SO_REUSEADDR (as with the JDK), even when not asked for.
        assert sockopt(server, socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
@pytest.mark.timeout(10)
def test_reusePort_lets_two_servers_share_a_port(selector: SelectorManager) -> None:
    tcp = aSocket(selector).configure(reusePort=True).tcp()
    first = tcp.bind(LOCAL, 0)
    second = tcp.bind(LOCAL, first.port)
    assert second.port == first.port
    # Both listeners look alike from outside: each must have it.
    options = sockopts(second, socket.SOL_SOCKET, socket.SO_REUSEPORT)
    assert len(options) == 2 and all(options)
