#!/usr/bin/env python3
"""List candidate links for hand-labelling (départements 93, 13, 91).

This script only *prints evidence*; it does not decide anything. The labels in
links_93_13_91.csv were written by hand from its output (and from the raw
files under shared/data/mirror/). It uses nothing from src/reconcile.

Usage:
    python3 make_candidates.py [path/to/inventory.gpkg] [--deps 93,13,91] [--radius 250]
    python3 make_candidates.py [gpkg] --check links_93_13_91.csv

--check validates a finished label file against the selection (every selected
record exactly once, no foreign keys), prints counts per departement, the
largest within-cluster distance of each multi-record cluster, and pairs of
records closer than 30 m that were put in different clusters (to re-read).

Output, per département and commune (records ordered by latitude):
  * one line per record: key, lat/lon, precision, name | operator | codes |
    osm_ref | address;
  * under it, every other selected record that is a candidate link:
      - within --radius metres (haversine), or
      - sharing an OSM object number (community-map/osm-datacenters osm_ref
        `type/N`, cloudsmog native id `osm-N`), or
      - sharing a normalised site code (PAR08 -> PAR8, MRS01 -> MRS1), or
      - both on commune-level / approximate points in the same commune
        with a name token in common;
    with the distance in metres and the reason.
"""
import math
import re
import sqlite3
import struct
import sys
from collections import defaultdict

DEFAULT_GPKG = "/work/scratch/labels/inventory.gpkg"


def parse_point(blob):
    """GeoPackage binary point -> (lon, lat)."""
    if blob is None:
        return None
    assert blob[:2] == b"GP", "not a GeoPackage geometry"
    flags = blob[3]
    env = (flags >> 1) & 0x07
    env_len = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[env]
    off = 8 + env_len
    bo = blob[off]
    fmt = "<" if bo == 1 else ">"
    (gtype,) = struct.unpack(fmt + "I", blob[off + 1:off + 5])
    x, y = struct.unpack(fmt + "dd", blob[off + 5:off + 21])
    return x, y


def haversine(a, b):
    lon1, lat1 = map(math.radians, a)
    lon2, lat2 = map(math.radians, b)
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def norm_code(c):
    c = c.strip().upper().replace(" ", "")
    m = re.match(r"^([A-Z]+)0*(\d+)([A-Z]*)$", c)
    return f"{m.group(1)}{m.group(2)}{m.group(3)}" if m else c


def osm_number(rec):
    if rec["osm_ref"]:
        m = re.search(r"(\d+)$", rec["osm_ref"])
        if m:
            return m.group(1)
    if rec["source_id"] == "cloudsmog-enriched":
        m = re.match(r"osm-(\d+)$", rec["native_id"] or "")
        if m:
            return m.group(1)
    if rec["source_id"] in ("community-map", "osm-datacenters"):
        m = re.match(r"^(node|way|relation)/(\d+)$", rec["native_id"] or "")
        if m:
            return m.group(2)
    return None


def tokens(s):
    return {t for t in re.findall(r"[a-z0-9]+", (s or "").lower()) if len(t) > 2}


def check(recs, path):
    import csv
    by_key = {r["record_key"]: r for r in recs}
    rows = list(csv.DictReader(open(path, newline="", encoding="utf-8")))
    seen = defaultdict(int)
    clusters = defaultdict(list)
    bad = 0
    for row in rows:
        k = row["record_key"]
        seen[k] += 1
        if k not in by_key:
            print("NOT IN SELECTION:", k)
            bad += 1
        else:
            clusters[row["cluster_id"]].append(by_key[k])
    for k, n in seen.items():
        if n > 1:
            print("DUPLICATE:", k, n)
            bad += 1
    for k in by_key:
        if k not in seen:
            print("MISSING:", k)
            bad += 1
    print(f"# {len(rows)} rows, {len(clusters)} clusters, problems: {bad}")
    stats = defaultdict(lambda: [0, 0, 0])   # records, clusters, multi
    for cid, members in clusters.items():
        d = members[0]["departement_code"]
        if any(m["departement_code"] != d for m in members):
            print("cluster spans departements:", cid)
        stats[d][0] += len(members)
        stats[d][1] += 1
        stats[d][2] += len(members) > 1
    for d in sorted(stats):
        print(f"# dep {d}: {stats[d][0]} records, {stats[d][1]} clusters, "
              f"{stats[d][2]} multi-record clusters")
    print("# largest within-cluster distance (m):")
    for cid in sorted(clusters):
        m = clusters[cid]
        if len(m) > 1:
            dmax = max(haversine(a["pt"], b["pt"]) for a in m for b in m)
            print(f"  {cid} {len(m)} recs  max {dmax:6.0f} m  {m[0]['name'] or m[0]['record_key']}")
    print("# pairs < 30 m in different clusters:")
    cl_of = {r["record_key"]: r["cluster_id"] for r in rows}
    keys = [k for k in by_key if k in cl_of]
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if cl_of[a] != cl_of[b]:
                d = haversine(by_key[a]["pt"], by_key[b]["pt"])
                if d < 30:
                    print(f"  {d:5.0f} m  {a} ({cl_of[a]})  {b} ({cl_of[b]})")
    return bad


