# STARTTLS: a plaintext exchange, then TLS over the same connection (pip install trustme).
from greensock import aSocket, serve
from greensock.testing import tlsContexts

server_context, client_context = tlsContexts()


def handler(socket):
    plain = socket.connection()
    if plain.input.readUTF8Line() == "STARTTLS":
        plain.output.writeStringUtf8("GO AHEAD\n")  # tls() flushes it before the handshake
        secure = plain.tls(server_context, serverSide=True, timeout=5)
        with secure.socket:  # the TLS socket owns the connection now
            secure.output.writeStringUtf8(f"secret for {secure.input.readUTF8Line()}\n")
            secure.output.flush()


server = aSocket().tcp().bind("127.0.0.1", 0)
with serve(server, handler):
    with aSocket().tcp().connect("127.0.0.1", server.port, timeout=5) as socket:
        plain = socket.connection()
        plain.output.writeStringUtf8("STARTTLS\n")
        plain.output.flush()
        print(plain.input.readUTF8Line())  # GO AHEAD, read before tls(): none may be left
        secure = plain.tls(client_context, serverName="localhost", timeout=5)
        with secure.socket:
            secure.output.writeStringUtf8("alice\n")
            secure.output.flush()
            print(secure.input.readUTF8Line())  # secret for alice
