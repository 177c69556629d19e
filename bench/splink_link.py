#!/usr/bin/env python3
"""Links a records CSV (dcinv link-csv format) with Splink 4 on DuckDB.

    splink_link.py IN.csv OUT.csv

Writes `record_key,cluster_id` for every record in input order. Prints load, training and
predict+cluster times on stderr. Configuration (see README.md):

  * preprocessing as dcinv's (src/reconcile/normalize.rs): names folded to lowercase ASCII
    words without generic words and without the record's own operator words; operators
    slugged without legal forms; site codes as `MAR02` -> `MAR2`;
  * the same information dcinv uses: the source of each record (pairs of one source are
    excluded from the predictions) and a distance that depends on the points' precision
    (distance / the larger tolerance of the two points, building 80 m, address 250 m,
    approximate 3 km, as dcinv's link.rs, at 0.5 / 1 / 2 / 4);
  * comparisons: that relative distance, name Jaro-Winkler (exact, >= 0.93, >= 0.8),
    operator exact, site codes array intersection, address exact, osm_id exact,
    peeringdb_id exact;
  * blocking like dcinv's candidates: building and address points in the ~1.1 km grid
    (0.01 deg lat x 0.015 deg lon) cell and 8 neighbours within a 1 km box; imprecise
    records (approximate, commune, none) by keys, not by a disc: site code, operator +
    commune, name word + commune; exact osm_id, peeringdb_id, operator + site code,
    commune + address;
  * training: probability two random records match from the deterministic rules (same
    osm_id, same peeringdb_id, same commune+address) at recall 0.7; u by random sampling
    (1e7 pairs, seed 42); m by EM on two blocks (same grid cell; same commune+address);
  * predict and cluster (connected components) at match probability >= THRESHOLD = 0.9.
"""

import csv
import math
import os
import sys
import time
import unicodedata

THRESHOLD = 0.9
# dcinv's tolerances (src/reconcile/link.rs, tolerance_m), metres.
TOLERANCE_M = {"building": 80.0, "address": 250.0, "approximate": 3000.0}
U_MAX_PAIRS = 1e7
SEED = 42

GENERIC = {
    "datacenter", "datacentre", "data", "center", "centre", "centers", "centres", "dc", "de",
    "du", "des", "la", "le", "les", "l", "d", "the", "of", "site", "salle", "informatique",
    "hebergement", "et", "and", "sas", "sa", "inc",
}
LEGAL = {"inc", "sas", "sa", "sarl", "ltd", "llc", "group", "groupe"}


def slug_words(s):
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(c if c.isalnum() else " " for c in s).split()


def operator_key(s):
    return "-".join(w for w in slug_words(s) if w not in LEGAL)


def code_key(code):
    upper = "".join(c for c in code if c.isascii() and c.isalnum()).upper()
    letters = ""
    for c in upper:
        if not c.isalpha():
            break
        letters += c
    digits = upper[len(letters):]
    if digits and digits.isdigit():
        return letters + (digits.lstrip("0") or "0")
    return upper


