"""The command line (SPEC section 10): the real commands, in subprocesses, against each other.

``echo`` servers and ``nc`` clients talk over 127.0.0.1, ::1 and Unix sockets, in TCP, UDP
and TLS, and with ``--workers``; ``socat`` and ``openssl s_client`` stand in for either side
where they are installed. Every error is checked to be one line on stderr.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from markers import has_ipv6_loopback, needs_unix
from processes import child_env, read_exactly, read_line

LOCAL = "127.0.0.1"
ENV = child_env()
#: Binary data with every byte value, CR, LF and NUL included, in a length no buffer divides.
PAYLOAD = bytes(range(256)) * 4 + os.urandom(300_001) + b"\r\n\0\r"


def command(*args: str) -> list[str]:
    """The argv of ``python -m greensock ARGS``."""
    return [sys.executable, "-m", "greensock", *args]


def run(*args: str, data: bytes = b"", timeout: float = 50) -> subprocess.CompletedProcess[bytes]:
    """Run a command to its end with *data* on stdin."""
    return subprocess.run(
        command(*args), input=data, capture_output=True, timeout=timeout, env=ENV, check=False
    )


class Echo:
    """A running ``echo`` command; ``address`` is what its first line announced."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            command("echo", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        first = read_line(self.proc.stdout).decode()
        assert first.startswith("listening on "), first + self._stderr()
        assert first.endswith("\n")
        self.address = first[len("listening on ") : -1]

    @property
    def port(self) -> str:
        """The port of an IP address, as a string for an argv."""
        return self.address.rpartition(":")[2]

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")

    def stop(self, number: int = signal.SIGINT) -> tuple[int, str]:
        """Send *number* to the server alone; its exit status and stderr."""
        self.proc.send_signal(number)
        _, stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode, stderr.decode(errors="replace")

    def kill(self) -> None:
        """Kill the server's whole session (workers included) if still there."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)


@pytest.fixture
def echo() -> Iterator[Any]:
    """Factory: ``echo(*args)`` starts an echo server, killed at teardown if still running."""
    started: list[Echo] = []

    def start(*args: str) -> Echo:
        started.append(Echo(*args))
        return started[-1]

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Files of a throwaway authority: ``ca``, and ``cert``/``key`` for ``localhost``."""
    trustme = pytest.importorskip("trustme")
    directory = tmp_path_factory.mktemp("certs")
    authority = trustme.CA()
    issued = authority.issue_cert("localhost")
    paths = {name: str(directory / f"{name}.pem") for name in ("ca", "cert", "key")}
    authority.cert_pem.write_to_path(paths["ca"])
    for index, pem in enumerate(issued.cert_chain_pems):
        pem.write_to_path(paths["cert"], append=index > 0)
    issued.private_key_pem.write_to_path(paths["key"])
    return paths


def assert_clean(done: subprocess.CompletedProcess[bytes]) -> None:
    """Exit status 0 and nothing on stderr."""
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stderr == b""


def assert_stopped_cleanly(server: Echo, number: int) -> None:
    """*number* stops the server with status 0 and nothing on stderr."""
    status, stderr = server.stop(number)
    assert status == 0, stderr
    assert stderr == ""


# -- demo and bench -------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_demo_prints_a_self_checking_echo_exchange_and_exits_0() -> None:
    done = run("demo")
    assert_clean(done)
    out = done.stdout.decode()
    assert "client: send 'hello, greensock'" in out
    assert "client: got 'hello, greensock'" in out  # echoed unchanged
    assert out.rstrip().endswith("demo: ok")


@pytest.mark.timeout(60)
def test_bench_command_reaches_the_benchmark() -> None:
    done = run("bench", "--help")
    assert_clean(done)
    assert b"--workloads" in done.stdout and b"--quick" in done.stdout


# -- echo and nc against each other ---------------------------------------------------------


@pytest.mark.timeout(60)
def test_tcp_echo_sends_binary_data_back_unchanged_and_SIGINT_stops_it_with_0(echo: Any) -> None:
    server = echo("127.0.0.1", "0")
    host, _, port = server.address.rpartition(":")
    assert host == LOCAL and int(port) > 0
    done = run("nc", LOCAL, port, data=PAYLOAD)
    assert_clean(done)
    assert done.stdout == PAYLOAD
    # A second client, after the first: the server goes on.
    assert run("nc", "localhost", port, data=b"again\n").stdout == b"again\n"
    assert_stopped_cleanly(server, signal.SIGINT)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback (::1)")
def test_an_ipv6_echo_announces_its_address_in_brackets(echo: Any) -> None:
    server = echo("::1", "0")
    assert server.address.startswith("[::1]:")
    done = run("nc", "::1", server.port, data=b"six\n")
    assert_clean(done)
    assert done.stdout == b"six\n"
    assert_stopped_cleanly(server, signal.SIGTERM)


