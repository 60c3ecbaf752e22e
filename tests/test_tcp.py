"""TCP and Unix stream sockets over loopback: connect, bind, accept, close, failures, attaching.

Every test talks to real kernel sockets on 127.0.0.1, ::1 or a Unix socket in ``tmp_path``;
peers that must misbehave (read slowly, never accept, reset) are plain gevent sockets.
"""

from __future__ import annotations

import errno
import gc
import os
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from gevent.event import Event
from kernel import census, descriptors, kernel_socket, left_over, write_watchers
from markers import has_ipv6_loopback, needs_ipv6, needs_unix
from zope.interface.verify import verifyObject

from greensock import (
    ByteChannel,
    ClosedChannelException,
    ClosedReadChannelException,
    ClosedReceiveChannelException,
    ClosedWriteChannelException,
    Connection,
    ConnectTimeoutException,
    InetSocketAddress,
    SelectorManager,
    SocketTimeoutException,
    TCPClientSocketOptions,
    UnixSocketAddress,
    aSocket,
)
from greensock.dialing import STAGGER, connect_first, interleave_families
from greensock.interfaces import IJob, IReaderJob, IServerSocket, ISocket, IWriterJob
from greensock.resolve import resolve
from greensock.stream import LINGER_TIMEOUT
from greensock.tcp import ServerSocket, TcpSocket

LOCAL = "127.0.0.1"


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def tcp(selector: SelectorManager) -> Any:
    """A TcpSocketBuilder on the test's selector."""
    return aSocket(selector).tcp()


