"""``greensock.serve`` over loopback (SPEC section 10, "Serving").

Clients are greensock sockets in the test's own hub (or plain blocking sockets in a thread
where the hub must not be involved). No assertion depends on timing: where a test checks that
something did *not* happen, it lets the hub run for a moment and looks, so a bug shows as a
failure and a slow machine only makes the look less searching.
"""

from __future__ import annotations

import json
import logging
import ssl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gevent
import pytest
from conftest import settle
from gevent.event import Event
from markers import needs_unix
from processes import child_server, poll
from zope.interface.verify import verifyObject

import greensock
from greensock import (
    ClosedChannelException,
    ClosedReadChannelException,
    SelectorManager,
    Serving,
    UnixSocketAddress,
    aSocket,
    serve,
)
from greensock.interfaces import IServing
from greensock.testing import tlsContexts

LOCAL = "127.0.0.1"


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def server(selector: SelectorManager) -> Any:
    """A TCP server socket on 127.0.0.1, closed with the test's selector."""
    return aSocket(selector).tcp().bind(LOCAL, 0)


@pytest.fixture
def servings() -> Iterator[list[Serving]]:
    """Servings a test starts; each is stopped (without waiting) at teardown."""
    started: list[Serving] = []
    yield started
    for serving in started:
        serving.stop(0)
        serving.join(5)


def connect(server: Any) -> Any:
    """A client connection to *server*, both channels open (autoFlush on)."""
    sock = aSocket().tcp().connect(LOCAL, server.port, timeout=10)
    return sock, sock.openReadChannel(), sock.openWriteChannel(autoFlush=True)


def ask(server: Any, line: str) -> str | None:
    """Send one line on a fresh connection; the first line of the answer (None at EOF)."""
    sock, incoming, outgoing = connect(server)
    with sock:
        outgoing.writeStringUtf8(line + "\n")
        with gevent.Timeout(10):
            answer: str | None = incoming.readUTF8Line()
    return answer


def echo_line(sock: Any) -> None:
    """A handler: answer the first line, upper-cased, and return (serve closes the socket)."""
    incoming, outgoing = sock.openReadChannel(), sock.openWriteChannel(autoFlush=True)
    line = incoming.readUTF8Line()
    if line is not None:
        outgoing.writeStringUtf8(line.upper() + "\n")


class Gate:
    """A handler that records its sockets, says "in", then holds its connection until the
    client sends a line (answered "out LINE") or closes."""

    def __init__(self) -> None:
        self.entered: list[Any] = []
        self.raised: list[BaseException] = []

    def __call__(self, sock: Any) -> None:
        self.entered.append(sock)
        incoming, outgoing = sock.openReadChannel(), sock.openWriteChannel(autoFlush=True)
        outgoing.writeStringUtf8("in\n")
        try:
            line = incoming.readUTF8Line()
        except BaseException as exc:
            self.raised.append(exc)
            raise
        if line is not None:
            outgoing.writeStringUtf8(f"out {line}\n")


def release(client: tuple[Any, Any, Any]) -> str | None:
    """Send the line that lets a Gate handler finish; its answer."""
    _, incoming, outgoing = client
    outgoing.writeStringUtf8("go\n")
    with gevent.Timeout(10):
        answer: str | None = incoming.readUTF8Line()
    return answer


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    """Let the hub run until *condition* holds (AssertionError after *timeout* seconds)."""
    with gevent.Timeout(timeout, AssertionError(f"timed out waiting for {what}")):
        while not condition():
            gevent.sleep(0.005)


# -- the contract ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_serve_returns_at_once_and_serves_every_connection_in_its_own_greenlet(
    server: Any, servings: list[Serving]
) -> None:
    gate = Gate()
    serving = serve(server, gate)
    servings.append(serving)
    assert verifyObject(IServing, serving)
    assert serving.server is server and serving.isActive and serving.activeConnections == 0
    clients = [connect(server) for _ in range(5)]
    # All five handlers run at once: each answered before any was released.
    for _, incoming, _ in clients:
        with gevent.Timeout(10):
            assert incoming.readUTF8Line() == "in"
    assert serving.activeConnections == 5 and len(gate.entered) == 5
    for client in clients:
        assert release(client) == "out go"
        with gevent.Timeout(10):
            # serve closed the socket when the handler returned: end of stream.
            assert client[1].readUTF8Line() is None
        client[0].close()
    wait_for(lambda: serving.activeConnections == 0, "the handlers to end")
    assert all(sock.isClosed for sock in gate.entered)
    assert serving.isActive


