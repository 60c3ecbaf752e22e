"""The command line: `python -m greensock demo` prints its exchange and exits 0."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.timeout(60)
def test_demo_prints_the_exchange_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "greensock", "demo"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "client: got 'HELLO, GREENSOCK'" in done.stdout
    assert done.stdout.rstrip().endswith("demo: ok")


@pytest.mark.timeout(60)
def test_nc_talks_to_echo_server() -> None:
    import gevent
    import gevent.subprocess

    import greensock
    from greensock.__main__ import _serve

    server = greensock.aSocket().tcp().bind("127.0.0.1", 0)
    serving = gevent.spawn(_serve, server, False)
    client = gevent.subprocess.Popen(
        [sys.executable, "-m", "greensock", "nc", "127.0.0.1", str(server.port)],
        stdin=gevent.subprocess.PIPE,
        stdout=gevent.subprocess.PIPE,
    )
    out, _ = client.communicate(b"one\ntwo\n", timeout=50)
    serving.kill()
    server.close()
    assert out == b"ONE\nTWO\n"
    assert client.returncode == 0


@pytest.mark.timeout(60)
def test_bench_command_reaches_the_benchmark() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "greensock", "bench", "--help"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--workloads" in done.stdout and "--quick" in done.stdout
