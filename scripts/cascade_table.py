"""Medians over the runs of scripts/cascade-bench.sh (one or more result folders): per case and kind, residual
loss (not delivered within the deadline), loss (never arrived), one-way latency p50/p95 and jitter p50.

Prints two markdown tables: over every run, and over the runs without a stall of the machine. Audio's emulated
path is about 61 ms and only the few packets lost and resent (a few per cent) come later, so a run whose audio
latency p90 is past STALL_P90_MS can only be the shared machine stalling the processes: a stalled run. Writes the tables and every run as CSV to FIRST_FOLDER/cascade.csv, and a PNG
(benchmarks/cascade.png) when matplotlib is installed."""
import csv
import glob
import json
import os
import statistics
import sys

folders = sys.argv[1:]
STALL_P90_MS = float(os.environ.get("STALL_P90_MS", 100))  # the three-region benchmark: 140
CASES = {"a": "(a) one node in New York", "b": "(b) cascade: nearest node each"}
if os.environ.get("CASES"):  # e.g. the three-region benchmark: CASES='{"a": "...", "b": "...", "c": "..."}'
    CASES = json.loads(os.environ["CASES"])
METRICS = [("residual loss %", lambda k: k["residualLossPercent"]),
           ("never arrived %", lambda k: k["lossPercent"]),
           ("latency p50 ms", lambda k: k["latencyMs"]["p50"]),
           ("latency p95 ms", lambda k: k["latencyMs"]["p95"]),
           ("latency p99 ms", lambda k: k["latencyMs"]["p99"]),
           ("jitter p50 ms", lambda k: k["jitterMs"]["p50"])]

runs = []  # (case, file, stalled, {kind: [metrics]})
for folder in folders:
    for case in CASES:
        for path in sorted(glob.glob(os.path.join(folder, f"{case}-*.json"))):
            s = json.load(open(path))
            if s["failed"] > 0 or s["streamsReceiving"] < s["streamsExpected"]:
                print(f"left out: {path}: {s['failed']} failed, {s['streamsReceiving']}/{s['streamsExpected']}"
                      " streams", file=sys.stderr)
                continue
            kinds = {k["kind"]: [f(k) for _, f in METRICS] for k in s["kinds"]}
            audio = next((k for k in s["kinds"] if k["kind"] == "audio"), None)
            p90 = audio["latencyMs"]["p90"] if audio else 0
            runs.append((case, path, p90 > STALL_P90_MS, p90, kinds))


def table(selected):
    out = []
    for kind in ("audio", "video"):
        for case in CASES:
            values = [r[4][kind] for r in selected if r[0] == case and kind in r[4]]
            if values:
                med = [statistics.median(col) for col in zip(*values)]
                out.append([CASES[case], kind, len(values)] + [round(v, 2) for v in med])
    return out


header = ["case", "kind", "runs"] + [m for m, _ in METRICS]


def show(title, rows):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(v) for v in r) + " |")
    for kind in ("audio", "video"):
        a = next((r for r in rows if r[1] == kind and r[0] == CASES["a"]), None)
        for other in [c for c in CASES if c != "a"]:
            b = next((r for r in rows if r[1] == kind and r[0] == CASES[other]), None)
            if a and b:
                ratio = f"{a[3] / b[3]:.1f}x" if b[3] > 0 else "inf"
                print(f"\n{kind}: residual loss (a)/({other}) = {ratio}, latency p95 ({other}) - (a) = "
                      f"{b[6] - a[6]:+.1f} ms, p99 ({other}) - (a) = {b[7] - a[7]:+.1f} ms")


all_rows = table(runs)
clean = [r for r in runs if not r[2]]
clean_rows = table(clean)
show(f"Medians over every run ({len(runs)} runs)", all_rows)
show(f"Medians over the runs without a stall ({len(clean)} of {len(runs)}: audio latency p90 > {STALL_P90_MS} ms "
     "marks a stall)", clean_rows)

# PAIR="1,2": the residual loss between those two participants alone (both ways), per case and kind.
if os.environ.get("PAIR"):
    pair = {int(i) for i in os.environ["PAIR"].split(",")}
    print(f"\nResidual loss between participants {sorted(pair)} only (medians over every run)\n")
    print("| case | kind | runs | residual loss % |\n|---|---|---|---|")
    for kind in ("audio", "video"):
        for case in CASES:
            values = []
            for folder in folders:
                for path in sorted(glob.glob(os.path.join(folder, f"{case}-*.json"))):
                    s = json.load(open(path))
                    if s["failed"] > 0:
                        continue
                    expected = in_time = 0
                    for p in s["participantResults"]:
                        me = int(p["identity"].rsplit("-", 1)[1])
                        for st in p["streams"]:
                            if st["kind"] == kind and me in pair and st["sender"] in pair and st["sender"] != me:
                                expected += st["expected"]
                                in_time += st["inTime"]
                    if expected:
                        values.append(100.0 * (expected - in_time) / expected)
            if values:
                print(f"| {CASES[case]} | {kind} | {len(values)} | {statistics.median(values):.2f} |")

with open(os.path.join(folders[0], "cascade.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["selection"] + header)
    w.writerows([["all"] + r for r in all_rows])
    w.writerows([["no stall"] + r for r in clean_rows])
    w.writerow([])
    w.writerow(["case", "file", "stalled", "audio p90 ms", "kind"] + [m for m, _ in METRICS])
    for case, path, stalled, late, kinds in runs:
        for kind, v in kinds.items():
            w.writerow([case, os.path.relpath(path), stalled, round(late, 3), kind] + v)

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("\n(matplotlib not installed: no PNG; cascade.csv has every run)", file=sys.stderr)
    sys.exit(0)
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
width = 0.8 / len(CASES)
for ax, (title, col) in zip(axes, [("residual loss % (>150 ms or lost)", 3), ("latency p95 ms", 6),
                                   ("latency p99 ms", 7)]):
    kinds = ["audio", "video"]
    for n, case in enumerate(CASES):
        values = []
        for kind in kinds:
            row = next((r for r in all_rows if r[1] == kind and r[0] == CASES[case]), None)
            values.append(row[col] if row else 0)
        ax.bar([i - 0.4 + width * (n + 0.5) for i in range(len(kinds))], values, width, label=CASES[case])
    ax.set_xticks(list(range(len(kinds))), kinds)
    ax.set_title(title)
axes[0].legend(fontsize=7)
fig.tight_layout()
plot = os.environ.get("PLOT", "benchmarks/cascade.png")
fig.savefig(plot, dpi=110)
print(f"plot written to {plot}")
