"""The once-per-link check and the tables of scripts/hop-bench.sh.

  hop_check.py sample A_URL B_URL ADMIN_KEY OUT_JSON [SUBS]
      waits (bounded) until node A serves a relay link to B with the publisher's two tracks and B holds the
      receivers, then reads A's /admin/links and /metrics twice, 5 s apart, and writes what crossed the link:
      packets A sent on it against packets A received from its publisher, and what B received on it.
  hop_check.py sample2 A_URL M_URL C_URL ADMIN_KEY OUT_JSON SUBS
      the same over two links, A -> M -> C (multi-hop: M has no one of the room and passes the media on).
  hop_check.py verify FOLDER SUBS
      fails unless, in every (b) run, the link carried each publisher packet once (ratio 0.9..1.05, where a copy
      per receiver would be SUBS), B received it, and every receiver got every stream with loss under 2 %; and in
      every (c) run, each of the two links did.
  hop_check.py table FOLDER
      medians of the (a) and (b) runs: end-to-end latency, the latency each node adds, CPU per packet sent.
"""
import glob
import json
import os
import statistics
import sys
import time
import urllib.request


def get(url, key=None):
    req = urllib.request.Request(url)
    if key:
        req.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(req, timeout=3) as r:
        return r.read().decode()


def metric(text, name, label=None):
    """Sum of every sample of metric NAME (optionally only those whose labels contain LABEL)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        base, _, labels = head.partition("{")
        if base == name and (label is None or label in labels):
            total += float(value)
    return total


def links(url, key, direction):
    return [l for l in json.loads(get(url + "/admin/links", key)).get("links", []) if l.get("direction") == direction]


def wires(url, key):
    """The node's relay wires that are up: one per peer it shares rooms with, whatever the rooms."""
    return [w for w in json.loads(get(url + "/admin/links", key)).get("wires", []) if w.get("up")]


def read(a, b, key):
    out = links(a, key, "out")
    inn = links(b, key, "in")
    return {"at": time.time(),
            "wiresOfA": len(wires(a, key)),
            "linksOut": len(out),
            "tracksOut": sum(l.get("tracks", 0) for l in out),
            "linkOut": sum(l.get("packets", 0) for l in out),
            "aRtpIn": metric(get(a + "/metrics"), "sfu_packets_in_total", 'kind="rtp"'),
            "bLinkIn": sum(l.get("packets", 0) for l in inn),
            "bLinkLost": sum(l.get("packetsLost", 0) for l in inn),
            "bParticipants": metric(get(b + "/metrics"), "sfu_participants")}


def sample(a, b, key, out_path, subs=None):
    deadline = time.time() + 120
    first = None
    while time.time() < deadline:
        try:
            s = read(a, b, key)
        except Exception as e:  # a node busy with joins: try again until the deadline
            print(f"link: waiting ({e})")
            time.sleep(1)
            continue
        ready = s["tracksOut"] >= 2 and s["linkOut"] > 0 and (subs is None or s["bParticipants"] >= subs)
        if ready:
            first = s
            break
        time.sleep(1)
    if first is None:
        sys.exit("link: FAILED no relay link from A to B carrying the publisher's tracks within 120 s")
    time.sleep(2)  # every receiver subscribed, the first keyframes through
    first = read(a, b, key)
    time.sleep(5)
    second = read(a, b, key)
    d = {k: second[k] - first[k] for k in ("linkOut", "aRtpIn", "bLinkIn", "bLinkLost")}
    result = {"first": first, "second": second, "delta": d,
              "ratio": d["linkOut"] / d["aRtpIn"] if d["aRtpIn"] > 0 else None,
              "receiversOnB": second["bParticipants"], "linksOut": second["linksOut"],
              "wiresOfA": second["wiresOfA"]}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"link: over 5 s node A received {d['aRtpIn']:.0f} RTP packets from its publisher and sent "
          f"{d['linkOut']:.0f} over {second['linksOut']} relay link(s) to B (ratio {result['ratio']}); B received "
          f"{d['bLinkIn']:.0f} on it, {d['bLinkLost']:.0f} lost, for {second['bParticipants']:.0f} receivers")


