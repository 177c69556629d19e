#!/usr/bin/env python3
"""One table of every variant and size measured (called by variants.sh).

    variants_table.py OUT_DIR VARIANT...

Reads what run.sh left in OUT_DIR (variant `records`) and OUT_DIR/<variant>/ for the
others, and prints: variant, size, tool, status, wall s, CPU s, peak RSS MB, precision,
recall, F1, with the date of each run.
"""

import json
import os
import re
import sys
import time

from report import fmt, parse_time, status_of


def main(argv):
    out, variants = argv[1], argv[2:]
    print("| variant | size | tool | status | wall s | CPU s | peak RSS MB | precision | recall "
          "| F1 | run (UTC) |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|")
    for v in variants:
        d = out if v == "records" else os.path.join(out, v)
        if not os.path.isdir(d):
            continue
        sizes = sorted({int(m.group(2)) for f in os.listdir(d)
                        if (m := re.match(r"(dcinv|splink)_(\d+)\.time$", f))})
        for n in sizes:
            for tool in ("dcinv", "splink"):
                tp = os.path.join(d, f"{tool}_{n}.time")
                if not os.path.exists(tp):
                    continue
                t = parse_time(tp)
                lp = os.path.join(d, f"{tool}_{n}.log")
                status = status_of(t, open(lp).read() if os.path.exists(lp) else "")
                sp = os.path.join(d, f"{tool}_{n}.score.json")
                s = json.load(open(sp)) if status == "ok" and os.path.exists(sp) else {}
                when = time.strftime("%m-%d %H:%M", time.gmtime(os.path.getmtime(tp)))
                print(f"| {v} | {n:,} | {tool} | {status} | {fmt(t.get('wall'), '.2f')} | "
                      f"{fmt(t.get('cpu'), '.2f')} | {fmt(t.get('rss_mb'), '.0f')} | "
                      f"{fmt(s.get('precision'), '.4f')} | {fmt(s.get('recall'), '.4f')} | "
                      f"{fmt(s.get('f1'), '.4f')} | {when} |")


if __name__ == "__main__":
    main(sys.argv)
