# A TLS line server: "Hello, NAME!" for every line, until Ctrl-C.
# python examples/tls_greeter.py CERTFILE KEYFILE [PORT]   (default 9003)
import signal
import ssl
import sys

import gevent

from greensock import aSocket, serve


def greet(socket):
    connection = socket.connection()
    for name in connection.input.lines(limit=1024):
        connection.output.writeStringUtf8(f"Hello, {name}!\n")
        connection.output.flush()


def main(certfile, keyfile, port=9003):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)  # a server's context
    context.load_cert_chain(certfile, keyfile)
    server = aSocket().tcp().bind("127.0.0.1", port)
    serving = serve(server, greet, tls=context, handshakeTimeout=10)
    print(f"listening on {server.localAddress}", flush=True)
    gevent.signal_handler(signal.SIGINT, serving.stop)
    serving.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:4]))
