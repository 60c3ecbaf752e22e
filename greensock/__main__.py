"""Command line: ``python -m greensock {demo,echo,nc,bench}`` (SPEC section 10).

- ``demo``: an echo server and a client in one process print their exchange and exit 0.
- ``echo``: an echo server (RFC 862: every byte back, unchanged) until SIGINT or SIGTERM.
- ``nc``: a netcat-like client: standard input to the peer, the peer to standard output.
- ``bench``: the benchmark of ``scripts/bench.py`` (source checkouts only).

Every error is one line on standard error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import ssl
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import gevent
import gevent.os
from gevent.event import Event

from . import (
    Datagram,
    InetSocketAddress,
    UnixSocketAddress,
    aSocket,
    serve,
    serveWorkers,
)
from .errors import ClosedChannelException
from .stream import StreamSocket
from .workers import stop_signals

PROG = "python -m greensock"
#: Bytes read from standard input at a time; with --udp, the most one datagram carries
#: (the largest UDP payload over IPv4).
STDIN_CHUNK = 65507
#: Seconds a connect or a TLS handshake of ``nc`` may take.
CONNECT_TIMEOUT = 10.0
#: Seconds ``echo`` waits, once stopped, for handlers whose sockets stop() closed.
JOIN_TIMEOUT = 5.0


class CommandError(Exception):
    """An error to report as one line (the message), with exit status 1."""


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (no usage dump), status 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class Task:
    """*fn* in a greenlet of its own, whose exception is kept for the caller to raise (gevent
    would print its traceback otherwise)."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.error: Exception | None = None

        def run() -> None:
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 -- raised by finish(), in the caller
                self.error = exc

        self.greenlet = gevent.spawn(run)

    def finish(self) -> None:
        """Raise the exception that ended *fn*; if it still runs, stop it (without waiting)."""
        if self.error is not None:
            raise self.error
        self.greenlet.kill(block=False)


# -- echo ------------------------------------------------------------------------------------


def _echo_stream(sock: Any) -> None:
    """RFC 862 over a stream: every byte back as it comes, then half-close at the peer's EOF."""
    try:
        sock.openReadChannel().copyAndClose(sock.openWriteChannel())
    except (OSError, EOFError):
        pass  # a peer that resets, or stop() closing the socket: nothing to echo any more


def _announce(address: Any) -> None:
    """The first line of ``echo``'s output, which scripts wait for."""
    print(f"listening on {address}", flush=True)


def _server_context(files: Sequence[str]) -> ssl.SSLContext:
    """A server-side TLS context with the certificate chain and key of *files*."""
    certfile, keyfile = files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CommandError(
            f"cannot load certificate {certfile} with key {keyfile}: {reason}"
        ) from None
    return context


def _until_stop_signal(extra: list[Any] | None = None) -> None:
    """Block until SIGINT or SIGTERM (or until one of *extra* is ready)."""
    stop = Event()
    with stop_signals(lambda number: stop.set()):
        gevent.wait([stop, *(extra or [])], count=1)


def echo(args: argparse.Namespace) -> int:
    """Serve RFC 862 echo until SIGINT or SIGTERM; 0 after a graceful stop."""
    context = _server_context(args.tls) if args.tls else None
    if args.unix is not None:
        if args.host is not None or args.port is not None:
            raise CommandError("--unix PATH takes no HOST or PORT")
        if args.udp or args.workers:
            raise CommandError("--unix serves TCP-like streams in one process only")
    host = "127.0.0.1" if args.host is None else args.host
    port = 7007 if args.port is None else args.port
    if args.udp:
        if context is not None or args.workers:
            raise CommandError("--udp goes with neither --tls nor --workers")
        return _echo_datagrams(host, port)
    if args.workers:
        address = InetSocketAddress(host, port)
        serveWorkers(address, _echo_stream, workers=args.workers, tls=context, ready=_announce)
        return 0
    tcp = aSocket().tcp()
    server = tcp.bind(UnixSocketAddress(args.unix)) if args.unix else tcp.bind(host, port)
    serving = serve(server, _echo_stream, tls=context)
    _announce(server.localAddress)
    _until_stop_signal([gevent.spawn(serving.join)])
    serving.stop()
    serving.join(JOIN_TIMEOUT)
    return 0


def _echo_datagrams(host: str, port: int) -> int:
    """Send every datagram back to its sender until SIGINT or SIGTERM."""
    sock = aSocket().udp().bind(host, port)

    def loop() -> None:
        for datagram in sock.incoming:
            try:
                sock.send(datagram)
            except ClosedChannelException:
                return
            except OSError as exc:  # one sender's trouble (EMSGSIZE...) is not the server's
                logging.getLogger("greensock.echo").warning("echo to %s: %s", datagram.address, exc)

    echoing = Task(loop)
    _announce(sock.localAddress)
    _until_stop_signal([echoing.greenlet])
    sock.close()
    echoing.greenlet.join(JOIN_TIMEOUT)
    echoing.finish()
    return 0