@pytest.mark.timeout(30)
def test_an_exception_escaping_a_handler_is_logged_with_its_traceback_and_serving_goes_on(
    server: Any, servings: list[Serving], caplog: pytest.LogCaptureFixture
) -> None:
    def handler(sock: Any) -> None:
        line = sock.openReadChannel().readUTF8Line()
        if line == "boom":
            raise RuntimeError("the handler broke")
        sock.openWriteChannel(autoFlush=True).writeStringUtf8(f"fine {line}\n")

    caplog.set_level(logging.ERROR, logger="greensock")
    servings.append(serve(server, handler))
    assert ask(server, "boom") is None  # its socket was closed all the same
    assert ask(server, "next") == "fine next"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.name.startswith("greensock.")
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert "the handler broke" in caplog.text and "Traceback" in caplog.text
    assert servings[0].isActive


@pytest.mark.timeout(30)
def test_a_gevent_timeout_escaping_a_handler_is_logged_too(
    server: Any, servings: list[Serving], caplog: pytest.LogCaptureFixture
) -> None:
    def handler(sock: Any) -> None:
        with gevent.Timeout(0.01):
            sock.openReadChannel().readUTF8Line()  # the client says nothing

    caplog.set_level(logging.ERROR, logger="greensock")
    servings.append(serve(server, handler))
    sock, incoming, _ = connect(server)
    with sock, gevent.Timeout(10):
        assert incoming.readUTF8Line() is None
    wait_for(lambda: caplog.records, "the log record")
    assert isinstance(caplog.records[0].exc_info[1], gevent.Timeout)  # type: ignore[index]
    assert ask(server, "still there") is None and servings[0].isActive


@pytest.mark.timeout(30)
def test_maxConnections_leaves_the_next_connection_in_the_backlog_until_a_handler_ends(
    server: Any, servings: list[Serving]
) -> None:
    gate = Gate()
    serving = serve(server, gate, maxConnections=2)
    servings.append(serving)
    first, second, third = (connect(server) for _ in range(3))
    for _, incoming, _ in (first, second):
        with gevent.Timeout(10):
            assert incoming.readUTF8Line() == "in"
    settle(0.2)
    # The third connection is in the kernel's backlog: not accepted, no handler.
    assert len(gate.entered) == 2 and serving.activeConnections == 2
    assert third[1].availableForRead == 0
    assert release(first) == "out go"  # that handler ends, and makes room
    with gevent.Timeout(10):
        assert third[1].readUTF8Line() == "in"
    assert len(gate.entered) == 3 and serving.activeConnections == 2
    for client in (first, second, third):
        client[0].close()


