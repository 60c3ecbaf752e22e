"""TLS client and server over loopback (SPEC section 10), with STARTTLS."""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import gevent
import pytest
from conftest import open_pair
from zope.interface.verify import verifyObject

import greensock
from greensock.interfaces import ISocket
from greensock.testing import tlsContexts

trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return tlsContexts()


def _echo_server(server_context: ssl.SSLContext):
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)

    def serve() -> None:
        with server.accept().tls(server_context, serverSide=True, timeout=10) as sock:
            incoming = sock.openReadChannel()
            outgoing = sock.openWriteChannel()
            incoming.copyAndClose(outgoing)

    return server, gevent.spawn(serve)


@pytest.mark.timeout(30)
def test_tls_echo_of_megabytes_and_half_close(contexts) -> None:
    server_context, client_context = contexts
    server, serving = _echo_server(server_context)
    with greensock.aSocket().tcp().connect("localhost", server.port).tls(client_context) as sock:
        assert verifyObject(ISocket, sock)
        assert sock.cipher is not None
        incoming, outgoing = sock.openReadChannel(), sock.openWriteChannel()
        payload = os.urandom(2_000_000)

        def send() -> None:
            outgoing.writeFully(payload)
            outgoing.close()  # close_notify, then the server echoes to the end and closes

        sender = gevent.spawn(send)
        echoed = incoming.readRemaining()
        sender.get(timeout=10)
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()
    serving.get(timeout=10)
    server.close()


@pytest.mark.timeout(30)
def test_tls_checks_the_host_name(contexts) -> None:
    server_context, client_context = contexts
    server, serving = _echo_server(server_context)
    plain = greensock.aSocket().tcp().connect("127.0.0.1", server.port)
    with pytest.raises(ssl.SSLCertVerificationError):
        plain.tls(client_context, serverName="not-the-host.example")
    assert plain.isClosed
    serving.kill()
    server.close()


@pytest.mark.timeout(30)
def test_tls_argument_errors(contexts) -> None:
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    sock = greensock.aSocket().tcp().connect("127.0.0.1", server.port)
    with pytest.raises(ValueError):
        sock.tls(serverSide=True)
    sock.openReadChannel()
    with pytest.raises(RuntimeError):
        sock.tls(contexts[1])
    sock.close()
    server.close()


@pytest.mark.timeout(30)
def test_tls_handshake_timeout_raises_socket_timeout(contexts) -> None:
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    sock = greensock.aSocket().tcp().connect("127.0.0.1", server.port)
    with pytest.raises(greensock.SocketTimeoutException):
        sock.tls(contexts[1], serverName="localhost", timeout=0.2)  # nobody answers
    sock.close()
    server.close()


@pytest.mark.timeout(30)
def test_starttls_after_a_plaintext_exchange(contexts) -> None:
    server_context, client_context = contexts
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)

    def serve() -> str | None:
        connection = server.accept().connection()
        assert connection.input.readUTF8Line() == "STARTTLS"
        connection.output.writeStringUtf8("GO\n")
        secure = connection.tls(server_context, serverSide=True)
        line = secure.input.readUTF8Line()
        secure.output.writeStringUtf8(f"secret: {line}\n")
        secure.output.flush()
        secure.socket.close()
        return line

    serving = gevent.spawn(serve)
    connection = greensock.aSocket().tcp().connect("localhost", server.port).connection()
    connection.output.writeStringUtf8("STARTTLS\n")
    connection.output.flush()
    assert connection.input.readUTF8Line() == "GO"
    secure = connection.tls(client_context)
    assert isinstance(secure, greensock.Connection)
    secure.output.writeStringUtf8("password\n")
    secure.output.flush()
    assert secure.input.readUTF8Line() == "secret: password"
    assert serving.get(timeout=10) == "password"
    secure.socket.close()
    server.close()


@pytest.mark.timeout(30)
def test_starttls_refuses_when_plaintext_is_buffered(contexts) -> None:
    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    client = greensock.aSocket().tcp().connect("127.0.0.1", server.port)
    accepted = server.accept(timeout=5)
    out = accepted.openWriteChannel()
    out.writeStringUtf8("one\ntwo\n")
    out.flush()
    connection = client.connection()
    assert connection.input.readUTF8Line() == "one"
    connection.input.awaitContent(4)
    with pytest.raises(RuntimeError, match="plaintext"):
        connection.tls(contexts[1])
    for sock in (client, accepted, server):
        sock.close()


