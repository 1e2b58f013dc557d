"""Plots the capacity sweep written by scripts/capacity.sh: loss and latency against participants,
one figure per room shape, and the node's packets out per core-second."""
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

results, out_dir = sys.argv[1], sys.argv[2]


def series(shape):
    rows = []
    for path in glob.glob(os.path.join(results, f"{shape}-*.json")):
        s = json.load(open(path))
        node = s["nodeResults"][0]
        rows.append((s["participants"], s["lossPercent"], s["latencyMs"]["p50"], s["latencyMs"]["p99"],
                     node["rtpOutPerSecond"], node["rtpOutPerCoreSecond"], node["coresUsed"],
                     node.get("nodeLatencyP99Ms", 0)))
    return sorted(rows)


fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
for ax, shape in zip(axes, ["meeting", "webinar", "audio"]):
    rows = series(shape)
    if not rows:
        continue
    n = [r[0] for r in rows]
    ax.plot(n, [r[2] for r in rows], "o-", label="latency p50 (ms)")
    ax.plot(n, [r[3] for r in rows], "s-", label="latency p99 (ms)")
    ax.plot(n, [max(r[7], 1e-3) for r in rows], "d:", label="node-added p99 (ms, sfu_forward_latency)")
    ax.set_xlabel("participants")
    ax.set_ylabel("ms (log)")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(n, [r[1] for r in rows], "r^--", label="loss %")
    ax2.set_ylabel("loss %", color="r")
    ax2.set_ylim(bottom=0, top=max(1.0, max(r[1] for r in rows) * 1.2))
    for x, r in zip(n, rows):
        ax.annotate(f"{r[4] / 1000:.0f}k/s", (x, r[3]), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=7)
    ax.set_title(f"{shape}: latency and loss (labels: node packets out/s)")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=8, loc="upper left")
fig.tight_layout()
fig.savefig(os.path.join(out_dir, "capacity-latency-loss.png"), dpi=110)

fig, ax = plt.subplots(figsize=(7, 4.2))
for shape, marker in [("meeting", "o-"), ("webinar", "s-"), ("audio", "^-")]:
    rows = series(shape)
    if rows:
        ax.plot([r[4] / 1000 for r in rows], [r[5] / 1000 for r in rows], marker, label=shape)
ax.set_xlabel("node RTP packets out per second (thousands)")
ax.set_ylabel("packets out per node core-second (thousands)")
ax.set_title("Forwarding efficiency of the node (process CPU time)")
ax.set_ylim(bottom=0)
ax.legend()
fig.tight_layout()
fig.savefig(os.path.join(out_dir, "capacity-efficiency.png"), dpi=110)
print("plots written to", out_dir)
