"""Medians over the runs of scripts/cascade-bench.sh: per case and kind, residual loss (not delivered within
the deadline), loss (never arrived), one-way latency p50/p95 and jitter p50; a markdown table on stdout, the
same as CSV in RESULTS/cascade.csv, and a PNG (benchmarks/cascade.png) when matplotlib is installed."""
import csv
import glob
import json
import os
import statistics
import sys

results = sys.argv[1]
CASES = {"a": "(a) one node in New York", "b": "(b) cascade: nearest node each"}
METRICS = [("residual loss %", lambda k: k["residualLossPercent"]),
           ("never arrived %", lambda k: k["lossPercent"]),
           ("latency p50 ms", lambda k: k["latencyMs"]["p50"]),
           ("latency p95 ms", lambda k: k["latencyMs"]["p95"]),
           ("jitter p50 ms", lambda k: k["jitterMs"]["p50"])]

rows = {}
runs = {}
for case in CASES:
    files = sorted(glob.glob(os.path.join(results, f"{case}-*.json")))
    runs[case] = len(files)
    for path in files:
        s = json.load(open(path))
        if s["failed"] > 0 or s["streamsReceiving"] < s["streamsExpected"]:
            print(f"left out: {path}: {s['failed']} failed, {s['streamsReceiving']}/{s['streamsExpected']} streams",
                  file=sys.stderr)
            continue
        for k in s["kinds"]:
            rows.setdefault((case, k["kind"]), []).append([f(k) for _, f in METRICS])

header = ["case", "kind", "runs"] + [m for m, _ in METRICS]
table = []
for (case, kind), values in sorted(rows.items(), key=lambda r: (r[0][1], r[0][0])):
    med = [statistics.median(col) for col in zip(*values)]
    table.append([CASES[case], kind, len(values)] + [round(v, 2) for v in med])

print("| " + " | ".join(header) + " |")
print("|" + "---|" * len(header))
for r in table:
    print("| " + " | ".join(str(v) for v in r) + " |")
for kind in ("audio", "video"):
    a = next((r for r in table if r[1] == kind and r[0] == CASES["a"]), None)
    b = next((r for r in table if r[1] == kind and r[0] == CASES["b"]), None)
    if a and b:
        ratio = a[3] / b[3] if b[3] > 0 else float("inf")
        print(f"{kind}: residual loss (a)/(b) = {ratio:.1f}x, latency p95 (a) - (b) = {a[6] - b[6]:.1f} ms")

with open(os.path.join(results, "cascade.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(table)
    # every run, for the spread
    w.writerow([])
    w.writerow(["case", "kind", "run"] + [m for m, _ in METRICS])
    for (case, kind), values in sorted(rows.items()):
        for i, v in enumerate(values, 1):
            w.writerow([case, kind, i] + v)

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(matplotlib not installed: no PNG; the CSV has the series)", file=sys.stderr)
    sys.exit(0)
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for ax, (title, col) in zip(axes, [("residual loss % (>150 ms or lost)", 3), ("latency p95 ms", 6),
                                   ("jitter p50 ms", 7)]):
    labels, va, vb = [], [], []
    for kind in ("audio", "video"):
        a = next((r for r in table if r[1] == kind and r[0] == CASES["a"]), None)
        b = next((r for r in table if r[1] == kind and r[0] == CASES["b"]), None)
        if a and b:
            labels.append(kind)
            va.append(a[col])
            vb.append(b[col])
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], va, 0.4, label=CASES["a"])
    ax.bar([i + 0.2 for i in x], vb, 0.4, label=CASES["b"])
    ax.set_xticks(list(x), labels)
    ax.set_title(title)
axes[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig("benchmarks/cascade.png", dpi=110)
print("plot written to benchmarks/cascade.png")