def read_line(a, m, c, key):
    a_out, m_in, m_out, c_in = links(a, key, "out"), links(m, key, "in"), links(m, key, "out"), links(c, key, "in")
    return {"at": time.time(),
            "aLinksOut": len(a_out), "mLinksOut": len(m_out),
            "tracksOut": sum(l.get("tracks", 0) for l in m_out),
            "aRtpIn": metric(get(a + "/metrics"), "sfu_packets_in_total", 'kind="rtp"'),
            "aLinkOut": sum(l.get("packets", 0) for l in a_out),
            "mLinkIn": sum(l.get("packets", 0) for l in m_in),
            "mLinkOut": sum(l.get("packets", 0) for l in m_out),
            "cLinkIn": sum(l.get("packets", 0) for l in c_in),
            "cLinkLost": sum(l.get("packetsLost", 0) for l in c_in),
            "cParticipants": metric(get(c + "/metrics"), "sfu_participants")}


def sample2(a, m, c, key, out_path, subs):
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            s = read_line(a, m, c, key)
            if s["tracksOut"] >= 2 and s["mLinkOut"] > 0 and s["cParticipants"] >= subs:
                break
        except Exception as e:
            print(f"link: waiting ({e})")
        time.sleep(1)
    else:
        sys.exit("link: FAILED no relay links A -> M -> C carrying the publisher's tracks within 120 s")
    time.sleep(2)
    first = read_line(a, m, c, key)
    time.sleep(5)
    second = read_line(a, m, c, key)
    d = {k: second[k] - first[k] for k in ("aRtpIn", "aLinkOut", "mLinkIn", "mLinkOut", "cLinkIn", "cLinkLost")}
    result = {"first": first, "second": second, "delta": d,
              "ratioAM": d["aLinkOut"] / d["aRtpIn"] if d["aRtpIn"] > 0 else None,
              "ratioMC": d["mLinkOut"] / d["aRtpIn"] if d["aRtpIn"] > 0 else None,
              "receiversOnC": second["cParticipants"], "aLinksOut": second["aLinksOut"],
              "mLinksOut": second["mLinksOut"]}
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    print(f"link: over 5 s node A received {d['aRtpIn']:.0f} RTP packets from its publisher and sent "
          f"{d['aLinkOut']:.0f} to M over {second['aLinksOut']} link(s); M received {d['mLinkIn']:.0f} and sent "
          f"{d['mLinkOut']:.0f} to C over {second['mLinksOut']} link(s); C received {d['cLinkIn']:.0f}, "
          f"{d['cLinkLost']:.0f} lost, for {second['cParticipants']:.0f} receivers")


def verify_line(folder, subs):
    bad = []
    checks = sorted(glob.glob(os.path.join(folder, "check-c-*.json")))
    for path in checks:
        c = json.load(open(path))
        d = c["delta"]
        for name, ratio in (("A -> M", c["ratioAM"]), ("M -> C", c["ratioMC"])):
            if ratio is None or not 0.9 <= ratio <= 1.05:
                bad.append(f"{path}: link {name} carried {ratio} packets per publisher packet")
        if c["aLinksOut"] != 1 or c["mLinksOut"] != 1:
            bad.append(f"{path}: {c['aLinksOut']} links out of A and {c['mLinksOut']} out of M, expected one each")
        if d["cLinkIn"] < 0.9 * d["mLinkOut"]:
            bad.append(f"{path}: C received {d['cLinkIn']:.0f} of {d['mLinkOut']:.0f} sent on the link")
        if c["receiversOnC"] < subs:
            bad.append(f"{path}: {c['receiversOnC']:.0f} receivers on C, expected {subs}")
        run = json.load(open(path.replace("check-c-", "c-")))
        if run["failed"] > 0 or run["streamsReceiving"] < run["streamsExpected"] or run["lossPercent"] >= 2:
            bad.append(f"{path}: receivers: {run['failed']} failed, {run['streamsReceiving']} of "
                       f"{run['streamsExpected']} streams, loss {run['lossPercent']} %")
    if bad:
        sys.exit("hop-bench: FAILED\n  " + "\n  ".join(bad))
    if checks:
        print(f"hop-bench: PASS in {len(checks)} multi-hop run(s) each publisher packet crossed each of the two "
              f"links once, for {subs} receivers behind them")


