"""GeoPandas peer: read parcels (pyogrio + Arrow) and points, sjoin(intersects), write idx,parcel_id.

Usage: geopandas_join.py PARCELS POINTS OUT_CSV   (PARCELS may be .json.gz: read via /vsigzip/)
"""
import os
import sys

import geopandas as gpd

parcels, points, out = sys.argv[1:4]
src = "/vsigzip/" + os.path.abspath(parcels) if parcels.endswith(".gz") else parcels
par = gpd.read_file(src, engine="pyogrio", columns=["id"], use_arrow=True)
pts = gpd.read_file(points, engine="pyogrio", columns=["idx"], use_arrow=True)
j = gpd.sjoin(pts, par, how="inner", predicate="intersects")
j[["idx", "id"]].to_csv(out, index=False, header=["idx", "parcel_id"])
