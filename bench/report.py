#!/usr/bin/env python3
"""Results table of a benchmark run (called by run.sh).

    report.py OUT_DIR SIZE...

Reads, per size and tool, OUT_DIR/<tool>_<size>.time (GNU time -v), <tool>_<size>.log
(the tool's stderr), <tool>_<size>.score.json (score.py --json) and prints a Markdown table:
size, tool, status, wall s, CPU s (user+sys), peak RSS MB, precision, recall, F1, the ratio
Splink wall / dcinv wall, and dcinv's wall-time growth per 10x size next to n log n's.
"""

import json
import math
import os
import re
import sys
import time

TOOLS = ["dcinv", "splink"]


def parse_time(path):
    if not os.path.exists(path):
        return None
    text = open(path).read()
    out = {}
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text)
    if m:
        secs = 0.0
        for part in m.group(1).split(":"):
            secs = secs * 60 + float(part)
        out["wall"] = secs
    user = re.search(r"User time \(seconds\): (\S+)", text)
    system = re.search(r"System time \(seconds\): (\S+)", text)
    if user and system:
        out["cpu"] = float(user.group(1)) + float(system.group(1))
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if rss:
        out["rss_mb"] = int(rss.group(1)) / 1024
    status = re.search(r"Exit status: (\d+)", text)
    out["exit"] = int(status.group(1)) if status else None
    sig = re.search(r"Command terminated by signal (\d+)", text)
    out["signal"] = int(sig.group(1)) if sig else None
    return out


def status_of(t, log):
    if t is None:
        return "not run"
    if "wall" not in t:
        return "not finished"
    if t.get("exit") == 0 and not t.get("signal"):
        return "ok"
    if t.get("exit") == 124:
        return "timeout (stopped)"
    if t.get("signal") == 9 or t.get("exit") == 137:
        return "killed (out of memory?)"
    if "memory allocation" in log or "Out of Memory" in log or "MemoryError" in log:
        return "out of memory"
    return f"failed (exit {t.get('exit')}, signal {t.get('signal')})"


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def main(argv):
    out_dir, sizes = argv[1], [int(s) for s in argv[2:]]
    rows, notes, walls = [], [], {}
    for n in sizes:
        g = parse_time(os.path.join(out_dir, f"gen_{n}.time"))
        if g and "wall" in g:
            date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(
                os.path.getmtime(os.path.join(out_dir, f"gen_{n}.time"))))
            notes.append(f"- generator {n:,} (run of {date}): {g['wall']:.1f} s wall, "
                         f"{g.get('rss_mb', 0):.0f} MB peak RSS")
        for tool in TOOLS:
            t = parse_time(os.path.join(out_dir, f"{tool}_{n}.time"))
            log_path = os.path.join(out_dir, f"{tool}_{n}.log")
            log = open(log_path).read() if os.path.exists(log_path) else ""
            score_path = os.path.join(out_dir, f"{tool}_{n}.score.json")
            status = status_of(t, log)
            score = json.load(open(score_path)) if status == "ok" and os.path.exists(
                score_path) else {}
            wall = t.get("wall") if t else None
            walls[(tool, n)] = wall if status == "ok" else None
            rows.append((n, tool, status, wall, t.get("cpu") if t else None,
                         t.get("rss_mb") if t else None, score.get("precision"),
                         score.get("recall"), score.get("f1")))
            summary = [ln for ln in log.splitlines()
                       if ln.startswith(("linked ", "splink: ", "memory allocation"))]
            if status.startswith("timeout") and tool == "splink" and not summary:
                summary = ["stopped before the end (see the log for the last stage reached)"]
            if summary:
                notes.append(f"- {tool} {n:,}: {summary[-1].strip()}")
    lines = [
        "| size | tool | status | wall s | CPU s | peak RSS MB | precision | recall | F1 "
        "| Splink wall / dcinv wall | dcinv wall growth vs previous size (n log n) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    prev = None
    for n, tool, status, wall, cpu, rss, p, r, f in rows:
        ratio = growth = ""
        if tool == "splink":
            d, s = walls.get(("dcinv", n)), walls.get(("splink", n))
            ratio = f"{s / d:.2f}" if d and s else "–"
        else:
            if prev is not None:
                d0, d1 = walls.get(("dcinv", prev)), walls.get(("dcinv", n))
                nlogn = (n * math.log(n)) / (prev * math.log(prev))
                growth = (f"×{d1 / d0:.1f} (×{nlogn:.1f})" if d0 and d1
                          else f"– (×{nlogn:.1f})")
            prev = n
        lines.append(
            f"| {n:,} | {tool} | {status} | {fmt(wall, '.2f')} | {fmt(cpu, '.2f')} | "
            f"{fmt(rss, '.0f')} | {fmt(p, '.4f')} | {fmt(r, '.4f')} | {fmt(f, '.4f')} | "
            f"{ratio} | {growth} |"
        )
    print("\n".join(lines))
    if notes:
        print("\nTool summaries (stderr):\n")
        print("\n".join(notes))


if __name__ == "__main__":
    main(sys.argv)
