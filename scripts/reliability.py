#!/usr/bin/env python3
"""Run greensock's reliability suite (tests/reliability) with the long settings, by hand.

CI runs the suite with its short settings (1,000 connections, a fixed set of hypothesis
examples, a 4 s soak). This script runs it with long ones, through environment variables the
suite reads (see tests/reliability/_support.py), then prints a short summary::

    python scripts/reliability.py                    # 10,000 connections, 200 examples, 5 min soak
    python scripts/reliability.py --connections 2000 --examples 50 --soak 60
    python scripts/reliability.py -k interruption    # extra pytest arguments pass through

It raises RLIMIT_NOFILE for the run (the soft limit up to the hard one, and the hard one too
where it may: root) so that every connection's two descriptors fit, and includes the tests
marked ``slow``. Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def raise_descriptor_limit(needed: int) -> str:
    """Raise RLIMIT_NOFILE towards *needed* (inherited by pytest); say what it is now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else max(hard, needed)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
    except (ValueError, OSError):
        if hard != resource.RLIM_INFINITY:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    note = f"RLIMIT_NOFILE {soft} (hard {hard})"
    if soft != resource.RLIM_INFINITY and soft < needed:
        note += (f": below the {needed} that both ends in one process need; the TCP load "
                 "tests put their clients in a child process, the Unix one skips")
    return note


def summarize(report: Path) -> tuple[dict[str, int], list[str]]:
    """Counts and failing test ids from pytest's JUnit XML report."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failing: list[str] = []
    tree = ElementTree.parse(report)
    for case in tree.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None:
            counts["failed"] += 1
            failing.append(name)
        elif case.find("error") is not None:
            counts["errors"] += 1
            failing.append(name + " (error)")
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts, failing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=10_000,
                        help="concurrent connections of the load tests (default 10,000)")
    parser.add_argument("--examples", type=int, default=200,
                        help="hypothesis examples per interruption test (default 200)")
    parser.add_argument("--soak", type=float, default=300.0,
                        help="seconds the soak test runs (default 300)")
    parser.add_argument("--no-slow", action="store_true",
                        help="leave out the tests marked slow")
    options, extra = parser.parse_known_args()

    env = dict(os.environ)
    env.update(
        GREENSOCK_RELIABILITY_CONNECTIONS=str(options.connections),
        GREENSOCK_RELIABILITY_EXAMPLES=str(options.examples),
        GREENSOCK_RELIABILITY_SOAK=str(options.soak),
        GREENSOCK_RELIABILITY_LONG="0" if options.no_slow else "1",
        # The checkout's greensock, whatever is installed.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    limit = raise_descriptor_limit(2 * options.connections + 512)
    # Generous per-test limits: the long settings take longer than CI's defaults allow.
    timeout = str(max(600, int(options.soak * 3) + 120))
    with tempfile.TemporaryDirectory(prefix="gsrel") as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", "-q", str(ROOT / "tests" / "reliability"),
                   f"--junitxml={report}", f"--timeout={timeout}", "-p", "no:cacheprovider",
                   *extra]
        print(f"reliability: {options.connections} connections, {options.examples} examples "
              f"per hypothesis test, {options.soak:g} s soak, {limit}", flush=True)
        started = time.monotonic()
        status = subprocess.call(command, cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        if not report.exists():
            print(f"reliability: pytest wrote no report (exit {status})")
            return status or 1
        counts, failing = summarize(report)
    print()
    print(f"reliability summary ({elapsed:.0f} s): " +
          ", ".join(f"{value} {name}" for name, value in counts.items()))
    for name in failing:
        print(f"  failing: {name}")
    return status


if __name__ == "__main__":
    sys.exit(main())
