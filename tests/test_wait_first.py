"""The wait-first policy (greensock.waitfirst), seen from the kernel and from the hub.

A receive that asks the kernel while nothing is queued makes a failing system call (EAGAIN);
the policy's point is to make few of them when answers come late, and no needless trip
through the hub when they come early. The first is counted with ``strace`` on a child
process (tests/wait_first_child.py), the second with greenlet's public switch tracing.
"""

from __future__ import annotations

import re
import shutil
import socket as stdsocket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import greenlet
import pytest
from processes import child_env

from greensock import aSocket
from greensock.waitfirst import WaitForAnswers

pytestmark = pytest.mark.timeout(60)

LOCAL = "127.0.0.1"
CHILD = Path(__file__).with_name("wait_first_child.py")
STRACE = shutil.which("strace")
ROUNDS = 20


def failed_receives(kind: str, rounds: int, run: int, tmp_path: Path) -> int:
    """How many receives of the child's client found nothing queued (EAGAIN), in *rounds*
    exchanges with an echo server, with ``WaitForAnswers.run`` set to *run*."""
    if STRACE is None:
        pytest.skip("strace is not installed (.ci/run installs it where it can)")
    log = tmp_path / f"{kind}-{run}.strace"
    done = subprocess.run(
        [
            *(STRACE, "-qq", "-yy", "-e", "trace=recvfrom,recvmsg", "-o", str(log)),
            *(sys.executable, str(CHILD), kind, str(rounds), str(run)),
        ],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=50,
    )
    if done.returncode and "ptrace" in done.stderr:
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    printed = done.stdout.split()
    assert printed[-1] == "done", done.stdout
    port = printed[printed.index("client") + 1]
    # With -yy, strace names each descriptor by its endpoints: the client's starts with its
    # own address, and only the client has that local port.
    client = re.compile(rf"^recv\w+\(\d+<(?:TCP|UDP):\[{re.escape(LOCAL)}:{port}[\]-]")
    calls = [line for line in log.read_text().splitlines() if client.match(line)]
    assert len(calls) >= rounds, "the trace does not show the client's receives"
    return sum("EAGAIN" in line for line in calls)


@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_late_answers_are_waited_for_instead_of_asked_for(kind: str, tmp_path: Path) -> None:
    # The echo server runs on the client's own hub: it has not read the question when the
    # client starts reading, so every answer comes late. Only the first receive of each run
    # asks first (a stream socket's run starts waiting at once, a datagram socket's after
    # its first failed receive).
    run = WaitForAnswers.run
    expected = ROUNDS // (run + 1) if kind == "tcp" else len(range(0, ROUNDS, run + 1))
    assert failed_receives(kind, ROUNDS, run, tmp_path) == expected


@pytest.mark.parametrize("kind", ["tcp", "udp"])
def test_run_0_turns_the_policy_off(kind: str, tmp_path: Path) -> None:
    # Every receive then asks first, and finds nothing: the count the policy exists to avoid.
    assert failed_receives(kind, ROUNDS, 0, tmp_path) == ROUNDS


@pytest.fixture
def hub_switches() -> Iterator[list[int]]:
    """A one-element list counting switches into the hub while the test runs."""
    hub = gevent.get_hub()
    count = [0]

    def trace(event: str, args: Any) -> None:
        if event in ("switch", "throw") and args[1] is hub:
            count[0] += 1

    previous = greenlet.settrace(trace)
    try:
        yield count
    finally:
        greenlet.settrace(previous)


def test_answers_that_are_always_there_bring_reads_back_to_asking_first(
    hub_switches: list[int],
) -> None:
    # A plain (not cooperative) peer queues each answer before the client reads it: the
    # first WaitForAnswers.run reads after a write trip through the hub needlessly, then
    # reads ask the kernel at once and never leave the reading greenlet.
    run = WaitForAnswers.run
    tcp = aSocket().tcp()
    with stdsocket.create_server((LOCAL, 0)) as listener:
        client = tcp.connect(LOCAL, listener.getsockname()[1])
        peer, _ = listener.accept()
        with peer, client:
            reader, writer = client.openReadChannel(), client.openWriteChannel()
            perRound = []
            for index in range(3 * run):
                writer.writeStringUtf8(f"question {index}\n")
                writer.flush()
                assert peer.recv(64) == f"question {index}\n".encode()
                peer.sendall(f"answer {index}\n".encode())
                before = hub_switches[0]
                with gevent.Timeout(2):
                    assert reader.readUTF8Line() == f"answer {index}"
                perRound.append(hub_switches[0] - before)
    assert all(perRound[:run]), perRound  # waited first: a trip through the hub each
    assert not any(perRound[run:]), perRound  # then asked at once, and found the answer
