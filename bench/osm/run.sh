#!/usr/bin/env bash
# Benchmark of the data-centre extraction from a large OSM PBF:
#   ours      `dcinv osm-extract BIG.osm.pbf --tag K=V ... --out F.geojson` (or the scratch bin)
#   osmium    `osmium tags-filter -t -e EXPR BIG.osm.pbf` + `osmium export --geometry-types=point,polygon`
#   pyosmium  pyosmium_extract.py (FileProcessor + C++ TagFilter, areas, flex_mem locations)
# All three use the same taggings (dc_tags.txt). Each run is timed with /usr/bin/time
# (wall, user+sys CPU, peak RSS); the table shows the median run by wall time, and the outputs
# are checked to hold the same features (ours must equal osmium's).
#
# Usage: run.sh [--smoke]
#   --smoke   3 copies, 1 run: only checks that the tools agree (what CI runs).
#   env: COPIES (600: about 290 MB), RUNS (3), DCINV (default ../../target/release/dcinv),
#        OSM_EXTRACT (fallback: the scratch crate's bin, ../target/release/osm-extract),
#        SKIP_PYOSMIUM=1 (leave pyosmium out), OUT (default out/ beside this script).
# Needs: osmium-tool, GNU time (/usr/bin/time), python3 (+ pip for pyosmium, into .venv here).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$HERE/out}"
SMOKE=0
if [ "${1:-}" = "--smoke" ]; then SMOKE=1; fi
if [ "$SMOKE" = 1 ]; then
    COPIES="${COPIES:-3}"; RUNS="${RUNS:-1}"
    export DC_WAYS="${DC_WAYS:-6}" DC_NODES="${DC_NODES:-3}" DC_RELATIONS="${DC_RELATIONS:-2}"
else
    COPIES="${COPIES:-600}"; RUNS="${RUNS:-3}"
fi
die() { echo "run.sh: $*" >&2; exit 1; }

# --- our command: dcinv osm-extract, else the scratch bin
DCINV="${DCINV:-$HERE/../../target/release/dcinv}"
if [ -x "$DCINV" ] && "$DCINV" osm-extract --help >/dev/null 2>&1; then
    OURS=("$DCINV" osm-extract)
else
    OSM_EXTRACT="${OSM_EXTRACT:-$HERE/../target/release/osm-extract}"
    [ -x "$OSM_EXTRACT" ] || die "no dcinv ($DCINV) nor osm-extract ($OSM_EXTRACT): build with cargo build --release"
    OURS=("$OSM_EXTRACT")
fi

# --- peer tools
command -v osmium >/dev/null || die "osmium-tool is needed (apt-get install -y osmium-tool)"
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install -y time)"
PY=""
if [ "${SKIP_PYOSMIUM:-0}" != 1 ]; then
    VENV="$HERE/.venv"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import osmium" 2>/dev/null; then
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet osmium
    fi
    PY="$VENV/bin/python"
fi

# --- input
mkdir -p "$OUT"
PBF="$OUT/big-$COPIES.osm.pbf"
if [ ! -f "$PBF" ]; then
    bash "$HERE/make_big_pbf.sh" "$COPIES" "$PBF"
fi
TAGS=()
while IFS= read -r line; do
    case "$line" in ''|'#'*) ;; *) TAGS+=(--tag "$line") ;; esac
done < "$HERE/dc_tags.txt"
KEYS="$(grep -v '^#' "$HERE/dc_tags.txt" | grep . | cut -d= -f1 | awk '!seen[$0]++' | paste -sd, -)"
VALUES="$(grep -v '^#' "$HERE/dc_tags.txt" | grep . | cut -d= -f2 | awk '!seen[$0]++' | paste -sd, -)"
echo "nwr/$KEYS=$VALUES" > "$OUT/dc_expressions.txt"

# --- runs
RESULTS="$OUT/results.txt"
: > "$RESULTS"
timed() { # name step command...: appends "name wall cpu rss" to $RESULTS.step
    local name="$1" step="$2"; shift 2
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" > "$OUT/$name.$step.log" 2>&1 \
        || { cat "$OUT/$name.$step.log" >&2; die "$name failed"; }
    awk -v n="$name" '{ printf "%s %.2f %.2f %d\n", n, $1, $2 + $3, $4 }' "$OUT/time.txt"
}
sum_steps() { # name lines...: wall and CPU summed, RSS max
    awk -v n="$1" '{ w += $2; c += $3; if ($4 > r) r = $4 } END { printf "%s %.2f %.2f %d\n", n, w, c, r }'
}
cat "$PBF" > /dev/null # same page-cache state for every tool
for run in $(seq 1 "$RUNS"); do
    timed ours 1 "${OURS[@]}" "$PBF" "${TAGS[@]}" --out "$OUT/ours.geojson" >> "$RESULTS"
    {
        timed osmium 1 osmium tags-filter -t --overwrite -e "$OUT/dc_expressions.txt" "$PBF" -o "$OUT/osmium_dc.osm.pbf"
        timed osmium 2 osmium export --overwrite --geometry-types=point,polygon -a type,id \
            "$OUT/osmium_dc.osm.pbf" -o "$OUT/osmium.geojson"
    } | sum_steps osmium >> "$RESULTS"
    if [ -n "$PY" ]; then
        timed pyosmium 1 "$PY" "$HERE/pyosmium_extract.py" "$PBF" "$HERE/dc_tags.txt" "$OUT/pyosmium.geojson" >> "$RESULTS"
    fi
    echo "run $run/$RUNS done" >&2
done

# --- table: the median run (by wall time) of each tool
SIZE_MB="$(du -m "$PBF" | cut -f1)"
echo
echo "Input: $(basename "$PBF") ($SIZE_MB MB, $COPIES tiled copies), $RUNS run(s), $(nproc) cores"
echo "Ours: ${OURS[*]}"
echo
python3 - "$RESULTS" <<'EOF'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, wall, cpu, rss = line.split()
    rows.setdefault(name, []).append((float(wall), float(cpu), int(rss)))
med = {n: sorted(r)[len(r) // 2] for n, r in rows.items()}
peers = [med[n][0] for n in med if n != "ours"]
best = min(peers) if peers else None
print("| tool | wall s (median) | CPU s (user+sys) | peak RSS MiB | wall vs ours |")
print("|---|---:|---:|---:|---:|")
for n in ["ours", "osmium", "pyosmium"]:
    if n in med:
        w, c, r = med[n]
        print("| %s | %.2f | %.2f | %.0f | %.1fx |" % (n, w, c, r / 1024, w / med["ours"][0]))
if best:
    print()
    print("ours is %.1fx faster than the fastest peer; peak RSS %.0f MiB"
          % (best / med["ours"][0], med["ours"][2] / 1024))
EOF
echo
ARGS=(osmium="$OUT/osmium.geojson" ours="$OUT/ours.geojson")
python3 "$HERE/compare_outputs.py" "${ARGS[@]}" || die "ours and osmium disagree"
if [ -n "$PY" ]; then
    python3 "$HERE/compare_outputs.py" osmium="$OUT/osmium.geojson" pyosmium="$OUT/pyosmium.geojson" \
        || echo "(pyosmium differs from osmium: see above)"
fi
