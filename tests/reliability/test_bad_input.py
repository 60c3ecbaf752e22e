"""Bad input gets a clear error of a documented type at the call that caused it, and leaves
the socket usable (SPEC principle 4, sections 3-8):

* timeouts: NaN raises ValueError at the call (connect, accept, receive, tls, awaitClosed,
  join) — checked in a child process each, since a NaN that reaches gevent's timers stops
  every timer of the hub; a negative timeout expires at once;
* malformed host names raise ``socket.gaierror`` (never UnicodeError) naming host and port;
* bad ports, option values, sizes and line limits raise TypeError/ValueError;
* malformed UTF-8 decodes to U+FFFD; an oversize datagram raises OSError(EMSGSIZE) and the
  socket keeps working.
"""

from __future__ import annotations

import errno
import json
import math
import os
import socket
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.subprocess
import pytest

import greensock

from . import _support
from ._support import PATIENCE, Spawned, connected_pair, outcome, settle

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]

# -- NaN timeouts, each in a child process -----------------------------------------------

#: Statements run in the child; ``call`` is what must raise ValueError.
_NAN_SETUP = textwrap.dedent(
    """
    import json, signal, sys, gevent, greensock
    signal.alarm(25)  # a child whose hub stopped its timers must not outlive the test
    nan = float("nan")
    tcp = greensock.aSocket().tcp()
    server = tcp.bind("127.0.0.1", 0)
    udp = greensock.aSocket().udp().bind("127.0.0.1", 0)
    """
)

NAN_CALLS = {
    "connect": "tcp.connect('127.0.0.1', server.port, timeout=nan)",
    "accept": "server.accept(timeout=nan)",
    "receive": "udp.receive(timeout=nan)",
    "tls": "tcp.connect('127.0.0.1', server.port).tls(serverName='localhost', timeout=nan)",
    "awaitClosed": "udp.awaitClosed(timeout=nan)",
    "socketContext.join": "udp.socketContext.join(timeout=nan)",
    "stream awaitClosed": "tcp.connect('127.0.0.1', server.port).awaitClosed(timeout=nan)",
}

_NAN_CHECK = textwrap.dedent(
    """
    result = {}
    try:
        with gevent.Timeout(3, TimeoutError("the call blocked")):
            value = CALL
        result["returned"] = repr(value)
    except BaseException as exc:
        result["raised"] = type(exc).__name__
        result["message"] = str(exc)
    # The hub's timers must still work after the call.
    try:
        with gevent.Timeout(3, TimeoutError("timers stopped")):
            gevent.sleep(0.01)
            gevent.with_timeout(0.01, gevent.sleep, 1, timeout_value="fired")
        result["timers"] = "ok"
    except BaseException as exc:
        result["timers"] = repr(exc)
    print(json.dumps(result))
    sys.stdout.flush()
    """
)


