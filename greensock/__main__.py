"""Command line: ``python -m greensock {demo,echo,nc,bench}``.

- ``demo``: an echo server and a client in one process print their exchange and exit 0.
- ``echo``: an echo server (lines or raw bytes) until interrupted.
- ``nc``: a netcat-like client: standard input to the peer, the peer to standard output.
- ``bench``: the benchmark of ``scripts/bench.py`` (source checkouts only).
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

import gevent
import gevent.fileobject

from . import aSocket
from .tcp import ServerSocket, TcpSocket


def _echo_connection(sock: TcpSocket, log: bool) -> None:
    """Echo every line back, upper-cased, until the peer half-closes."""
    with sock:
        connection = sock.connection()
        for line in connection.input.lines(limit=65536):
            if log:
                print(f"server: got {line!r}", flush=True)
            connection.output.writeStringUtf8(line.upper() + "\n")
            connection.output.flush()
        connection.output.close()


def _serve(server: ServerSocket, log: bool) -> None:
    for sock in server:
        gevent.spawn(_echo_connection, sock, log)


def demo() -> int:
    """Run an echo server and a client in one process, print the exchange; 0 on success."""
    with aSocket().tcp().bind("127.0.0.1", 0) as server:
        print(f"server: listening on {server.localAddress}", flush=True)
        acceptor = gevent.spawn(_serve, server, True)
        with aSocket().tcp().connect("127.0.0.1", server.port, timeout=5) as client:
            print(f"client: connected from {client.localAddress}", flush=True)
            connection = client.connection()
            expected = []
            for text in ("hello, greensock", "ktor sockets on gevent", "bye"):
                print(f"client: send {text!r}", flush=True)
                connection.output.writeStringUtf8(text + "\n")
                connection.output.flush()
                reply = connection.input.readUTF8Line()
                print(f"client: got {reply!r}", flush=True)
                expected.append(reply == text.upper())
            connection.output.close()
            ended = connection.input.readUTF8Line() is None
        acceptor.kill()
    ok = all(expected) and ended
    print("demo: ok" if ok else "demo: FAILED", flush=True)
    return 0 if ok else 1


def echo(host: str, port: int) -> int:
    """Serve until interrupted."""
    with aSocket().tcp().bind(host, port) as server:
        print(f"echo: listening on {server.localAddress}", flush=True)
        _serve(server, False)
    return 0


def netcat(host: str, port: int) -> int:
    """Copy standard input to the peer and the peer to standard output."""
    with aSocket().tcp().connect(host, port, timeout=10) as sock:
        connection = sock.connection()

        def pump_out() -> None:
            stdin = gevent.fileobject.FileObject(sys.stdin.buffer, "rb")
            while chunk := stdin.read1(65536):
                connection.output.writeFully(chunk)
                connection.output.flush()
            connection.output.close()

        sender = gevent.spawn(pump_out)
        stdout = sys.stdout.buffer
        for chunk in connection.input.chunks():
            stdout.write(chunk)
            stdout.flush()
        sender.kill()
    return 0


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
        print("bench: scripts/bench.py not found; run from a source checkout", file=sys.stderr)
        return 2
    sys.argv = [os.fspath(script), *arguments]
    sys.path.insert(0, os.fspath(script.parent))
    try:
        runpy.run_path(os.fspath(script), run_name="__main__")
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse *argv* and run the chosen command."""
    parser = argparse.ArgumentParser(
        prog="python -m greensock", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="echo server and client in one process")
    for name, helptext in (("echo", "echo server"), ("nc", "netcat-like client")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("host", nargs="?" if name == "echo" else None, default="127.0.0.1")
        sub.add_argument("port", type=int, nargs="?" if name == "echo" else None, default=7007)
    commands.add_parser("bench", help="benchmark against the peers", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        return bench(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "demo":
        return demo()
    if args.command == "echo":
        return echo(args.host, args.port)
    return netcat(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
