"""What the reliability modules share: the knobs, connected pairs, interruption, measurements.

Knobs (environment variables; ``scripts/reliability.py`` sets the long values):

* ``GREENSOCK_RELIABILITY_CONNECTIONS`` — concurrent connections of the load test (1,000);
* ``GREENSOCK_RELIABILITY_EXAMPLES`` — hypothesis examples per interruption test (8);
* ``GREENSOCK_RELIABILITY_SOAK`` — seconds the soak test runs (4);
* ``GREENSOCK_RELIABILITY_LONG=1`` — run the tests marked ``slow`` (skipped otherwise) and
  let hypothesis draw fresh examples (CI runs a fixed, derandomized set).

Everything here uses greensock's public API only.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import resource
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent

import greensock

# -- knobs ----------------------------------------------------------------------------------


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


CONNECTIONS = _env_int("GREENSOCK_RELIABILITY_CONNECTIONS", 1000)
EXAMPLES = _env_int("GREENSOCK_RELIABILITY_EXAMPLES", 8)
SOAK_SECONDS = _env_float("GREENSOCK_RELIABILITY_SOAK", 4.0)
LONG = os.environ.get("GREENSOCK_RELIABILITY_LONG", "") == "1"

#: Stream transports every socket-level test runs over.
STREAM_KINDS = ("tcp", "unix", "tls")

#: A bound on any single wait of a test: far above what loopback needs, far below a hang.
PATIENCE = 10.0


class Own(Exception):
    """The caller's own exception, thrown into a blocked call."""


# -- TLS ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    """A throwaway certificate authority and the contexts that trust it."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


