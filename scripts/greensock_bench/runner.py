"""The benchmark's command line: plan the runs, interleave them, report.

Runs are interleaved: each repetition runs every selected workload on every stack in turn
(A B C, B C A, C A B ...), so slow drifts of a shared machine hit all stacks alike; the report
gives medians, min-max, ratios of medians and paired ratios to raw gevent, for the rates
and for the CPU time both processes spent per operation.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import report, stacks, stats, sysinfo
from .orchestrate import RunError, child_env, run_once
from .protocol import MAX_CONNECTIONS, WORKLOADS, metric_values

QUICK_DURATION = 0.3
QUICK_CONNECTIONS = {"W3": 50, "W6": 200}
DEFAULT_DURATION = 3.0
DEFAULT_REPEAT = 3


def _names(
    text: str,
    known: dict[str, Any],
    what: str,
    parts: Callable[[str], tuple[str, ...]] = lambda name: (name,),
) -> list[str]:
    """The comma-separated names of *text*; each of their *parts* must be *known*."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [part for name in names for part in parts(name) if part not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}"
        )
    return names


def _connections(text: str) -> dict[str, int]:
    """``N`` (W3 and W6) or ``W3=N,W6=M``."""
    try:
        if "=" not in text:
            return {"W3": int(text), "W6": int(text)}
        pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
        counts = {key.strip().upper(): int(value) for key, value in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --connections {text!r}") from None
    if set(counts) - {"W3", "W6"}:
        raise argparse.ArgumentTypeError("--connections applies to W3 and W6 only")
    if any(not 1 <= n <= MAX_CONNECTIONS for n in counts.values()):
        raise argparse.ArgumentTypeError(f"connections must be 1..{MAX_CONNECTIONS}")
    return counts


def _cpus(text: str) -> set[int]:
    """``0`` or ``0,1``: CPUs this machine has."""
    try:
        cpus = {int(item) for item in text.split(",") if item.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --cpus {text!r}") from None
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if not cpus or not cpus <= allowed:
        raise argparse.ArgumentTypeError(
            f"--cpus {text!r}: choose from the CPUs this process may use, {sorted(allowed)}"
        )
    return cpus


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (``--quick`` fills in what was not given)."""
    parser = argparse.ArgumentParser(
        prog="bench",
        description="Socket benchmark: greensock against raw gevent, asyncio, uvloop, trio "
        "and gevent's floor (bare kernel sockets and gevent's wait).",
    )
    parser.add_argument("--duration", type=float, help=f"seconds per run ({DEFAULT_DURATION:g})")
    parser.add_argument("--repeat", type=int, help=f"interleaved repetitions ({DEFAULT_REPEAT})")
    parser.add_argument(
        "--workloads",
        type=lambda t: _names(t.upper(), WORKLOADS, "workload"),
        default=list(WORKLOADS),
        help="comma-separated, from "
        + ", ".join(f"{k} ({w.describe(w.default_connections)})" for k, w in WORKLOADS.items()),
    )
    parser.add_argument(
        "--stacks",
        type=lambda t: _names(t.lower(), stacks.STACKS, "stack", stacks.sides),
        default=stacks.DEFAULT_STACKS,
        help=f"comma-separated, from {', '.join(stacks.STACKS)} (default: "
        f"{', '.join(stacks.DEFAULT_STACKS)}); SERVER/CLIENT (such as greensock/gevent) runs "
        "the server on one stack and the client on another",
    )
    parser.add_argument(
        "--connections",
        type=_connections,
        default={},
        help="connections for W3 and W6: N for both, or W3=N,W6=M (defaults 1000, 10000)",
    )
    parser.add_argument(
        "--cpus",
        type=_cpus,
        help="run every process on these CPUs only, as taskset -c does (e.g. 0, or 0,1): on "
        "one CPU each wake-up is a context switch there, not an interrupt to an idle CPU",
    )
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="output dir")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke mode: {QUICK_DURATION:g} s runs, 1 repetition, few connections",
    )
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = QUICK_DURATION if args.quick else DEFAULT_DURATION
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    if args.quick:
        args.connections = {**QUICK_CONNECTIONS, **args.connections}
    if args.duration <= 0 or args.duration > 600 or args.repeat < 1 or args.repeat > 100:
        parser.error("--duration must be in (0, 600] and --repeat in 1..100")
    return args


def _progress(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _skips(
    args: argparse.Namespace, env: dict[str, str]
) -> tuple[dict[str, str], dict[str, str], dict[tuple[str, str], str]]:
    """What cannot run, with the reason: stacks, workloads, and (workload, stack) pairs."""
    stack_skips: dict[str, str] = {}
    pair_skips: dict[tuple[str, str], str] = {}
    for name in args.stacks:
        for side in dict.fromkeys(stacks.sides(name)):
            found = stacks.probe(side, env)
            if found.reason:
                stack_skips.setdefault(name, found.reason)
            for key in args.workloads:
                if WORKLOADS[key].kind in found.missing:
                    pair_skips.setdefault((key, name), found.missing[WORKLOADS[key].kind])
    workload_skips = {}
    hard = sysinfo.nofile_hard_limit()
    for key in args.workloads:
        needed = sysinfo.fds_needed(WORKLOADS[key].connections(args.connections.get(key)))
        if hard < needed:
            workload_skips[key] = f"RLIMIT_NOFILE hard limit {hard} < {needed} needed"
    return stack_skips, workload_skips, pair_skips


def interleaved_plan(
    repeat: int, workloads: list[str], stack_names: list[str], skips: set[tuple[str, str]]
) -> list[tuple[int, str, str]]:
    """The runs in order: (repetition, workload, stack), every pair but *skips* once per
    repetition.

    Each repetition starts the stacks one further along (A B C, then B C A, then C A B): the
    first run after a change of workload inherits what the previous one left behind (tens of
    thousands of sockets in TIME_WAIT, gigabytes just copied through loopback), and with a
    fixed order the same stack would always pay for it.
    """
    plan = []
    for rep in range(repeat):
        shift = rep % len(stack_names) if stack_names else 0
        rotated = stack_names[shift:] + stack_names[:shift]
        plan += [
            (rep, workload, stack)
            for workload in workloads
            for stack in rotated
            if (workload, stack) not in skips
        ]
    return plan


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write bench.json, bench.md and bench.png into ``--out``.

    Returns 0 when every run succeeded, 1 when some failed (they are in the report).
    """
    args = parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, args.cpus)  # the servers and clients started from here inherit it
    env = child_env()
    stack_skips, workload_skips, pair_skips = _skips(args, env)
    skipped = {**stack_skips, **workload_skips}
    skipped.update({f"{key} on {stack}": reason for (key, stack), reason in pair_skips.items()})
    for name, reason in skipped.items():
        _progress(f"{name}: skipped ({reason})")
    run_stacks = [s for s in args.stacks if s not in stack_skips]
    run_workloads = [w for w in args.workloads if w not in workload_skips]
    plan = interleaved_plan(args.repeat, run_workloads, run_stacks, set(pair_skips))
    _progress(
        f"{len(plan)} runs of {args.duration:g} s: workloads {','.join(run_workloads) or '-'}, "
        f"stacks {','.join(run_stacks) or '-'}, {args.repeat} repetition(s)"
    )
    samples: list[dict[str, Any]] = []
    try:
        for index, (rep, key, stack) in enumerate(plan, 1):
            sample = _run(args, rep, key, stack, env)
            samples.append(sample)
            _progress(f"[{index:>{len(str(len(plan)))}}/{len(plan)}] {sample.pop('shown')}")
    except KeyboardInterrupt:
        _progress(f"interrupted after {len(samples)} of {len(plan)} runs; reporting those")
        _finish(args, samples, run_stacks, skipped)
        return 130
    return _finish(args, samples, run_stacks, skipped)


def _run(
    args: argparse.Namespace, rep: int, key: str, stack: str, env: dict[str, str]
) -> dict[str, Any]:
    """One run as a sample (``ok`` False with the error when it failed), plus a ``shown`` line."""
    workload = WORKLOADS[key]
    connections = workload.connections(args.connections.get(key))
    began = time.monotonic()
    sample: dict[str, Any] = {
        "workload": key,
        "stack": stack,
        "rep": rep,
        "connections": connections,
    }
    try:
        raw = run_once(stack, key, args.duration, connections, env)
        sample.update(ok=True, error=None, **raw)
        sample["metrics"] = metric_values(
            workload, raw["result"], raw["rss"], raw["cpu"], connections
        )
        shown = ", ".join(
            f"{report.number(sample['metrics'][m.key])} {m.unit}" for m in workload.metrics
        )
    except RunError as error:
        sample.update(ok=False, error=str(error), metrics={})
        shown = "FAILED: " + _last_line(str(error))
    sample["wall_seconds"] = round(time.monotonic() - began, 3)
    sample["shown"] = (
        f"{key} {stack:<9} rep {rep + 1}/{args.repeat}: {shown} ({sample['wall_seconds']:.1f} s)"
    )
    return sample


def _last_line(text: str) -> str:
    """The first line of an error and, when it has more, its last one (the exception)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) > 1:
        return f"{lines[0]} ... {lines[-1]}"
    return lines[0] if lines else "(no message)"


def _finish(
    args: argparse.Namespace, samples: list[dict[str, Any]], run_stacks: list[str],
    skipped: dict[str, str],
) -> int:  # fmt: skip
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "duration": args.duration,
        "repeat": args.repeat,
        "workloads": args.workloads,
        "stacks": args.stacks,
        "connections": {k: WORKLOADS[k].connections(args.connections.get(k)) for k in ("W3", "W6")},
        "baseline": stacks.BASELINE,
        "cpus": sorted(args.cpus) if args.cpus else None,
        "machine": sysinfo.machine(),
    }
    rows = stats.summarize(samples, run_stacks, stacks.BASELINE)
    scaling = [
        (row, reference)
        for stack, reference in stacks.scaling_pairs(run_stacks)
        for row in stats.summarize(samples, [reference, stack], reference)
        if row.stack == stack
    ]
    table = report.markdown(rows, skipped, meta, scaling)
    args.out.mkdir(parents=True, exist_ok=True)
    document = {
        "meta": meta,
        "skipped": skipped,
        "summary": [row.as_dict() for row in rows],
        "scaling": [{**row.as_dict(), "over": reference} for row, reference in scaling],
        "samples": samples,
    }
    report.write_json(args.out / "bench.json", document)
    (args.out / "bench.md").write_text(table, encoding="utf-8")
    drawn = report.write_png(args.out / "bench.png", rows, stacks.BASELINE)
    sys.stdout.write(table)
    outputs = "bench.json, bench.md" + (", bench.png" if drawn else " (no matplotlib: no PNG)")
    _progress(f"wrote {outputs} in {args.out}")
    return 0 if all(s["ok"] for s in samples) else 1
