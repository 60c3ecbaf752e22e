# Unix domain sockets: the same API, with a UnixSocketAddress.
import os
import tempfile

from greensock import UnixSocketAddress, aSocket, serve


def echo(socket):
    socket.openReadChannel().copyAndClose(socket.openWriteChannel())


with tempfile.TemporaryDirectory() as directory:
    address = UnixSocketAddress(os.path.join(directory, "echo.sock"))
    server = aSocket().tcp().bind(address)
    with serve(server, echo):
        with aSocket().tcp().connect(address, timeout=5) as client:
            connection = client.connection()
            connection.output.writeStringUtf8("over a socket file\n")
            connection.output.close()
            print(connection.input.readRemaining(), "from", server.localAddress)
    print("socket file left:", os.path.exists(address.path))  # False: removed on close
