"""Interoperability with real peers, over loopback: ``openssl s_client``/``s_server`` against
greensock's TLS server and client (a clean close is a ``close_notify``: s_client exits 0
without "unexpected eof", s_server says DONE), and ``socat`` against greensock's TCP, Unix and
UDP sockets. Each test is skipped, with the reason, when its binary is missing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import gevent
import gevent.subprocess as subprocess
import pytest

import greensock

from . import _support
from ._support import PATIENCE, Spawned, outcome

pytestmark = pytest.mark.timeout(60)

OPENSSL = shutil.which("openssl")
SOCAT = shutil.which("socat")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl binary is not installed")
needs_socat = pytest.mark.skipif(
    SOCAT is None, reason="socat is not installed (.ci/run installs it where apt-get works)"
)


@pytest.fixture(scope="module")
def pem_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if not _support.has_trustme():
        pytest.skip("trustme is not installed")
    material = _support.tls()
    directory = tmp_path_factory.mktemp("pem")
    files = {}
    for name, blob in (("ca", material.ca_pem), ("cert", material.cert_pem),
                       ("key", material.key_pem)):
        path = directory / f"{name}.pem"
        path.write_bytes(blob)
        files[name] = str(path)
    return files


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(args: list[str], **kwargs: Any) -> Iterator[subprocess.Popen]:
    """A child process (gevent's subprocess: the hub keeps serving greensock meanwhile),
    killed at exit if it is still running."""
    child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **kwargs)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def connect_when_listening(*target: Any) -> Any:
    """Connect to a child's listener, retrying while it starts."""
    for _ in range(200):
        try:
            return greensock.aSocket().tcp().connect(*target, timeout=PATIENCE)
        except (ConnectionRefusedError, FileNotFoundError):
            gevent.sleep(0.05)
    raise AssertionError(f"nothing listens on {target}")


# -- openssl s_client against greensock's TLS server ---------------------------------------

SERVER_CLOSES = ("close", "flush-then-close", "autoFlush-then-close", "with-block",
                 "flushAndClose")


@needs_openssl
@pytest.mark.parametrize("path", SERVER_CLOSES)
def test_openssl_s_client_sees_a_clean_close_from_the_greensock_tls_server(
    pem_files: dict[str, str], path: str
) -> None:
    material = _support.tls()
    with _support.listening("tcp") as (server, target), Spawned() as spawn:

        def serve() -> str | None:
            sock = server.accept(timeout=PATIENCE).tls(material.server, serverSide=True,
                                                       timeout=PATIENCE)
            incoming = sock.openReadChannel()
            out = sock.openWriteChannel(autoFlush=path.startswith("autoFlush"))
            line = incoming.readUTF8Line()
            if path == "with-block":
                with sock:
                    out.writeStringUtf8(f"echo: {line}\n")
                    out.flush()
                return line
            out.writeStringUtf8(f"echo: {line}\n")
            if path == "flush-then-close":
                out.flush()
            elif path == "flushAndClose":
                out.flushAndClose()
            sock.close()
            return line

        serving = spawn(serve)
        with running(
            [OPENSSL, "s_client", "-connect", f"127.0.0.1:{target[1]}", "-CAfile",
             pem_files["ca"], "-servername", "localhost", "-verify_return_error", "-quiet"],
            stderr=subprocess.PIPE,
        ) as client:
            out, err = client.communicate(b"hello from s_client\n", timeout=PATIENCE * 2)
        assert outcome(serving) == "hello from s_client"
    assert out == b"echo: hello from s_client\n"
    clean = b"unexpected eof" not in err.lower()
    assert clean, (
        f"{path}: s_client saw the connection end without close_notify: {err.decode()[-300:]}"
    )
    assert client.returncode == 0, f"s_client exited {client.returncode}: {err.decode()[-300:]}"


# -- greensock's TLS client against openssl s_server ---------------------------------------

CLIENT_CLOSES = ("read-then-close", "read-then-flushAndClose", "close-without-reading")


@needs_openssl
@pytest.mark.parametrize("path", CLIENT_CLOSES)
def test_the_greensock_tls_client_closes_cleanly_towards_openssl_s_server(
    pem_files: dict[str, str], path: str
) -> None:
    port = free_port()
    with running(
        [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", pem_files["cert"],
         "-key", pem_files["key"], "-naccept", "1"],
        stderr=subprocess.STDOUT,
    ) as s_server:
        plain = connect_when_listening("localhost", port)
        sock = plain.tls(_support.tls().client, timeout=PATIENCE)
        incoming, out = sock.openReadChannel(), sock.openWriteChannel()
        out.writeStringUtf8("hello from greensock\n")
        out.flush()
        if path != "close-without-reading":
            s_server.stdin.write(b"hello from s_server\n")
            s_server.stdin.flush()
            with gevent.Timeout(PATIENCE):
                assert incoming.readUTF8Line() == "hello from s_server"
        else:
            gevent.sleep(0.2)  # s_server's session tickets arrive and stay unread
        if path == "read-then-flushAndClose":
            out.flushAndClose()
        sock.close()
        # s_server ends by itself after its one connection (-naccept 1); its input stays open
        # meanwhile, as its end would make it close the connection itself.
        s_server.wait(timeout=PATIENCE)
        output = s_server.stdout.read()
    text = output.decode(errors="replace")
    assert "hello from greensock" in text
    clean = "unexpected eof" not in text.lower() and "ERROR" not in text
    assert clean, (
        f"{path}: s_server saw the connection end without close_notify: "
        f"{text[text.find('hello from greensock'):][:400]}"
    )
    assert "DONE" in text, f"{path}: s_server did not see a clean close"


@needs_openssl
def test_the_greensock_tls_client_reads_a_clean_end_of_stream_from_openssl_s_server(
    pem_files: dict[str, str],
) -> None:
    port = free_port()
    with running(
        [OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", pem_files["cert"],
         "-key", pem_files["key"], "-naccept", "1", "-rev"],
        stderr=subprocess.STDOUT,
    ) as s_server:
        sock = connect_when_listening("localhost", port).tls(_support.tls().client,
                                                              timeout=PATIENCE)
        incoming, out = sock.openReadChannel(), sock.openWriteChannel()
        out.writeStringUtf8("greensock\nCLOSE\n")  # -rev: CLOSE makes s_server send close_notify
        out.flush()
        with gevent.Timeout(PATIENCE):
            assert incoming.readUTF8Line() == "kcosneerg"
            rest = list(incoming.lines())
            assert incoming.readAvailable(bytearray(4)) == -1
        assert all("CLOSE" in line.upper() for line in rest), rest
        sock.close()
        s_server.wait(timeout=PATIENCE)


# -- socat ---------------------------------------------------------------------------------


def _echo(sock: Any) -> None:
    with sock:
        sock.openReadChannel().copyAndClose(sock.openWriteChannel())


@needs_socat
@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_socat_client_gets_its_bytes_back_from_a_greensock_echo_server(kind: str) -> None:
    payload = os.urandom(1_500_000)
    with _support.listening(kind) as (server, target), Spawned() as spawn:
        serving = spawn(lambda: _echo(server.accept(timeout=PATIENCE)))
        address = (f"TCP:127.0.0.1:{target[1]}" if kind == "tcp"
                   else f"UNIX-CONNECT:{target[0].path}")
        with running([SOCAT, "-t", "5", "-", address], stderr=subprocess.PIPE) as socat:
            out, err = socat.communicate(payload, timeout=PATIENCE * 3)
        outcome(serving)
    assert socat.returncode == 0, err.decode()[-300:]
    assert hashlib.sha256(out).hexdigest() == hashlib.sha256(payload).hexdigest(), (
        f"socat got {len(out)} of {len(payload)} bytes back"
    )


@needs_socat
@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_greensock_client_gets_its_bytes_back_from_a_socat_echo_server(kind: str) -> None:
    payload = os.urandom(1_500_000)
    with _support.unix_directory() as directory, Spawned() as spawn:
        if kind == "tcp":
            port = free_port()
            listen = f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr"
            target: tuple[Any, ...] = ("127.0.0.1", port)
        else:
            path = str(directory / "socat.sock")
            listen, target = f"UNIX-LISTEN:{path}", (greensock.UnixSocketAddress(path),)
        # socat's PIPE is a pipe socat both writes and reads: with its default 8 KiB blocks
        # it can block writing into a pipe that has only one free page, which nobody but
        # socat itself would drain. Blocks of one page (PIPE_BUF) always fit when select
        # says the pipe is writable.
        with running([SOCAT, "-b", "4096", "-t", "5", listen, "PIPE"], stderr=subprocess.PIPE):
            with connect_when_listening(*target) as sock:
                incoming, out = sock.openReadChannel(), sock.openWriteChannel()

                def send() -> None:
                    out.writeFully(payload)
                    out.close()  # half-close: socat sees EOF, echoes the rest, then closes

                sending = spawn(send)
                with gevent.Timeout(PATIENCE * 3):
                    echoed = incoming.readRemaining()
                outcome(sending)
    assert hashlib.sha256(echoed).hexdigest() == hashlib.sha256(payload).hexdigest(), (
        f"got {len(echoed)} of {len(payload)} bytes back from socat"
    )


@needs_socat
def test_socat_udp_client_gets_each_datagram_echoed_by_greensock() -> None:
    sock = greensock.aSocket().udp().bind("127.0.0.1", 0)
    with Spawned() as spawn:

        def echo() -> None:
            for datagram in sock.incoming:
                sock.send(greensock.Datagram(datagram.packet.upper(), datagram.address))

        spawn(echo)
        try:
            with running(
                [SOCAT, "-t", "1", "-", f"UDP:127.0.0.1:{sock.localAddress.port}"],
                stderr=subprocess.PIPE,
            ) as socat:
                out, err = socat.communicate(b"datagram from socat\n", timeout=PATIENCE * 2)
        finally:
            sock.close()
    assert out == b"DATAGRAM FROM SOCAT\n", (out, err.decode()[-300:])


@needs_socat
def test_greensock_udp_gets_datagrams_echoed_by_socat() -> None:
    port = free_port()
    with running([SOCAT, "-T", "10", f"UDP-RECVFROM:{port},bind=127.0.0.1,fork", "PIPE"],
                 stderr=subprocess.PIPE):
        sock = greensock.aSocket().udp().connect(greensock.InetSocketAddress("127.0.0.1", port))
        try:
            got = None
            for attempt in range(100):  # socat may not be listening yet: datagrams get lost
                sock.send(greensock.Datagram(b"ping %d" % attempt, sock.remoteAddress))
                try:
                    got = sock.receive(timeout=0.2)
                    break
                except greensock.SocketTimeoutException:
                    continue
                except ConnectionRefusedError:  # the kernel's answer while nobody listens
                    gevent.sleep(0.05)
            assert got is not None, "socat echoed nothing"
            assert got.packet.startswith(b"ping ")
        finally:
            sock.close()
