"""Examples that never rot: every code example of the README and the docs runs here.

The README's Python blocks and the guides' ``literalinclude``\\ s are files of ``examples/``.
The README cannot include a file, so each of its Python blocks is preceded by a comment
naming its file (``<!-- examples/hello_server.py -->``) and must equal that file. Then:

* a script runs to its end by itself, with exit status 0, within a bounded time, and prints
  what it says it prints;
* a server runs in a child process until it announces ``listening on HOST:PORT``; its
  client runs against it and must finish by itself; then, with one more connection left
  open, SIGINT must stop the server with exit status 0 and no traceback;
* a test module of the examples (``examples/test_*.py``) passes under pytest;
* every file of ``examples/`` is shown (README or docs) and run by one of the above.

Everything talks over loopback: a static check refuses any other address in the examples.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from processes import child_env, read_line

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
README = ROOT / "README.md"
DOCS = ROOT / "docs"

#: Scripts that finish by themselves, and lines (or parts of lines) they must print.
SCRIPTS: dict[str, list[str]] = {
    "options.py": [
        "receiveBufferSize=262144",
        "accepted 127.0.0.1:",
        "did you mean 'reuseAddress'?",
        "TypeError: option 'reuseAddress' takes a bool",
        "ValueError: option 'backlogSize' must be > 0",
    ],
    "channels.py": [
        "42 answer b'rest'",
        "[0, 1, 2, 3, 4, 5, 6, 7] done None",
        "one two",
        "b'three'",
        "too long; still there: b'a-much-longer-record'",
        "[65536, 34464]",
    ],
    "forgotten_flush.py": [
        "nothing arrived: the line is still in the client's channel",
        "after flush: PING",
    ],
    "errors.py": [
        "refused: [Errno 111] Connection refused (connecting to 127.0.0.1:",
        "in use: True",
        "gaierror: True",
        "EOF; still readable: ab None",
        "second reader: another greenlet is already blocked reading this channel",
        "blocked reader: woke with ClosedReadChannelException",
    ],
    "timeouts.py": [
        "no connection within 0.2 s; the server is still usable",
        "gevent.Timeout: no answer in time",
        "read again: late answer",
        "read 1: SocketTimeoutException after ",
        "read 2: SocketTimeoutException after ",
    ],
    "udp_echo.py": ["b'HELLO'", "b'DATAGRAMS'"],
    "udp_broadcast.py": ["b'hello, LAN' from 127.0.0.1:"],
    "udp_stream.py": ["10 b'\\x00\\x00\\x00*answer'"],
    "tls_echo.py": [" with localhost", "b'over TLS\\n'"],
    "starttls.py": ["GO AHEAD", "secret for alice"],
    "unix_echo.py": ["b'over a socket file\\n' from /", "socket file left: False"],
    "serving.py": [
        "None",
        "one: served | active: 2",
        "third answered yet: False",
        "three: served",
        "every handler finished by itself: False",
    ],
    "patched.py": ["['client 0', 'client 1', 'client 2']", "three 0.2 s answers in "],
}
#: Scripts whose standard error must show something (and may show a traceback: a log).
EXPECTED_STDERR = {"serving.py": "ValueError: a bug in the handler"}
#: Scripts that need trustme (the testing kit's throwaway certificate authority).
NEEDS_TRUSTME = {"tls_echo.py", "starttls.py", "tls_greeter.py"}

#: Servers that run until SIGINT: their client, its arguments before the port, and what the
#: client must print. The server's arguments before the port are in SERVER_ARGS.
SERVERS: dict[str, tuple[str, list[str]]] = {
    "hello_server.py": ("hello_client.py", ["Hello, Ktor!", "Hello, gevent!"]),
    "ktor_server.py": (
        "ktor_client.py",
        ["Please enter your name", "Hello, Ktor!", "Hello, gevent!", "Server closed a connection"],
    ),
    "workers_server.py": ("hello_client.py", ["Hello, Ktor!", "Hello, gevent!"]),
    "tls_greeter.py": ("tls_greeter_client.py", ["Hello, TLS!"]),
}
#: Test modules of the examples, run with pytest, and the example modules they import.
TEST_MODULES = {"test_tls_greeter.py": ["tls_greeter.py"], "test_relay.py": ["relay.py"]}

TIMEOUT = 60.0


def example_files() -> set[str]:
    return {path.name for path in EXAMPLES.glob("*.py")}


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/NAME`` with *args* to its end (bounded); its output."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=child_env(),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def assert_prints(result: subprocess.CompletedProcess[str], expected: list[str]) -> None:
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stderr}"
    lines = result.stdout.splitlines()
    missing = [text for text in expected if not any(text in line for line in lines)]
    assert not missing, f"missing from the output: {missing}\n--- output:\n{result.stdout}"


# -- the README -----------------------------------------------------------------------------

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- (examples/[\w.]+\.py) -->\n\Z")


def readme_python_blocks() -> list[tuple[str | None, str]]:
    """``(the file named by the comment before it, or None; the code)`` per Python block."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        if match.group(1) != "python":
            continue
        marker = _MARKER.search(text, 0, match.start())
        blocks.append((marker.group(1) if marker else None, match.group(2)))
    return blocks


