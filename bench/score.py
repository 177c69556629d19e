#!/usr/bin/env python3
"""Pairwise precision, recall and F1 of a linkage against the labels.

    score.py TRUTH.csv LINKS.csv [--json]

TRUTH.csv has record_key and true_cluster (the generated records file); LINKS.csv has
record_key and cluster_id (what a tool wrote). A pair of records is predicted when both are
in one predicted cluster and true when both are in one true cluster. Pairs are counted from
the contingency table of (true cluster, predicted cluster) cells, never enumerated:
TP = sum over cells C(n,2), predicted = sum over predicted clusters C(n,2), true = sum over
true clusters C(n,2). A record missing from LINKS.csv counts as a singleton.
"""

import csv
import json
import sys
from collections import Counter


def pairs(n):
    return n * (n - 1) // 2


def score(truth_path, links_path):
    truth = {}
    with open(truth_path, newline="") as fh:
        for row in csv.DictReader(fh):
            truth[row["record_key"]] = row["true_cluster"]
    pred = {}
    with open(links_path, newline="") as fh:
        for row in csv.DictReader(fh):
            pred[row["record_key"]] = row["cluster_id"]
    cells, true_sizes, pred_sizes = Counter(), Counter(), Counter()
    for key, t in truth.items():
        p = pred.get(key, ("singleton", key))
        cells[(t, p)] += 1
        true_sizes[t] += 1
        pred_sizes[p] += 1
    tp = sum(pairs(n) for n in cells.values())
    n_pred = sum(pairs(n) for n in pred_sizes.values())
    n_true = sum(pairs(n) for n in true_sizes.values())
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "records": len(truth),
        "missing": sum(1 for k in truth if k not in pred),
        "true_pairs": n_true,
        "predicted_pairs": n_pred,
        "true_positive_pairs": tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    s = score(args[0], args[1])
    if "--json" in argv:
        print(json.dumps(s))
    else:
        print(f"records {s['records']} (missing {s['missing']}), true pairs {s['true_pairs']}, "
              f"predicted pairs {s['predicted_pairs']}, true positives {s['true_positive_pairs']}")
        print(f"precision {s['precision']:.4f}  recall {s['recall']:.4f}  F1 {s['f1']:.4f}")


if __name__ == "__main__":
    main(sys.argv)