@pytest.mark.timeout(60)
@needs_unix
def test_unix_echo_and_nc_and_SIGTERM_stops_it_with_0_and_removes_the_file(
    echo: Any, unix_dir: Path
) -> None:
    path = str(unix_dir / "echo.sock")
    server = echo("--unix", path)
    assert server.address == path
    done = run("nc", "--unix", path, data=PAYLOAD)
    assert_clean(done)
    assert done.stdout == PAYLOAD
    assert_stopped_cleanly(server, signal.SIGTERM)
    assert not Path(path).exists()


@pytest.mark.timeout(60)
def test_udp_echo_and_nc_each_stdin_chunk_one_datagram_each_answer_written_as_it_comes(
    echo: Any,
) -> None:
    server = echo("--udp", "127.0.0.1", "0")
    client = subprocess.Popen(
        command("nc", "--udp", "--wait", "0.5", LOCAL, server.port),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert client.stdin is not None and client.stdout is not None
    for chunk in (b"first\n", bytes(range(256)), b"\0" * 1000):
        client.stdin.write(chunk)
        client.stdin.flush()
        # Each datagram comes back, and nc writes it out, before the next one is sent.
        assert read_exactly(client.stdout, len(chunk)) == chunk
    client.stdin.close()
    assert client.wait(timeout=30) == 0, client.stderr.read() if client.stderr else ""
    assert client.stdout.read() == b"" and client.stderr is not None
    assert client.stderr.read() == b""
    assert_stopped_cleanly(server, signal.SIGINT)


@pytest.mark.timeout(60)
def test_tls_echo_and_nc_with_a_trusted_certificate(
    echo: Any, certificates: dict[str, str]
) -> None:
    server = echo("--tls", certificates["cert"], certificates["key"], "127.0.0.1", "0")
    # A payload that has gone both ways before nc half-closes: see the next test for more.
    done = run(
        "nc", "--tls", "--cafile", certificates["ca"], "--servername", "localhost",
        LOCAL, server.port, data=bytes(range(256)),
    )  # fmt: skip
    assert_clean(done)
    assert done.stdout == bytes(range(256))
    # The host name given is the name checked by default.
    done = run("nc", "--tls", "--cafile", certificates["ca"], "localhost", server.port, data=b"x")
    assert_clean(done)
    assert done.stdout == b"x"
    # Without the authority, the certificate is refused: one line, status 1.
    refused = run("nc", "--tls", "localhost", server.port, data=b"x")
    assert refused.returncode == 1
    assert_one_line(refused.stderr, "CERTIFICATE_VERIFY_FAILED")
    assert_stopped_cleanly(server, signal.SIGTERM)


@pytest.mark.timeout(60)
def test_tls_echo_and_nc_round_trip_a_large_payload(
    echo: Any, certificates: dict[str, str]
) -> None:
    server = echo("--tls", certificates["cert"], certificates["key"], "127.0.0.1", "0")
    done = run(
        "nc", "--tls", "--cafile", certificates["ca"], "--servername", "localhost",
        LOCAL, server.port, data=PAYLOAD,
    )  # fmt: skip
    assert_clean(done)
    assert done.stdout == PAYLOAD


@pytest.mark.timeout(90)
def test_echo_with_two_workers_serves_from_two_processes_and_SIGTERM_stops_all_with_0(
    echo: Any,
) -> None:
    server = echo("--workers", "2", "127.0.0.1", "0")
    workers = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    if workers.exists():
        assert len(workers.read_text().split()) == 2
    for _ in range(3):
        done = run("nc", LOCAL, server.port, data=PAYLOAD)
        assert_clean(done)
        assert done.stdout == PAYLOAD
    assert_stopped_cleanly(server, signal.SIGTERM)


@pytest.mark.timeout(60)
def test_nc_exits_0_once_the_peer_closed_even_while_stdin_stays_open() -> None:
    with socket.create_server((LOCAL, 0)) as listener:

        def greet_and_close() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(b"bye\n")

        threading.Thread(target=greet_and_close, daemon=True).start()
        client = subprocess.Popen(
            command("nc", LOCAL, str(listener.getsockname()[1])),
            stdin=subprocess.PIPE,  # never closed while nc runs
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        try:
            assert client.wait(timeout=30) == 0
        finally:
            if client.poll() is None:
                client.kill()
            out, err = client.communicate(timeout=30)
    assert out == b"bye\n" and err == b""


# -- errors ---------------------------------------------------------------------------------


def assert_one_line(stderr: bytes, *words: str) -> None:
    """*stderr* is exactly one line, no traceback, naming every one of *words*."""
    text = stderr.decode(errors="replace")
    assert text.endswith("\n") and text.count("\n") == 1, text
    assert "Traceback" not in text
    for word in words:
        assert word in text, text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOCAL, 0))
        return int(probe.getsockname()[1])


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nc", LOCAL, "port"], ["port must be a number"]),
        (["nc", LOCAL, "70000"], ["port must be a number"]),
        (["echo", LOCAL, "-1"], ["port must be a number"]),
        (["nc", LOCAL, "{free}"], ["Connection refused", "127.0.0.1:{free}"]),
        (["nc", "no-such-host.invalid", "80"], ["no-such-host.invalid"]),
        (["nc", "--unix", "/nonexistent/dir/echo.sock"], ["/nonexistent/dir/echo.sock"]),
        (["nc", "--cafile", "ca.pem", LOCAL, "1"], ["--tls"]),
        (["nc", LOCAL], ["HOST and PORT"]),
        (["nc", "--udp", "--tls", LOCAL, "1"], ["--udp"]),
        (["nc", "--udp", LOCAL, "{free}"], ["Connection refused"]),
        (["echo", "--tls", "missing.pem", "missing.key"], ["missing.pem", "No such file"]),
        (["echo", "--workers", "0"], ["from 1 to 10000"]),
        (["echo", "--udp", "--workers", "2"], ["--udp"]),
        (["echo", "--unix", "x.sock", LOCAL], ["--unix"]),
        (["echo", LOCAL, "{taken}"], ["Address already in use"]),
        (["echo", "--workers", "2", LOCAL, "{taken}"], ["Address already in use"]),
        (["echo", "--udp", "no-such-host.invalid", "0"], ["no-such-host.invalid"]),
        (["bogus"], ["invalid choice"]),
        (["echo", "--bogus"], ["unrecognized arguments"]),
    ],
)
def test_every_error_is_one_line_on_stderr_and_a_non_zero_status(
    args: list[str], words: list[str]
) -> None:
    with socket.create_server((LOCAL, 0)) as taken:
        fill = {"free": str(_free_port()), "taken": str(taken.getsockname()[1])}
        args = [arg.format(**fill) for arg in args]
        words = [word.format(**fill) for word in words]
        done = run(*args, data=b"ignored\n", timeout=50)
    assert done.returncode != 0
    assert done.stdout == b""
    assert_one_line(done.stderr, *words)


