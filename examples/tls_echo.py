# TLS on both sides over loopback, with the testing kit's throwaway certificate authority
# (pip install trustme). A real server loads its own certificate; see the TLS guide.
from greensock import aSocket, serve
from greensock.testing import tlsContexts

server_context, client_context = tlsContexts()  # a certificate for "localhost"


def echo(socket):  # the socket is the TLS one: serve() ran the handshake
    socket.openReadChannel().copyAndClose(socket.openWriteChannel())


server = aSocket().tcp().bind("127.0.0.1", 0)
with serve(server, echo, tls=server_context, handshakeTimeout=5):
    plain = aSocket().tcp().connect("127.0.0.1", server.port, timeout=5)
    # The certificate is checked against serverName (by default the host given to connect).
    with plain.tls(client_context, serverName="localhost", timeout=5) as secure:
        print(secure.sslObject.version(), "with", secure.sslObject.server_hostname)
        connection = secure.connection()
        connection.output.writeStringUtf8("over TLS\n")
        connection.output.close()  # half-close, TLS-style: close_notify, then FIN
        print(connection.input.readRemaining())  # b'over TLS\n', then a clean end of stream
