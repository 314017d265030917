"""The issuance benchmark's figure: latency bars and throughput curves, awsbroker vs direct."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench._issue import LatencyResult, ThroughputResult

COLORS = {"assumed_role": "tab:blue", "federation_token": "tab:orange", "iam_user": "tab:green"}


def issuance(
    path: Path, backend: str, latencies: list[LatencyResult], throughputs: list[ThroughputResult]
) -> None:
    import matplotlib  # noqa: PLC0415 - optional: only with --plot

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - optional, and after use("Agg")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    _latency(left, latencies)
    _throughput(right, throughputs)
    fig.suptitle(f"awsbroker vs direct boto3, against the {backend} AWS")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _latency(ax: object, results: list[LatencyResult]) -> None:
    from matplotlib.axes import Axes  # noqa: PLC0415 - optional: only with --plot

    assert isinstance(ax, Axes)
    ax.set_title("latency, one at a time: median (bar) and p99 (tick)")
    width = 0.38
    for i, r in enumerate(results):
        for j, (side, samples) in enumerate((("direct", r.direct_s), ("awsbroker", r.broker_s))):
            x = i + (j - 0.5) * width
            median = statistics.median(samples) * 1000
            p99 = sorted(samples)[max(0, round(0.99 * (len(samples) - 1)))] * 1000
            ax.bar(
                x, median, width, color=COLORS.get(r.kind, "grey"),
                alpha=0.45 if side == "direct" else 0.95,
                hatch="//" if side == "direct" else None, edgecolor="black", linewidth=0.5,
            )  # fmt: skip
            ax.plot([x - width / 3, x + width / 3], [p99, p99], color="black", linewidth=1.5)
            ax.text(x, median, f"{median:.0f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(results)))
    ax.set_xticklabels([f"{r.kind}\n(direct | awsbroker)" for r in results], fontsize=8)
    ax.set_ylabel("ms")


def _throughput(ax: object, results: list[ThroughputResult]) -> None:
    from matplotlib.axes import Axes  # noqa: PLC0415 - optional: only with --plot

    assert isinstance(ax, Axes)
    ax.set_title("throughput, N concurrent clients (closed loop)")
    for kind in sorted({r.kind for r in results}):
        for side, style in (("direct", "--"), ("awsbroker", "-")):
            mine = sorted(
                (r for r in results if r.kind == kind and r.side == side), key=lambda r: r.clients
            )
            by_clients: dict[int, list[float]] = {}
            for r in mine:
                by_clients.setdefault(r.clients, []).append(r.rate)
            xs = sorted(by_clients)
            ys = [statistics.median(by_clients[x]) for x in xs]
            ax.plot(
                xs, ys, style, marker="o", color=COLORS.get(kind, "grey"), label=f"{kind} {side}"
            )
    ax.set_xscale("log", base=2)
    counts = sorted({r.clients for r in results})
    ax.set_xticks(counts, [str(c) for c in counts])
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("credentials / s")
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