def load(path):
    """Rows for Splink (a dict of columns) and the record keys in input order."""
    cols = {k: [] for k in ["record_key", "source", "precision", "fine", "lat", "lon", "tol",
                            "cy", "cx", "name_clean", "name_tokens", "operator_key", "codes",
                            "address", "commune", "osm_id", "peeringdb_id"]}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            g = lambda k: (row.get(k) or "").strip()  # noqa: E731
            cols["record_key"].append(g("record_key"))
            prec = g("precision")
            try:
                lon, lat = float(g("lon")), float(g("lat"))
            except ValueError:
                lon = lat = None
            if lat is None:
                prec = ""
            cols["source"].append(g("source") or None)
            cols["precision"].append(prec or None)
            fine = prec in ("building", "address")
            cols["fine"].append("y" if fine else "n")
            cols["lat"].append(lat)
            cols["lon"].append(lon)
            cols["tol"].append(TOLERANCE_M.get(prec))
            cols["cy"].append(math.floor(lat / 0.01) if fine else None)
            cols["cx"].append(math.floor(lon / 0.015) if fine else None)
            op = operator_key(g("operator")) if g("operator") else ""
            cols["operator_key"].append(op or None)
            op_words = set(op.split("-")) if op else set()
            words = [w for w in slug_words(g("name")) if w not in GENERIC and w not in op_words]
            cols["name_clean"].append(" ".join(words) or None)
            cols["name_tokens"].append(";".join(w for w in words if len(w) >= 3) or None)
            codes = sorted({code_key(c) for c in g("codes").split(";") if c.strip()})
            cols["codes"].append(codes or None)
            for k in ["address", "commune", "osm_id", "peeringdb_id"]:
                cols[k].append(g(k) or None)
    return cols


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    src, out = argv[1], argv[2]
    import duckdb
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t0 = time.perf_counter()
    cols = load(src)
    con = duckdb.connect()
    tmp = os.path.join(os.path.dirname(os.path.abspath(out)), ".duckdb_tmp")
    con.execute(f"SET temp_directory = '{tmp}'")
    # Spill to disk rather than fail: well under the machine's 24 GiB (and run.sh's cap).
    con.execute(f"SET memory_limit = '{os.environ.get('SPLINK_DUCKDB_MEMORY', '14GB')}'")
    cols["codes"] = [";".join(c) if c else None for c in cols["codes"]]
    from splink.blocking_rule_library import And, CustomRule
    import splink.comparison_level_library as cll
    frame = pd.DataFrame({
        **{k: pd.array(v, dtype="string") for k, v in cols.items()
           if k not in ("lat", "lon", "tol", "cy", "cx")},
        **{k: pd.array(cols[k], dtype="Float64") for k in ("lat", "lon", "tol")},
        **{k: pd.array(cols[k], dtype="Int64") for k in ("cy", "cx")},
    })
    con.register("records_frame", frame)
    con.execute(
        "CREATE TABLE records AS SELECT * REPLACE "
        "(CAST(string_split(codes, ';') AS VARCHAR[]) AS codes, "
        "CAST(string_split(name_tokens, ';') AS VARCHAR[]) AS name_tokens) FROM records_frame"
    )
    con.unregister("records_frame")
    keys = cols["record_key"]
    del cols, frame
    load_s = time.perf_counter() - t0

    fine = [
        f"l.cy = r.cy + {dy} AND l.cx = r.cx + {dx} "
        "AND abs(l.lat - r.lat) <= 0.009 AND abs(l.lon - r.lon) <= 0.0137"
        for dy in (0, -1, 1) for dx in (0, -1, 1)
    ]
    imprecise = CustomRule("(l.fine = 'n' OR r.fine = 'n')")
    coarse = [
        And(block_on("codes", arrays_to_explode=["codes"]), imprecise),
        And(block_on("operator_key", "commune"), imprecise),
        And(block_on("name_tokens", "commune", arrays_to_explode=["name_tokens"]), imprecise),
    ]
    exact = [
        block_on("osm_id"),
        block_on("peeringdb_id"),
        block_on("operator_key", "codes", arrays_to_explode=["codes"]),
        block_on("commune", "address"),
    ]
    hav = (
        "2 * 6371008.8 * asin(sqrt(pow(sin(radians(lat_r - lat_l) / 2), 2) + "
        "cos(radians(lat_l)) * cos(radians(lat_r)) * pow(sin(radians(lon_r - lon_l) / 2), 2)))"
    )
    relative = [
        cll.CustomLevel(f"{hav} <= {f} * greatest(tol_l, tol_r)", f"within {f} x tolerance")
        for f in (0.5, 1, 2, 4)
    ]
    distance = cl.CustomComparison(
        output_column_name="relative_distance",
        comparison_levels=[
            cll.CustomLevel("lat_l IS NULL OR lat_r IS NULL OR tol_l IS NULL OR tol_r IS NULL")
            .configure(is_null_level=True),
            *relative,
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        probability_two_random_records_match=1e-5,
        comparisons=[
            distance,
            cl.JaroWinklerAtThresholds("name_clean", [0.93, 0.8]),
            cl.ExactMatch("operator_key"),
            cl.ArrayIntersectAtSizes("codes", [1]),
            cl.ExactMatch("address"),
            cl.ExactMatch("osm_id"),
            cl.ExactMatch("peeringdb_id"),
        ],
        blocking_rules_to_generate_predictions=[*exact, *fine, *coarse],
        retain_matching_columns=False,
        additional_columns_to_retain=["source"],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker("records", settings, db_api=DuckDBAPI(connection=con))

    t0 = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("osm_id"), block_on("peeringdb_id"), block_on("commune", "address")],
        recall=0.7,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("cy", "cx"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("commune", "address")
    )
    train_s = time.perf_counter() - t0
    print(f"splink: training done in {train_s:.2f}s (load {load_s:.2f}s)", file=sys.stderr)

    t0 = time.perf_counter()
    raw = linker.inference.predict(threshold_match_probability=THRESHOLD)
    # Same-source pairs are excluded (a source lists a site once).
    kept = con.execute(
        f"SELECT * FROM {raw.physical_name} WHERE source_l IS DISTINCT FROM source_r"
    ).df()
    pred = linker.table_management.register_table_predict(kept, overwrite=True)
    predict_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=THRESHOLD
    )
    rows = con.execute(
        f"SELECT record_key, cluster_id FROM {clusters.physical_name}"
    ).fetchall()
    cluster_s = time.perf_counter() - t1

    t0 = time.perf_counter()
    cluster_of = dict(rows)
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["record_key", "cluster_id"])
        for k in keys:
            w.writerow([k, cluster_of.get(k, k)])
    write_s = time.perf_counter() - t0
    n_pairs = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchone()[0]
    print(
        f"splink: {len(keys)} records, {n_pairs} pairs >= {THRESHOLD}, "
        f"{len(set(cluster_of.values()))} clusters; load {load_s:.2f}s training {train_s:.2f}s "
        f"predict {predict_s:.2f}s cluster {cluster_s:.2f}s "
        f"predict+cluster {predict_s + cluster_s:.2f}s write {write_s:.2f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv)
