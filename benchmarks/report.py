"""Reporting benchmark results: the goals, a Markdown table and a PNG chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

BASELINE, MLSERVE = "baseline", "k8s-mlserve"


def goals(results: dict[str, Any]) -> dict[str, Any]:
    """The targets: at c=64 >= 10x the baseline with p99 < 50 ms; at c=1 no slower."""
    base = {r["concurrency"]: r for r in results[BASELINE]["runs"]}
    ours = {r["concurrency"]: r for r in results[MLSERVE]["runs"]}
    goals: dict[str, Any] = {}
    if 64 in base and 64 in ours:
        ratio = ours[64]["rps"] / base[64]["rps"]
        goals["c64_ratio"] = ratio
        goals["c64_p99_ms"] = ours[64]["p99_ms"]
        goals["c64_met"] = ratio >= 10 and ours[64]["p99_ms"] < 50
    if 1 in base and 1 in ours:
        goals["c1_ratio"] = ours[1]["rps"] / base[1]["rps"]
        goals["c1_met"] = goals["c1_ratio"] >= 1
    return goals


def render_table(report: dict[str, Any]) -> str:
    """The results as a Markdown table (also pasted into docs/performance.md)."""
    servers = report["servers"]
    names = [n for n in (BASELINE, MLSERVE) if n in servers]
    header = ["concurrency"]
    for name in names:
        header += [f"{name} req/s", "p50 ms", "p99 ms", "CPU ms/req"]
    if len(names) == 2:
        header.append("ratio")
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    by_level = {n: {r["concurrency"]: r for r in servers[n]["runs"]} for n in names}
    for level in sorted(set().union(*(by_level[n].keys() for n in names))):
        cells = [str(level)]
        for name in names:
            run = by_level[name].get(level)
            cells += (
                [
                    f"{run['rps']:.0f}",
                    f"{run['p50_ms']:.1f}",
                    f"{run['p99_ms']:.1f}",
                    f"{run['server_cpu_ms_per_request']:.2f}",
                ]
                if run
                else ["", "", "", ""]
            )
        if len(names) == 2 and all(level in by_level[n] for n in names):
            ratio = by_level[MLSERVE][level]["rps"] / by_level[BASELINE][level]["rps"]
            cells.append(f"{ratio:.1f}×")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| | " + " | ".join(names) + " |")
    lines.append("|---|" + "---:|" * len(names))
    lines.append(
        "| start to ready | " + " | ".join(f"{servers[n]['startup_s']:.2f} s" for n in names) + " |"
    )
    lines.append(
        "| resident memory after start | "
        + " | ".join(f"{servers[n]['rss_mib']:.0f} MiB" for n in names)
        + " |"
    )
    loads = [r["load_average_before"] for n in names for r in servers[n]["runs"]]
    machine = report.get("machine", {})
    lines.append("")
    lines.append(
        f"{machine.get('cpu', 'unknown CPU')}, {machine.get('cores', '?')} cores; servers pinned "
        f"to core(s) {report['pinning']['server'] or 'any'}, load generator to "
        f"{report['pinning']['client'] or 'any'}; load average before the runs "
        f"{min(loads):.1f} to {max(loads):.1f}."
    )
    goals = report.get("goals")
    if goals:
        lines.append("")
        if "c64_met" in goals:
            lines.append(
                f"c=64: {goals['c64_ratio']:.1f}× the baseline, p99 {goals['c64_p99_ms']:.1f} ms "
                f"(goal: ≥ 10×, p99 < 50 ms): {'met' if goals['c64_met'] else 'NOT met'}"
            )
        if "c1_met" in goals:
            lines.append(
                f"c=1: {goals['c1_ratio']:.2f}× the baseline (goal: ≥ 1×): "
                f"{'met' if goals['c1_met'] else 'NOT met'}"
            )
    return "\n".join(lines)


def render_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = report["servers"]
    names = [n for n in (BASELINE, MLSERVE) if n in servers]
    colors = {BASELINE: "#8c8c8c", MLSERVE: "#1f77b4"}
    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        runs = servers[name]["runs"]
        levels = [r["concurrency"] for r in runs]
        positions = [j + (i - (len(names) - 1) / 2) * width for j in range(len(levels))]
        throughput.bar(positions, [r["rps"] for r in runs], width, label=name, color=colors[name])
        throughput.set_xticks(range(len(levels)), [str(c) for c in levels])
        latency.plot(
            levels, [r["p99_ms"] for r in runs], "o-", color=colors[name], label=f"{name} p99"
        )
        latency.plot(
            levels,
            [r["p50_ms"] for r in runs],
            "o--",
            color=colors[name],
            label=f"{name} p50",
            alpha=0.6,
        )
    throughput.set_xlabel("concurrent clients")
    throughput.set_ylabel("requests per second")
    throughput.set_title("Throughput")
    throughput.legend()
    latency.set_xscale("log", base=2)
    latency.set_yscale("log")
    latency.set_xlabel("concurrent clients")
    latency.set_ylabel("latency (ms)")
    latency.set_title("Latency")
    latency.legend(fontsize="small")
    machine = report["machine"]
    figure.suptitle(
        f"diabetes random forest, servers pinned to cores {report['pinning']['server'] or 'any'}"
        f" — {machine['cpu']} ({report['created_at']})",
        fontsize="small",
    )
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
