#!/usr/bin/env python3
"""Pairwise precision / recall of a build's links against label files, per département
and overall (stdlib only; the same pair counting as `dcinv eval-links`).

Usage: python3 score_by_dep.py INVENTORY.gpkg LABELS.csv [LABELS.csv ...]
"""
import csv
import sqlite3
import sys
from collections import Counter, defaultdict


def pairs(n):
    return n * (n - 1) // 2


def scores(labels, predicted):
    cells, by_label, by_pred = Counter(), Counter(), Counter()
    for key, cluster in labels.items():
        fid = predicted.get(key)
        if fid is None:
            continue
        cells[(cluster, fid)] += 1
        by_label[cluster] += 1
        by_pred[fid] += 1
    correct = sum(pairs(n) for n in cells.values())
    truth = sum(pairs(n) for n in by_label.values())
    pred = sum(pairs(n) for n in by_pred.values())
    p = correct / pred if pred else 1.0
    r = correct / truth if truth else 1.0
    return len(labels), truth, pred, correct, p, r


def main():
    gpkg, files = sys.argv[1], sys.argv[2:]
    con = sqlite3.connect(gpkg)
    predicted = dict(con.execute("SELECT record_key, facility_id FROM links"))
    dep = dict(con.execute("SELECT record_key, departement_code FROM source_records"))
    for f in files:
        labels = {row["record_key"]: row["cluster_id"] for row in csv.DictReader(open(f))}
        groups = defaultdict(dict)
        for k, c in labels.items():
            groups[dep.get(k, "?")][k] = c
        print(f"{f}")
        print(f"  {'dep':<5} {'records':>7} {'true':>5} {'pred':>5} {'ok':>5} {'precision':>9} {'recall':>7}")
        for d in sorted(groups) + ["all"]:
            sel = labels if d == "all" else groups[d]
            n, t, pr, ok, p, r = scores(sel, predicted)
            print(f"  {d:<5} {n:>7} {t:>5} {pr:>5} {ok:>5} {p:>9.3f} {r:>7.3f}")


if __name__ == "__main__":
    main()
