"""Bad input gets a clear error at the call (SPEC principle 4, section 5).

* A malformed host name raises ``socket.gaierror``, never ``UnicodeError``, wherever a name
  is resolved: TCP connect and bind, UDP bind, connect and send.
* Every ``timeout=`` is None or a number: NaN is a ValueError at the call (it would stop
  every timer of the process: those cases run in a process of their own, timeout_cases.py),
  a negative value expires at once, an infinite one waits as None does.
* A failed connect, bind or resolution names what it tried, keeping its class and errno.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import gevent
import pytest
import test_tcp
from gevent import socket as gsocket
from markers import has_ipv6_loopback, needs_ipv6, needs_unix
from test_tcp import refusing_port, stalled_listener

from greensock import (
    ByteChannel,
    ConnectTimeoutException,
    Datagram,
    InetSocketAddress,
    SelectorManager,
    SocketTimeoutException,
    UnixSocketAddress,
    aSocket,
)
from greensock.dialing import connect_first
from greensock.options import TCPClientSocketOptions
from greensock.timeouts import checked_timeout

LOCAL = "127.0.0.1"
#: Seconds a step that should succeed, or expire at once, may take on a loaded machine.
WAIT = 10.0
HERE = Path(__file__).resolve().parent

#: The TCP tests' fixture for plain sockets (misbehaving peers), closed after each test.
raw = test_tcp.raw

MALFORMED = {
    "label-over-63": "a" * 64 + ".invalid",
    "empty-label": "a..b",
    "300-characters": "x" * 300,
}


def never_later_than(seconds: float = WAIT) -> gevent.Timeout:
    """A guard for a call that must end by itself (a negative timeout expiring at once)."""
    return gevent.Timeout(seconds, AssertionError(f"still blocked after {seconds} s"))


# -- malformed host names ------------------------------------------------------------------


def _tcp_connect(selector: SelectorManager, host: str) -> Any:
    return aSocket(selector).tcp().connect(host, 7, timeout=WAIT)


def _tcp_bind(selector: SelectorManager, host: str) -> Any:
    return aSocket(selector).tcp().bind(host, 7)


def _udp_bind(selector: SelectorManager, host: str) -> Any:
    return aSocket(selector).udp().bind(host, 7)


def _udp_connect(selector: SelectorManager, host: str) -> Any:
    return aSocket(selector).udp().connect(InetSocketAddress(host, 7))


def _udp_send(selector: SelectorManager, host: str) -> Any:
    sock = aSocket(selector).udp().bind(LOCAL, 0)
    try:
        sock.send(Datagram(b"x", InetSocketAddress(host, 7)))
    finally:
        sock.close()


OPERATIONS = {
    "tcp-connect": (_tcp_connect, "connecting to"),
    "tcp-bind": (_tcp_bind, "binding"),
    "udp-bind": (_udp_bind, "binding"),
    "udp-connect": (_udp_connect, "connecting to"),
    "udp-send": (_udp_send, "sending to"),
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("host", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_a_malformed_host_name_is_a_gaierror_naming_it_never_a_UnicodeError(
    selector: SelectorManager, operation: tuple[Callable[..., Any], str], host: str
) -> None:
    run, doing = operation
    with pytest.raises(socket.gaierror) as caught:
        run(selector, host)
    assert caught.value.errno == socket.EAI_NONAME
    assert f"({doing} {host}:7)" in str(caught.value)
    assert not selector.isClosed  # the selector (and what else it holds) is fine


@pytest.mark.timeout(30)
def test_a_malformed_host_name_logs_no_traceback(
    selector: SelectorManager, capfd: pytest.CaptureFixture[str]
) -> None:
    for host in MALFORMED.values():
        for run, _ in OPERATIONS.values():
            with pytest.raises(socket.gaierror):
                run(selector, host)
    gevent.sleep(0.05)  # a resolver thread's report would be printed by now
    printed = capfd.readouterr()
    assert "Traceback" not in printed.err
    assert "UnicodeError" not in printed.err + printed.out


# -- timeout values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        (0, 0.0),
        (2.5, 2.5),
        (3, 3.0),
        (Fraction(1, 4), 0.25),
        (-1, 0.0),
        (-0.001, 0.0),
        (float("-inf"), 0.0),
        (-(10**400), 0.0),
        (float("inf"), None),
        (10**400, None),
    ],
)
def test_checked_timeout_normalises_what_gevent_takes(given: Any, expected: float | None) -> None:
    assert checked_timeout(given) == expected


def test_checked_timeout_refuses_NaN() -> None:
    with pytest.raises(ValueError, match="NaN"):
        checked_timeout(float("nan"))


@pytest.mark.parametrize("given", [True, False, "1", b"1", 1j, [1], object()])
def test_checked_timeout_refuses_what_is_not_a_number(given: object) -> None:
    with pytest.raises(TypeError, match="timeout must be None or a number"):
        checked_timeout(given)


@pytest.mark.timeout(10)
def test_a_bool_timeout_is_a_TypeError_at_the_call(selector: SelectorManager) -> None:
    server = aSocket(selector).tcp().bind(LOCAL, 0)
    with never_later_than(), pytest.raises(TypeError):
        server.accept(timeout=True)  # not one second
    with never_later_than(), pytest.raises(TypeError):
        server.awaitClosed(timeout="1")  # type: ignore[arg-type]


def run_cases(mode: str, **environment: str) -> dict[str, dict[str, Any]]:
    """Run timeout_cases.py *mode* in a process of its own; its reports by case name."""
    env = dict(os.environ, **environment)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    try:
        done = subprocess.run(
            [sys.executable, str(HERE / "timeout_cases.py"), mode],
            capture_output=True,
            text=True,
            timeout=40,
            env=env,
            check=False,
        )
        output, errors, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout.decode() if isinstance(expired.stdout, bytes) else ""
        errors, code = "(killed after 40 s)", None
    reports: dict[str, dict[str, Any]] = {}
    current = None
    for line in output.splitlines():
        report = json.loads(line)
        if "start" in report:
            current = report["start"]
        else:
            reports[report["case"]] = report
            current = None
    if current is not None:
        reports.setdefault(current, {"hung": True, "stderr": errors[-2000:]})
    if code != 0:
        reports["exit"] = {"code": code, "stderr": errors[-2000:]}
    return reports


NAN_CASES = [
    "connect",
    "accept",
    "receive",
    "incoming.receive",
    "tls",
    "connection.tls",
    "server.awaitClosed",
    "socket.awaitClosed",
    "datagram.awaitClosed",
    "socketContext.join",
    "job.join",
]


@pytest.fixture(scope="module")
def nan_reports() -> dict[str, dict[str, Any]]:
    return run_cases("nan")


@pytest.mark.parametrize("case", NAN_CASES)
def test_a_NaN_timeout_is_a_ValueError_and_every_timer_still_fires(
    nan_reports: dict[str, dict[str, Any]], case: str
) -> None:
    report = nan_reports.get(case)
    assert report is not None, f"{case} was never reached: {nan_reports}"
    assert "hung" not in report, f"{case} hung (gevent's timers stopped?): {report}"
    assert report["raised"] == "ValueError", report
    assert "NaN" in report["message"]
    assert report["timers"] is True  # gevent.sleep returned and a gevent.Timeout fired
    assert report["usable"] is True  # what it was called on works as before


def test_the_NaN_process_ended_cleanly(nan_reports: dict[str, dict[str, Any]]) -> None:
    assert "exit" not in nan_reports, nan_reports.get("exit")
    assert set(NAN_CASES) <= set(nan_reports)


def _has_libuv() -> bool:
    try:
        import gevent.libuv.loop  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def libuv_reports() -> dict[str, dict[str, Any]]:
    if not _has_libuv():
        pytest.skip("this gevent has no libuv loop")
    return run_cases("edges", GEVENT_LOOP="libuv")


TIMED_OUT = {
    "accept": "SocketTimeoutException",
    "receive": "SocketTimeoutException",
    "incoming.receive": "SocketTimeoutException",
    "tls": "SocketTimeoutException",
    "connection.tls": "SocketTimeoutException",
}


@pytest.mark.parametrize("case", [name for name in NAN_CASES if name != "connect"])
def test_on_the_libuv_loop_a_negative_timeout_expires_at_once_without_a_warning(
    libuv_reports: dict[str, dict[str, Any]], case: str
) -> None:
    # libuv's timers take neither a negative delay (a warning, made an error there) nor an
    # infinite one (OverflowError): what checked_timeout returns suits both loops.
    report = libuv_reports.get(f"{case}(-1)")
    assert report is not None and "hung" not in report, libuv_reports
    if case in TIMED_OUT:
        assert report["raised"] == TIMED_OUT[case], report
    else:  # awaitClosed, join
        assert (report["raised"], report["message"]) == ("returned", "False"), report
    assert report["seconds"] < WAIT / 2
    assert report["timers"] is True
    assert report["usable"] in (True, None), report


def test_on_the_libuv_loop_an_infinite_timeout_waits_as_None(
    libuv_reports: dict[str, dict[str, Any]],
) -> None:
    assert libuv_reports.get("receive(inf)") == {
        "case": "receive(inf)",
        "waited": True,
        "received": True,
    }, libuv_reports
    assert "exit" not in libuv_reports, libuv_reports.get("exit")


@pytest.mark.timeout(30)
def test_a_negative_accept_timeout_expires_at_once_and_the_server_stays_usable(
    selector: SelectorManager,
) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    with never_later_than(), pytest.raises(SocketTimeoutException):
        server.accept(timeout=-1)
    client = tcp.connect(LOCAL, server.port, timeout=WAIT)
    # A connection already in the backlog needs no wait: the expired deadline does not matter.
    with never_later_than():
        accepted = server.accept(timeout=-1)
    assert accepted.remoteAddress == client.localAddress


@pytest.mark.timeout(30)
def test_a_negative_receive_timeout_expires_at_once_and_the_socket_stays_usable(
    selector: SelectorManager,
) -> None:
    udp = aSocket(selector).udp()
    receiver = udp.bind(LOCAL, 0)
    sender = udp.connect(receiver.localAddress)
    for receive in (receiver.receive, receiver.incoming.receive):
        with never_later_than(), pytest.raises(SocketTimeoutException):
            receive(timeout=-0.5)
        sender.send(Datagram(b"after", receiver.localAddress))
        assert receive(timeout=WAIT).packet == b"after"


@pytest.mark.timeout(30)
def test_a_negative_connect_timeout_expires_at_once(
    selector: SelectorManager, raw: Callable[..., Any]
) -> None:
    port = stalled_listener(raw)
    with never_later_than(), pytest.raises(ConnectTimeoutException):
        aSocket(selector).tcp().connect(InetSocketAddress(LOCAL, port), timeout=-1)


@pytest.mark.timeout(30)
def test_negative_awaitClosed_and_join_are_False_at_once(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, timeout=WAIT)
    accepted = server.accept(timeout=WAIT)
    job = accepted.attachForReading(ByteChannel())
    with never_later_than():
        assert server.awaitClosed(timeout=-1) is False
        assert client.awaitClosed(timeout=-1) is False
        assert client.socketContext.join(timeout=-1) is False
        assert job.join(timeout=-1) is False
    assert not server.isClosed and not client.isClosed and job.isActive
    client.close()
    assert client.awaitClosed(timeout=-1) is True  # done already: no wait needed


@pytest.mark.timeout(30)
def test_a_negative_tls_timeout_expires_at_once(selector: SelectorManager) -> None:
    tcp = aSocket(selector).tcp()
    server = tcp.bind(LOCAL, 0)
    client = tcp.connect(LOCAL, server.port, timeout=WAIT)
    with never_later_than(), pytest.raises(SocketTimeoutException):
        client.tls(serverName="localhost", timeout=-1)  # nobody answers


# -- failures name what they tried ---------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_refused_connect_names_host_and_port_and_keeps_class_and_errno(
    selector: SelectorManager, raw: Callable[..., Any]
) -> None:
    port = refusing_port(raw)
    with pytest.raises(ConnectionRefusedError) as caught:
        aSocket(selector).tcp().connect(LOCAL, port, timeout=WAIT)
    refused = caught.value
    assert type(refused) is ConnectionRefusedError
    assert refused.errno == errno.ECONNREFUSED
    assert refused.strerror == f"{os.strerror(errno.ECONNREFUSED)} (connecting to {LOCAL}:{port})"
    assert str(refused) == f"[Errno {errno.ECONNREFUSED}] {refused.strerror}"
    assert refused.args == (errno.ECONNREFUSED, refused.strerror)  # what repr shows
    assert refused.exceptions == [refused]  # type: ignore[attr-defined]


@needs_ipv6
@pytest.mark.timeout(30)
def test_a_refused_IPv6_connect_names_the_address_in_brackets(
    selector: SelectorManager, raw: Callable[..., Any]
) -> None:
    port = refusing_port(raw, socket.AF_INET6)
    with pytest.raises(ConnectionRefusedError, match=rf"\(connecting to \[::1\]:{port}\)"):
        aSocket(selector).tcp().connect("::1", port, timeout=WAIT)


@pytest.mark.timeout(30)
def test_a_refused_connect_by_name_names_the_name_and_the_address_tried(
    selector: SelectorManager, raw: Callable[..., Any]
) -> None:
    families = {info[0] for info in gsocket.getaddrinfo("localhost", 1, 0, socket.SOCK_STREAM)}
    if socket.AF_INET6 in families and not has_ipv6_loopback():
        pytest.skip("localhost has an IPv6 address this machine cannot reach")
    port = refusing_port(raw)
    if socket.AF_INET6 in families:
        raw(socket.AF_INET6).bind(("::1", port))  # held, not listening: refused there too
    with pytest.raises(ConnectionRefusedError) as caught:
        aSocket(selector).tcp().connect("localhost", port, timeout=WAIT)
    for error in caught.value.exceptions:  # type: ignore[attr-defined]
        assert f"(connecting to localhost:{port} at " in str(error)
        assert f"{port})" in str(error)


@pytest.mark.timeout(30)
def test_each_happy_eyeballs_attempt_names_the_address_it_tried(raw: Callable[..., Any]) -> None:
    ports = [refusing_port(raw), refusing_port(raw)]
    infos = [(socket.AF_INET, socket.SOCK_STREAM, 0, "", (LOCAL, port)) for port in ports]
    target = InetSocketAddress("twice.invalid", 7)
    with pytest.raises(ConnectionRefusedError) as caught:
        connect_first(infos, TCPClientSocketOptions(), target)
    errors = caught.value.exceptions  # type: ignore[attr-defined]
    assert errors[0] is caught.value  # the first attempt's own error, as before
    assert [type(error) for error in errors] == [ConnectionRefusedError] * 2
    assert [error.errno for error in errors] == [errno.ECONNREFUSED] * 2
    for error, port in zip(errors, ports, strict=True):
        assert f"(connecting to twice.invalid:7 at {LOCAL}:{port})" in str(error)


@pytest.mark.timeout(30)
def test_an_unresolvable_name_is_the_resolvers_gaierror_naming_host_and_port(
    selector: SelectorManager,
) -> None:
    host = "greensock-bad-input.invalid"  # RFC 6761: never resolves
    with pytest.raises(socket.gaierror) as expected:
        gsocket.getaddrinfo(host, 80, 0, socket.SOCK_STREAM)
    with pytest.raises(socket.gaierror) as caught:
        aSocket(selector).tcp().connect(host, 80, timeout=WAIT)
    assert type(caught.value) is socket.gaierror
    assert caught.value.errno == expected.value.errno
    assert caught.value.strerror == f"{expected.value.strerror} (connecting to {host}:80)"


@pytest.mark.timeout(30)
def test_binding_a_used_port_is_EADDRINUSE_naming_host_and_port(
    selector: SelectorManager,
) -> None:
    tcp, udp = aSocket(selector).tcp(), aSocket(selector).udp()
    server = tcp.bind(LOCAL, 0)
    used = server.port
    assert used is not None
    bound = udp.bind(LOCAL, 0)
    port = bound.localAddress.port
    attempts: list[tuple[Callable[[], Any], str]] = [
        (lambda: tcp.bind(LOCAL, used), f"(binding {LOCAL}:{used})"),
        (lambda: tcp.bind("localhost", used), f"(binding localhost:{used} at "),
        (lambda: udp.bind(LOCAL, port), f"(binding {LOCAL}:{port})"),
        (
            lambda: udp.connect(InetSocketAddress(LOCAL, 7), InetSocketAddress(LOCAL, port)),
            f"(binding {LOCAL}:{port})",
        ),
    ]
    for attempt, named in attempts:
        with pytest.raises(OSError) as caught:
            attempt()
        assert type(caught.value) is OSError
        assert caught.value.errno == errno.EADDRINUSE
        assert named in str(caught.value)
        assert str(caught.value.strerror).startswith(os.strerror(errno.EADDRINUSE))


@needs_unix
@pytest.mark.timeout(30)
def test_unix_failures_name_the_path(
    selector: SelectorManager, unix_dir: Path, raw: Callable[..., Any]
) -> None:
    tcp = aSocket(selector).tcp()
    missing = str(unix_dir / "missing.sock")
    with pytest.raises(FileNotFoundError, match=rf"\(connecting to {missing}\)"):
        tcp.connect(UnixSocketAddress(missing), timeout=WAIT)
    silent = str(unix_dir / "silent.sock")
    raw(socket.AF_UNIX).bind(silent)  # a socket file nobody listens on
    with pytest.raises(ConnectionRefusedError, match=rf"\(connecting to {silent}\)"):
        tcp.connect(UnixSocketAddress(silent), timeout=WAIT)
    with pytest.raises(OSError, match=rf"\(binding {silent}\)") as caught:
        tcp.bind(UnixSocketAddress(silent))
    assert caught.value.errno == errno.EADDRINUSE


@pytest.mark.timeout(30)
def test_an_exception_thrown_into_a_connect_is_not_renamed(
    selector: SelectorManager, raw: Callable[..., Any]
) -> None:
    port = stalled_listener(raw)
    mine = TimeoutError("mine")
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught, gevent.Timeout(0.2, mine):
        aSocket(selector).tcp().connect(LOCAL, port)
    assert caught.value is mine
    assert mine.args == ("mine",)
    assert time.monotonic() - started < WAIT
