"""The benchmark harness runs end to end (``--quick``) and reports what it promises.

Speed is never asserted: only that every run produced positive numbers in the documented
shape. The harness lives in ``scripts/`` (``scripts/bench.py``, package ``greensock_bench``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
BENCH = SCRIPTS / "bench.py"
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6"]
REQUIRED_STACKS = ["greensock", "gevent", "floor", "asyncio"]

sys.path.insert(0, str(SCRIPTS))

from greensock_bench import instructions, stacks, stats  # noqa: E402
from greensock_bench.orchestrate import child_env  # noqa: E402
from greensock_bench.protocol import WORKLOADS as TABLE  # noqa: E402
from greensock_bench.runner import interleaved_plan, parse_args  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    """One ``--quick`` run of every workload; its JSON document, output dir and stderr."""
    out = tmp_path_factory.mktemp("bench")
    argv = [
        sys.executable, str(BENCH), "--quick",
        "--workloads", ",".join(WORKLOADS),
        "--stacks", ",".join(REQUIRED_STACKS),
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=110, check=False)
    assert done.returncode == 0, f"bench failed:\n{done.stdout}\n{done.stderr}"
    document = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    return document, out, done.stderr


@pytest.mark.timeout(120)
def test_quick_bench_reports_positive_numbers_for_every_workload_and_stack(
    quick_run: tuple[dict[str, Any], Path, str],
) -> None:
    document, _, _ = quick_run
    assert set(document) >= {"meta", "skipped", "summary", "samples"}
    assert not document["skipped"], document["skipped"]
    for workload in WORKLOADS:
        for stack in REQUIRED_STACKS:
            runs = [
                s for s in document["samples"] if s["workload"] == workload and s["stack"] == stack
            ]
            assert len(runs) == 1, (workload, stack)
            sample = runs[0]
            assert sample["ok"], sample["error"]
            assert set(sample["metrics"]) == {m.key for m in TABLE[workload].metrics}
            assert all(value > 0 for value in sample["metrics"].values()), sample["metrics"]
            assert sample["result"]["seconds"] > 0
            if TABLE[workload].kind == "many":
                assert set(sample["rss"]) == {"base", "idle", "active"}
            # Both processes spent CPU time in the measured window, less than the run lasted.
            assert set(sample["cpu"]) == {"server", "client"}
            assert all(0 < seconds < sample["wall_seconds"] for seconds in sample["cpu"].values())


@pytest.mark.timeout(120)
def test_quick_bench_summary_has_medians_and_ratios_to_raw_gevent(
    quick_run: tuple[dict[str, Any], Path, str],
) -> None:
    document, out, progress = quick_run
    rows = document["summary"]
    assert rows
    for row in rows:
        assert row["median"] > 0 and row["low"] <= row["median"] <= row["high"]
        assert row["ratio"] > 0 and row["paired"] > 0
        if row["stack"] == "gevent":
            assert row["ratio"] == pytest.approx(1.0) and row["paired"] == pytest.approx(1.0)
    table = (out / "bench.md").read_text(encoding="utf-8")
    assert (
        "| workload | stack | median | min-max | unit | ratio to gevent | paired ratio |" in table
    )
    assert "W5 CPU time per operation" in table
    progress_lines = [line for line in progress.splitlines() if re.match(r"\[\s*\d+/\d+\] ", line)]
    assert len(progress_lines) == len(document["samples"])


@pytest.mark.timeout(30)
def test_missing_stack_library_is_a_skip_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = stacks.Stack("nothere", "gevent_raw", ("no_such_package_xyz",), "absent")
    monkeypatch.setitem(stacks.STACKS, "nothere", fake)
    assert stacks.probe("nothere").reason == "not installed"


def test_connections_option_and_quick_defaults() -> None:
    args = parse_args(["--quick", "--connections", "W6=300"])
    assert args.connections == {"W3": 50, "W6": 300}
    assert args.repeat == 1 and args.duration < 1
    assert parse_args(["--connections", "70"]).connections == {"W3": 70, "W6": 70}
    with pytest.raises(SystemExit):
        parse_args(["--workloads", "W9"])


def test_stacks_option_takes_mixed_server_client_pairs() -> None:
    assert parse_args(["--stacks", "greensock/gevent,gevent"]).stacks == [
        "greensock/gevent",
        "gevent",
    ]
    assert stacks.sides("greensock/gevent") == ("greensock", "gevent")
    assert stacks.sides("trio") == ("trio", "trio")
    for bad in ("greensock/nope", "nope/gevent", ""):
        with pytest.raises(SystemExit):
            parse_args(["--stacks", bad])


def _quick(out: Path, *options: str) -> dict[str, Any]:
    """The JSON document of a ``--quick`` run with *options*, written into *out*."""
    argv = [sys.executable, str(BENCH), "--quick", *options, "--out", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=50, check=False)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    return document


@pytest.mark.timeout(60)
def test_a_mixed_pair_runs_its_server_and_client_on_their_own_stacks(tmp_path: Path) -> None:
    """Also with --cpus: the client ran on the one CPU given."""
    cpu = min(os.sched_getaffinity(0))
    document = _quick(tmp_path, "--workloads", "W2", "--cpus", str(cpu),
                      "--stacks", "greensock/gevent,gevent")  # fmt: skip
    (mixed,) = [s for s in document["samples"] if s["stack"] == "greensock/gevent"]
    assert mixed["ok"] and mixed["metrics"]["round_trips"] > 0
    assert mixed["client_cpus"] == [cpu] and document["meta"]["cpus"] == [cpu]
    rows = {(r["stack"], r["metric"]) for r in document["summary"]}
    assert ("greensock/gevent", "round_trips") in rows


def test_the_diagnostic_stack_runs_only_when_named() -> None:
    assert "floor-datagram" not in parse_args([]).stacks
    assert parse_args([]).stacks == stacks.DEFAULT_STACKS
    assert set(stacks.DEFAULT_STACKS) >= set(REQUIRED_STACKS)
    assert parse_args(["--stacks", "floor-datagram,gevent"]).stacks == ["floor-datagram", "gevent"]


@pytest.mark.timeout(60)
def test_the_diagnostic_stack_echoes_datagrams_and_skips_the_tcp_workloads(
    tmp_path: Path,
) -> None:
    document = _quick(tmp_path, "--workloads", "W5,W2", "--stacks", "floor-datagram,gevent")
    (echo,) = [s for s in document["samples"] if s["stack"] == "floor-datagram"]
    assert echo["workload"] == "W5" and echo["ok"], echo["error"]
    assert echo["metrics"]["round_trips"] > 0
    assert "W5 only" in document["skipped"]["W2 on floor-datagram"]


def test_cpus_option_takes_only_cpus_this_process_may_use() -> None:
    mine = sorted(os.sched_getaffinity(0))
    assert parse_args(["--cpus", str(mine[0])]).cpus == {mine[0]}
    assert parse_args([]).cpus is None
    for bad in ("x", "", str(max(mine) + 1000)):
        with pytest.raises(SystemExit):
            parse_args(["--cpus", bad])


def _samples(values: dict[str, list[float]]) -> list[dict[str, Any]]:
    """W2 samples with the given round-trip rates, repetition by repetition, per stack."""
    return [
        {"workload": "W2", "stack": stack, "rep": rep, "connections": 1, "ok": True,
         "metrics": {"round_trips": value, "cpu_per_op": 1e6 / value}}
        for stack, rates in values.items()
        for rep, value in enumerate(rates)
    ]  # fmt: skip


def test_ratio_is_median_over_baseline_median() -> None:
    samples = _samples({"gevent": [100.0, 300.0, 200.0], "trio": [50.0, 150.0, 100.0]})
    rows = {
        r.stack: r
        for r in stats.summarize(samples, ["gevent", "trio"], "gevent")
        if r.metric == "round_trips"
    }
    assert rows["gevent"].median == 200.0 and rows["gevent"].ratio == 1.0
    assert (rows["trio"].low, rows["trio"].median, rows["trio"].high) == (50.0, 100.0, 150.0)
    assert rows["trio"].ratio == 0.5


def test_paired_ratio_compares_runs_of_the_same_repetition() -> None:
    # The machine ran at a third of its speed in repetition 1: the medians see a stack
    # 0.75x as fast, the same-repetition pairs see it 1.2x as fast each time.
    samples = _samples({"gevent": [100.0, 30.0, 100.0], "trio": [120.0, 36.0, 120.0]})
    samples.append({**samples[-1], "rep": 3, "ok": False, "metrics": {}})  # failed: unpaired
    rows = {(r.stack, r.metric): r for r in stats.summarize(samples, ["gevent", "trio"], "gevent")}
    assert rows[("trio", "round_trips")].paired == pytest.approx(1.2)
    assert rows[("gevent", "round_trips")].paired == pytest.approx(1.0)
    cpu = rows[("trio", "cpu_per_op")]
    assert not cpu.higher_is_better and cpu.paired == pytest.approx(1 / 1.2)


def test_each_stack_runs_first_after_a_change_of_workload_equally_often() -> None:
    stack_names = ["greensock", "gevent", "trio"]
    plan = interleaved_plan(6, ["W1", "W2"], stack_names, set())
    assert len(plan) == len(set(plan)) == 6 * 2 * 3
    firsts = [
        stack
        for index, (_, workload, stack) in enumerate(plan)
        if index == 0 or plan[index - 1][1] != workload
    ]
    assert sorted(Counter(firsts).values()) == [4, 4, 4]
    # Interleaved still: a repetition ends before the next starts.
    assert [rep for rep, _, _ in plan] == sorted(rep for rep, _, _ in plan)
    skipping = interleaved_plan(2, ["W1", "W2"], stack_names, {("W2", "trio")})
    assert len(skipping) == 2 * (2 * 3 - 1)
    assert ("W2", "trio") not in {(workload, stack) for _, workload, stack in skipping}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stack", instructions.STACK_NAMES)
@pytest.mark.parametrize("operation", list(instructions.OPERATIONS))
def test_instruction_count_operations_run_on_every_stack(operation: str, stack: str) -> None:
    argv = [sys.executable, "-m", "greensock_bench.instructions", "--child", operation, stack, "20"]
    done = subprocess.run(
        argv, env=child_env(), capture_output=True, text=True, timeout=50, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(120)
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instruction_count_per_operation_is_the_difference_of_two_runs() -> None:
    env = {**child_env(), "PYTHONHASHSEED": "0"}
    per_op = instructions.per_operation("udp", "greensock", env, counts=(20, 60))
    # Tens of thousands of instructions per UDP round trip, not the millions of start-up.
    assert 1_000 < per_op < 1_000_000
    table = instructions.markdown({"udp": {"greensock": per_op, "gevent": per_op * 2}})
    assert "| W5 UDP 64-byte echo, per round trip | greensock |" in table
    assert "0.500x" in table


@pytest.mark.timeout(90)
def test_serve_and_serveWorkers_stacks_run_W3_and_are_compared_with_each_other(
    tmp_path: Path,
) -> None:
    document = _quick(
        tmp_path, "--workloads", "W3", "--connections", "W3=20",
        "--stacks", "greensock-serve,greensock-workers",
    )  # fmt: skip
    for sample in document["samples"]:
        assert sample["ok"], sample["error"]
        metrics = sample["metrics"]
        assert metrics["round_trips"] > 0 and metrics["cpu_per_op"] > 0, metrics
        # Twenty idle connections spread over two processes' page-rounded RSS may add none.
        assert metrics["idle_memory"] >= 0, metrics
        # The workers' CPU time counts in the server's: a tree's, at least the parent's.
        assert 0 < sample["cpu"]["server"] < sample["wall_seconds"] * 2
    (scaling,) = [r for r in document["scaling"] if r["metric"] == "round_trips"]
    assert scaling["stack"] == "greensock-workers" and scaling["over"] == "greensock-serve"
    assert scaling["ratio"] > 0 and scaling["paired"] > 0
    table = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "| W3 | round trips/s | greensock-workers | greensock-serve |" in table


def test_scaling_pairs_match_the_same_client() -> None:
    names = ["greensock-serve", "greensock-workers", "greensock-serve/floor",
             "greensock-workers/floor", "greensock-workers/gevent"]  # fmt: skip
    assert stacks.scaling_pairs(names) == [
        ("greensock-workers", "greensock-serve"),
        ("greensock-workers/floor", "greensock-serve/floor"),
    ]
    assert "greensock-workers" not in stacks.DEFAULT_STACKS