def test_the_readme_starts_with_the_two_set_up_commands_and_stays_short() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = _FENCE.search(text)
    assert first_block is not None and first_block.group(1) == "sh"
    assert first_block.group(2).splitlines() == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/python -m greensock demo",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest",
    ]
    assert len(text.encode("utf-8")) < 12 * 1024, "the README is meant to be a few screens"


def test_every_python_block_of_the_readme_is_an_example_file() -> None:
    blocks = readme_python_blocks()
    assert blocks, "the README shows a server and a client"
    for name, code in blocks:
        assert name is not None, f"a Python block without <!-- examples/NAME.py -->:\n{code}"
        assert code == (ROOT / name).read_text(encoding="utf-8"), (
            f"the README's block differs from {name}: copy the file into the README"
        )


# -- the docs --------------------------------------------------------------------------------

_INCLUDE = re.compile(r"^\s*\.\. literalinclude:: (\S+)", re.MULTILINE)
_INLINE_PYTHON = re.compile(r"^\s*\.\. (?:code-block|code|sourcecode):: (?:python|py)\b", re.M)


def doc_sources() -> list[Path]:
    """The docs' own pages (reStructuredText), not the Markdown files others write."""
    return sorted(path for path in DOCS.rglob("*.rst") if "_build" not in path.parts)


def test_the_guides_show_python_only_through_files_that_run() -> None:
    included: set[str] = set()
    for page in doc_sources():
        text = page.read_text(encoding="utf-8")
        where = page.relative_to(ROOT)
        assert not _INLINE_PYTHON.search(text), f"{where}: Python inline; literalinclude a file"
        for target in _INCLUDE.findall(text):
            path = (page.parent / target).resolve()
            assert path.is_file(), f"{page.relative_to(ROOT)} includes a missing {target}"
            if path.parent == EXAMPLES:
                included.add(path.name)
    shown = included | {Path(name).name for name, _ in readme_python_blocks() if name}
    assert example_files() - shown == set(), "examples shown nowhere"


def test_every_example_is_run_by_this_module() -> None:
    run = set(SCRIPTS) | set(SERVERS) | {client for client, _ in SERVERS.values()}
    for module, imported in TEST_MODULES.items():
        run |= {module, *imported}
    assert example_files() == run


def test_the_examples_talk_to_loopback_only() -> None:
    for path in sorted(EXAMPLES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for address in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text):
            assert address.startswith("127.") or address == "0.0.0.0", f"{path.name}: {address}"
        assert not re.search(r"\b[\w-]+\.(?:com|org|net|io|dev)\b", text), path.name


# -- running them ----------------------------------------------------------------------------


@pytest.mark.timeout(TIMEOUT + 10)
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_example_script_runs_to_its_end(name: str) -> None:
    if name in NEEDS_TRUSTME:
        pytest.importorskip("trustme")
    result = run_example(name)
    assert_prints(result, SCRIPTS[name])
    expected = EXPECTED_STDERR.get(name)
    if expected is None:
        assert result.stderr == "", result.stderr
    else:
        assert expected in result.stderr, result.stderr


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    """server.pem, server.key and client.pem (the authority), made as the docs say to."""
    pytest.importorskip("trustme")
    subprocess.run(
        [sys.executable, "-m", "trustme", "-q", "-d", str(tmp_path)],
        check=True,
        timeout=TIMEOUT,
    )
    return tmp_path


@pytest.mark.timeout(3 * TIMEOUT)
@pytest.mark.parametrize("name", sorted(SERVERS))
def test_example_server_serves_its_client_and_SIGINT_stops_it_with_0(
    name: str, request: pytest.FixtureRequest
) -> None:
    client, expected = SERVERS[name]
    server_args: list[str] = []
    client_args: list[str] = []
    if name == "tls_greeter.py":
        directory = request.getfixturevalue("certificates")
        server_args = [str(directory / "server.pem"), str(directory / "server.key")]
        client_args = [str(directory / "client.pem")]
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), *server_args, "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = read_line(proc.stdout, TIMEOUT).decode()
        assert line.startswith("listening on 127.0.0.1:"), line + proc.stderr.read().decode()
        port = line.strip().rpartition(":")[2]
        assert_prints(run_example(client, *client_args, port), expected)
        # A connection still open when Ctrl-C comes must not keep the server from stopping.
        with socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT):
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, stderr.decode()
        assert b"Traceback" not in stderr, stderr.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=TIMEOUT)


@pytest.mark.timeout(3 * TIMEOUT)
@pytest.mark.parametrize("name", sorted(TEST_MODULES))
def test_example_test_module_passes(name: str) -> None:
    if name == "test_tls_greeter.py":
        pytest.importorskip("trustme")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=2 * TIMEOUT,
        env=child_env(),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout
