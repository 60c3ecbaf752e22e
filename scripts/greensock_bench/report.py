"""Output: the Markdown table, the JSON document with every sample, the PNG chart of ratios."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .stats import Row


def number(value: float | None) -> str:
    """A measurement with as many digits as are worth reading."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown(
    rows: list[Row],
    skipped: dict[str, str],
    meta: dict[str, Any],
    scaling: Sequence[tuple[Row, str]] = (),
) -> str:
    """The results as a Markdown table, the scaling comparisons (each row of a stack with
    the stack it is compared with, see ``stacks.SCALING``), then skips and failures."""
    baseline = meta["baseline"]
    lines = [
        f"Benchmark: {meta['duration']:g} s per run, {meta['repeat']} interleaved repetition(s); "
        f"Python {meta['machine']['python']}, {meta['machine']['cpus']} CPUs"
        + (
            f", every process on CPU {','.join(map(str, meta['cpus']))}."
            if meta.get("cpus")
            else "."
        ),
        "",
        f"| workload | stack | median | min-max | unit | ratio to {baseline} | paired ratio |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        name = f"{row.workload} {row.title}"
        if row.metric == "idle_memory":
            name = f"{row.workload} server memory per idle connection"
        elif row.metric == "cpu_per_op":
            name = f"{row.workload} CPU time per operation"
        spread = f"{number(row.low)}-{number(row.high)}" if row.low is not None else "—"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        paired = f"{row.paired:.2f}x" if row.paired is not None else "—"
        if row.failed:
            ratio += f" ({row.failed}/{row.runs} runs failed)"
        lines.append(
            f"| {name} | {row.stack} | {number(row.median)} | {spread} | {row.unit} | {ratio} "
            f"| {paired} |"
        )
    lines += [
        "",
        f"Ratio: the stack's median over {baseline}'s median. Paired ratio: the median, over "
        f"repetitions, of the stack's value over {baseline}'s in the same repetition. Above 1 "
        "is faster, except for KiB/conn and µs CPU/op, where above 1 is more memory or more "
        "CPU time.",
    ]
    if scaling:
        lines += [
            "",
            "| workload | metric | stack | over | ratio of medians | paired ratio |",
            "|---|---|---|---|---:|---:|",
        ]
        for row, reference in scaling:
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
            paired = f"{row.paired:.2f}x" if row.paired is not None else "—"
            lines.append(
                f"| {row.workload} | {row.unit} | {row.stack} | {reference} | {ratio} | {paired} |"
            )
    for what, reason in skipped.items():
        lines.append(f"- {what}: skipped ({reason})")
    return "\n".join(lines) + "\n"


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write the full results document."""
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def write_png(path: Path, rows: list[Row], baseline: str) -> bool:
    """A bar chart of every stack's ratio to the baseline; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = list(dict.fromkeys((r.workload, r.metric, r.unit, r.higher_is_better) for r in rows))
    stacks = list(dict.fromkeys(r.stack for r in rows))
    ratio = {(r.workload, r.metric, r.stack): r.ratio for r in rows}
    width = 0.8 / max(1, len(stacks))
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(groups)), 4.5))
    for i, stack in enumerate(stacks):
        heights = [ratio.get((w, m, stack)) or 0.0 for w, m, _, _ in groups]
        xs = [g + (i - (len(stacks) - 1) / 2) * width for g in range(len(groups))]
        axes.bar(xs, heights, width, label=stack)
    axes.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    axes.set_xticks(range(len(groups)))
    axes.set_xticklabels(
        [f"{w}\n{u.split(' (')[0]}" + ("" if better else "\n(lower better)")
         for w, _, u, better in groups],
        fontsize=8,
    )  # fmt: skip
    axes.set_ylabel(f"median ratio to {baseline}")
    axes.set_title(f"greensock benchmark: ratio of medians to {baseline}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True
