#!/usr/bin/env bash
# join-parcels benchmark: dcinv against GeoPandas (sjoin), DuckDB spatial and ogr2ogr (SQLite
# dialect) on the same synthetic Etalab parcel files and points; checks that every tool finds
# the same parcel for every point; prints wall time, CPU time and peak RSS (GNU time -v).
#
#   run.sh            100,000 and 1,000,000 parcels, plain and gzipped (long: run it in the
#                     background on a quiet machine)
#   run.sh --smoke    2,000 parcels, 200 points: agreement only (for CI)
#
# Environment: DCINV_BIN (binary; default ../../target/release/dcinv, then the scratch crate's
# ../target/release/cadastre), SIZES, FORMATS ("json json.gz"), TOOLS
# ("dcinv geopandas duckdb ogr2ogr"), REPEAT (dcinv runs per case, median kept; default 3).
# Paths are relative to this script. Generated data go to data/, results to out/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"

SMOKE=0
for a in "$@"; do
  case "$a" in
    --smoke) SMOKE=1 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
if [ "$SMOKE" = 1 ]; then
  SIZES="${SIZES:-2000}"; NPOINTS=200; REPEAT="${REPEAT:-1}"
else
  SIZES="${SIZES:-100000 1000000}"; NPOINTS=2000; REPEAT="${REPEAT:-3}"
fi
FORMATS="${FORMATS:-json json.gz}"
TOOLS="${TOOLS:-dcinv geopandas duckdb ogr2ogr}"

# --- the binary under test ---
BIN="${DCINV_BIN:-}"
if [ -z "$BIN" ]; then
  for c in ../../target/release/dcinv ../target/release/cadastre; do
    if [ -x "$HERE/$c" ]; then BIN="$HERE/$c"; break; fi
  done
fi
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "run.sh: no binary (build with cargo build --release, or set DCINV_BIN)" >&2
  exit 1
fi
echo "binary: $BIN"

# --- system tools: GNU time and Debian's ogr2ogr ---
APT=""
[ -x /usr/bin/time ] || APT="$APT time"
command -v ogr2ogr >/dev/null || APT="$APT gdal-bin"
if [ -n "$APT" ]; then
  SUDO=""; if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $APT
fi

# --- Python peers in bench/.venv ---
VENV="$HERE/.venv"
PY="$VENV/bin/python"
if [ ! -x "$PY" ] || ! "$PY" -c "import geopandas, pyogrio, shapely, pyarrow, duckdb" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt
fi

mkdir -p data out
STAMP="$(date +%Y%m%d-%H%M%S)"
[ "$SMOKE" = 1 ] && STAMP="smoke-$STAMP"
RES="out/results-$STAMP.tsv"
printf 'tool\tsize\tformat\twall_s\tcpu_s\trss_mb\tagree\texit\n' > "$RES"

# Runs a command under GNU time; appends a result row. Args: tool size format agree-with cmd...
measure() {
  local tool="$1" size="$2" fmt="$3" out="$4"; shift 4
  local tf; tf="$(mktemp)"
  local rc=0
  /usr/bin/time -v -o "$tf" "$@" > "out/$tool-$size-$fmt.log" 2>&1 || rc=$?
  local wall cpu rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")"
  cpu="$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$tf")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$tf")"
  rm -f "$tf"
  local ok="-"
  if [ "$rc" != 0 ]; then
    ok="NO"; echo "  $tool failed (exit $rc), see out/$tool-$size-$fmt.log" >&2
  elif [ "$tool" != dcinv ]; then
    if "$PY" compare.py agree "out/dcinv-$size-$fmt.csv" "$out" > "out/agree-$tool-$size-$fmt.txt"; then
      ok="yes"
    else
      ok="NO"
    fi
    echo "  agreement with dcinv: $(head -1 "out/agree-$tool-$size-$fmt.txt")"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$size" "$fmt" "$wall" "$cpu" "$rss" "$ok" "$rc" >> "$RES"
  echo "  $tool $size $fmt: ${wall}s wall, ${cpu}s CPU, ${rss} MB"
}

for size in $SIZES; do
  if [ ! -s "data/parcels-$size.json.gz" ] || [ ! -s "data/points-$size.geojson" ]; then
    echo "generating $size parcels ..."
    "$PY" gen.py "$size" data --points "$NPOINTS"
  fi
  pts="data/points-$size.geojson"
  for fmt in $FORMATS; do
    parcels="data/parcels-$size.$fmt"
    echo "== $size parcels, $fmt =="
    # dcinv first: the peers are checked against its CSV.
    for _ in $(seq "$REPEAT"); do
      measure dcinv "$size" "$fmt" - "$BIN" join-parcels --parcels "$parcels" --points "$pts" \
        --out "out/dcinv-$size-$fmt.csv"
    done
    for tool in $TOOLS; do
      o="out/$tool-$size-$fmt.csv"
      case "$tool" in
        dcinv) ;;
        geopandas) measure geopandas "$size" "$fmt" "$o" "$PY" peers/geopandas_join.py "$parcels" "$pts" "$o" ;;
        duckdb) measure duckdb "$size" "$fmt" "$o" "$PY" peers/duckdb_join.py "$parcels" "$pts" "$o" ;;
        ogr2ogr) measure ogr2ogr "$size" "$fmt" "$o" bash peers/ogr2ogr_join.sh "$parcels" "$pts" "$o" ;;
        *) echo "run.sh: unknown tool $tool" >&2; exit 2 ;;
      esac
    done
  done
done

echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load before the table: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" compare.py table "$RES" | tee "out/table-$STAMP.md"
