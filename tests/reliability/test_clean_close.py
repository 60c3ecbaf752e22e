"""Every way of closing a stream socket ends the peer's stream cleanly (SPEC sections 5, 10):
the peer reads every byte written, then end of stream (``readUTF8Line`` None,
``readAvailable`` -1) — over TLS too, where that takes a ``close_notify`` before FIN on every
path, and where a TLS 1.3 client that never read the server's session tickets must not reset
the connection when it closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
import pytest

import greensock

from . import _support
from ._support import PATIENCE, STREAM_KINDS, Spawned, connected_pair, outcome, settle

pytestmark = pytest.mark.timeout(60)

LAST = "last words"


def _needs(kind: str) -> None:
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")


def _greet(client: Any, server: Any, autoFlush: bool = False) -> tuple[Any, Any, Any, Any]:
    """One line each way, so that each side has read what the other sent first (a TLS 1.3
    client reads the server's session tickets with it)."""
    c_in, c_out = client.openReadChannel(), client.openWriteChannel(autoFlush)
    s_in, s_out = server.openReadChannel(), server.openWriteChannel(autoFlush)
    s_out.writeStringUtf8("hello\n")
    s_out.flush()
    assert c_in.readUTF8Line() == "hello"
    c_out.writeStringUtf8("hi\n")
    c_out.flush()
    assert s_in.readUTF8Line() == "hi"
    return c_in, c_out, s_in, s_out


def _close_autoflush(sock: Any, out: Any, spawn: Spawned) -> None:
    assert out.autoFlush
    out.writeStringUtf8(LAST + "\n")
    sock.close()


def _close_after_flush(sock: Any, out: Any, spawn: Spawned) -> None:
    out.writeStringUtf8(LAST + "\n")
    out.flush()
    sock.close()


def _close_with_block(sock: Any, out: Any, spawn: Spawned) -> None:
    with sock:
        out.writeStringUtf8(LAST + "\n")
        out.flush()


def _close_with_pending(sock: Any, out: Any, spawn: Spawned) -> None:
    out.writeStringUtf8(LAST + "\n")
    sock.close()


def _flush_and_close(sock: Any, out: Any, spawn: Spawned) -> None:
    out.writeStringUtf8(LAST + "\n")
    out.flushAndClose()
    sock.close()


def _close_while_a_read_is_blocked(sock: Any, out: Any, spawn: Spawned, reader: Any) -> None:
    reading = spawn(reader.readAvailable, bytearray(10))
    settle(0.05)
    out.writeStringUtf8(LAST + "\n")
    out.flush()
    sock.close()
    woken = outcome(reading)
    assert isinstance(woken, greensock.ClosedReadChannelException), (
        f"the blocked read got {woken!r}"
    )


PATHS: dict[str, Callable[..., None]] = {
    "autoFlush-then-close": _close_autoflush,
    "flush-then-close": _close_after_flush,
    "with-block": _close_with_block,
    "close-with-unflushed-bytes": _close_with_pending,
    "flushAndClose": _flush_and_close,
    "close-from-another-greenlet-while-a-read-is-blocked": _close_while_a_read_is_blocked,
}


def _expect_clean_end(reader: Any, what: str) -> None:
    try:
        with gevent.Timeout(PATIENCE, AssertionError(f"{what}: the peer's read hung")):
            line = reader.readUTF8Line()
            assert line == LAST, f"{what}: the peer read {line!r} instead of the last line"
            assert reader.readUTF8Line() is None
            assert reader.readAvailable(bytearray(10)) == -1
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(
            f"{what}: the peer saw {exc!r} instead of a clean end of stream"
        ) from exc


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("closing", ["server", "client"])
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_every_close_path_gives_the_peer_its_bytes_then_a_clean_end_of_stream(
    kind: str, closing: str, path: str
) -> None:
    _needs(kind)
    with connected_pair(kind) as (client, server), Spawned() as spawn:
        c_in, c_out, s_in, s_out = _greet(client, server, path.startswith("autoFlush"))
        if closing == "server":
            sock, out, own_in, peer_in = server, s_out, s_in, c_in
        else:
            sock, out, own_in, peer_in = client, c_out, c_in, s_in
        args = (own_in,) if path.startswith("close-from-another") else ()
        PATHS[path](sock, out, spawn, *args)
        _expect_clean_end(peer_in, f"{kind}, {path} by the {closing}")
        assert sock.awaitClosed(PATIENCE)


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_a_client_that_never_read_closes_without_resetting_and_the_server_gets_every_byte(
    kind: str,
) -> None:
    _needs(kind)
    payload = bytes(range(256)) * 1200
    with connected_pair(kind) as (client, server), Spawned() as spawn:
        incoming = server.openReadChannel()
        server_out = server.openWriteChannel()
        reading = spawn(incoming.readRemaining)
        out = client.openWriteChannel()
        out.writeFully(payload)
        out.flush()
        client.close()  # the client never read: TLS 1.3 session tickets wait unread
        got = outcome(reading)
        assert not isinstance(got, BaseException), (
            f"closing a client that never read made the server's read fail with {got!r}"
        )
        assert len(got) == len(payload) and got == payload, (
            f"the server got {len(got)} of the {len(payload)} bytes the client sent"
        )
        server_out.writeStringUtf8("too late\n")
        server.close()


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_closing_the_write_channel_is_end_of_stream_for_the_peer_which_can_still_answer(
    kind: str,
) -> None:
    _needs(kind)
    with connected_pair(kind) as (client, server):
        c_in, c_out, s_in, s_out = _greet(client, server)
        c_out.writeStringUtf8("question\n")
        assert c_out.close() is True
        with gevent.Timeout(PATIENCE):
            assert s_in.readUTF8Line() == "question"
            assert s_in.readUTF8Line() is None
            s_out.writeStringUtf8("answer\n")
            s_out.flush()
            assert c_in.readUTF8Line() == "answer"


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_a_closed_socket_is_closed_at_once_when_nothing_was_left_to_send(kind: str) -> None:
    _needs(kind)
    with connected_pair(kind) as (client, server):
        _greet(client, server)
        server.close()
        client.close()
        assert client.awaitClosed(PATIENCE) and server.awaitClosed(PATIENCE)
        assert client.isClosed and server.isClosed
        client.close()  # closing twice is harmless
