"""DuckDB spatial peer: ST_Read both files, spatial join on ST_Intersects, write idx,parcel_id.

The spatial extension comes from the PyPI package duckdb-ext-spatial (a wheel holding
duckdb_ext/extensions/v<duckdb version>/<platform>/spatial.duckdb_extension) and is loaded by
its file path, with extension auto-install/auto-load off: nothing is fetched at run time.

Usage: duckdb_join.py PARCELS POINTS OUT_CSV   (PARCELS may be .json.gz: read via /vsigzip/)
"""
import glob
import os
import sys
import sysconfig

import duckdb

parcels, points, out = sys.argv[1:4]
pattern = os.path.join(
    sysconfig.get_paths()["purelib"],
    "duckdb_ext", "extensions", "v" + duckdb.__version__, "*", "spatial.duckdb_extension",
)
found = glob.glob(pattern)
if not found:
    sys.exit("duckdb spatial extension not found at " + pattern)
src = "/vsigzip/" + os.path.abspath(parcels) if parcels.endswith(".gz") else os.path.abspath(parcels)
con = duckdb.connect()
con.execute("SET autoinstall_known_extensions = false")
con.execute("SET autoload_known_extensions = false")
con.execute("LOAD '%s'" % found[0].replace("'", "''"))
q = (
    "COPY (SELECT p.idx AS idx, c.id AS parcel_id "
    "FROM ST_Read('%s') p JOIN ST_Read('%s') c ON ST_Intersects(c.geom, p.geom)) "
    "TO '%s' (HEADER, DELIMITER ',')"
) % (os.path.abspath(points), src, os.path.abspath(out))
con.execute(q)
