"""A gevent WSGI application whose requests talk to a key-value backend over greensock.

Two processes, each a role of this script::

    python scripts/wsgi_kv.py backend [PORT]       # the line-based store, on greensock.serve
    python scripts/wsgi_kv.py web BACKEND_PORT [PORT]  # gevent.pywsgi, monkey-patched

Each prints ``listening on HOST:PORT`` once ready and runs until SIGINT or SIGTERM.

The backend speaks one line per request and one per answer: ``SET key value`` -> ``OK``,
``GET key`` -> ``VALUE value`` or ``NONE``, ``INCR key`` -> ``VALUE n``; anything else ->
``ERROR reason``. Keys are single words; values are the rest of the line. Every connection
is a greenlet, and no greenlet switch happens between reading and writing the store, so
``INCR`` is atomic without a lock.

The web application maps HTTP onto it: ``GET /kv/KEY``, ``PUT /kv/KEY`` (the body is the
value), ``POST /kv/KEY/incr``. Its handler borrows a backend connection from a small pool
(greensock sockets, which need no monkey-patching but live happily with it), so concurrent
requests run concurrently against one backend.
"""

from __future__ import annotations

import sys

if __name__ == "__main__" and sys.argv[1:2] == ["web"]:
    # Before anything imports socket or threading: pywsgi's own I/O is plain socket calls.
    from gevent import monkey

    monkey.patch_all()

import signal
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import gevent
from gevent.event import Event
from gevent.lock import BoundedSemaphore
from gevent.queue import LifoQueue

import greensock

HOST = "127.0.0.1"
#: Longest request line the backend reads (a longer one closes the connection).
LINE_LIMIT = 64 * 1024
#: Backend connections the web process keeps at most.
POOL_SIZE = 20


# -- the backend ------------------------------------------------------------------------------


class Store:
    """The key-value store and its line protocol."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def answer(self, line: str) -> str:
        """The answer to one request line."""
        verb, _, rest = line.partition(" ")
        key, _, value = rest.partition(" ")
        if not key:
            return "ERROR a key is needed"
        if verb == "SET":
            self.values[key] = value
            return "OK"
        if verb == "GET":
            return f"VALUE {self.values[key]}" if key in self.values else "NONE"
        if verb == "INCR":
            try:
                number = int(self.values.get(key, "0")) + 1
            except ValueError:
                return "ERROR not a number"
            self.values[key] = str(number)
            return f"VALUE {number}"
        return f"ERROR unknown verb {verb!r}"

    def handle(self, sock: Any) -> None:
        """serve()'s handler: answer every line until the client closes."""
        connection = sock.connection()
        for line in connection.input.lines(limit=LINE_LIMIT):
            connection.output.writeStringUtf8(self.answer(line) + "\n")
            connection.output.flush()


def backend(port: int) -> None:
    """Serve the store on *port* until SIGINT or SIGTERM."""
    server = greensock.aSocket().tcp().bind(HOST, port)
    with greensock.serve(server, Store().handle):
        print(f"listening on {server.localAddress}", flush=True)
        _until_signal()


# -- the web application ----------------------------------------------------------------------


class Backend:
    """A pool of connections to the backend; ``ask`` sends one request line."""

    def __init__(self, port: int) -> None:
        self._port = port
        #: Held while a request uses a connection: so no more than POOL_SIZE are open.
        self._slots = BoundedSemaphore(POOL_SIZE)
        self._idle: LifoQueue[Any] = LifoQueue()

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        with self._slots:
            if self._idle.empty():
                connection = greensock.aSocket().tcp().connect(HOST, self._port).connection()
            else:
                connection = self._idle.get_nowait()
            try:
                yield connection
            except BaseException:
                connection.socket.close()  # in an unknown state: never reuse it
                raise
            self._idle.put(connection)

    def ask(self, line: str) -> str:
        """Send one request line; the answer line."""
        with self._connection() as connection:
            connection.output.writeStringUtf8(line + "\n")
            connection.output.flush()
            answer: str | None = connection.input.readUTF8Line(limit=LINE_LIMIT)
        if answer is None:
            raise ConnectionError("the backend closed the connection")
        return answer


def application(backend: Backend) -> Callable[..., Iterable[bytes]]:
    """The WSGI application over *backend*."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, parts = environ["REQUEST_METHOD"], environ["PATH_INFO"].strip("/").split("/")
        status, body = "404 Not Found", "no such resource\n"
        if len(parts) >= 2 and parts[0] == "kv" and parts[1].isidentifier():
            key = parts[1]
            if method == "GET" and len(parts) == 2:
                answer = backend.ask(f"GET {key}")
                found = answer.startswith("VALUE ")
                status = "200 OK" if found else "404 Not Found"
                body = answer[len("VALUE ") :] + "\n" if found else "no such key\n"
            elif method == "PUT" and len(parts) == 2:
                size = int(environ.get("CONTENT_LENGTH") or 0)
                value = environ["wsgi.input"].read(size).decode("utf-8")
                if "\n" in value or "\r" in value:
                    status, body = "400 Bad Request", "one line only\n"
                else:
                    backend.ask(f"SET {key} {value}")
                    status, body = "204 No Content", ""
            elif method == "POST" and parts[2:] == ["incr"]:
                status, body = "200 OK", backend.ask(f"INCR {key}")[len("VALUE ") :] + "\n"
        data = body.encode("utf-8")
        start_response(
            status,
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
        )
        return [data]

    return app


def web(backend_port: int, port: int) -> None:
    """Serve the application on *port* until SIGINT or SIGTERM."""
    from gevent.pywsgi import WSGIServer

    server = WSGIServer((HOST, port), application(Backend(backend_port)), log=None)
    server.start()
    print(f"listening on {HOST}:{server.server_port}", flush=True)
    _until_signal()
    server.stop(timeout=5)


def _until_signal() -> None:
    stop = Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(number, stop.set)
    stop.wait()


def main(argv: list[str]) -> int:
    """``backend [PORT]`` or ``web BACKEND_PORT [PORT]``."""
    if argv[:1] == ["backend"] and len(argv) <= 2:
        backend(int(argv[1]) if len(argv) == 2 else 0)
        return 0
    if argv[:1] == ["web"] and len(argv) in (2, 3):
        web(int(argv[1]), int(argv[2]) if len(argv) == 3 else 0)
        return 0
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