@pytest.fixture(scope="module")
def nan_results() -> dict[str, dict[str, Any]]:
    """Run every NaN call in a child process of its own, all at once; their reports."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), *sys.path])))
    children = {
        call: gevent.subprocess.Popen(
            [sys.executable, "-c", _NAN_SETUP + _NAN_CHECK.replace("CALL", code)],
            stdout=gevent.subprocess.PIPE,
            stderr=gevent.subprocess.PIPE,
            env=env,
        )
        for call, code in NAN_CALLS.items()
    }
    results: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 10
    for call, child in children.items():
        try:
            out, err = child.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except gevent.subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            results[call] = {"hung": True}
            continue
        lines = out.decode().strip().splitlines()
        results[call] = (
            json.loads(lines[-1]) if lines else {"no output": err.decode()[-2000:]}
        )
    return results


@pytest.mark.parametrize("call", sorted(NAN_CALLS))
def test_nan_timeout_raises_ValueError_at_the_call_and_the_hub_keeps_its_timers(
    nan_results: dict[str, dict[str, Any]], call: str
) -> None:
    result = nan_results[call]
    assert not result.get("hung"), (
        f"{call} with timeout=NaN hung the whole process (the NaN reached the hub's timers, "
        f"so even a gevent.Timeout could not end it): ValueError at the call was expected"
    )
    assert result.get("raised") == "ValueError", (
        f"{call} with timeout=NaN: {result} (ValueError at the call was expected)"
    )
    assert result["timers"] == "ok", f"after {call} with timeout=NaN: {result['timers']}"


# -- negative timeouts expire at once ------------------------------------------------------


def _at_once(call: Any, expected: Any) -> Any:
    started = time.monotonic()
    with gevent.Timeout(PATIENCE, AssertionError("a negative timeout waited (hang)")):
        if isinstance(expected, type) and issubclass(expected, BaseException):
            with pytest.raises(expected):
                call()
            result = None
        else:
            result = call()
            assert result == expected
    assert time.monotonic() - started < PATIENCE / 2
    return result


def test_negative_timeouts_expire_at_once_and_leave_the_socket_usable() -> None:
    with _support.listening("tcp") as (server, target):
        _at_once(lambda: server.accept(timeout=-1), greensock.SocketTimeoutException)
        client = greensock.aSocket().tcp().connect(*target, timeout=PATIENCE)
        accepted = server.accept(timeout=PATIENCE)  # the server still accepts
        assert _at_once(lambda: client.awaitClosed(timeout=-1), False) is False
        assert _at_once(lambda: client.socketContext.join(-1), False) is False
        client.close()
        accepted.close()
    udp = greensock.aSocket().udp().bind("127.0.0.1", 0)
    try:
        _at_once(lambda: udp.receive(timeout=-1), greensock.SocketTimeoutException)
        _at_once(lambda: udp.receive(timeout=-0.5), greensock.SocketTimeoutException)
        udp.send(greensock.Datagram(b"still", udp.localAddress))
        assert udp.receive(timeout=PATIENCE).packet == b"still"
    finally:
        udp.close()


# -- host names, ports, options ------------------------------------------------------------

BAD_HOSTS = [
    "a" * 64 + ".invalid",  # a label over 63 characters
    "a..b",  # an empty label
    "x" * 300,  # a label (and a name) far too long
    ".leading.dot",
    "trailing..",
    "a\u3002\u3002b",  # ideographic full stops: an empty label too
]


@pytest.mark.parametrize("host", BAD_HOSTS, ids=lambda h: repr(h[:12]))
@pytest.mark.parametrize("api", ["tcp connect", "tcp bind", "udp bind", "udp connect", "udp send"])
def test_malformed_host_names_raise_gaierror_naming_host_and_port(api: str, host: str) -> None:
    udp = greensock.aSocket().udp()
    sender = udp.bind("127.0.0.1", 0) if api == "udp send" else None
    calls = {
        "tcp connect": lambda: greensock.aSocket().tcp().connect(host, 4321, timeout=PATIENCE),
        "tcp bind": lambda: greensock.aSocket().tcp().bind(host, 4321),
        "udp bind": lambda: udp.bind(host, 4321),
        "udp connect": lambda: udp.connect(greensock.InetSocketAddress(host, 4321)),
        "udp send": lambda: sender.send(  # type: ignore[union-attr]
            greensock.Datagram(b"x", greensock.InetSocketAddress(host, 4321))
        ),
    }
    try:
        with gevent.Timeout(PATIENCE, AssertionError("resolving a malformed name hung")):
            try:
                calls[api]()
            except socket.gaierror as exc:
                if api.startswith("tcp"):
                    assert host[:20] in str(exc) and "4321" in str(exc), (
                        f"the message does not name the host and port: {exc}"
                    )
            except UnicodeError as exc:
                pytest.fail(f"{api} of {host[:20]!r}... raised {exc!r}, not socket.gaierror")
            else:
                pytest.fail(f"{api} of a malformed host name {host[:20]!r} succeeded")
        if sender is not None:  # the socket is still usable
            sender.send(greensock.Datagram(b"ok", sender.localAddress))
            assert sender.receive(timeout=PATIENCE).packet == b"ok"
    finally:
        if sender is not None:
            sender.close()


@pytest.mark.parametrize(
    ("port", "error"),
    [(-1, ValueError), (65536, ValueError), (2**70, ValueError), ("80", TypeError),
     (True, TypeError), (80.0, TypeError), (None, TypeError)],
)
def test_bad_ports_raise_at_the_call(port: Any, error: type) -> None:
    with pytest.raises(error):
        greensock.aSocket().tcp().connect("127.0.0.1", port, timeout=PATIENCE)
    with pytest.raises(error):
        greensock.InetSocketAddress("127.0.0.1", port)
    if port is not None:
        with pytest.raises(error):
            greensock.aSocket().tcp().bind("127.0.0.1", port)
        with pytest.raises(error):
            greensock.aSocket().udp().bind("127.0.0.1", port)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("sendBufferSize", "big", TypeError),
        ("sendBufferSize", True, TypeError),
        ("sendBufferSize", 1.5, TypeError),
        ("receiveBufferSize", 2**40, ValueError),
        ("lingerSeconds", 70_000, ValueError),
        ("lingerSeconds", False, TypeError),
        ("socketTimeout", math.nan, ValueError),
        ("socketTimeout", -1, ValueError),
        ("socketTimeout", "1", TypeError),
        ("noDelay", 1, TypeError),
        ("keepAlive", "yes", TypeError),
        ("reuseAddress", None, TypeError),
        ("noSuchOption", 1, TypeError),
    ],
)
def test_bad_option_values_raise_at_configure_and_leave_the_builder_usable(
    option: str, value: Any, error: type
) -> None:
    builder = greensock.aSocket().tcp()
    with pytest.raises(error):
        builder.connect("127.0.0.1", 9, configure={option: value}, timeout=PATIENCE)
    with _support.listening("tcp") as (server, target):
        client = builder.connect(*target, timeout=PATIENCE)
        server.accept(timeout=PATIENCE).close()
        client.close()


def test_bad_sizes_and_limits_raise_and_consume_nothing() -> None:
    with pytest.raises(ValueError):
        greensock.ByteChannel(capacity=0)
    with pytest.raises(ValueError):
        greensock.ByteChannel(capacity=-1)
    with pytest.raises(TypeError):
        greensock.ByteChannel(capacity=1.5)  # type: ignore[arg-type]
    channel = greensock.ByteReadChannel(b"0123456789\nrest")
    for bad in (
        lambda: channel.readPacket(-1),
        lambda: channel.readAvailable(bytearray(4), -1),
        lambda: channel.readAvailable(bytearray(4), 5),
        lambda: channel.readAvailable(bytearray(4), 2, 3),
        lambda: channel.readFully(bytearray(4), 0, 5),
        lambda: channel.readUTF8Line(-1),
        lambda: channel.readRemaining(-5),
        lambda: channel.peek(-1),
        lambda: channel.discard(-1),
        lambda: channel.chunks(0),
        lambda: channel.lines(-2),
        lambda: channel.awaitContent(-1),
        lambda: channel.readUntil(b"", 3),
        lambda: channel.readInt("middle"),
    ):
        with pytest.raises(ValueError):
            bad()
    for bad in (
        lambda: channel.readPacket("3"),
        lambda: channel.readAvailable(b"immutable"),
        lambda: channel.readUTF8Line(2.0),
        lambda: channel.readUntil("text"),
    ):
        with pytest.raises(TypeError):
            bad()
    with pytest.raises(greensock.TooLongLineException):
        channel.readUTF8Line(5)
    assert channel.totalBytesRead == 0
    assert channel.readUTF8Line(10) == "0123456789"
    assert channel.readRemaining() == b"rest"


@pytest.mark.parametrize("kind", ["memory", "tcp"])
def test_bad_values_to_write_raise_and_the_channel_keeps_working(kind: str) -> None:
    with connected_pair("tcp") as (client, server):
        if kind == "memory":
            writer = reader = greensock.ByteChannel()
        else:
            writer, reader = client.openWriteChannel(), server.openReadChannel()
        for bad, error in (
            (lambda: writer.writeInt(2**32), ValueError),
            (lambda: writer.writeByte(-129), ValueError),
            (lambda: writer.writeShort(True), TypeError),
            (lambda: writer.writeLong(1.0), TypeError),
            (lambda: writer.writeDouble("1"), TypeError),
            (lambda: writer.writeFloat(1e300), ValueError),
            (lambda: writer.writeFully("text"), TypeError),
            (lambda: writer.writeFully(b"abc", 4), ValueError),
            (lambda: writer.writeStringUtf8(b"bytes"), TypeError),
            (lambda: writer.writeStringUtf8("lone \ud800 surrogate"), UnicodeEncodeError),
            (lambda: writer.writeInt(1, byteOrder="middle"), ValueError),
        ):
            with pytest.raises(error):
                bad()
        writer.writeInt(7)
        writer.flush()
        with gevent.Timeout(PATIENCE):
            assert reader.readInt() == 7


# -- text and datagrams --------------------------------------------------------------------

MALFORMED = [
    (b"\xff\xfeok\n", "\ufffd\ufffdok"),
    (b"\xc0\xaf\n", "\ufffd\ufffd"),  # an overlong '/'
    (b"\xed\xa0\x80\n", "\ufffd\ufffd\ufffd"),  # an encoded surrogate
    (b"caf\xc3\n", "caf\ufffd"),  # cut before its continuation byte
    (b"\xf4\x90\x80\x80\n", "\ufffd\ufffd\ufffd\ufffd"),  # beyond U+10FFFF
]


@pytest.mark.parametrize("kind", ["content", "memory", "tcp", "unix", "tls"])
def test_malformed_utf8_decodes_to_replacement_characters_and_split_code_points_whole(
    kind: str,
) -> None:
    data = b"".join(raw for raw, _ in MALFORMED) + "\u20ac\U0001f600 whole\n".encode() + b"end"
    expected = [text for _, text in MALFORMED] + ["\u20ac\U0001f600 whole", "end"]
    if kind == "content":
        assert list(greensock.ByteReadChannel(data).lines()) == expected
        return
    if kind == "tls" and not _support.has_trustme():
        pytest.skip("trustme is not installed")
    with Spawned() as spawn:
        if kind == "memory":
            writer = reader = greensock.ByteChannel()
            context: Any = None
        else:
            context = connected_pair(kind)
            client, server = context.__enter__()
            writer, reader = client.openWriteChannel(), server.openReadChannel()
        try:

            def feed() -> None:
                for at in range(len(data)):  # one byte at a time: every code point is split
                    writer.writeFully(data[at : at + 1])
                    writer.flush()
                    if at % 7 == 0:
                        gevent.sleep(0.001)
                writer.close()

            feeding = spawn(feed)
            with gevent.Timeout(PATIENCE):
                assert list(reader.lines()) == expected
            outcome(feeding)
        finally:
            if context is not None:
                context.__exit__(None, None, None)


def test_oversize_datagrams_raise_EMSGSIZE_and_the_socket_keeps_working() -> None:
    sock = greensock.aSocket().udp().bind("127.0.0.1", 0)
    try:
        with pytest.raises(ValueError):
            greensock.Datagram(b"x" * (greensock.MAX_DATAGRAM_SIZE + 1), sock.localAddress)
        for size in (65508, greensock.MAX_DATAGRAM_SIZE):
            with pytest.raises(OSError) as raised:
                sock.send(greensock.Datagram(b"x" * size, sock.localAddress))
            assert raised.value.errno == errno.EMSGSIZE
        sock.send(greensock.Datagram(b"y" * 65507, sock.localAddress))
        assert len(sock.receive(timeout=PATIENCE).packet) == 65507
        sock.send(greensock.Datagram(b"small", sock.localAddress))
        assert sock.receive(timeout=PATIENCE).packet == b"small"
    finally:
        sock.close()


def test_oversize_ipv6_datagrams_raise_EMSGSIZE() -> None:
    try:
        sock = greensock.aSocket().udp().bind("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        with pytest.raises(OSError) as raised:
            sock.send(greensock.Datagram(b"x" * 65528, sock.localAddress))
        assert raised.value.errno == errno.EMSGSIZE
        sock.send(greensock.Datagram(b"z" * 65527, sock.localAddress))
        assert len(sock.receive(timeout=PATIENCE).packet) == 65527
    finally:
        sock.close()


def test_a_second_blocked_reader_gets_ConcurrentIOException_and_the_first_keeps_waiting() -> None:
    with connected_pair("tcp") as (client, server), Spawned() as spawn:
        reader = server.openReadChannel()
        first = spawn(reader.readUTF8Line)
        settle()
        with pytest.raises(greensock.ConcurrentIOException):
            reader.readUTF8Line()
        out = client.openWriteChannel()
        out.writeStringUtf8("for the first\n")
        out.flush()
        assert outcome(first) == "for the first"
