"""Samples to summary rows: median, min-max and ratios to the baseline stack, per metric.

Two ratios: the ratio of medians, and the paired ratio — the median, over repetitions, of
the stack's value over the baseline's in the same repetition. The runs of one repetition
are minutes apart at most, and a shared machine's speed drifts over longer times than that
(a whole repetition often runs at half speed): pairing cancels what the drift does to both.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Any

from .protocol import WORKLOADS


@dataclass(frozen=True)
class Row:
    """One line of the report: a stack's numbers for one metric of one workload."""

    workload: str
    title: str
    metric: str
    unit: str
    higher_is_better: bool
    stack: str
    runs: int
    failed: int
    median: float | None
    low: float | None
    high: float | None
    ratio: float | None  # median / baseline median
    paired: float | None  # median over repetitions of value / baseline value

    def as_dict(self) -> dict[str, Any]:
        """The row as plain JSON data."""
        return asdict(self)


def summarize(samples: list[dict[str, Any]], stacks: list[str], baseline: str) -> list[Row]:
    """Summary rows in workload, metric, stack order, for every stack that has samples."""
    rows: list[Row] = []
    workloads = [w for w in WORKLOADS if any(s["workload"] == w for s in samples)]
    for key in workloads:
        workload = WORKLOADS[key]
        connections = next(s["connections"] for s in samples if s["workload"] == key)
        for metric in workload.metrics:
            by_rep = {
                stack: {
                    s["rep"]: s["metrics"][metric.key]
                    for s in samples
                    if s["workload"] == key and s["stack"] == stack and s["ok"]
                }
                for stack in stacks
            }
            values = {stack: list(reps.values()) for stack, reps in by_rep.items()}
            base = values.get(baseline) or []
            base_median = statistics.median(base) if base else None
            for stack in stacks:
                runs = [s for s in samples if s["workload"] == key and s["stack"] == stack]
                if not runs:
                    continue
                got = values[stack]
                median = statistics.median(got) if got else None
                ratio = median / base_median if median is not None and base_median else None
                pairs = [
                    value / by_rep[baseline][rep]
                    for rep, value in by_rep[stack].items()
                    if by_rep.get(baseline, {}).get(rep)
                ]
                rows.append(
                    Row(
                        workload=key,
                        title=workload.describe(connections),
                        metric=metric.key,
                        unit=metric.unit,
                        higher_is_better=metric.higher_is_better,
                        stack=stack,
                        runs=len(runs),
                        failed=len(runs) - len(got),
                        median=median,
                        low=min(got) if got else None,
                        high=max(got) if got else None,
                        ratio=ratio,
                        paired=statistics.median(pairs) if pairs else None,
                    )
                )
    return rows
