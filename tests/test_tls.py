"""TLS client and server over loopback (SPEC section 10), with STARTTLS."""

from __future__ import annotations

import hashlib
import os
import ssl

import gevent
import pytest
from zope.interface.verify import verifyObject

import greensock
from greensock.interfaces import ISocket

trustme = pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


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
