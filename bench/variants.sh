#!/usr/bin/env bash
# Every benchmark variant (two generators, knobs for density, approximate share and noise),
# dcinv and Splink side by side; then one table of all of them in out/variants.md.
#
#   bench/variants.sh [SIZES...]      default: 100000 1000000
#
# Environment: VARIANTS (default: all six), SPLINK_MAX_SIZE (default 100000: Splink is run
# at 100k only; set it higher to run Splink at 1M too), plus run.sh's (SEED, BENCH_TIMEOUT,
# BENCH_MEM_KB, DCINV, BENCH_PY).
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(100000 1000000); fi
read -r -a LIST <<<"${VARIANTS:-records sites sites-dense sites-approx0 sites-approx50 sites-noisy}"
export SPLINK_MAX_SIZE="${SPLINK_MAX_SIZE:-100000}"
for v in "${LIST[@]}"; do
    VARIANT="$v" "$BENCH/run.sh" "${SIZES[@]}" >/dev/null
done
python3 "$BENCH/variants_table.py" "$BENCH/out" "${LIST[@]}" | tee "$BENCH/out/variants.md"