# -- nc --------------------------------------------------------------------------------------


def _read_stdin() -> bytes:
    """The next chunk of standard input, b"" at its end, from a thread of gevent's pool:
    making fd 0 non-blocking would change it for every process sharing it (the shell)."""
    data: bytes = gevent.os.tp_read(0, STDIN_CHUNK)
    return data


def _write_stdout(data: bytes) -> None:
    """Write all of *data* to standard output, from a thread (a slow reader blocks only the
    calling greenlet)."""
    view = memoryview(data)
    while view:
        view = view[gevent.os.tp_write(1, view) :]


def _client_context(args: argparse.Namespace) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=args.cafile)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CommandError(f"cannot load CA file {args.cafile}: {reason}") from None


def netcat(args: argparse.Namespace) -> int:
    """Standard input to the peer, the peer to standard output; 0 once the peer has closed."""
    if (args.cafile or args.servername) and not args.tls:
        raise CommandError("--cafile and --servername go with --tls")
    if args.unix is not None and (args.host is not None or args.port is not None):
        raise CommandError("--unix PATH takes no HOST or PORT")
    if args.unix is None and (args.host is None or args.port is None):
        raise CommandError("HOST and PORT are needed (or --unix PATH)")
    if args.udp:
        if args.tls or args.unix is not None:
            raise CommandError("--udp goes with neither --tls nor --unix")
        return _netcat_datagrams(args)
    tcp = aSocket().tcp()
    if args.unix is not None:
        plain = tcp.connect(UnixSocketAddress(args.unix), timeout=CONNECT_TIMEOUT)
    else:
        plain = tcp.connect(args.host, args.port, timeout=CONNECT_TIMEOUT)
    with plain:  # closed at once by a successful tls(), which hands the connection over
        sock: StreamSocket = plain
        if args.tls:
            context = _client_context(args)
            sock = plain.tls(context, serverName=args.servername, timeout=CONNECT_TIMEOUT)
        with sock:
            incoming, outgoing = sock.openReadChannel(), sock.openWriteChannel()

            def send() -> None:
                while chunk := _read_stdin():
                    outgoing.writeFully(chunk)
                    outgoing.flush()
                outgoing.close()  # half-close: the peer sees EOF and may still answer

            sender = Task(send)
            for chunk in incoming.chunks():
                _write_stdout(chunk)
            sender.finish()  # standard input may never end: the peer's end is nc's
    return 0


def _netcat_datagrams(args: argparse.Namespace) -> int:
    """Each stdin chunk one datagram; each datagram received written out; after stdin's end,
    wait for answers until none came for ``--wait`` seconds. An error of the socket (an ICMP
    "port unreachable" is ConnectionRefusedError) ends it at once."""
    sock = aSocket().udp().connect(InetSocketAddress(args.host, args.port))
    arrived = Event()

    def receive() -> None:
        for datagram in sock.incoming:
            _write_stdout(datagram.packet)
            arrived.set()

    def send() -> None:
        while chunk := _read_stdin():
            sock.send(Datagram(chunk, sock.remoteAddress))

    with sock:
        receiver, sender = Task(receive), Task(send)
        gevent.wait([sender.greenlet, receiver.greenlet], count=1)
        while sender.greenlet.dead and sender.error is None and not receiver.greenlet.dead:
            arrived.clear()
            gevent.wait([arrived, receiver.greenlet], timeout=args.wait, count=1)
            if not arrived.is_set():
                break
        sender.finish()
        receiver.finish()  # what ended it early, if anything did
    return 0


# -- demo and bench --------------------------------------------------------------------------


def demo() -> int:
    """Serve echo and talk to it in one process, printing the exchange; 0 when every line
    came back unchanged and the server closed after the client's EOF."""
    server = aSocket().tcp().bind("127.0.0.1", 0)
    with serve(server, _echo_stream):
        print(f"server: listening on {server.localAddress}", flush=True)
        with aSocket().tcp().connect("127.0.0.1", server.port, timeout=5) as client:
            print(f"client: connected from {client.localAddress}", flush=True)
            connection = client.connection()
            echoed = []
            for text in ("hello, greensock", "ktor sockets on gevent", "bye"):
                print(f"client: send {text!r}", flush=True)
                connection.output.writeStringUtf8(text + "\n")
                connection.output.flush()
                reply = connection.input.readUTF8Line()
                print(f"client: got {reply!r}", flush=True)
                echoed.append(reply == text)
            connection.output.close()
            ended = connection.input.readUTF8Line() is None
    ok = all(echoed) and ended
    print("demo: ok" if ok else "demo: FAILED", flush=True)
    return 0 if ok else 1