def verify(folder, subs):
    checks = sorted(glob.glob(os.path.join(folder, "check-b-*.json")))
    if not checks:
        sys.exit("hop-bench: FAILED no link check was written")
    bad = []
    for path in checks:
        c = json.load(open(path))
        d = c["delta"]
        if c["ratio"] is None or not 0.9 <= c["ratio"] <= 1.05:
            bad.append(f"{path}: {d['linkOut']:.0f} packets over the link for {d['aRtpIn']:.0f} from the publisher")
        if c["linksOut"] != 1:
            bad.append(f"{path}: {c['linksOut']} relay links out of A, expected one")
        if c.get("wiresOfA", 1) != 1:
            bad.append(f"{path}: {c['wiresOfA']} relay wires up on A, expected the one to B")
        if d["bLinkIn"] < 0.9 * d["linkOut"]:
            bad.append(f"{path}: B received {d['bLinkIn']:.0f} of {d['linkOut']:.0f} sent on the link")
        if c["receiversOnB"] < subs:
            bad.append(f"{path}: {c['receiversOnB']:.0f} receivers on B, expected {subs}")
        run = json.load(open(path.replace("check-b-", "b-")))
        if run["failed"] > 0 or run["streamsReceiving"] < run["streamsExpected"] or run["lossPercent"] >= 2:
            bad.append(f"{path}: receivers: {run['failed']} failed, {run['streamsReceiving']} of "
                       f"{run['streamsExpected']} streams, loss {run['lossPercent']} %")
    if bad:
        sys.exit("hop-bench: FAILED\n  " + "\n  ".join(bad))
    print(f"hop-bench: PASS in {len(checks)} run(s) each publisher packet crossed the relay link once, "
          f"for {subs} receivers behind it")
    verify_line(folder, subs)


def table(folder):
    rows = []
    for case, label in (("a", "(a) one node"), ("b", "(b) over a relay link"),
                        ("c", "(c) over two relay links, through M")):
        runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(folder, f"{case}-*.json")))]
        runs = [r for r in runs if r["failed"] == 0 and r["streamsReceiving"] == r["streamsExpected"]]
        if not runs:
            continue
        med = lambda f: round(statistics.median(f(r) for r in runs), 3)
        urls = runs[0]["nodes"]
        # (a): the one node; (b): nodes are [B, A] (receivers' node first, the publisher's after)
        # (c): [C, A]; M, in the middle, is not one the load tool knows
        names = {"a": [("node A", urls[0])], "b": [("node A", urls[-1]), ("node B", urls[0])],
                 "c": [("node A", urls[-1]), ("node C", urls[0])]}[case]
        cells = [label, len(runs), med(lambda r: r["latencyMs"]["p50"]), med(lambda r: r["latencyMs"]["p99"])]
        for name, url in names:
            pick = lambda r, u=url: next(n for n in r["nodeResults"] if n["url"] == u)
            cells.append(f"{name}: p50 {med(lambda r: pick(r)['nodeLatencyP50Ms'])} / p99 "
                         f"{med(lambda r: pick(r)['nodeLatencyP99Ms'])} ms, "
                         f"{med(lambda r: 1e6 / pick(r)['rtpOutPerCoreSecond'] if pick(r)['rtpOutPerCoreSecond'] else 0)}"
                         f" us CPU per packet out, {med(lambda r: pick(r)['rtpOutPerSecond'])} packets out/s")
        rows.append(cells)
    print("| case | runs | end-to-end latency p50 ms | p99 ms | each node: latency it adds, CPU per packet out |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r[:4]) + " | " + "; ".join(r[4:]) + " |")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "sample":
        sample(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]) if len(sys.argv) > 6 else None)
    elif mode == "sample2":
        sample2(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]))
    elif mode == "verify":
        verify(sys.argv[2], int(sys.argv[3]))
    elif mode == "table":
        table(sys.argv[2])
    else:
        sys.exit(__doc__)
