"""``scripts/wsgi_kv.py``: a monkey-patched gevent WSGI application over a greensock backend.

Both processes run on loopback; many real HTTP requests go at once (urllib.request from a
thread pool), and every answer is checked.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from processes import child_env, read_line

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "wsgi_kv.py"
REQUESTS = 200


def start(*args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start a role of the example; the process and the port it announced."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    assert proc.stdout is not None
    line = read_line(proc.stdout).decode()
    assert line.startswith("listening on 127.0.0.1:"), line
    return proc, line.strip().rpartition(":")[2]


@pytest.fixture
def web() -> Iterator[str]:
    """The base URL of the web process, in front of its own backend; both stopped after."""
    backend, backend_port = start("backend")
    processes = [backend]
    try:
        server, port = start("web", backend_port)
        processes.append(server)
        yield f"http://127.0.0.1:{port}"
        for proc in reversed(processes):
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
            assert proc.returncode == 0, stderr.decode()
            assert b"Traceback" not in stderr, stderr.decode()
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)


def call(method: str, url: str, data: bytes | None = None) -> tuple[int, str]:
    """One HTTP request: its status and body."""
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.timeout(120)
def test_many_concurrent_requests_through_the_wsgi_app_to_the_greensock_backend(web: str) -> None:
    values = {f"key{n}": f"value {n} ünïcode" for n in range(REQUESTS)}
    with ThreadPoolExecutor(max_workers=40) as pool:
        stored = list(
            pool.map(lambda kv: call("PUT", f"{web}/kv/{kv[0]}", kv[1].encode()), values.items())
        )
        assert stored == [(204, "")] * REQUESTS
        read = list(pool.map(lambda key: call("GET", f"{web}/kv/{key}"), values))
        assert read == [(200, value + "\n") for value in values.values()]
        # INCR is atomic in the backend: every one of the concurrent increments counts.
        counts = list(pool.map(lambda _: call("POST", f"{web}/kv/hits/incr"), range(REQUESTS)))
    assert sorted(int(body) for status, body in counts if status == 200) == list(
        range(1, REQUESTS + 1)
    )
    assert call("GET", f"{web}/kv/hits") == (200, f"{REQUESTS}\n")
    assert call("GET", f"{web}/kv/missing") == (404, "no such key\n")
    assert call("GET", f"{web}/nowhere")[0] == 404