# -- closing: close_notify on every path, no reset (defects 2 and 11) -----------------------


class ThreadPeer:
    """A stdlib ``ssl`` peer in an OS thread (blocking calls there never block the hub).

    It strictly reports a missing close_notify: ``suppress_ragged_eofs=False``.
    """

    def __init__(self, target: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(target,), daemon=True)
        self._thread.start()

    def _run(self, target: Any) -> None:
        try:
            self.result = target()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.error = exc

    def join(self, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            gevent.sleep(0.01)
        assert not self._thread.is_alive(), "the peer thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def _read_to_end(sock: ssl.SSLSocket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


def _stdlib_client(port: int, client_context: ssl.SSLContext, send: bytes = b"") -> bytes:
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with client_context.wrap_socket(
        raw, server_hostname="localhost", suppress_ragged_eofs=False
    ) as sock:
        if send:
            sock.sendall(send)
        return _read_to_end(sock)


CLOSE_PATHS = [
    "autoFlush-then-close",
    "flush-then-close",
    "unflushed-then-close",
    "with-block",
    "flushAndClose",
    "close-channel-then-socket",
    "close-while-a-read-blocks",
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", CLOSE_PATHS)
def test_every_close_of_a_tls_server_sends_close_notify(contexts, path: str) -> None:
    server_context, client_context = contexts
    with greensock.aSocket().tcp().bind("127.0.0.1", 0) as server:
        peer = ThreadPeer(lambda: _stdlib_client(server.port, client_context))
        sock = server.accept(timeout=10).tls(server_context, serverSide=True, timeout=10)
        output = sock.openWriteChannel(autoFlush=path == "autoFlush-then-close")
        output.writeStringUtf8("last words\n")
        if path in ("flush-then-close", "close-while-a-read-blocks", "with-block"):
            output.flush()
        if path == "with-block":
            with sock:
                pass
        elif path == "flushAndClose":
            output.flushAndClose()
            sock.close()
        elif path == "close-channel-then-socket":
            output.close()
            sock.close()
        elif path == "close-while-a-read-blocks":
            reading = gevent.spawn(sock.openReadChannel().readUTF8Line)
            gevent.sleep(0.05)
            gevent.spawn(sock.close).join(timeout=5)
            with pytest.raises(greensock.ClosedReadChannelException):
                reading.get(timeout=5)
        else:
            sock.close()
        # A clean end of stream: SSLEOFError in the peer otherwise.
        assert peer.join() == b"last words\n"
        assert sock.awaitClosed(timeout=10)


@pytest.mark.timeout(30)
def test_closing_a_tls_client_that_never_read_does_not_reset_the_connection(contexts) -> None:
    """TLS 1.3 servers send session tickets after the handshake: a client that closes with
    them unread must still end with FIN, or the server loses what it had not read yet."""
    server_context, client_context = contexts
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> bytes:
        with listener:
            raw, _ = listener.accept()
            with server_context.wrap_socket(
                raw, server_side=True, suppress_ragged_eofs=False
            ) as sock:
                time.sleep(0.3)  # the client has closed by now
                data = _read_to_end(sock)
                # Below TLS, a clean end too (FIN): a reset would raise here.
                assert sock.unwrap().recv(1) == b""
                return data

    peer = ThreadPeer(serve)
    port = listener.getsockname()[1]
    sock = greensock.aSocket().tcp().connect("127.0.0.1", port, timeout=10)
    secure = sock.tls(client_context, serverName="localhost", timeout=10)
    assert secure.sslObject.version() == "TLSv1.3"
    output = secure.openWriteChannel()
    output.writeStringUtf8("bye\n")
    output.flush()
    gevent.sleep(0.05)  # the tickets have arrived, unread
    secure.close()
    assert peer.join() == b"bye\n"


# -- host names (defect 3) ------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_server_name_defaults_to_the_host_given_to_connect(contexts) -> None:
    server_context, client_context = contexts
    server, serving = _echo_server(server_context)
    with greensock.aSocket().tcp().connect("localhost", server.port, timeout=10).tls(
        client_context, timeout=10
    ) as sock:
        assert sock.sslObject.server_hostname == "localhost"
    serving.kill()
    server.close()


@pytest.mark.timeout(30)
def test_the_default_server_name_is_checked_against_the_certificate() -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("elsewhere.example").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    server, serving = _echo_server(server_context)
    plain = greensock.aSocket().tcp().connect("localhost", server.port, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        plain.tls(client_context, timeout=10)
    serving.kill()
    server.close()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["unix", "accepted"])
def test_a_tls_client_without_a_host_name_to_check_raises_before_sending(
    contexts, kind: str, unix_dir: Path
) -> None:
    tcp = greensock.aSocket().tcp()
    if kind == "unix":
        server = tcp.bind(greensock.UnixSocketAddress(str(unix_dir / "s")))
        client = tcp.connect(server.localAddress, timeout=10)
        peer = server.accept(timeout=10)
    else:
        server = tcp.bind("127.0.0.1", 0)
        peer = tcp.connect("127.0.0.1", server.port, timeout=10)
        client = server.accept(timeout=10)
    with server, client, peer:
        with pytest.raises(ValueError, match="serverName"):
            client.tls(contexts[1])
        # Nothing was sent, and the socket is as it was: plain and usable.
        assert not client.isClosed
        output = client.openWriteChannel()
        output.writeStringUtf8("plain\n")
        output.flush()
        assert peer.openReadChannel().readUTF8Line() == "plain"


# -- handshake timeouts (defect 4) ----------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_server_handshake_timeout_before_any_byte_leaves_the_socket_plain(contexts) -> None:
    server_context, client_context = contexts
    with greensock.aSocket().tcp().bind("127.0.0.1", 0) as server:
        client = greensock.aSocket().tcp().connect("127.0.0.1", server.port, timeout=10)
        accepted = server.accept(timeout=10)
        with pytest.raises(greensock.SocketTimeoutException):
            accepted.tls(server_context, serverSide=True, timeout=0.1)
        assert not accepted.isClosed
        # tls() again, now that the client starts its handshake.
        handshake = gevent.spawn(client.tls, client_context, serverName="localhost", timeout=10)
        secure = accepted.tls(server_context, serverSide=True, timeout=10)
        secure_client = handshake.get(timeout=10)
        with secure, secure_client:
            output = secure_client.openWriteChannel()
            output.writeStringUtf8("secret\n")
            output.flush()
            assert secure.openReadChannel().readUTF8Line() == "secret"


@pytest.mark.timeout(30)
def test_a_handshake_timeout_after_bytes_arrived_closes_the_socket(contexts) -> None:
    server_context, _ = contexts
    with greensock.aSocket().tcp().bind("127.0.0.1", 0) as server:
        client = greensock.aSocket().tcp().connect("127.0.0.1", server.port, timeout=10)
        accepted = server.accept(timeout=10)
        with client:
            output = client.openWriteChannel()
            output.writePacket(b"\x16\x03\x01\x00\xff\x01")  # a record header, then nothing
            output.flush()
            with pytest.raises(greensock.SocketTimeoutException):
                accepted.tls(server_context, serverSide=True, timeout=0.2)
            assert accepted.isClosed


@pytest.mark.timeout(30)
def test_a_half_close_keeps_what_the_peer_sent_and_was_not_read_yet(contexts) -> None:
    """close_notify goes out through OpenSSL's shutdown, which drops application data it
    reads on the way: received records not read yet must survive it."""
    with open_pair("tls") as (client, server):
        payload = os.urandom(300_000)
        toClient = server.openWriteChannel()
        sending = gevent.spawn(toClient.writeFully, payload)
        fromServer = client.openReadChannel()
        head = fromServer.readPacket(10)  # ciphertext beyond this record is now buffered
        gevent.sleep(0.05)
        toServer = client.openWriteChannel()
        toServer.writeStringUtf8("done\n")
        toServer.close()  # the half-close: close_notify to the server
        sending.get(timeout=10)
        toClient.close()
        rest = fromServer.readRemaining()
        assert head + rest == payload
        assert server.openReadChannel().readUTF8Line() == "done"
