#!/usr/bin/env bash
# Builds the benchmark input: COPIES tiled copies of the Helsinki sample (renumbered with
# `osmium renumber`, then tiled by make_big_pbf.py) with data-centre tags added at random.
#
# Usage: make_big_pbf.sh [COPIES [OUT.osm.pbf]]
#   COPIES  default 600 (about 290 MB); OUT default out/big-COPIES.osm.pbf beside this script.
#   env: OSM_SAMPLE (the base .osm.pbf; default shared/data/samples/osm-pbf/Helsinki.osm.pbf
#        found above this folder), DC_WAYS (300), DC_NODES (30), DC_RELATIONS (10), JOBS (2).
# Needs osmium-tool and python3 (standard library only).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
COPIES="${1:-600}"
OUT="${2:-$HERE/out/big-$COPIES.osm.pbf}"

find_sample() {
    local d="$HERE" rel="shared/data/samples/osm-pbf/Helsinki.osm.pbf"
    for _ in 1 2 3 4 5; do
        d="$(dirname "$d")"
        if [ -f "$d/$rel" ]; then echo "$d/$rel"; return 0; fi
    done
    return 1
}
SAMPLE="${OSM_SAMPLE:-$(find_sample || true)}"
if [ -z "$SAMPLE" ] || [ ! -f "$SAMPLE" ]; then
    echo "make_big_pbf.sh: no base sample (set OSM_SAMPLE)" >&2
    exit 1
fi
command -v osmium >/dev/null || { echo "make_big_pbf.sh: osmium-tool is needed (apt-get install osmium-tool)" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
osmium renumber --overwrite -o "$TMP/base.osm.pbf" "$SAMPLE"
python3 "$HERE/make_big_pbf.py" "$TMP/base.osm.pbf" "$OUT.part" --copies "$COPIES" \
    --dc-ways "${DC_WAYS:-300}" --dc-nodes "${DC_NODES:-30}" --dc-relations "${DC_RELATIONS:-10}" \
    --jobs "${JOBS:-2}"
mv "$OUT.part.expected.json" "$OUT.expected.json"
mv "$OUT.part" "$OUT"
ls -l "$OUT"
