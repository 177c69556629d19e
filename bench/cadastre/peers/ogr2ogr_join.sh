#!/usr/bin/env bash
# ogr2ogr peer (Debian's gdal-bin): parcels and points into one GeoPackage (with its R-tree),
# then a join in the SQLite dialect using the R-tree and ST_Intersects; writes idx,parcel_id.
# Usage: ogr2ogr_join.sh PARCELS POINTS OUT_CSV   (PARCELS may be .json.gz: read via /vsigzip/)
set -euo pipefail
parcels="$1"; points="$2"; out="$3"
case "$parcels" in *.gz) src="/vsigzip/$(realpath "$parcels")" ;; *) src="$parcels" ;; esac
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
ogr2ogr -f GPKG "$tmp/j.gpkg" "$src" -nln parcels -select id -gt 65536 -lco SPATIAL_INDEX=YES
ogr2ogr -update -f GPKG "$tmp/j.gpkg" "$points" -nln pts -select idx
rm -f "$out"
ogr2ogr -f CSV "$out" "$tmp/j.gpkg" -dialect SQLite -sql \
  "SELECT p.idx AS idx, c.id AS parcel_id FROM pts p JOIN parcels c
   ON c.fid IN (SELECT id FROM rtree_parcels_geom r
                WHERE r.minx <= ST_MinX(p.geom) AND r.maxx >= ST_MaxX(p.geom)
                  AND r.miny <= ST_MinY(p.geom) AND r.maxy >= ST_MaxY(p.geom))
   AND ST_Intersects(c.geom, p.geom)"