@pytest.mark.timeout(30)
def test_stop_closes_the_socket_of_a_blocked_handler_and_returns_False(
    server: Any, servings: list[Serving], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="greensock")
    raised: list[BaseException] = []
    entered = Event()

    def handler(sock: Any) -> None:
        incoming = sock.openReadChannel()
        entered.set()
        try:
            incoming.readUTF8Line()  # the client never sends anything
        except BaseException as exc:
            raised.append(exc)
            raise

    serving = serve(server, handler)
    servings.append(serving)
    sock, incoming, _ = connect(server)
    entered.wait(10)
    assert serving.stop(timeout=0.05) is False
    assert not serving.isActive and server.isClosed
    assert serving.join(10)
    assert len(raised) == 1 and isinstance(raised[0], ClosedReadChannelException)
    assert serving.activeConnections == 0
    # What stop() provoked is no error of the handler's: DEBUG, not ERROR.
    assert [r.levelname for r in caplog.records if "stop() closed" in r.getMessage()] == ["DEBUG"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with sock, gevent.Timeout(10):
        assert incoming.readUTF8Line() is None  # the client sees the end of stream
    with pytest.raises(ConnectionRefusedError):
        aSocket().tcp().connect(LOCAL, server.port, timeout=10)


@pytest.mark.timeout(30)
def test_stop_returns_True_when_the_handlers_finish_in_time(
    server: Any, servings: list[Serving]
) -> None:
    gate = Gate()
    serving = serve(server, gate)
    servings.append(serving)
    sock, incoming, outgoing = connect(server)
    with gevent.Timeout(10):
        assert incoming.readUTF8Line() == "in"
    stopping = gevent.spawn(serving.stop, 30)
    settle()
    assert not serving.isActive and not stopping.dead  # waiting for the handler
    assert release((sock, incoming, outgoing)) == "out go"  # it finishes its work
    assert stopping.get(timeout=10) is True
    with sock, gevent.Timeout(10):
        assert incoming.readUTF8Line() is None
    assert not gate.raised
    assert serving.join(10) and serving.activeConnections == 0


@pytest.mark.timeout(30)
def test_stop_without_timeout_waits_stopTimeout_and_so_does_leaving_a_with_block(
    server: Any,
) -> None:
    gate = Gate()
    with serve(server, gate) as serving:
        serving.stopTimeout = 0.05  # the instance's own: the class keeps its default
        sock, incoming, _ = connect(server)
        with gevent.Timeout(10):
            assert incoming.readUTF8Line() == "in"
    assert Serving.stopTimeout == 1.0
    assert not serving.isActive and server.isClosed
    assert serving.join(10)
    assert isinstance(gate.raised[0], ClosedChannelException)
    sock.close()
    assert serving.stop() is True  # again: harmless, nothing left to wait for


@pytest.mark.timeout(30)
def test_a_handler_that_stops_the_serving_is_not_waited_for_by_its_own_call(
    server: Any,
) -> None:
    results: list[bool] = []

    def handler(sock: Any) -> None:
        results.append(serving.stop(timeout=30))
        results.append(serving.join(timeout=30))
        sock.openWriteChannel(autoFlush=True).writeStringUtf8("stopped\n")

    serving = serve(server, handler)
    with gevent.Timeout(10):
        assert ask(server, "") == "stopped"
    assert results == [True, True]
    assert serving.join(10) and not serving.isActive


@pytest.mark.timeout(30)
def test_join_waits_for_the_server_to_close_and_the_handlers_to_end(
    server: Any, servings: list[Serving]
) -> None:
    gate = Gate()
    serving = serve(server, gate)
    servings.append(serving)
    assert serving.join(0.05) is False  # still accepting
    sock, incoming, outgoing = connect(server)
    with gevent.Timeout(10):
        assert incoming.readUTF8Line() == "in"
    server.close()  # ends accepting, not the connection
    wait_for(lambda: not serving.isActive, "accepting to end")
    assert serving.join(0.05) is False  # the handler still runs
    assert release((sock, incoming, outgoing)) == "out go"
    assert serving.join(10) is True
    sock.close()


@pytest.mark.timeout(30)
@needs_unix
def test_a_unix_server_is_served_and_its_file_removed_at_stop(unix_dir: Path) -> None:
    path = unix_dir / "serve.sock"
    server = aSocket().tcp().bind(UnixSocketAddress(str(path)))
    with serve(server, echo_line) as serving:
        answers = []
        for word in ("one", "two"):
            sock = aSocket().tcp().connect(UnixSocketAddress(str(path)), timeout=10)
            with sock:
                sock.openWriteChannel(autoFlush=True).writeStringUtf8(word + "\n")
                with gevent.Timeout(10):
                    answers.append(sock.openReadChannel().readUTF8Line())
        assert answers == ["ONE", "TWO"]
        assert serving.isActive
    assert not path.exists()


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts of a throwaway authority, for ``localhost``."""
    return tlsContexts()


class Recording:
    """A handler that records its sockets (and what *probe* returns then), then runs
    ``echo_line``."""

    def __init__(self, probe: Callable[[], object] = lambda: None) -> None:
        self.handled: list[Any] = []
        self.probed: list[object] = []
        self._probe = probe

    def __call__(self, sock: Any) -> None:
        self.handled.append(sock)
        self.probed.append(self._probe())
        echo_line(sock)


def tls_ask(server: Any, client_context: ssl.SSLContext, line: str) -> str | None:
    """One line over a fresh TLS connection; the answer."""
    plain = aSocket().tcp().connect(LOCAL, server.port, timeout=10)
    with plain.tls(client_context, serverName="localhost", timeout=10) as sock:
        sock.openWriteChannel(autoFlush=True).writeStringUtf8(line + "\n")
        with gevent.Timeout(10):
            answer: str | None = sock.openReadChannel().readUTF8Line()
    return answer


@pytest.mark.timeout(30)
def test_tls_serving_hands_the_handler_the_tls_socket(
    server: Any, servings: list[Serving], contexts: tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    handler = Recording()
    servings.append(serve(server, handler, tls=contexts[0]))
    assert tls_ask(server, contexts[1], "secret") == "SECRET"
    (secure,) = handler.handled
    assert secure.cipher is not None
    wait_for(lambda: secure.isClosed, "the TLS socket to close")


@pytest.mark.timeout(30)
def test_a_client_that_never_handshakes_holds_up_nobody_and_is_closed_after_the_timeout(
    server: Any,
    servings: list[Serving],
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="greensock")
    handler = Recording(lambda: serving.activeConnections)
    serving = serve(server, handler, tls=contexts[0], handshakeTimeout=3.0)
    servings.append(serving)
    silent, silent_in, _ = connect(server)  # connects, then says nothing
    wait_for(lambda: serving.activeConnections == 1, "the silent connection to be accepted")
    # A good client is served while the silent one is still in its handshake (its 3 s are
    # far more than a loopback handshake takes): two connections at once.
    assert tls_ask(server, contexts[1], "hello") == "HELLO"
    assert handler.probed == [2]
    with silent, gevent.Timeout(10):
        assert silent_in.readAvailable(bytearray(10)) == -1  # closed once its time passed
    wait_for(lambda: serving.activeConnections == 0, "the silent connection to end")
    assert len(handler.handled) == 1  # the silent one never got there
    (record,) = [r for r in caplog.records if "handshake" in r.getMessage()]
    assert record.levelno == Serving.handshakeFailureLevel == logging.INFO
    assert "TLS handshake took over 3.0 s" in record.getMessage()


@pytest.mark.timeout(30)
def test_a_failed_handshake_is_logged_and_closed_and_never_reaches_the_handler(
    server: Any,
    servings: list[Serving],
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="greensock")
    handled: list[Any] = []
    servings.append(serve(server, handled.append, tls=contexts[0]))
    sock, incoming, outgoing = connect(server)
    outgoing.writeStringUtf8("GET / HTTP/1.0\r\n\r\n")  # plaintext to a TLS server
    with sock, gevent.Timeout(10):
        incoming.discard()  # to the end: the server closed the connection
    wait_for(lambda: servings[0].activeConnections == 0, "the connection to end")
    assert not handled
    assert any("TLS handshake with" in r.getMessage() for r in caplog.records)
    # And an untrusting client fails its own handshake without harming the server.
    with pytest.raises(ssl.SSLError):
        tls_ask(server, ssl.create_default_context(), "x")
    assert tls_ask(server, contexts[1], "after") is None  # handled.append answers nothing
    assert len(handled) == 1


@pytest.mark.timeout(30)
def test_stop_during_a_handshake_closes_it_without_logging_a_failure(
    server: Any,
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="greensock")
    serving = serve(server, echo_line, tls=contexts[0], handshakeTimeout=None)
    sock, incoming, _ = connect(server)
    wait_for(lambda: serving.activeConnections == 1, "the connection to be accepted")
    assert serving.stop(0) is False
    assert not serving.isActive  # at once, before the accept loop has run again
    assert serving.join(10)
    with sock, gevent.Timeout(10):
        assert incoming.readAvailable(bytearray(10)) == -1
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"maxConnections": 0}, ValueError, "at least 1"),
        ({"maxConnections": True}, TypeError, "maxConnections"),
        ({"maxConnections": 2.0}, TypeError, "maxConnections"),
        ({"tls": "cert.pem"}, TypeError, "ssl.SSLContext"),
        ({"tls": ssl.create_default_context()}, ValueError, "server-side"),
        ({"handshakeTimeout": float("nan")}, ValueError, "NaN"),
        ({"handshakeTimeout": "10"}, TypeError, "timeout"),
    ],
)
def test_bad_options_raise_clear_errors(
    server: Any, kwargs: dict[str, Any], error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        serve(server, echo_line, **kwargs)
    assert not server.isClosed  # nothing started


def test_a_server_that_is_no_server_a_handler_that_is_not_callable_a_closed_server(
    server: Any,
) -> None:
    with pytest.raises(TypeError, match="IServerSocket"):
        serve(object(), echo_line)
    with pytest.raises(TypeError, match="callable"):
        serve(server, "echo")
    server.close()
    with pytest.raises(ClosedChannelException):
        serve(server, echo_line)


def test_stop_and_join_check_their_timeouts(server: Any) -> None:
    serving = serve(server, echo_line)
    with pytest.raises(ValueError, match="NaN"):
        serving.join(float("nan"))
    with pytest.raises(TypeError):
        serving.join("1")  # type: ignore[arg-type]
    assert serving.isActive
    with pytest.raises(ValueError, match="NaN"):
        serving.stop(float("nan"))
    assert serving.stop(-1) is True  # a negative timeout: no wait; nothing ran anyway
    assert not serving.isActive  # at once, before the accept loop has run again
    assert serving.join(10)


def test_serve_and_Serving_are_top_level_names() -> None:
    assert greensock.serve is serve and greensock.Serving is Serving
    assert {"serve", "serveWorkers", "Serving"} <= set(greensock.__all__)


# -- running out of descriptors, for real ---------------------------------------------------

#: The child: serve() with a handler that holds each connection until it reads a line, after
#: lowering RLIMIT_NOFILE so that only FREE more descriptors can be opened.
CHILD = r"""
import json, logging, os, resource, sys

import gevent

import greensock

logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                    format="%(levelname)s %(name)s %(message)s")
free = int(sys.argv[1])
tcp = greensock.aSocket().tcp()
server = tcp.bind("127.0.0.1", 0)
served = []