def main():
    args = sys.argv[1:]
    gpkg = DEFAULT_GPKG
    deps = ["93", "13", "91"]
    radius = 250.0
    check_path = None
    i = 0
    while i < len(args):
        if args[i] == "--check":
            check_path = args[i + 1]
            i += 2
        elif args[i] == "--deps":
            deps = args[i + 1].split(",")
            i += 2
        elif args[i] == "--radius":
            radius = float(args[i + 1])
            i += 2
        else:
            gpkg = args[i]
            i += 1

    con = sqlite3.connect(gpkg)
    con.row_factory = sqlite3.Row
    q = ("SELECT * FROM source_records WHERE departement_code IN (%s)"
         % ",".join("?" * len(deps)))
    recs = [dict(r) for r in con.execute(q, deps)]
    for r in recs:
        r["pt"] = parse_point(r["geom"])
        r["osmn"] = osm_number(r)
        r["ncodes"] = {norm_code(c) for c in (r["codes"] or "").split(";") if c.strip()}
        r["tok"] = tokens(r["name"]) | tokens(r["operator"])

    if check_path:
        sys.exit(1 if check(recs, check_path) else 0)

    counts = defaultdict(lambda: defaultdict(int))
    for r in recs:
        counts[r["departement_code"]][r["source_id"]] += 1
    print("# selection: departement_code IN", deps, "->", len(recs), "records")
    for d in deps:
        print("#", d, sum(counts[d].values()), dict(sorted(counts[d].items())))

    def reasons(a, b):
        why = []
        d = haversine(a["pt"], b["pt"])
        if d <= radius:
            why.append("near")
        if a["osmn"] and a["osmn"] == b["osmn"]:
            why.append("osm#" + a["osmn"])
        common = a["ncodes"] & b["ncodes"]
        if common:
            why.append("code " + "/".join(sorted(common)))
        coarse = {"commune", "approximate"}
        if ((a["point_precision"] in coarse or b["point_precision"] in coarse)
                and a["commune_insee"] == b["commune_insee"]
                and (a["tok"] & b["tok"])):
            why.append("coarse+name")
        return d, why

    by_group = defaultdict(list)
    for r in recs:
        by_group[(r["departement_code"], r["commune_name"] or "")].append(r)
    for key in sorted(by_group):
        print(f"\n=== {key[0]} {key[1]}")
        for r in sorted(by_group[key], key=lambda r: r["pt"][1]):
            lon, lat = r["pt"]
            print(f"{r['record_key']}  [{lat:.5f},{lon:.5f}] {r['point_precision']}"
                  f"  {r['name'] or '-'} | {r['operator'] or '-'} | {r['codes'] or '-'}"
                  f" | {r['osm_ref'] or '-'} | {r['address'] or '-'}")
            cands = []
            for o in recs:
                if o is r:
                    continue
                d, why = reasons(r, o)
                if why:
                    cands.append((d, o, why))
            for d, o, why in sorted(cands, key=lambda t: t[0]):
                print(f"      {d:7.0f} m  {o['record_key']}  ({o['name'] or '-'};"
                      f" {o['codes'] or '-'})  {','.join(why)}")


if __name__ == "__main__":
    main()