# -- against other tools --------------------------------------------------------------------

needs_socat = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
needs_openssl = pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl is not installed"
)


@pytest.mark.timeout(60)
@needs_socat
def test_socat_as_the_client_of_echo_over_tcp_and_udp(echo: Any) -> None:
    server = echo("127.0.0.1", "0")
    done = subprocess.run(
        ["socat", "-t", "10", "-", f"TCP:{LOCAL}:{server.port}"],
        input=PAYLOAD, capture_output=True, timeout=50, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == PAYLOAD
    assert_stopped_cleanly(server, signal.SIGINT)
    datagrams = echo("--udp", "127.0.0.1", "0")
    done = subprocess.run(
        ["socat", "-t", "2", "-", f"UDP:{LOCAL}:{datagrams.port}"],
        input=b"one datagram\n", capture_output=True, timeout=50, check=False,
    )  # fmt: skip
    assert done.stdout == b"one datagram\n", done.stderr
    assert_stopped_cleanly(datagrams, signal.SIGTERM)


@pytest.mark.timeout(60)
@needs_socat
def test_nc_as_the_client_of_a_socat_echo_server() -> None:
    port = _free_port()
    server = subprocess.Popen(
        # One-page blocks: with its default 8 KiB ones, socat's PIPE can block socat writing
        # into its own pipe (see tests/reliability/test_interop.py).
        ["socat", "-b", "4096", f"TCP-LISTEN:{port},bind={LOCAL},reuseaddr,fork", "PIPE"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # until socat listens
            try:
                socket.create_connection((LOCAL, port), timeout=5).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.02)
        done = run("nc", LOCAL, str(port), data=PAYLOAD)
    finally:
        server.kill()
        server.communicate(timeout=30)
    assert_clean(done)
    assert done.stdout == PAYLOAD


@pytest.mark.timeout(60)
@needs_openssl
def test_openssl_s_client_as_the_client_of_a_tls_echo(
    echo: Any, certificates: dict[str, str]
) -> None:
    server = echo("--tls", certificates["cert"], certificates["key"], "127.0.0.1", "0")
    client = subprocess.Popen(
        [
            "openssl", "s_client", "-quiet", "-verify_return_error",
            "-connect", f"{LOCAL}:{server.port}", "-servername", "localhost",
            "-verify_hostname", "localhost", "-CAfile", certificates["ca"],
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert client.stdin is not None and client.stdout is not None
        text = b"".join(b"line %d of the TLS echo\n" % n for n in range(100))
        client.stdin.write(text)
        client.stdin.flush()
        assert read_exactly(client.stdout, len(text)) == text
    finally:
        client.kill()
        client.communicate(timeout=30)
    assert_stopped_cleanly(server, signal.SIGINT)
