"""Independent readers of dcinv's columnar exports: GeoPandas (pyarrow for GeoParquet, pyogrio
/ GDAL for FlatGeobuf) and DuckDB (its parquet reader and the spatial extension's ST_Read)
must find in facilities.parquet and facilities.fgb the same rows and the same values as in
facilities.geojson (the FlatGeobuf: every facility that has a point). Usage: check_columnar.py <output folder>. Exit 0 when every check passes;
prints 'N passed, N failed'. Run by tests/user_outputs.rs with the venv that .ci/run makes.
"""

import glob
import json
import math
import os
import sys

import duckdb
import duckdb_extension_spatial
import geopandas as gpd
import pyarrow.parquet as pq

out = sys.argv[1]
passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}", file=sys.stderr)


with open(os.path.join(out, "facilities.geojson"), encoding="utf-8") as f:
    reference = json.load(f)["features"]
ids = [f["properties"]["facility_id"] for f in reference]
# The FlatGeobuf holds the facilities with a point (its index needs a box per feature).
located = [f["properties"]["facility_id"] for f in reference if f["geometry"] is not None]
by_id = {f["properties"]["facility_id"]: f for f in reference}


def expected(props, key):
    v = props.get(key)
    if isinstance(v, list):
        return ";".join(v) if v else None
    return v


def same(a, b):
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(b, float) or isinstance(a, float):
        return b is not None and abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b


def compare_frame(label, frame, wanted):
    check(f"{label}: row count", len(frame) == len(wanted), f"{len(frame)} vs {len(wanted)}")
    check(f"{label}: same ids", sorted(frame["facility_id"]) == sorted(wanted))
    bad = []
    for _, row in frame.iterrows():
        ref = by_id[row["facility_id"]]
        props = ref["properties"]
        for key in props:
            got = row[key]
            got = None if got is None else (got.item() if hasattr(got, "item") else got)
            if not same(got, expected(props, key)):
                bad.append((row["facility_id"], key, got, expected(props, key)))
        g = ref["geometry"]
        geom = row["geometry"]
        if g is None:
            if not (geom is None or geom.is_empty):
                bad.append((row["facility_id"], "geometry", geom, None))
        elif geom is None or (geom.x, geom.y) != tuple(g["coordinates"]):
            bad.append((row["facility_id"], "geometry", geom, g["coordinates"]))
    check(f"{label}: same values", not bad, f"{len(bad)} differences, first {bad[:5]}")


# GeoParquet through GeoPandas (pyarrow) and its metadata.
parquet = os.path.join(out, "facilities.parquet")
frame = gpd.read_parquet(parquet)
check("parquet: CRS is OGC:CRS84 (lon/lat)", frame.crs is not None and frame.crs.equals("OGC:CRS84"),
      str(frame.crs))
compare_frame("GeoPandas read_parquet", frame, ids)
meta = json.loads(pq.read_metadata(parquet).metadata[b"geo"])
check("parquet: geo version 1.1.0", meta["version"] == "1.1.0", meta["version"])
check("parquet: bbox covering", meta["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"])
bbox = pq.read_table(parquet, columns=["bbox", "geometry"]).to_pylist()
check("parquet: bbox = point", all(
    (r["geometry"] is None and r["bbox"] is None)
    or (r["bbox"]["xmin"] == r["bbox"]["xmax"] and r["bbox"]["ymin"] == r["bbox"]["ymax"])
    for r in bbox))

# FlatGeobuf through GeoPandas (pyogrio, GDAL).
fgb = os.path.join(out, "facilities.fgb")
compare_frame("GeoPandas read_file(fgb)", gpd.read_file(fgb, engine="pyogrio"), located)

# DuckDB: the parquet reader, then the spatial extension (GeoParquet geometry and ST_Read).
ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_spatial.__file__),
                             "extensions", "*", "spatial.duckdb_extension"))[0]
con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
con.execute(f"LOAD '{ext}'")
n, total = con.execute(
    "SELECT count(*), round(sum(it_mw_central), 4) FROM read_parquet(?)", [parquet]).fetchone()
ref_total = round(sum(f["properties"]["it_mw_central"] for f in reference), 4)
check("duckdb parquet: count", n == len(reference), f"{n}")
check("duckdb parquet: sum it_mw_central", abs(total - ref_total) < 1e-6, f"{total} vs {ref_total}")
rows = con.execute(
    "SELECT facility_id, ST_X(geometry), ST_Y(geometry), typology FROM read_parquet(?)",
    [parquet]).fetchall()
bad = [r for r in rows if by_id[r[0]]["geometry"] is not None
       and (r[1], r[2]) != tuple(by_id[r[0]]["geometry"]["coordinates"])
       or r[3] != by_id[r[0]]["properties"]["typology"]]
check("duckdb spatial parquet: points and typology", not bad, f"{bad[:5]}")
rows = con.execute("SELECT facility_id, it_mw_central, ST_X(geom), ST_Y(geom) FROM ST_Read(?)",
                   [fgb]).fetchall()
check("duckdb ST_Read fgb: count", len(rows) == len(located), f"{len(rows)} vs {len(located)}")
bad = [r for r in rows if not same(r[1], by_id[r[0]]["properties"]["it_mw_central"])
       or (by_id[r[0]]["geometry"] is not None
           and (r[2], r[3]) != tuple(by_id[r[0]]["geometry"]["coordinates"]))]
check("duckdb ST_Read fgb: values", not bad, f"{bad[:5]}")
# The spatial index answers a bounding-box query (Île-de-France) like a filter does.
box = (1.44, 48.12, 3.56, 49.24)
inside = sum(1 for f in reference if f["geometry"] is not None
             and box[0] <= f["geometry"]["coordinates"][0] <= box[2]
             and box[1] <= f["geometry"]["coordinates"][1] <= box[3])
bboxed = gpd.read_file(fgb, engine="pyogrio", bbox=box)
check("fgb: bbox query through the index", len(bboxed) == inside, f"{len(bboxed)} vs {inside}")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