@functools.lru_cache(maxsize=1)
def tls() -> Tls:
    """The suite's TLS material (``trustme``; the caller skips when it is missing)."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("localhost", "127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    issued.configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return Tls(
        server,
        client,
        authority.cert_pem.bytes(),
        b"".join(blob.bytes() for blob in issued.cert_chain_pems),
        issued.private_key_pem.bytes(),
    )


def has_trustme() -> bool:
    try:
        import trustme  # noqa: F401
    except ImportError:
        return False
    return True


# -- connected pairs ------------------------------------------------------------------------


@contextlib.contextmanager
def unix_directory() -> Iterator[Path]:
    """A short temporary directory for Unix socket files (sun_path holds ~108 bytes)."""
    directory = tempfile.mkdtemp(prefix="gsrel")
    try:
        yield Path(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def listening(kind: str, selector: Any = None, **configure: Any) -> Iterator[tuple[Any, tuple]]:
    """A listening server of *kind* (``tcp``, ``tcp6``, ``unix``, ``tls``) and the arguments
    that ``connect`` takes to reach it; closed at exit."""
    builder = greensock.aSocket(selector).tcp()
    with contextlib.ExitStack() as stack:
        if kind == "unix":
            directory = stack.enter_context(unix_directory())
            address = greensock.UnixSocketAddress(str(directory / "s.sock"))
            server = builder.bind(address, configure=configure or None)
            target: tuple = (address,)
        else:
            host = "::1" if kind == "tcp6" else "127.0.0.1"
            server = builder.bind(host, 0, configure=configure or None)
            target = (host, server.port)
        stack.callback(server.dispose)
        yield server, target


def handshake(client: Any, server: Any) -> tuple[Any, Any]:
    """TLS over a plain connected pair: ``(tls client, tls server)``."""
    material = tls()
    serving = gevent.spawn(server.tls, material.server, serverSide=True, timeout=PATIENCE)
    try:
        secure = client.tls(material.client, serverName="localhost", timeout=PATIENCE)
    except BaseException:
        serving.kill()
        server.dispose()
        raise
    return secure, serving.get(timeout=PATIENCE)


@contextlib.contextmanager
def connected_pair(
    kind: str, client_options: dict[str, Any] | None = None, selector: Any = None
) -> Iterator[tuple[Any, Any]]:
    """A connected ``(client, server)`` pair of greensock sockets, both disposed at exit.

    *kind*: ``tcp`` (127.0.0.1), ``tcp6`` (::1), ``unix``, or ``tls`` (TLS over TCP, the
    client checking the server's name). *client_options* configure the client's connect.
    """
    client = server = None
    try:
        with listening("tcp" if kind == "tls" else kind, selector) as (listener, target):
            client = (
                greensock.aSocket(selector)
                .tcp()
                .connect(*target, configure=client_options, timeout=PATIENCE)
            )
            server = listener.accept(timeout=PATIENCE)
        if kind == "tls":
            client, server = handshake(client, server)
        yield client, server
    finally:
        for sock in (client, server):
            if sock is not None:
                sock.dispose()


# -- greenlets ------------------------------------------------------------------------------


class Spawned:
    """Spawns greenlets and kills those still running at exit (a failing test leaks none)."""

    def __init__(self) -> None:
        self.greenlets: list[gevent.Greenlet] = []

    def __call__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> gevent.Greenlet:
        greenlet = gevent.spawn(fn, *args, **kwargs)
        self.greenlets.append(greenlet)
        return greenlet

    def __enter__(self) -> Spawned:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        gevent.killall([g for g in self.greenlets if not g.dead], timeout=PATIENCE)


def outcome(greenlet: gevent.Greenlet, timeout: float = PATIENCE) -> Any:
    """What *greenlet* ended with: its value, or the exception it raised; AssertionError if it
    is still running after *timeout* seconds (a hang)."""
    greenlet.join(timeout)
    if not greenlet.dead:
        raise AssertionError(f"{greenlet!r} still blocked after {timeout} s: a hang")
    if greenlet.successful():
        return greenlet.value
    return greenlet.exception


def settle(seconds: float = 0.02) -> None:
    """Let other greenlets and loopback delivery run for a moment."""
    gevent.sleep(0)
    gevent.sleep(seconds)


def wait_until_stalled(
    progress: Callable[[], int], quiet: float = 0.25, timeout: float = 30.0
) -> int:
    """Wait until ``progress()`` has not grown for *quiet* seconds; return its value."""
    deadline = time.monotonic() + timeout
    last = progress()
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        gevent.sleep(0.02)
        now = progress()
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return last
    raise AssertionError(f"still making progress after {timeout} s ({last})")


def saturate(writer: Any, spawn: Spawned, chunk: int = 65536) -> gevent.Greenlet:
    """Start a greenlet that writes and flushes *writer* until the peer's kernel buffers are
    full; return it once it is blocked (it stays blocked until the peer reads or a close)."""
    block = b"\xa5" * chunk

    def write_forever() -> None:
        while True:
            writer.writeFully(block)
            writer.flush()

    greenlet = spawn(write_forever)
    wait_until_stalled(lambda: writer.totalBytesWritten)
    assert not greenlet.dead, f"the writer ended: {outcome(greenlet)!r}"
    return greenlet


# -- interruption ---------------------------------------------------------------------------

#: How a blocked call is interrupted, by name: a gevent.Timeout (bare, with an exception
#: object or class of the caller's own), or Greenlet.kill (bare or with an exception).
INTERRUPTIONS: dict[str, Callable[[], Any]] = {
    "timeout": lambda: None,
    "timeout-TimeoutError": lambda: TimeoutError("deadline"),
    "timeout-TimeoutError-class": lambda: TimeoutError,
    "timeout-socket.timeout": lambda: TimeoutError("socket.timeout thrown in"),
    "timeout-OSError": lambda: OSError(errno.EIO, "an OSError thrown in"),
    "timeout-own": lambda: Own("the caller's own exception"),
    "kill": lambda: None,
    "kill-OSError": lambda: OSError(errno.EIO, "killed with an OSError"),
    "kill-ConnectionResetError": lambda: ConnectionResetError("killed with ConnectionResetError"),
}

#: The interruptions every operation of the deterministic tests meets: a gevent.Timeout bare
#: and with the caller's own exception, a kill bare and with an exception.
MATRIX = ("timeout", "timeout-TimeoutError", "kill", "kill-OSError")
#: The other interruptions, which a few representative operations meet (hypothesis draws
#: from all of them for every operation).
EXTRA = tuple(name for name in INTERRUPTIONS if name not in MATRIX)


@dataclass
class Outcome:
    """How an interruptible call ended: it completed with *value*, or was interrupted."""

    interrupted: bool
    value: Any = None
    exception: BaseException | None = None


def interrupt(how: str, call: Callable[[], Any], after: float) -> Outcome:
    """Run *call*; if it is still blocked after *after* seconds, interrupt it *how*.

    Checks that the interruption reaches the caller unchanged: the very object thrown in
    (for an exception class, an instance of exactly that class). Anything else the call
    raises is re-raised wrapped in an AssertionError that says so.
    """
    thrown = INTERRUPTIONS[how]()
    if how.startswith("kill"):
        greenlet = gevent.spawn(call)
        greenlet.join(after)
        if greenlet.dead:
            if not greenlet.successful():
                raise AssertionError(
                    f"the call failed before the {how} came: {greenlet.exception!r}"
                ) from greenlet.exception
            return Outcome(False, greenlet.value)
        if thrown is None:
            greenlet.kill(timeout=PATIENCE)
        else:
            greenlet.kill(thrown, timeout=PATIENCE)
        if not greenlet.dead:
            raise AssertionError(f"{how}: the greenlet is still running after the kill")
        # gevent counts a greenlet killed with GreenletExit as successful, its value the
        # GreenletExit; no operation returns one.
        if greenlet.successful() and not isinstance(greenlet.value, gevent.GreenletExit):
            return Outcome(False, greenlet.value)  # completed just before the kill landed
        caught = greenlet.value if greenlet.successful() else greenlet.exception
        expected_ok = (
            isinstance(caught, gevent.GreenletExit) if thrown is None else caught is thrown
        )
        if not expected_ok:
            raise AssertionError(
                f"{how}: the killed call raised {caught!r} instead of the exception it was "
                f"killed with ({thrown!r})"
            ) from caught
        return Outcome(True, exception=caught)
    timer = gevent.Timeout(after, thrown) if thrown is not None else gevent.Timeout(after)
    try:
        with timer:
            value = call()
    except BaseException as caught:
        if thrown is None:
            ok = caught is timer
        elif isinstance(thrown, type):
            ok = type(caught) is thrown
        else:
            ok = caught is thrown
        if not ok:
            raise AssertionError(
                f"{how}: the interrupted call raised {caught!r} instead of what was thrown "
                f"in ({thrown if thrown is not None else timer!r})"
            ) from caught
        return Outcome(True, exception=caught)
    return Outcome(False, value)


def retried(call: Callable[[], Any], what: str, cause: str) -> Any:
    """Run *call* to completion (bounded); an exception fails the test with a message saying
    the channel did not survive *cause*."""
    try:
        with gevent.Timeout(PATIENCE, AssertionError(f"{what} hung after {cause}")):
            return call()
    except AssertionError:
        raise
    except BaseException as exc:
        raise AssertionError(
            f"{what} failed after {cause}: {exc!r} (the channel did not stay intact)"
        ) from exc


# -- measurements ---------------------------------------------------------------------------


def open_fds() -> dict[int, str]:
    """This process's open file descriptors and what each points at."""
    found: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the descriptor listdir itself used, closed by now
    return found


def live_greenlets() -> list[gevent.Greenlet]:
    """Every gevent.Greenlet that is not dead."""
    import gc

    return [
        obj
        for obj in gc.get_objects()
        if isinstance(obj, gevent.Greenlet) and not obj.dead
    ]


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE")


def ensure_descriptors(needed: int) -> tuple[bool, str]:
    """Raise RLIMIT_NOFILE so that *needed* descriptors fit: the soft limit up to the hard
    one, and the hard one too where allowed (root). ``(ok, why not)``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            except (ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        return False, f"RLIMIT_NOFILE is {soft} (hard {hard}); {needed} descriptors are needed"
    return True, ""