@pytest.fixture
def raw() -> Iterator[Callable[..., Any]]:
    """Make plain gevent sockets (misbehaving peers) that are closed after the test."""
    made: list[Any] = []

    def make(family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> Any:
        sock = gsocket.socket(family, kind)
        made.append(sock)
        return sock

    yield make
    for sock in made:
        sock.close()


def connected_pair(tcp: Any, host: str = LOCAL) -> tuple[ServerSocket, TcpSocket, TcpSocket]:
    """A listening server, a client connected to it, and the accepted server side."""
    server = tcp.bind(host, 0)
    client = tcp.connect(host, server.port)
    accepted = server.accept(timeout=5)
    return server, client, accepted


def raw_listener(raw: Callable[..., Any], backlog: int = 16, **sockopts: int) -> tuple[Any, int]:
    """A plain listening socket on 127.0.0.1 (options set before listen are inherited)."""
    listener = raw()
    for name, value in sockopts.items():
        listener.setsockopt(socket.SOL_SOCKET, getattr(socket, name), value)
    listener.bind((LOCAL, 0))
    listener.listen(backlog)
    return listener, listener.getsockname()[1]


def refusing_port(raw: Callable[..., Any], family: int = socket.AF_INET) -> int:
    """A port that refuses connections: bound (so nobody else takes it) but not listening."""
    holder = raw(family)
    holder.bind(("::1" if family == socket.AF_INET6 else LOCAL, 0))
    port: int = holder.getsockname()[1]
    return port


def stalled_listener(raw: Callable[..., Any]) -> int:
    """A port whose SYNs go unanswered, so a connect to it neither succeeds nor fails.

    A listener with ``listen(0)`` that never accepts has a full accept queue after one or two
    connections; Linux then drops further SYNs (the client retransmits for a minute or more).
    Plain non-blocking connects fill it until one stays pending; nothing leaves loopback.
    """
    _listener, port = raw_listener(raw, backlog=0)
    for _ in range(10):
        filler = raw()
        filler.setblocking(False)
        with pytest.raises(BlockingIOError):
            filler.connect((LOCAL, port))
        _, writable, _ = select.select([], [filler], [], 0.2)
        if not writable:
            return port
    pytest.skip("could not fill a listener's backlog to stall a connect on this system")


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll *condition* from this greenlet (others keep running) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        gevent.sleep(0.005)


def read_all(sock: Any, limit: int = 1 << 26) -> bytes:
    """Read a plain socket to EOF."""
    chunks = bytearray()
    while len(chunks) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


def is_numeric(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return True
    return False


def echo_line(client: TcpSocket, accepted: TcpSocket, text: str = "ping") -> None:
    """Send a line each way and check both arrive."""
    client_out = client.openWriteChannel(autoFlush=True)
    server_in = accepted.openReadChannel()
    client_out.writeStringUtf8(text + "\n")
    assert server_in.readUTF8Line() == text
    server_out = accepted.openWriteChannel(autoFlush=True)
    client_in = client.openReadChannel()
    server_out.writeStringUtf8(text.upper() + "\r\n")
    assert client_in.readUTF8Line() == text.upper()


# -- connecting and binding -----------------------------------------------------------------


@pytest.mark.timeout(10)
def test_connect_by_host_name_localhost_reaches_the_server(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect("localhost", server.port)
    accepted = server.accept(timeout=5)
    # The server listens on 127.0.0.1 only: whatever "localhost" resolves to, that is where
    # the connection landed, and the address is reported numerically.
    assert client.remoteAddress == InetSocketAddress(LOCAL, server.port)
    echo_line(client, accepted)


@pytest.mark.timeout(10)
def test_connect_by_InetSocketAddress(tcp: Any) -> None:
    server = tcp.bind(InetSocketAddress(LOCAL, 0))
    client = tcp.connect(InetSocketAddress(LOCAL, server.port))
    accepted = server.accept(timeout=5)
    assert client.remoteAddress == server.localAddress
    echo_line(client, accepted)


@pytest.mark.timeout(10)
def test_a_port_with_an_address_or_a_host_without_one_is_a_TypeError(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    with pytest.raises(TypeError, match="port"):
        tcp.connect(InetSocketAddress(LOCAL, server.port), server.port)
    with pytest.raises(TypeError, match="port"):
        tcp.connect(LOCAL)
    with pytest.raises(TypeError, match="port"):
        tcp.bind(InetSocketAddress(LOCAL, 0), 8080)
    with pytest.raises(TypeError):
        tcp.connect(("127.0.0.1", server.port))


@needs_unix
@pytest.mark.timeout(10)
def test_connect_by_UnixSocketAddress(tcp: Any, tmp_path: Any) -> None:
    path = str(tmp_path / "server.sock")
    server = tcp.bind(UnixSocketAddress(path))
    assert server.port is None
    assert server.localAddress == UnixSocketAddress(path)
    client = tcp.connect(UnixSocketAddress(path))
    accepted = server.accept(timeout=5)
    assert client.remoteAddress == UnixSocketAddress(path)
    assert isinstance(accepted.remoteAddress, UnixSocketAddress)
    echo_line(client, accepted)


def full_unix_listener(tcp: Any, raw: Callable[..., Any], path: str) -> ServerSocket:
    """A Unix server at *path* that accepts nothing yet, its backlog filled by plain
    sockets until it answers EAGAIN."""
    server = tcp.bind(UnixSocketAddress(path), configure={"backlogSize": 1})
    for _ in range(100):
        filler = raw(socket.AF_UNIX)
        if filler._sock.connect_ex(path) == errno.EAGAIN:
            return server  # type: ignore[no-any-return]
    pytest.skip("a Unix listener's backlog never filled up here")


@needs_unix
@pytest.mark.timeout(10)
def test_unix_connect_waits_for_room_in_a_full_backlog(
    tcp: Any, raw: Callable[..., Any], tmp_path: Any
) -> None:
    path = str(tmp_path / "busy.sock")
    server = full_unix_listener(tcp, raw, path)
    # Room appears only when the server accepts: there is no event to wait on meanwhile.
    gevent.spawn_later(0.1, server.accept, timeout=5)
    client = tcp.connect(UnixSocketAddress(path), timeout=5)
    assert client.remoteAddress == UnixSocketAddress(path)


@needs_unix
@pytest.mark.timeout(10)
def test_unix_connect_to_a_full_backlog_times_out_without_spinning(
    tcp: Any, raw: Callable[..., Any], tmp_path: Any
) -> None:
    path = str(tmp_path / "full.sock")
    full_unix_listener(tcp, raw, path)
    started, cpu = time.monotonic(), time.process_time()
    with pytest.raises(ConnectTimeoutException):
        tcp.connect(UnixSocketAddress(path), timeout=0.5)
    waited, used = time.monotonic() - started, time.process_time() - cpu
    # Retrying in a tight loop would burn the whole wait; paused tries use a sliver of it.
    assert waited >= 0.5 and used < waited / 3


@needs_unix
@pytest.mark.timeout(10)
def test_unix_connect_to_a_full_backlog_honours_gevents_default_timeout(
    tcp: Any, raw: Callable[..., Any], tmp_path: Any
) -> None:
    path = str(tmp_path / "full.sock")
    full_unix_listener(tcp, raw, path)
    # Without a connect timeout, gevent's default socket timeout bounds the retries, as it
    # bounds gevent's own connect.
    socket.setdefaulttimeout(0.3)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            tcp.connect(UnixSocketAddress(path))
    finally:
        socket.setdefaulttimeout(None)
    assert 0.1 < time.monotonic() - started < 5


@needs_unix
@pytest.mark.timeout(10)
def test_unix_socket_file_is_removed_when_its_server_closes(tcp: Any, tmp_path: Any) -> None:
    path = tmp_path / "gone.sock"
    server = tcp.bind(UnixSocketAddress(str(path)))
    assert path.exists()
    server.close()
    assert not path.exists()
    # ...so the same path can be bound again at once.
    tcp.bind(UnixSocketAddress(str(path))).close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract names are Linux's")
@pytest.mark.timeout(10)
def test_unix_abstract_namespace_server(tcp: Any) -> None:
    name = f"\0greensock-test-{os.getpid()}-{id(tcp)}"
    server = tcp.bind(UnixSocketAddress(name))
    assert server.localAddress == UnixSocketAddress(name) and server.port is None
    client = tcp.connect(UnixSocketAddress(name))
    accepted = server.accept(timeout=5)
    echo_line(client, accepted)
    server.close()  # nothing to unlink, and no error for it
    with pytest.raises(ConnectionRefusedError):
        tcp.connect(UnixSocketAddress(name))


@pytest.mark.timeout(10)
@pytest.mark.parametrize("bind_args", [(), (None,)], ids=["bind()", "bind(None)"])
def test_bind_without_address_is_the_wildcard_on_an_ephemeral_port(
    tcp: Any, bind_args: tuple[Any, ...]
) -> None:
    server = tcp.bind(*bind_args)
    assert server.localAddress == InetSocketAddress("0.0.0.0", server.port)
    assert isinstance(server.port, int) and 0 < server.port < 65536
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    assert accepted.localAddress == InetSocketAddress(LOCAL, server.port)
    assert client.remoteAddress.port == server.port


@pytest.mark.timeout(10)
@needs_unix
def test_binding_and_connecting_numeric_hosts_and_unix_paths_start_no_resolver(
    tmp_path: Any,
) -> None:
    """gevent's default resolver is a thread pool that stays once started: a numeric host or
    a Unix path needs no resolution, so nothing may start it (checked in a new OS thread,
    whose hub is fresh)."""
    seen: dict[str, Any] = {}

    def bindAndConnect() -> None:
        hub = gevent.get_hub()
        with SelectorManager() as selector:
            tcp = aSocket(selector).tcp()
            hosts = [None, LOCAL, "0.0.0.0"] + (["::1"] if has_ipv6_loopback() else [])
            servers = [tcp.bind(host, 0) for host in hosts]
            servers.append(tcp.bind(UnixSocketAddress(str(tmp_path / "s"))))
            clients = [tcp.connect(LOCAL, servers[1].port), tcp.connect(servers[-1].localAddress)]
            seen["threadpool"] = hub._threadpool
            for each in clients + servers:
                each.close()
        hub.destroy(destroy_loop=True)

    worker = threading.Thread(target=bindAndConnect)
    worker.start()
    worker.join(timeout=5)
    assert "threadpool" in seen and seen["threadpool"] is None


@pytest.mark.timeout(10)
def test_localAddress_read_once_stays_readable_after_close(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    local = client.localAddress
    assert local == InetSocketAddress(LOCAL, local.port) and local == accepted.remoteAddress
    client.close()
    accepted.close()
    assert client.localAddress == local  # kept from before the close
    with pytest.raises(ClosedChannelException):
        accepted.localAddress  # noqa: B018 - first read after the close: the fd is gone


@pytest.mark.timeout(10)
def test_port_is_the_bound_port(tcp: Any) -> None:
    with socket.socket() as probe:  # find a free port, then free it
        probe.bind((LOCAL, 0))
        free = probe.getsockname()[1]
    server = tcp.bind(LOCAL, free)
    assert server.port == free
    assert server.localAddress == InetSocketAddress(LOCAL, free)


@pytest.mark.timeout(10)
def test_addresses_are_InetSocketAddress_with_numeric_hosts(tcp: Any) -> None:
    server = tcp.bind("localhost", 0)
    client = tcp.connect("localhost", server.port)
    accepted = server.accept(timeout=5)
    for address in (
        server.localAddress,
        client.localAddress,
        client.remoteAddress,
        accepted.localAddress,
        accepted.remoteAddress,
    ):
        assert isinstance(address, InetSocketAddress)
        assert is_numeric(address.hostname), address
    assert client.localAddress == accepted.remoteAddress
    assert client.remoteAddress == accepted.localAddress


@needs_ipv6
@pytest.mark.timeout(10)
def test_ipv6_loopback(tcp: Any) -> None:
    server = tcp.bind("::1", 0)
    assert server.localAddress == InetSocketAddress("::1", server.port)
    client = tcp.connect("::1", server.port)
    accepted = server.accept(timeout=5)
    assert client.remoteAddress == InetSocketAddress("::1", server.port)
    assert accepted.remoteAddress.hostname == "::1"
    assert str(client.remoteAddress) == f"[::1]:{server.port}"
    echo_line(client, accepted)


@pytest.mark.timeout(10)
def test_sockets_provide_their_interfaces(tcp: Any) -> None:
    server, client, accepted = connected_pair(tcp)
    assert verifyObject(IServerSocket, server)
    assert verifyObject(ISocket, client)
    assert verifyObject(ISocket, accepted)
    assert verifyObject(IJob, client.socketContext)
    assert verifyObject(IJob, server.socketContext)


# -- accept -----------------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_accept_timeout_raises_and_the_server_stays_usable(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    started = time.monotonic()
    with pytest.raises(SocketTimeoutException):
        server.accept(timeout=0.1)
    assert 0.08 <= time.monotonic() - started < 2
    assert not server.isClosed
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=5)
    assert accepted.remoteAddress == client.localAddress


@pytest.mark.timeout(10)
def test_a_ready_connection_wins_over_a_zero_accept_timeout(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port)
    accepted = server.accept(timeout=0)
    assert accepted.remoteAddress == client.localAddress


@pytest.mark.timeout(20)
def test_no_connection_is_lost_while_accepts_time_out(tcp: Any) -> None:
    """Clients connect at moments that race with accept timeouts; each one is accepted."""
    server = tcp.bind(LOCAL, 0)
    count = 12

    def connect_later(index: int) -> TcpSocket:
        gevent.sleep(0.007 * index)
        client = tcp.connect(LOCAL, server.port)
        client.openWriteChannel(autoFlush=True).writeByte(index)
        return client

    clients = [gevent.spawn(connect_later, index) for index in range(count)]
    seen: list[int] = []
    timeouts = 0
    for _ in range(2000):
        if len(seen) == count:
            break
        try:
            accepted = server.accept(timeout=0.005)
        except SocketTimeoutException:
            timeouts += 1
            continue
        seen.append(accepted.openReadChannel().readByte())
    gevent.joinall(clients, timeout=5, raise_error=True)
    assert sorted(seen) == list(range(count))
    assert timeouts > 0  # the race was really run


@pytest.mark.timeout(10)
def test_connections_wait_in_the_backlog_until_accepted(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    clients = []
    for index in range(3):
        client = tcp.connect(LOCAL, server.port)  # returns with nobody accepting yet
        client.openWriteChannel(autoFlush=True).writeInt(index)
        clients.append(client)
    gevent.sleep(0.05)
    received = [server.accept(timeout=5).openReadChannel().readInt() for _ in range(3)]
    assert received == [0, 1, 2]


@pytest.mark.timeout(10)
def test_iterating_a_server_yields_sockets_until_it_is_closed_elsewhere(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    accepted: list[Any] = []

    def serve() -> None:
        for sock in server:
            accepted.append(sock)

    loop = gevent.spawn(serve)
    clients = [tcp.connect(LOCAL, server.port) for _ in range(2)]
    wait_until(lambda: len(accepted) == 2)
    server.close()
    loop.join(timeout=5)
    assert loop.dead and loop.successful()
    assert all(isinstance(sock, TcpSocket) for sock in accepted)
    assert {sock.remoteAddress for sock in accepted} == {c.localAddress for c in clients}


@pytest.mark.timeout(10)
def test_accept_on_a_closed_server_raises_ClosedChannelException(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    server.close()
    with pytest.raises(ClosedChannelException):
        server.accept()
    with pytest.raises(ClosedChannelException):
        server.accept(timeout=0.1)
    assert list(server) == []


@pytest.mark.timeout(10)
@pytest.mark.parametrize("timeout", [None, 5.0])
def test_closing_a_server_wakes_a_blocked_accept(tcp: Any, timeout: float | None) -> None:
    server = tcp.bind(LOCAL, 0)
    waiter = gevent.spawn(server.accept, timeout)
    gevent.sleep(0.05)
    assert not waiter.dead
    started = time.monotonic()
    server.close()
    waiter.join(timeout=2)
    assert waiter.dead and time.monotonic() - started < 1
    assert isinstance(waiter.exception, ClosedChannelException)
    assert server.isClosed and server.awaitClosed(0)


# -- close ------------------------------------------------------------------------------------


def narrow_pair(tcp: Any, raw: Callable[..., Any]) -> tuple[TcpSocket, Any]:
    """A greensock client and a plain peer, with small kernel buffers on both ends: the
    kernel cannot take a channel's last bytes at close."""
    listener, port = raw_listener(raw, SO_RCVBUF=4096)
    client = tcp.connect(LOCAL, port, configure={"sendBufferSize": 4096})
    peer, _ = listener.accept()
    return client, peer


@pytest.mark.timeout(30)
def test_close_returns_at_once_and_written_bytes_still_reach_a_slow_peer(
    tcp: Any, raw: Callable[..., Any]
) -> None:
    client, peer = narrow_pair(tcp, raw)
    data = os.urandom(2 * 1024 * 1024 + 51_200)
    reading = Event()
    reading.set()
    received = bytearray()

    def slow_reader() -> None:
        while True:
            reading.wait()
            chunk = peer.recv(16384)
            if not chunk:
                return
            received.extend(chunk)
            gevent.sleep(0.001)

    reader = gevent.spawn(slow_reader)
    output = client.openWriteChannel()
    output.writeFully(data[:-51_200])  # large: straight to the kernel
    output.writeFully(data[-51_200:])  # less than the capacity: it waits in the channel
    assert output.availableForWrite == 65536 - 51_200
    reading.clear()  # the peer pauses: the 50 KiB cannot all go out now
    gevent.sleep(0.02)

    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 0.5
    assert not client.isClosed  # still draining in the background
    assert client.awaitClosed(0.05) is False
    assert not client.socketContext.isCompleted
    with pytest.raises(ClosedChannelException):
        client.openReadChannel()

    reading.set()
    assert client.awaitClosed(15) is True
    assert client.isClosed and client.socketContext.isCompleted
    reader.join(timeout=15)
    assert reader.dead
    assert len(received) == len(data)
    assert bytes(received) == data  # every byte, in order, then EOF
    assert output.totalBytesWritten == len(data)  # the drained ones count too


@pytest.mark.timeout(30)
def test_close_gives_up_on_a_peer_that_never_reads_after_lingerTimeout(
    tcp: Any, raw: Callable[..., Any]
) -> None:
    client, peer = narrow_pair(tcp, raw)
    assert client.lingerTimeout == LINGER_TIMEOUT == 60.0
    client.lingerTimeout = 0.3  # this socket only
    output = client.openWriteChannel()
    unflushed = 60 * 1024  # under the channel's 64 KiB, over what both kernel buffers hold
    output.writeFully(bytes(unflushed))
    started = time.monotonic()
    client.close()
    assert not client.isClosed  # draining to a peer that does not read
    assert client.awaitClosed(10) is True
    assert 0.25 < time.monotonic() - started < 5
    assert output.totalBytesWritten < unflushed  # what never left is not counted
    with tcp.connect(client.remoteAddress) as other:
        assert other.lingerTimeout == LINGER_TIMEOUT  # the others keep the default
    peer.close()


@pytest.mark.timeout(10)
def test_close_with_nothing_to_send_is_closed_at_once(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    output = client.openWriteChannel()
    output.writeStringUtf8("bye")  # unflushed, but the kernel takes 3 bytes at once
    client.close()
    assert client.isClosed
    assert client.awaitClosed(0) is True
    assert accepted.openReadChannel().readRemaining() == b"bye"


@pytest.mark.timeout(10)
def test_close_wakes_a_greenlet_blocked_in_a_read(tcp: Any) -> None:
    _, client, _ = connected_pair(tcp)
    reader = client.openReadChannel()
    blocked = gevent.spawn(reader.readPacket, 4)
    gevent.sleep(0.05)
    assert not blocked.dead
    client.close()
    blocked.join(timeout=2)
    assert isinstance(blocked.exception, ClosedReadChannelException)
    with pytest.raises(ClosedReadChannelException):
        reader.readAvailable(bytearray(4))


@pytest.mark.timeout(10)
def test_close_wakes_a_foreign_watcher_of_the_descriptor_before_releasing_it(tcp: Any) -> None:
    # Someone else's watcher on the descriptor (gevent.select, wait_read...) gets a last
    # event first: closing the number under it could hand it another socket's events.
    _, client, _ = connected_pair(tcp)
    [fd] = descriptors(client)
    watching = gevent.spawn(gsocket.wait_read, fd)
    gevent.sleep(0.05)
    assert not watching.dead
    client.close()
    assert client.isClosed
    assert descriptors(client) == [fd]  # still open: the watcher has not had its event yet
    watching.join(timeout=2)
    assert watching.dead
    deadline = time.monotonic() + 2
    while descriptors(client) and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert descriptors(client) == []


@pytest.mark.timeout(10)
def test_close_wakes_a_greenlet_blocked_in_a_flush(tcp: Any, raw: Callable[..., Any]) -> None:
    listener, port = raw_listener(raw)
    client = tcp.connect(LOCAL, port)
    peer, _ = listener.accept()  # never reads
    output = client.openWriteChannel()
    blob = b"z" * (16 * 1024 * 1024)
    blocked = gevent.spawn(output.writeFully, blob)
    wait_until(lambda: output.totalBytesWritten > 0 and not blocked.dead, 5)
    gevent.sleep(0.05)
    assert not blocked.dead  # the kernel buffers are full
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 0.5  # a peer that never reads cannot hold close up
    blocked.join(timeout=2)
    assert isinstance(blocked.exception, ClosedWriteChannelException)
    with pytest.raises(ClosedWriteChannelException):
        output.writeByte(1)
    peer.close()  # lets the background drain give up
    assert client.awaitClosed(5)


@pytest.mark.timeout(10)
def test_socketContext_completes_on_close_and_runs_completion_handlers(tcp: Any) -> None:
    _, client, _ = connected_pair(tcp)
    context = client.socketContext
    assert verifyObject(IJob, context)
    before: list[Any] = []
    context.invokeOnCompletion(before.append)
    assert context.isActive and not context.isCompleted and not client.isClosed
    assert context.join(0.01) is False
    client.close()
    assert before == [None]
    assert context.isCompleted and not context.isActive
    after: list[Any] = []
    context.invokeOnCompletion(after.append)
    assert after == [None]
    assert context.join(0) is True


@pytest.mark.timeout(10)
def test_cancelling_socketContext_closes_the_socket(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    client.socketContext.cancel()
    assert client.awaitClosed(5)
    assert client.socketContext.isCancelled
    assert accepted.openReadChannel().readAvailable(bytearray(1)) == -1


@pytest.mark.timeout(10)
def test_closed_sockets_are_freed_by_reference_counting_alone(tcp: Any) -> None:
    # Sockets and their channels point at each other while open; a closed connection that
    # stays in a cycle waits for the cyclic collector, which under connection churn costs
    # more than anything else the connection does.
    def exchange() -> set[type]:
        server, client, accepted = connected_pair(tcp)
        client.socketContext.invokeOnCompletion(lambda cause: None)
        server.socketContext.invokeOnCompletion(lambda cause: None)
        out = client.openWriteChannel()
        out.writeStringUtf8("ping\n")
        out.flush()
        incoming = accepted.openReadChannel()
        assert incoming.readUTF8Line() == "ping"
        accepted.openWriteChannel().close()
        assert client.openReadChannel().readUTF8Line() is None
        for sock in (client, accepted, server):
            sock.close()
            assert sock.isClosed
        made = (client, accepted, server, out, incoming, client.socketContext)
        return {type(thing) for thing in made}

    gc.collect()
    gc.disable()
    try:
        before = census()
        kinds = exchange()
        assert left_over(before, kinds) == {}
    finally:
        gc.enable()


@pytest.mark.timeout(10)
def test_closing_twice_is_harmless(tcp: Any) -> None:
    server, client, _ = connected_pair(tcp)
    calls: list[Any] = []
    client.socketContext.invokeOnCompletion(calls.append)
    client.close()
    client.close()
    client.dispose()
    server.close()
    server.close()
    server.dispose()
    assert calls == [None]
    assert client.isClosed and server.isClosed


@pytest.mark.timeout(10)
def test_dispose_swallows_errors_from_close(tcp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server, client, _ = connected_pair(tcp)
    failing = (server, client)
    attempts: list[Any] = []

    def failing_close(real: Any) -> Any:
        def close(self: Any) -> None:
            if self in failing:
                attempts.append(self)
                raise OSError(errno.EIO, "simulated failure while closing")
            real(self)

        return close

    # On the classes: sockets have no per-instance dict to patch (their fields are slots).
    for cls in {type(server), type(client)}:
        monkeypatch.setattr(cls, "close", failing_close(cls.close))
    client.dispose()
    server.dispose()
    assert attempts == [client, server]


@pytest.mark.timeout(10)
def test_with_closes_sockets_and_servers(tcp: Any) -> None:
    with tcp.bind(LOCAL, 0) as server:
        with tcp.connect(LOCAL, server.port) as client:
            accepted = server.accept(timeout=5)
            assert not client.isClosed
        assert client.isClosed
        assert not server.isClosed
    assert server.isClosed
    with pytest.raises(ValueError), accepted:
        raise ValueError("escapes")
    assert accepted.isClosed


@pytest.mark.timeout(10)
def test_operations_on_a_closed_socket_raise_ClosedChannelException(tcp: Any) -> None:
    _, client, _ = connected_pair(tcp)
    client.close()
    with pytest.raises(ClosedChannelException):
        client.openReadChannel()
    with pytest.raises(ClosedChannelException):
        client.openWriteChannel()
    with pytest.raises(ClosedChannelException):
        client.connection()
    with pytest.raises(ClosedChannelException):
        client.attachForReading(ByteChannel())


# -- half-close, EOF, reset, timeouts ------------------------------------------------------------


@pytest.mark.timeout(10)
def test_closing_the_write_channel_half_closes_and_reading_goes_on(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    client_out = client.openWriteChannel()
    client_out.writeStringUtf8("request\n")
    client_out.close()
    assert not client.isClosed
    server_in = accepted.openReadChannel()
    assert server_in.readUTF8Line() == "request"
    assert server_in.readUTF8Line() is None  # the peer saw EOF
    server_out = accepted.openWriteChannel()
    server_out.writeStringUtf8("response\n")
    server_out.flush()
    client_in = client.openReadChannel()
    assert client_in.readUTF8Line() == "response"
    with pytest.raises(ClosedWriteChannelException):
        client_out.writeByte(0)


@pytest.mark.timeout(10)
def test_peer_eof_is_not_an_error(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    out = client.openWriteChannel()
    out.writeStringUtf8("last line without terminator")
    client.close()
    reader = accepted.openReadChannel()
    assert reader.readUTF8Line() == "last line without terminator"
    assert reader.readUTF8Line() is None
    assert reader.readAvailable(bytearray(8)) == -1
    with pytest.raises(ClosedReceiveChannelException) as info:
        reader.readPacket(1)
    assert isinstance(info.value, EOFError)
    assert reader.isClosedForRead
    assert reader.closedCause is None
    assert not accepted.isClosed  # EOF closes nothing by itself


@pytest.mark.timeout(10)
def test_peer_reset_fails_both_channels_with_ConnectionResetError(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"lingerSeconds": 0})
    accepted = server.accept(timeout=5)
    reader = accepted.openReadChannel()
    writer = accepted.openWriteChannel()
    blocked = gevent.spawn(reader.readAvailable, bytearray(16))
    gevent.sleep(0.05)
    client.close()  # SO_LINGER 0: the kernel sends RST instead of FIN
    blocked.join(timeout=5)
    failure = blocked.exception
    assert isinstance(failure, ConnectionResetError)
    for _ in range(2):
        with pytest.raises(ConnectionResetError):
            reader.readAvailable(bytearray(16))
        with pytest.raises(ConnectionResetError):
            writer.writeFully(b"x")
            writer.flush()
    assert accepted.awaitClosed(1)
    assert reader.closedCause is failure and writer.closedCause is failure


@pytest.mark.timeout(10)
def test_a_reset_wakes_greenlets_blocked_on_both_sides_with_the_same_error(
    tcp: Any, raw: Callable[..., Any]
) -> None:
    listener, port = raw_listener(raw)
    client = tcp.connect(LOCAL, port)
    peer, _ = listener.accept()  # never reads, then resets
    reading = gevent.spawn(client.openReadChannel().readPacket, 1)
    writing = gevent.spawn(client.openWriteChannel().writeFully, b"z" * (16 * 1024 * 1024))
    gevent.sleep(0.1)
    assert not reading.dead and not writing.dead
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    peer.close()
    gevent.joinall([reading, writing], timeout=5)
    assert isinstance(reading.exception, (ConnectionResetError, BrokenPipeError))
    assert writing.exception is reading.exception
    assert client.isClosed


@pytest.mark.timeout(10)
def test_socketTimeout_fails_both_channels_on_a_stalled_read(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"socketTimeout": 0.2})
    server.accept(timeout=5)  # never writes
    reader = client.openReadChannel()
    writer = client.openWriteChannel()
    started = time.monotonic()
    with pytest.raises(SocketTimeoutException):
        reader.readPacket(1)
    assert 0.15 <= time.monotonic() - started < 3
    with pytest.raises(SocketTimeoutException):
        reader.readPacket(1)
    with pytest.raises(SocketTimeoutException):
        writer.writeByte(1)
    assert client.awaitClosed(1)


def answered_late(client: TcpSocket, accepted: TcpSocket) -> tuple[Any, Any, Any]:
    """Open the channels and make one exchange whose answer comes after the client waited
    for it (a new connection's reads right after writes wait for readability first).

    Returns the client's read and write channels and the accepted side's connection.
    """
    reader, writer = client.openReadChannel(), client.openWriteChannel()
    peer = accepted.connection()
    writer.writeStringUtf8("first\n")
    writer.flush()

    def answer() -> None:
        assert peer.input.readUTF8Line() == "first"
        gevent.sleep(0.05)
        peer.output.writeStringUtf8("late\n")
        peer.output.flush()

    answering = gevent.spawn(answer)
    assert reader.readUTF8Line() == "late"
    answering.join(timeout=5)
    return reader, writer, peer


@pytest.mark.timeout(10)
def test_socketTimeout_bounds_the_wait_for_an_answer_after_a_write(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"socketTimeout": 0.2})
    accepted = server.accept(timeout=5)
    reader, writer, peer = answered_late(client, accepted)
    writer.writeStringUtf8("ping\n")
    writer.flush()
    assert peer.input.readUTF8Line() == "ping"  # and never answers
    started = time.monotonic()
    with pytest.raises(SocketTimeoutException):
        reader.readUTF8Line()
    assert 0.15 <= time.monotonic() - started < 3


@pytest.mark.timeout(10)
def test_socketTimeout_counts_time_without_progress_not_per_read(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"socketTimeout": 0.3})
    accepted = server.accept(timeout=5)

    def trickle() -> None:
        out = accepted.openWriteChannel(autoFlush=True)
        for byte in b"abcdef":
            gevent.sleep(0.1)
            out.writeByte(byte)

    sender = gevent.spawn(trickle)
    # Takes about 0.6 s in all, longer than socketTimeout, with progress every 0.1 s.
    assert client.openReadChannel().readPacket(6) == b"abcdef"
    sender.join(timeout=5)
    assert not client.isClosed


@pytest.mark.timeout(10)
def test_a_loopback_connect_and_small_writes_make_no_write_watcher(tcp: Any) -> None:
    # Over loopback the handshake is over when connect returns, and the kernel takes small
    # writes at once: no greenlet waits to write, and no watcher is made for it.
    _, client, accepted = connected_pair(tcp)
    writer = client.openWriteChannel()
    writer.writeStringUtf8("hello\n")
    writer.flush()
    assert accepted.openReadChannel().readUTF8Line() == "hello"
    for sock in (client, accepted):
        [fd] = descriptors(sock)
        assert write_watchers(fd) == []


@pytest.mark.timeout(10)
def test_a_read_after_a_write_takes_an_answer_that_is_already_there(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    reader, writer, peer = answered_late(client, accepted)
    writer.writeStringUtf8("ping\n")
    writer.flush()
    assert peer.input.readUTF8Line() == "ping"
    peer.output.writeStringUtf8("pong\n")
    peer.output.flush()
    accepted.close()
    # The answer and the end of stream are queued before the reader asks, which it does
    # after waiting for readability (the earlier answer came late).
    with kernel_socket(client) as kernel:
        assert select.select([kernel], [], [], 5)[0]
    with gevent.Timeout(2):
        assert reader.readUTF8Line() == "pong"
        assert reader.readUTF8Line() is None


@pytest.mark.timeout(10)
def test_per_call_gevent_Timeout_leaves_the_channel_intact(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    reader = client.openReadChannel()
    out = accepted.openWriteChannel()
    out.writeFully(b"ab")
    out.flush()
    with pytest.raises(gevent.Timeout), gevent.Timeout(0.05):
        reader.readPacket(4)  # two of the four bytes are there
    assert not client.isClosed
    assert reader.closedCause is None
    out.writeFully(b"cd")
    out.flush()
    assert reader.readPacket(4) == b"abcd"


# -- kernel errors ---------------------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_connecting_to_a_closed_port_raises_ConnectionRefusedError(
    tcp: Any, raw: Callable[..., Any]
) -> None:
    port = refusing_port(raw)
    with pytest.raises(ConnectionRefusedError):
        tcp.connect(LOCAL, port)


@pytest.mark.timeout(10)
def test_binding_a_used_port_raises_EADDRINUSE(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    with pytest.raises(OSError) as info:
        tcp.bind(LOCAL, server.port)
    assert info.value.errno == errno.EADDRINUSE
    assert not server.isClosed


@pytest.mark.timeout(20)
def test_an_unresolvable_host_raises_gaierror(tcp: Any) -> None:
    # The .invalid top-level domain is reserved (RFC 2606) and never resolves.
    with pytest.raises(socket.gaierror):
        tcp.connect("greensock-test.invalid", 80)


@pytest.mark.timeout(10)
def test_a_closed_servers_port_can_be_bound_again_at_once(tcp: Any) -> None:
    server, client, accepted = connected_pair(tcp)
    port = server.port
    # The server side closes first, which leaves its end of the connection in TIME_WAIT:
    # without SO_REUSEADDR on listeners, binding the port again would fail for a minute.
    accepted.close()
    assert client.openReadChannel().readAvailable(bytearray(1)) == -1
    client.close()
    server.close()
    again = tcp.bind(LOCAL, port)
    assert again.port == port


@pytest.mark.timeout(10)
def test_connect_timeout_raises_ConnectTimeoutException(tcp: Any, raw: Callable[..., Any]) -> None:
    port = stalled_listener(raw)
    started = time.monotonic()
    with pytest.raises(ConnectTimeoutException) as info:
        tcp.connect(LOCAL, port, timeout=0.3)
    assert isinstance(info.value, TimeoutError)
    assert 0.25 <= time.monotonic() - started < 3


@pytest.mark.timeout(10)
def test_connect_with_zero_timeout_raises_ConnectTimeoutException(tcp: Any) -> None:
    # Resolution runs in gevent's resolver, which yields to the hub: a zero deadline passes
    # before the connection can be made, even to a listening port.
    server = tcp.bind(LOCAL, 0)
    with pytest.raises(ConnectTimeoutException):
        tcp.connect("localhost", server.port, timeout=0)


# -- attaching and connection() --------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_attachForReading_pumps_into_the_channel_and_closes_it_at_eof(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    channel = ByteChannel()
    job = accepted.attachForReading(channel)
    assert verifyObject(IWriterJob, job)
    assert job.channel is channel
    assert job.isActive
    out = client.openWriteChannel()
    out.writeFully(b"hello, ")
    out.flush()
    assert channel.readPacket(7) == b"hello, "  # flushed into the channel as it goes
    out.writeFully(b"world")
    out.close()
    assert channel.readRemaining() == b"world"
    assert job.join(5) is True
    assert job.isCompleted and not job.isCancelled and not job.isActive
    with pytest.raises(RuntimeError):
        accepted.openReadChannel()  # attaching counted as opening the read side


@pytest.mark.timeout(10)
def test_attachForReading_fails_the_channel_when_the_connection_fails(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"lingerSeconds": 0})
    accepted = server.accept(timeout=5)
    channel = ByteChannel()
    job = accepted.attachForReading(channel)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    gevent.sleep(0.02)
    client.close()
    assert job.join(5)
    assert isinstance(causes[0], ConnectionResetError)
    with pytest.raises(ConnectionResetError):
        channel.readPacket(1)


@pytest.mark.timeout(10)
def test_attachForWriting_pumps_out_and_half_closes_at_eof(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    channel = ByteChannel()
    job = client.attachForWriting(channel)
    assert verifyObject(IReaderJob, job)
    assert job.channel is channel
    channel.writeStringUtf8("one\n")
    channel.flush()
    server_in = accepted.openReadChannel()
    assert server_in.readUTF8Line() == "one"
    channel.writeStringUtf8("two\n")
    channel.close()
    assert server_in.readUTF8Line() == "two"
    assert server_in.readUTF8Line() is None  # half-closed
    assert job.join(5) is True and job.isCompleted
    # The other direction still works.
    server_out = accepted.openWriteChannel(autoFlush=True)
    server_out.writeStringUtf8("reply\n")
    assert client.openReadChannel().readUTF8Line() == "reply"
    with pytest.raises(RuntimeError):
        client.openWriteChannel()


@pytest.mark.timeout(10)
def test_closing_the_socket_sends_what_was_written_to_an_attached_channel(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    channel = ByteChannel()
    job = client.attachForWriting(channel)
    channel.writeStringUtf8("flushed\n")
    channel.flush()
    channel.writeStringUtf8("written")
    client.close()  # the pump has not run yet: nothing of it may be lost
    assert accepted.openReadChannel().readRemaining() == b"flushed\nwritten"
    assert client.awaitClosed(5) and job.join(5)
    with pytest.raises(ClosedWriteChannelException):
        channel.writeByte(1)


@pytest.mark.timeout(10)
def test_closing_the_socket_never_leaves_an_attached_channels_writer_blocked(
    tcp: Any,
) -> None:
    _, client, _ = connected_pair(tcp)
    channel = ByteChannel(capacity=1024)
    job = client.attachForWriting(channel)
    gevent.sleep(0.01)
    client.close()

    def keep_writing() -> None:
        for _ in range(100):  # far more than the channel holds
            channel.writeFully(b"x" * 512)
            channel.flush()

    writer = gevent.spawn(keep_writing)
    writer.join(timeout=2)
    assert writer.dead
    assert isinstance(writer.exception, ClosedWriteChannelException)
    assert job.join(2) and job.isCompleted


@pytest.mark.timeout(10)
def test_a_reset_fails_an_attached_channels_writer_with_the_error(tcp: Any) -> None:
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, configure={"lingerSeconds": 0})
    accepted = server.accept(timeout=5)
    channel = ByteChannel()
    job = accepted.attachForWriting(channel)
    reading = gevent.spawn(accepted.openReadChannel().readByte)
    gevent.sleep(0.02)
    client.close()
    reading.join(timeout=5)
    assert isinstance(reading.exception, ConnectionResetError)
    with pytest.raises(ConnectionResetError):
        channel.writeByte(1)
    assert job.join(2)


@pytest.mark.timeout(10)
def test_cancelling_an_attach_job_stops_the_pump_and_fails_the_channel(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    channel = ByteChannel()
    job = accepted.attachForReading(channel)
    gevent.sleep(0.02)
    job.cancel()
    assert job.join(5) is True
    assert job.isCancelled and job.isCompleted and not job.isActive
    with pytest.raises(ClosedChannelException):
        channel.readPacket(1)
    # The pump is gone: nothing more is copied into the channel.
    out = client.openWriteChannel(autoFlush=True)
    out.writeFully(b"late")
    gevent.sleep(0.05)
    assert channel.availableForRead == 0


@pytest.mark.timeout(10)
def test_cancelling_a_writing_attach_job_with_a_cause(tcp: Any) -> None:
    _, client, _ = connected_pair(tcp)
    channel = ByteChannel()
    job = client.attachForWriting(channel)
    causes: list[Any] = []
    job.invokeOnCompletion(causes.append)
    gevent.sleep(0.02)
    cause = ValueError("stop")
    job.cancel(cause)
    assert job.join(5) is True and job.isCancelled
    assert causes == [cause]
    with pytest.raises(ValueError):
        channel.writeByte(1)


@pytest.mark.timeout(10)
def test_connection_opens_both_channels(tcp: Any) -> None:
    _, client, accepted = connected_pair(tcp)
    connection = client.connection()
    assert isinstance(connection, Connection)
    assert connection.socket is client
    sock, input_channel, output_channel = connection
    assert (sock, input_channel, output_channel) == (
        connection.socket,
        connection.input,
        connection.output,
    )
    assert connection.output.autoFlush is False
    with pytest.raises(RuntimeError):
        client.openReadChannel()
    with pytest.raises(RuntimeError):
        client.openWriteChannel()
    peer = accepted.connection()
    connection.output.writeStringUtf8("hi\n")
    connection.output.flush()
    assert peer.input.readUTF8Line() == "hi"
    peer.output.writeInt(42)
    peer.output.flush()
    assert connection.input.readInt() == 42


# -- happy eyeballs -------------------------------------------------------------------------------


def info(family: int, host: str, port: int) -> tuple[Any, ...]:
    """A getaddrinfo-style entry for a TCP address."""
    sockaddr: tuple[Any, ...] = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


def test_interleave_families_alternates_starting_with_the_first_family() -> None:
    v6 = [info(socket.AF_INET6, f"::{n}", 1) for n in range(1, 4)]
    v4 = [info(socket.AF_INET, f"127.0.0.{n}", 1) for n in range(1, 3)]
    assert interleave_families(v6 + v4) == [v6[0], v4[0], v6[1], v4[1], v6[2]]
    assert interleave_families(v4 + v6) == [v4[0], v6[0], v4[1], v6[1], v6[2]]
    assert interleave_families([v4[0], v6[0], v6[1], v4[1]]) == [v4[0], v6[0], v4[1], v6[1]]
    assert interleave_families(v4) == v4
    assert interleave_families([]) == []


@pytest.mark.timeout(10)
def test_connect_first_falls_back_at_once_when_an_address_refuses(
    raw: Callable[..., Any],
) -> None:
    _listener, port = raw_listener(raw)
    if has_ipv6_loopback():
        # Hold the same port on ::1 without listening, so that attempt surely refuses.
        holder = raw(socket.AF_INET6)
        holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            holder.bind(("::1", port))
        except OSError:
            pytest.skip("the port is in use on ::1")
    # "localhost" resolves to 127.0.0.1 (and maybe ::1); put ::1 first whatever the system says.
    infos = [
        entry
        for entry in resolve("localhost", port, socket.SOCK_STREAM)
        if entry[0] == socket.AF_INET
    ]
    infos.insert(0, info(socket.AF_INET6, "::1", port))
    started = time.monotonic()
    sock, sockaddr = connect_first(infos, TCPClientSocketOptions())
    try:
        assert time.monotonic() - started < STAGGER  # did not wait out the stagger
        assert sockaddr[0] == LOCAL
        assert sock.getpeername() == (LOCAL, port)
    finally:
        sock.close()


@pytest.mark.timeout(10)
def test_connect_first_starts_the_next_attempt_after_the_stagger(
    raw: Callable[..., Any],
) -> None:
    stalled = stalled_listener(raw)
    _, good = raw_listener(raw)
    started = time.monotonic()
    sock, sockaddr = connect_first(
        [info(socket.AF_INET, LOCAL, stalled), info(socket.AF_INET, LOCAL, good)],
        TCPClientSocketOptions(),
    )
    elapsed = time.monotonic() - started
    try:
        assert sockaddr == (LOCAL, good)
        assert STAGGER * 0.8 <= elapsed < STAGGER + 2
    finally:
        sock.close()


@pytest.mark.timeout(10)
def test_connect_first_raises_the_first_error_with_every_attempts_errors(
    raw: Callable[..., Any],
) -> None:
    first, second = refusing_port(raw), refusing_port(raw)
    with pytest.raises(ConnectionRefusedError) as caught:
        connect_first(
            [info(socket.AF_INET, LOCAL, first), info(socket.AF_INET, LOCAL, second)],
            TCPClientSocketOptions(),
        )
    errors = caught.value.exceptions  # type: ignore[attr-defined]
    assert len(errors) == 2
    assert errors[0] is caught.value
    assert all(isinstance(error, ConnectionRefusedError) for error in errors)


def test_connect_first_without_addresses_raises_instead_of_waiting_forever() -> None:
    with pytest.raises(ValueError, match="no address"):
        connect_first([], TCPClientSocketOptions())


@pytest.mark.timeout(10)
def test_connect_raises_the_refusal_itself_with_its_attempts(
    tcp: Any, raw: Callable[..., Any]
) -> None:
    port = refusing_port(raw)
    with pytest.raises(ConnectionRefusedError) as caught:
        tcp.connect(LOCAL, port)
    assert caught.value.exceptions == [caught.value]  # type: ignore[attr-defined]
