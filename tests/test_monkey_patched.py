"""greensock under ``gevent.monkey.patch_all()`` (SPEC principle 1), in a fresh interpreter.

Patching is process-wide and irreversible, so the scenario runs in a subprocess: a server
greenlet echoes lines in upper case over TCP, a client sends lines, half-closes, reads the
answers to EOF and closes; the script prints what it saw.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCENARIO = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()

    import socket
    import threading

    import gevent
    import greensock

    assert monkey.is_module_patched("socket") and monkey.is_module_patched("threading")

    tcp = greensock.aSocket().tcp()
    server = tcp.bind("127.0.0.1", 0)

    def serve():
        with server.accept(timeout=10) as peer:
            reader, writer = peer.openReadChannel(), peer.openWriteChannel()
            for line in reader.lines(limit=1024):
                writer.writeStringUtf8(line.upper() + "\\n")
                writer.flush()
            writer.close()
        return "served"

    serving = gevent.spawn(serve)
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.001)) for _ in range(5)])

    client = tcp.connect("localhost", server.port, timeout=10)
    connection = client.connection()
    for word in ("alpha", "beta", "gamma"):
        connection.output.writeStringUtf8(word + "\\r\\n")
    connection.output.close()  # half-close: the server sees EOF after the three lines
    answers = list(connection.input.lines())
    client.close()
    print("answers:", ",".join(answers))
    print("client closed:", client.awaitClosed(5))
    print("server:", serving.get(timeout=5))
    server.close()
    print("server closed:", server.isClosed)
    ticker.join(5)
    print("other greenlets ran:", len(ticks) == 5)
    # A patched threading.Thread is a greenlet of this hub: same default selector.
    selectors = []
    thread = threading.Thread(target=lambda: selectors.append(greensock.aSocket().selector))
    thread.start()
    thread.join(5)
    print("thread shares selector:", selectors == [greensock.aSocket().selector])
    """
)

EXPECTED = [
    "answers: ALPHA,BETA,GAMMA",
    "client closed: True",
    "server: served",
    "server closed: True",
    "other greenlets ran: True",
    "thread shares selector: True",
]


@pytest.mark.timeout(60)
def test_echo_over_tcp_after_monkey_patch_all() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED, result.stderr
