# Tests of tls_greeter.py with greensock's testing kit: python -m pytest examples/
import gevent
import pytest

from greensock import aSocket, serve
from greensock.testing import socketPair, tlsContexts

from tls_greeter import greet


@pytest.mark.parametrize("kind", ["memory", "tcp", "unix", "tls"])
def test_greet_answers_every_line_until_end_of_stream(kind):
    client, server = socketPair(kind)  # connected, channels not opened yet
    with client, server, gevent.Timeout(5):  # a hang fails the test instead of stalling it
        handler = gevent.spawn(greet, server)
        connection = client.connection()
        connection.output.writeStringUtf8("Ada\nGrace\n")
        connection.output.close()  # half-close: greet's loop ends after the two lines
        answers = [connection.input.readUTF8Line() for _ in range(2)]
        assert answers == ["Hello, Ada!", "Hello, Grace!"]
        handler.get()  # greet returned, and raised nothing


def test_the_tls_server_greets_a_client_that_checks_its_certificate():
    server_context, client_context = tlsContexts()
    server = aSocket().tcp().bind("127.0.0.1", 0)
    with serve(server, greet, tls=server_context, handshakeTimeout=5):
        with aSocket().tcp().connect("127.0.0.1", server.port, timeout=5) as plain:
            with plain.tls(client_context, serverName="localhost", timeout=5) as socket:
                connection = socket.connection()
                connection.output.writeStringUtf8("TLS\n")
                connection.output.flush()
                with gevent.Timeout(5):
                    assert connection.input.readUTF8Line() == "Hello, TLS!"
