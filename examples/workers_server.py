# hello_server.py on two processes sharing one port (SO_REUSEPORT), until Ctrl-C.
# python examples/workers_server.py [PORT]   (default 9002; POSIX only)
import sys

from greensock import InetSocketAddress, serveWorkers


def greet(socket):
    connection = socket.connection()
    for name in connection.input.lines(limit=1024):
        connection.output.writeStringUtf8(f"Hello, {name}!\n")
        connection.output.flush()


if __name__ == "__main__":  # the workers are forked copies: keep the start here
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9002
    serveWorkers(
        InetSocketAddress("127.0.0.1", port),
        greet,
        workers=2,
        maxConnections=1000,  # per worker; any option of serve() goes
        ready=lambda address: print(f"listening on {address}", flush=True),
    )  # returns after SIGINT or SIGTERM, once the workers have stopped
