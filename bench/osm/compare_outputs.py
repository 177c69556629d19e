#!/usr/bin/env python3
"""Compares the GeoJSON outputs of the benchmark. In: NAME=FILE arguments (the first is the
reference). Out: one line per file (features, points, areas, total planar area of the polygons
in square degrees, holes subtracted, any ring orientation) and the (osm_type, osm_id) missing or
extra relative to the reference; exit 1 when the sets differ or the total area differs by more
than 1e-6 (relative).

osmium export writes the id as @type/@id (with -a type,id); the others as osm_type/osm_id.
"""
import json
import sys


def ring_area(ring):
    a = 0.0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        a += x1 * y2 - x2 * y1
    return abs(a) / 2


def polygon_area(rings):
    return ring_area(rings[0]) - sum(ring_area(r) for r in rings[1:])


def ids(path):
    data = json.load(open(path, encoding="utf-8"))
    out = {}
    area = 0.0
    for f in data["features"]:
        p = f["properties"]
        kind = p.get("osm_type", p.get("@type"))
        oid = p.get("osm_id", p.get("@id"))
        g = f["geometry"]
        out[(kind, int(oid))] = g["type"]
        if g["type"] == "Polygon":
            area += polygon_area(g["coordinates"])
        elif g["type"] == "MultiPolygon":
            area += sum(polygon_area(p) for p in g["coordinates"])
    return out, area


def main():
    named = [a.split("=", 1) for a in sys.argv[1:]]
    ref_name, (ref, ref_area) = named[0][0], ids(named[0][1])
    ok = True
    for name, path in named:
        got, area = ids(path)
        points = sum(1 for g in got.values() if g == "Point")
        print("%-10s %6d features (%d points, %d areas), polygon area %.9f deg2"
              % (name, len(got), points, len(got) - points, area))
        if name != ref_name:
            if abs(area - ref_area) > 1e-6 * max(ref_area, 1e-12):
                ok = False
                print("  vs %s: total area differs" % ref_name)
            missing = sorted(set(ref) - set(got))
            extra = sorted(set(got) - set(ref))
            if missing or extra:
                ok = False
                print("  vs %s: missing %s extra %s" % (ref_name, missing[:10], extra[:10]))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