def handle(sock):
    out = sock.openWriteChannel(autoFlush=True)
    line = sock.openReadChannel().readUTF8Line()
    served.append(line)
    out.writeStringUtf8(f"served {line}\n")
    if line == "stop":
        gevent.spawn(serving.stop, 5)


serving = greensock.serve(server, handle)
# One connection through the whole path first, so that nothing is made lazily later.
client = tcp.connect("127.0.0.1", server.port)
client.openWriteChannel(autoFlush=True).writeStringUtf8("warm-up\n")
client.openReadChannel().readUTF8Line()
client.close()
gevent.sleep(0.1)
probes = [os.dup(2) for _ in range(free + 1)]
for fd in probes:
    os.close(fd)
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (probes[-1], hard))
print("port", server.port, flush=True)
serving.join()
print(json.dumps({"served": served}), flush=True)
"""


@pytest.mark.timeout(90)
@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_NOFILE the Linux way")
def test_serving_out_of_descriptors_backs_off_and_serves_every_client_once_they_are_free(
    tmp_path: Path,
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    count, free = 8, 3
    with child_server(script, str(free), directory=tmp_path) as child:
        child.connect(count)
        poll(lambda: "WARNING greensock.tcp" in child.err.read_text(), "the back-off warning")
        answers = child.askEach()
        child.stop()
    stderr = child.err.read_text()
    assert child.proc.returncode == 0, stderr[-4000:]
    assert answers == [f"served {index}" for index in range(count)]
    result = json.loads(child.out.read_text().splitlines()[-1])
    assert sorted(result["served"]) == sorted([*map(str, range(count)), "stop", "warm-up"])
    assert "ERROR" not in stderr  # no handler failed, the accept loop never gave up
