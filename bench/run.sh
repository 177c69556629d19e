#!/usr/bin/env bash
# Side-by-side record-linkage benchmark: dcinv link-csv vs Splink 4 (DuckDB).
#
#   bench/run.sh [SIZES...]        default: 10000 100000 1000000
#
# Environment: VARIANT (which generated records, default `records`; see variant_args below
# and README.md), SPLINK_MAX_SIZE (Splink is run up to this size, default all), REPORT_ONLY=1 (only rewrite out/results.md from out/), SEED (generator seed, default 1), BENCH_TIMEOUT (seconds per tool run,
# default 2400 = 40 min), BENCH_MEM_KB (address-space cap per tool run, default the
# machine's memory less 1 GiB), BENCH_INVENTORY (inventory.gpkg used as templates).
# Writes bench/out/records_N.csv, <tool>_N.{csv,log,time,score.json} and results.md.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
VARIANT="${VARIANT:-records}"
if [ "$VARIANT" = records ]; then OUT="$BENCH/out"; else OUT="$BENCH/out/$VARIANT"; fi
SEED="${SEED:-1}"
SPLINK_MAX_SIZE="${SPLINK_MAX_SIZE:-999999999999}"
TIMEOUT="${BENCH_TIMEOUT:-2400}"
MEM_TOTAL_KB="$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
MEM_KB="${BENCH_MEM_KB:-$((MEM_TOTAL_KB - 1048576))}"
DCINV="${DCINV:-$ROOT/target/release/dcinv}"
PY="${BENCH_PY:-$BENCH/.venv/bin/python}"
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(10000 100000 1000000); fi
mkdir -p "$OUT"

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# The generator and its options of each variant.
variant_args() {
    case "$VARIANT" in
    records) echo "gen_records.py" ;;
    sites) echo "gen_sites.py" ;;
    sites-dense) echo "gen_sites.py --density 10" ;;
    sites-approx0) echo "gen_sites.py --approx-share 0" ;;
    sites-approx50) echo "gen_sites.py --approx-share 0.5" ;;
    sites-noisy) echo "gen_sites.py --name-noise 0.6 --missing-operator 0.5 --address-only 0.25" ;;
    *) echo "unknown VARIANT $VARIANT" >&2; exit 2 ;;
    esac
}
read -r -a GEN <<<"$(variant_args)"

# --- tools ---------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
    log "installing GNU time"
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi
if ! [ -x "$PY" ] || ! "$PY" -c "import splink" 2>/dev/null; then
    log "creating $BENCH/.venv with Splink 4"
    python3 -m venv "$BENCH/.venv"
    "$BENCH/.venv/bin/pip" install -q --upgrade pip
    "$BENCH/.venv/bin/pip" install -q 'splink>=4,<5'
fi
if [ ! -x "$DCINV" ]; then
    log "building dcinv (release)"
    (cd "$ROOT" && cargo build --release --locked)
fi

# --- templates: a built inventory (read at run time, never copied into the repo) -------
if [ -z "${BENCH_INVENTORY:-}" ] && [ ! -f /tmp/bench_inv/inventory.gpkg ] \
    && [ ! -f "$ROOT/output/inventory.gpkg" ] && [ -d "$ROOT/../shared/data/mirror" ]; then
    log "building an inventory from the mirror into /tmp/bench_inv (templates)"
    (cd "$ROOT" && "$DCINV" build --mirror ../shared/data/mirror --out /tmp/bench_inv -q) || true
fi

# --- one measured run: /usr/bin/time -v, a time-out and a memory cap ------------------
measure() { # measure NAME CMD...
    local name="$1"
    shift
    set +e
    (
        ulimit -v "$MEM_KB"
        /usr/bin/time -v -o "$OUT/$name.time" timeout "$TIMEOUT" "$@" 2>"$OUT/$name.log"
    )
    local rc=$?
    set -e
    log "$name exited $rc ($(grep -E 'Elapsed' "$OUT/$name.time" | awk '{print $NF}') wall)"
    return 0
}

# REPORT_ONLY=1 rewrites out/results.md from what out/ holds, without running anything.
[ "${REPORT_ONLY:-}" = 1 ] && RUN_SIZES=() || RUN_SIZES=("${SIZES[@]}")
for n in "${RUN_SIZES[@]}"; do
    rec="$OUT/records_$n.csv"
    log "generating $n records (variant $VARIANT, seed $SEED)"
    /usr/bin/time -v -o "$OUT/gen_$n.time" python3 "$BENCH/${GEN[0]}" "$n" "$SEED" "$rec" "${GEN[@]:1}"
    rm -f "$OUT"/{dcinv,splink}_"$n".{csv,score.json,time,log}

    log "dcinv link-csv on $n records"
    measure "dcinv_$n" "$DCINV" link-csv "$rec" --out "$OUT/dcinv_$n.csv"
    if [ "$n" -le "$SPLINK_MAX_SIZE" ]; then
        log "splink on $n records"
        measure "splink_$n" "$PY" "$BENCH/splink_link.py" "$rec" "$OUT/splink_$n.csv"
    fi
    rm -rf "$OUT/.duckdb_tmp"

    for tool in dcinv splink; do
        if grep -q "Exit status: 0" "$OUT/${tool}_$n.time" \
            && ! grep -q "terminated by signal" "$OUT/${tool}_$n.time" \
            && [ -f "$OUT/${tool}_$n.csv" ]; then
            python3 "$BENCH/score.py" "$rec" "$OUT/${tool}_$n.csv" --json \
                >"$OUT/${tool}_$n.score.json"
        fi
    done
done

# --- report ---------------------------------------------------------------------------
{
    echo "# Record-linkage benchmark results"
    echo
    echo "- written: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $((MEM_TOTAL_KB / 1024 / 1024)) GiB memory"
    echo "- dcinv: $("$DCINV" --version 2>/dev/null || echo '?'); $("$PY" -c 'from importlib.metadata import version as v; print("Splink " + v("splink") + ", DuckDB " + v("duckdb"))')"
    echo "- variant $VARIANT (${GEN[*]}), generator seed $SEED; per-run limits: ${TIMEOUT} s wall, address space $((MEM_KB / 1024)) MiB; Splink threshold 0.9"
    echo
    # Every size measured in out/ (this run's and earlier ones'), smallest first.
    python3 "$BENCH/report.py" "$OUT" $(
        { printf '%s\n' "${SIZES[@]}"; ls "$OUT" | sed -n 's/^dcinv_\([0-9]*\)\.time$/\1/p'; } \
            | sort -n -u
    )
} >"$OUT/results.md"
cat "$OUT/results.md"
