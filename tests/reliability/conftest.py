"""The reliability suite's own fixtures: hypothesis profiles, the ``slow`` marker, and the
module-wide check that nothing leaks (file descriptors, running greenlets)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import gevent
import gevent.socket
import gevent.subprocess
import pytest

from . import _support

try:
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # the interruption module skips itself without hypothesis
    pass
else:
    # CI: a fixed set of examples, no shrinking (a failure is reported as drawn, quickly).
    settings.register_profile(
        "ci",
        max_examples=_support.EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    # By hand (scripts/reliability.py): fresh examples each run, shrunk when one fails.
    settings.register_profile(
        "long",
        max_examples=_support.EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    settings.load_profile("long" if _support.LONG else "ci")

#: How long the leak check lets closes, drains and wake-ups finish before it counts.
SETTLE_SECONDS = 5.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: long settings of the reliability suite; run with GREENSOCK_RELIABILITY_LONG=1 "
        "(scripts/reliability.py)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _support.LONG:
        return
    skip = pytest.mark.skip(
        reason="slow: runs with GREENSOCK_RELIABILITY_LONG=1 (scripts/reliability.py)"
    )
    for item in items:
        if "slow" in item.keywords and "reliability" in str(item.fspath):
            item.add_marker(skip)


_warmed = False


def _warm_up() -> None:
    """Start what gevent keeps for the life of the process (resolver threads, the child
    watcher) before the first count, so that it is not mistaken for a leak."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    gevent.socket.getaddrinfo("localhost", 80)
    gevent.subprocess.run(["true"], check=False)
    if _support.has_trustme():
        _support.tls()


def _describe_greenlet(greenlet: gevent.Greenlet) -> str:
    return f"{greenlet!r} running {getattr(greenlet, '_run', None)!r}"


@pytest.fixture(scope="module", autouse=True)
def no_leaks() -> Iterator[None]:
    """Fail the module if it leaves more file descriptors open or more greenlets running
    than it found, after a short settle time."""
    _warm_up()
    gc.collect()
    fds_before = _support.open_fds()
    greenlets_before = {id(g) for g in _support.live_greenlets()}
    yield
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        gevent.sleep(0.05)
        gc.collect()
        fds = _support.open_fds()
        new_fds = {fd: target for fd, target in fds.items() if fd not in fds_before}
        new_greenlets = [g for g in _support.live_greenlets() if id(g) not in greenlets_before]
        if (len(fds) <= len(fds_before) and not new_greenlets) or time.monotonic() > deadline:
            break
    problems = []
    if len(fds) > len(fds_before):
        problems.append(
            f"{len(fds) - len(fds_before)} more file descriptors open than before the module: "
            f"{sorted(new_fds.items())[:20]}"
        )
    if new_greenlets:
        problems.append(
            f"{len(new_greenlets)} greenlets still running: "
            + "; ".join(_describe_greenlet(g) for g in new_greenlets[:10])
        )
    assert not problems, "leaked after the module: " + " / ".join(problems)
