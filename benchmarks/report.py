"""Reporting benchmark results: a Markdown document and a PNG chart.

The document has every server's table, the goals and, when shadow-scoring servers ran, the
champion's latency with shadow scoring at 0 % (``k8s-mlserve``), 10 % and 100 %, with what each
challenger scored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from goals import Goal
from servers import (
    BASELINE,
    CEILING,
    MLSERVE,
    MLSERVE_SHADOW_10,
    MLSERVE_SHADOW_100,
    MLSERVE_SKLEARN,
    MLSERVER,
    SERVERS,
    SHADOW_RATES,
)
from steadiness import SLOW

COLORS = {
    BASELINE: "#8c8c8c",
    MLSERVER: "#ff7f0e",
    MLSERVE_SKLEARN: "#9ecae1",
    MLSERVE: "#1f77b4",
    MLSERVE_SHADOW_10: "#9e9ac8",
    MLSERVE_SHADOW_100: "#54278f",
    CEILING: "#2ca02c",
}
REFERENCE_LABEL = "reference: joblib.load + one predict_proba"


def _names(report: dict[str, Any]) -> list[str]:
    """The measured servers, in the benchmark's order."""
    return [name for name in SERVERS if name in report["servers"]]


def render_table(report: dict[str, Any]) -> str:
    """The results as Markdown tables (also pasted into docs/performance.md), and the goals."""
    servers = report["servers"]
    names = _names(report)
    # With several rounds the table shows each level's best round (most requests/s); the p99 of
    # every round is shown beside it, since the tail is what a shared machine disturbs most.
    rounds = any(len(servers[name].get("rounds", ())) > 1 for name in names)
    lines = [
        "| server | concurrency | req/s | p50 ms | p99 ms | errors | CPU ms/req |"
        + (" p99 ms, each round |" if rounds else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if rounds else ""),
    ]
    for name in names:
        for index, run in enumerate(servers[name]["runs"]):
            lines.append(
                f"| {name} | {run['concurrency']} | {run['rps']:,.0f} | {run['p50_ms']:.1f} | "
                f"{run['p99_ms']:.1f} | {run['errors']} | "
                f"{run['server_cpu_ms_per_request']:.2f} |"
                + (f" {_round_p99s(servers[name], index)} |" if rounds else "")
            )
    lines += [
        "",
        "| | start to ready | resident memory after start | peak resident memory (1) |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        result = servers[name]
        lines.append(
            f"| {name} | {result['startup_s']:.2f} s | {result['rss_mib']:.0f} MiB | "
            f"{result['peak_rss_mib']:.0f} MiB |"
        )
    reference = report.get("reference")
    if reference:
        lines.append(
            f"| {REFERENCE_LABEL} | {reference['startup_s']:.2f} s | "
            f"{reference['rss_mib']:.0f} MiB | |"
        )
    lines += [
        "",
        "(1) At the end, after the load; k8s-mlserve has by then computed drift once on its full "
        "window (GET /drift), which imports SciPy, as a running server does every minute.",
    ]
    loads = [r["load_average_before"] for n in names for r in servers[n]["runs"]]
    machine = report.get("machine", {})
    load_range = f"{min(loads):.1f} to {max(loads):.1f}" if loads else "not recorded"
    lines += [
        "",
        f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores; servers pinned "
        f"to core(s) {report['pinning']['server'] or 'any'}, load generator to "
        f"{report['pinning']['client'] or 'any'}; {report['duration_s']:g} s per level after "
        f"{report['warmup_s']:g} s of warm-up; load average before the runs {load_range}.",
    ]
    steadiness = report.get("steadiness")
    if steadiness:
        shares = ", ".join(f"{m['slow_window_share']:.0%}" for m in steadiness)
        worst = max(m["worst_window_ratio"] for m in steadiness)
        lines += [
            "",
            f"Steadiness of the servers' core before each round (`steadiness.py`, "
            f"{steadiness[0]['seconds']:g} s of fixed work): slow spells, 100 ms windows at "
            f"{SLOW:g}× the median chunk time or more, in {shares} of the windows; the worst "
            f"window {worst:.1f}×. A slow spell lengthens every request answered during it.",
        ]
    goals = [Goal(**goal) for goal in report.get("goals", [])]
    if goals:
        lines += ["", "Goals:", ""]
        lines += [f"- {_verdict(goal)}: {goal.goal} — {goal.measured}" for goal in goals]
    return "\n".join(lines)


def _round_p99s(result: dict[str, Any], level: int) -> str:
    """The p99 of one level in every round, in the order the rounds ran."""
    return " / ".join(f"{rnd['runs'][level]['p99_ms']:.1f}" for rnd in result.get("rounds", ()))


def _verdict(goal: Goal) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[goal.met]


def render_shadow(report: dict[str, Any]) -> str:
    """The champion's latency with shadow scoring at 0, 10 and 100 %; empty without those runs.

    Each level of a shadow-scoring server beside ``k8s-mlserve``'s (0 %) at that level, as
    ratios; then what each challenger scored, dropped and failed on in each round.
    """
    servers = report["servers"]
    shadowed = [name for name in SHADOW_RATES if name in servers]
    if not shadowed:
        return ""
    rates = {MLSERVE: 0.0, **SHADOW_RATES}
    compared = [name for name in (MLSERVE, *shadowed) if name in servers]
    levels = {
        name: {int(run["concurrency"]): run for run in servers[name]["runs"]} for name in compared
    }
    lines = [
        "| shadow scoring | concurrency | req/s | p50 ms | p99 ms | req/s vs 0 % | p50 vs 0 % "
        "| p99 vs 0 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in sorted({level for runs in levels.values() for level in runs}):
        zero = levels.get(MLSERVE, {}).get(level)
        for name in compared:
            run = levels[name].get(level)
            if run is None:
                continue
            ratios = [_ratio(run, zero, key) for key in ("rps", "p50_ms", "p99_ms")]
            lines.append(
                f"| {rates[name] * 100:g} % ({name}) | {level} | {run['rps']:,.0f} | "
                f"{run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {' | '.join(ratios)} |"
            )
    lines += [
        "",
        "What the challenger did over each server's run (warm-ups included; rows answered: every "
        "row the champion answered; dropped: the challenger's queue was full). The resident "
        "memory after start of these servers is taken once their challenger is loaded too.",
        "",
    ]
    for name in shadowed:
        for number, counts in enumerate(servers[name].get("shadow", []), start=1):
            lines.append(f"- {name}, round {number}: {_counts(counts)}")
    return "\n".join(lines)


def _ratio(run: dict[str, Any], zero: dict[str, Any] | None, key: str) -> str:
    if zero is None or not zero[key]:
        return "—"
    return f"{float(run[key]) / float(zero[key]):.2f}×"


def _counts(counts: dict[str, Any]) -> str:
    answered = int(counts["rows_answered"])
    scored = int(counts["rows_scored"])
    share = f" ({scored / answered * 100:.1f} %)" if answered else ""
    text = (
        f"{scored:,} of {answered:,} rows scored{share}, {counts['rows_dropped']:,} dropped, "
        f"{counts['errors']:,} errors"
    )
    if counts["agreement"] is not None:
        text += f"; agreement {counts['agreement']:.3f}"
    if counts["challenger_p50_ms"] is not None:
        text += (
            f"; challenger {counts['challenger_p50_ms']:.2f} ms p50, "
            f"{counts['challenger_p99_ms']:.2f} ms p99 per request"
        )
    return text


def render_markdown(report: dict[str, Any]) -> str:
    """The whole report as a Markdown document: ``bench-<time>.md``."""
    shadow = render_shadow(report)
    return (
        f"# k8s-mlserve benchmark, {report['created_at']}\n\n"
        "The diabetes random forest; every server pinned to the same core(s), one after the "
        "other, driven by the same closed-loop generator with the same rows.\n\n"
        f"{render_table(report)}\n"
        + (f"\n## Champion latency with shadow scoring\n\n{shadow}\n" if shadow else "")
    )


def render_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = report["servers"]
    names = _names(report)
    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(12, 4.6))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        runs = servers[name]["runs"]
        levels = [r["concurrency"] for r in runs]
        color = COLORS.get(name)
        positions = [j + (i - (len(names) - 1) / 2) * width for j in range(len(levels))]
        throughput.bar(positions, [r["rps"] for r in runs], width, label=name, color=color)
        throughput.set_xticks(range(len(levels)), [str(c) for c in levels])
        latency.plot(levels, [r["p99_ms"] for r in runs], "o-", color=color, label=f"{name} p99")
        latency.plot(
            levels, [r["p50_ms"] for r in runs], "o--", color=color, label=f"{name} p50", alpha=0.6
        )
    throughput.set_xlabel("concurrent clients")
    throughput.set_ylabel("requests per second")
    throughput.set_title("Throughput")
    throughput.legend(fontsize="small")
    latency.set_xscale("log", base=2)
    all_levels = sorted({r["concurrency"] for n in names for r in servers[n]["runs"]})
    latency.set_xticks(all_levels, [str(c) for c in all_levels])
    latency.set_yscale("log")
    latency.set_xlabel("concurrent clients")
    latency.set_ylabel("latency (ms)")
    latency.set_title("Latency")
    latency.legend(fontsize="x-small", ncol=2)
    machine = report["machine"]
    figure.suptitle(
        f"diabetes random forest, servers pinned to cores {report['pinning']['server'] or 'any'}"
        f" — {machine['cpu']} ({report['created_at']})",
        fontsize="small",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