def bench(arguments: Sequence[str]) -> int:
    """Run scripts/bench.py with *arguments* (needs a source checkout)."""
    # Beside the package in a checkout or an editable install; else the checkout we stand in.
    places = (Path(__file__).resolve().parent.parent, Path.cwd())
    script = next(
        (
            place / "scripts" / "bench.py"
            for place in places
            if (place / "scripts/bench.py").is_file()
        ),
        None,
    )
    if script is None:
        raise CommandError("scripts/bench.py not found; run from a source checkout")
    sys.argv = [os.fspath(script), *arguments]
    sys.path.insert(0, os.fspath(script.parent))
    try:
        runpy.run_path(os.fspath(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


# -- the parser ------------------------------------------------------------------------------


def _bounded(convert: Callable[[str], Any], low: float, high: float, what: str) -> Any:
    """An argparse ``type``: *text* converted, when that works and lands in [low, high]."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # NaN fails the comparison too
            raise argparse.ArgumentTypeError(f"{what}: {text!r}")
        return value

    return parse


_PORT = _bounded(int, 0, 65535, "port must be a number from 0 to 65535")
_PEER_PORT = _bounded(int, 1, 65535, "port must be a number from 1 to 65535")
_COUNT = _bounded(int, 1, 10_000, "must be a whole number from 1 to 10000")
_SECONDS = _bounded(float, 0, 86_400, "must be a number of seconds up to a day")


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    top = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("demo", help="echo server and client in one process")

    echo = commands.add_parser("echo", help="echo server (RFC 862)")
    echo.add_argument("host", nargs="?", metavar="HOST", help="default 127.0.0.1")
    echo.add_argument("port", nargs="?", type=_PORT, metavar="PORT", help="default 7007; 0 picks")
    echo.add_argument("--unix", metavar="PATH", help="serve on a Unix socket instead")
    echo.add_argument("--udp", action="store_true", help="echo datagrams to their senders")
    echo.add_argument("--tls", nargs=2, metavar=("CERTFILE", "KEYFILE"), help="serve TLS")
    echo.add_argument("--workers", type=_COUNT, metavar="N", help="N processes share the port")

    nc = commands.add_parser("nc", help="netcat-like client")
    nc.add_argument("host", nargs="?", metavar="HOST")
    nc.add_argument("port", nargs="?", type=_PEER_PORT, metavar="PORT")
    nc.add_argument("--unix", metavar="PATH", help="connect to a Unix socket instead")
    nc.add_argument("--udp", action="store_true", help="each stdin chunk is one datagram")
    nc.add_argument("--tls", action="store_true", help="speak TLS to the peer")
    nc.add_argument("--cafile", metavar="FILE", help="trust the CAs in FILE (with --tls)")
    nc.add_argument("--servername", metavar="NAME", help="the name the certificate must have")
    nc.add_argument(
        "--wait",
        type=_SECONDS,
        default=1.0,
        metavar="SECONDS",
        help="with --udp: after stdin's end, exit once no datagram came for SECONDS (1)",
    )
    commands.add_parser("bench", help="benchmark against the peers", add_help=False)
    return top


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv* and run the chosen command; the exit status."""
    top = parser()
    args, rest = top.parse_known_args(argv)
    if args.command == "bench":
        return _reporting("bench", lambda: bench(rest))
    if rest:
        top.error(f"unrecognized arguments: {' '.join(rest)}")
    run: dict[str, Callable[[], int]] = {
        "demo": demo,
        "echo": lambda: echo(args),
        "nc": lambda: netcat(args),
    }
    return _reporting(args.command, run[args.command])


def _reporting(command: str, run: Callable[[], int]) -> int:
    """Run a command; turn what escapes it into one line on stderr and an exit status."""
    logging.basicConfig(format=f"{PROG} {command}: %(name)s: %(levelname)s: %(message)s")
    try:
        return run()
    except KeyboardInterrupt:
        return 130
    except CommandError as exc:
        message = str(exc)
    except (OSError, EOFError, ValueError, ssl.SSLError) as exc:
        message = _one_line(exc)
    except Exception as exc:  # noqa: BLE001 -- a bug still gets one line, not a traceback
        message = f"internal error: {type(exc).__name__}: {_one_line(exc)}"
    print(f"{PROG} {command}: {message}", file=sys.stderr, flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
