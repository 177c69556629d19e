#!/usr/bin/env python3
"""Agreement check and result table of the join-parcels benchmark (standard library only).

  compare.py agree DCINV_CSV PEER_CSV   same parcel per point? (exit 1 if not)
  compare.py table RESULTS_TSV...       Markdown table, ratios to dcinv, goal check (a later
                                        file replaces earlier rows of the same case)

dcinv writes one row per point (point_index, parcel_id, empty when none); a peer writes one
row per (idx, parcel_id) pair it found. A point agrees when dcinv's parcel is among the peer's
parcels for it, or when both found none. (On a shared edge a peer lists both parcels and dcinv
picks the smaller one; such points are counted as "multi".)
"""
import csv
import statistics
import sys
from collections import defaultdict


def agree(dcinv_csv, peer_csv):
    ours = {}
    with open(dcinv_csv, newline="") as f:
        for r in csv.DictReader(f):
            ours[int(r["point_index"])] = r["parcel_id"]
    theirs = defaultdict(set)
    with open(peer_csv, newline="") as f:
        for r in csv.DictReader(f):
            theirs[int(float(r["idx"]))].add(r["parcel_id"])
    bad, multi = [], 0
    for i, pid in sorted(ours.items()):
        s = theirs.get(i, set())
        if len(s) > 1:
            multi += 1
        if (pid == "" and not s) or pid in s:
            continue
        bad.append((i, pid, sorted(s)))
    extra = sorted(set(theirs) - set(ours))
    matched = sum(1 for p in ours.values() if p)
    print(
        "%d points, %d in a parcel, %d disagree, %d on shared edges, %d unknown indices"
        % (len(ours), matched, len(bad), multi, len(extra))
    )
    for b in bad[:10]:
        print("  point %d: dcinv %r, peer %r" % b)
    return 0 if not bad and not extra else 1


def table(tsvs):
    # A later file replaces the earlier files' rows of the same tool, size and format.
    groups = {}
    for tsv in tsvs:
        fresh = defaultdict(list)
        with open(tsv, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                fresh[(r["tool"], int(r["size"]), r["format"])].append(r)
        groups.update(fresh)
    # Median over repeated runs of the same tool/size/format.
    res = {}
    for k, rs in groups.items():
        ok = [r for r in rs if r["exit"] == "0"]
        if not ok:
            res[k] = None
            continue
        res[k] = {
            "wall": statistics.median(float(r["wall_s"]) for r in ok),
            "cpu": statistics.median(float(r["cpu_s"]) for r in ok),
            "rss": statistics.median(float(r["rss_mb"]) for r in ok),
            "agree": "yes" if all(r["agree"] in ("yes", "-") for r in ok) else "NO",
            "runs": len(ok),
        }
    order = {"dcinv": 0, "geopandas": 1, "duckdb": 2, "ogr2ogr": 3}
    keys = sorted(groups, key=lambda k: (k[1], k[2], order.get(k[0], 9), k[0]))
    print("| tool | parcels | file | wall s | CPU s | peak RSS MB | wall × dcinv | RSS × dcinv | agrees |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for k in keys:
        tool, size, fmt = k
        v = res[k]
        if v is None:
            print("| %s | %d | %s | failed | | | | | |" % (tool, size, fmt))
            continue
        base = res.get(("dcinv", size, fmt))
        wr = "%.1f" % (v["wall"] / max(base["wall"], 0.01)) if base else ""
        rr = "%.1f" % (v["rss"] / max(base["rss"], 0.1)) if base else ""
        if tool == "dcinv":
            wr = rr = "1"
        print(
            "| %s | %s | %s | %.2f | %.2f | %.1f | %s | %s | %s |"
            % (tool, "{:,}".format(size), fmt, v["wall"], v["cpu"], v["rss"], wr, rr,
               "-" if tool == "dcinv" else v["agree"])
        )
    status = 0
    for size in sorted({k[1] for k in keys}):
        for fmt in sorted({k[2] for k in keys if k[1] == size}):
            base = res.get(("dcinv", size, fmt))
            peers = [(k[0], res[k]) for k in keys if k[1] == size and k[2] == fmt and k[0] != "dcinv" and res[k]]
            if not base or not peers:
                continue
            name, fastest = min(peers, key=lambda p: p[1]["wall"])
            speed = fastest["wall"] / max(base["wall"], 0.01)
            mem = fastest["rss"] / max(base["rss"], 0.1)
            met = speed >= 10 and mem >= 10
            print(
                "\n%s parcels, %s: fastest peer %s; dcinv %.1fx faster, %.1fx less memory: goal (10x, 10x) %s"
                % ("{:,}".format(size), fmt, name, speed, mem, "met" if met else "NOT met"),
                end="",
            )
    print()
    if any(v and v["agree"] == "NO" for v in res.values()) or any(v is None for v in res.values()):
        status = 1
    return status


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "agree":
        sys.exit(agree(sys.argv[2], sys.argv[3]))
    if len(sys.argv) >= 3 and sys.argv[1] == "table":
        sys.exit(table(sys.argv[2:]))
    sys.exit(__doc__)
