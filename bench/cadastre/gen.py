#!/usr/bin/env python3
"""Synthetic département-scale cadastre in the Etalab format, for the join-parcels benchmark.

Writes, for N parcels:
  parcels-N.json      one feature per line, exactly like cadastre.data.gouv.fr's
                      cadastre-<insee>-parcelles.json (FeatureCollection of Polygon /
                      MultiPolygon features, properties id, commune, prefixe, section, numero,
                      contenance, arpente, created, updated)
  parcels-N.json.gz   the same, gzipped
  points-N.geojson    P points (default 2,000): most inside random parcels, the rest
                      anywhere in (and a little around) the area

The area is tiled without overlap: a grid of 600 m cells, each urban (16 blocks of 150 m),
peri-urban (4 blocks of 300 m) or rural (one 600 m block) by distance to a few random town
centres; each block is cut recursively along slanted lines into convex quadrilaterals until
they are in the zone's size range (200 m² to 5 ha overall). Edges get extra collinear
vertices (about 15 positions a parcel, as in the real files). About 1 % of parcels are
MultiPolygons (two separate parts) and 1 % have a hole holding another parcel (an enclave).
About 0.5 % have no contenance. 100,000 parcels cover about 410 km², 1,000,000 about
4,100 km² (a département), in a square laid cell row by cell row.

Pure Python, deterministic (--seed). Usage: gen.py N OUTDIR [--points P] [--seed S]
"""

import argparse
import gzip
import math
import os
import random
import shutil

LON0, LAT0 = 4.30, 45.55
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT0))
CELL = 600.0
ZONES = {
    # blocks per cell side, parcel area range (m²)
    "urban": (4, 200.0, 1_500.0),
    "periurban": (2, 800.0, 6_000.0),
    "rural": (1, 6_000.0, 50_000.0),
}


def quad_area(q):
    s = 0.0
    for i in range(4):
        x1, y1 = q[i]
        x2, y2 = q[(i + 1) % 4]
        s += x1 * y2 - x2 * y1
    return abs(s) / 2.0


def lerp(a, b, t):
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def dist(a, b):
    return math.hypot(a[0] - b[0], a[1] - b[1])


def split_block(q, amin, amax, rnd, out):
    """Cuts quad q (a, b, c, d counter-clockwise) into parcels with areas in about [amin, amax]."""
    stack = [q]
    while stack:
        q = stack.pop()
        area = quad_area(q)
        if area <= amax and (area < 2.2 * amin or rnd.random() < 0.35):
            out.append(q)
            continue
        a, b, c, d = q
        t1 = rnd.uniform(0.35, 0.65)
        t2 = min(0.8, max(0.2, t1 + rnd.uniform(-0.08, 0.08)))
        if dist(a, b) >= dist(b, c):
            p, r = lerp(a, b, t1), lerp(d, c, t2)
            stack.append((a, p, r, d))
            stack.append((p, b, c, r))
        else:
            p, r = lerp(b, c, t1), lerp(a, d, t2)
            stack.append((a, b, p, r))
            stack.append((r, p, c, d))


def densify(ring, rnd):
    """Closed ring with 1-4 collinear extra positions per edge."""
    pts = []
    n = len(ring)
    for i in range(n):
        p, q = ring[i], ring[(i + 1) % n]
        pts.append(p)
        for t in sorted(rnd.random() for _ in range(rnd.randint(1, 4))):
            pts.append(lerp(p, q, t))
    pts.append(ring[0])
    return pts


def shrink(q, metres):
    cx = sum(p[0] for p in q) / 4.0
    cy = sum(p[1] for p in q) / 4.0
    out = []
    for x, y in q:
        d = math.hypot(x - cx, y - cy)
        f = max(0.0, (d - metres) / d) if d > 0 else 0.0
        out.append((cx + (x - cx) * f, cy + (y - cy) * f))
    return out


def scale(q, f):
    cx = sum(p[0] for p in q) / 4.0
    cy = sum(p[1] for p in q) / 4.0
    return [(cx + (x - cx) * f, cy + (y - cy) * f) for x, y in q]


def ring_text(ring):
    return "[" + ",".join(
        "[%.7f,%.7f]" % (LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT) for x, y in ring
    ) + "]"


def point_in_quad(q, rnd):
    u, v = rnd.uniform(0.1, 0.9), rnd.uniform(0.1, 0.9)
    return lerp(lerp(q[0], q[1], u), lerp(q[3], q[2], u), v)


class Ids:
    """Etalab-like ids: <insee><prefixe><section><numero 4 digits>, unique."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.count = {}

    def next(self, insee):
        n = self.count.get(insee, 0)
        self.count[insee] = n + 1
        sec_n, numero = divmod(n, 900)
        numero += 1
        prefixe = "000" if sec_n < 600 else "%03d" % (101 + sec_n // 600)
        sec_n %= 600
        section = (
            "0" + chr(65 + sec_n % 26) if sec_n < 26 else chr(65 + (sec_n // 26) % 26) + chr(65 + sec_n % 26)
        )
        pid = "%s%s%s%04d" % (insee, prefixe, section, numero)
        return pid, prefixe, section, str(numero)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", type=int, help="number of parcels")
    ap.add_argument("outdir")
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    n = args.n
    os.makedirs(args.outdir, exist_ok=True)

    # Town centres on a jittered lattice (one per 12 × 12 cells), so that the zone mix, and
    # so the number of parcels a cell (about 87), is the same whatever the size.
    per_cell = 87.0
    side = max(1, int(math.ceil(math.sqrt(n / per_cell))))
    lattice = 12 * CELL
    towns = {}

    def town(i, j):
        if (i, j) not in towns:
            t = random.Random(args.seed * 1_000_003 + i * 7919 + j)
            towns[(i, j)] = (
                (i + t.uniform(0.2, 0.8)) * lattice,
                (j + t.uniform(0.2, 0.8)) * lattice,
                t.uniform(1200, 3000),
            )
        return towns[(i, j)]

    def zone(cx, cy):
        i0, j0 = int(cx // lattice), int(cy // lattice)
        d = min(
            math.hypot(cx - tx, cy - ty) / r
            for tx, ty, r in (town(i, j) for i in range(i0 - 1, i0 + 2) for j in range(j0 - 1, j0 + 2))
        )
        d *= rnd.uniform(0.85, 1.15)
        if d < 0.45:
            return "urban"
        if d < 1.0:
            return "periurban"
        return "rural"

    ids = Ids(rnd)
    path = os.path.join(args.outdir, "parcels-%d.json" % n)
    tmp = path + ".tmp"
    written = 0
    reservoir = []  # quads (metres) to draw points in
    want_inside = int(args.points * 0.9)
    extent = [0.0, 0.0, 0.0, 0.0]
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        first = True

        def emit(pid, insee, prefixe, section, numero, polys, area):
            nonlocal first, written
            if len(polys) == 1:
                geom = '{"type":"Polygon","coordinates":[%s]}' % ",".join(polys[0])
            else:
                geom = '{"type":"MultiPolygon","coordinates":[%s]}' % ",".join(
                    "[" + ",".join(p) + "]" for p in polys
                )
            cont = "" if rnd.random() < 0.005 else '"contenance":%d,' % max(1, round(area))
            line = (
                '{"type":"Feature","id":"%s","geometry":%s,"properties":{"id":"%s","commune":"%s",'
                '"prefixe":"%s","section":"%s","numero":"%s",%s"arpente":false,'
                '"created":"2024-12-19","updated":"2024-12-20"}}'
                % (pid, geom, pid, insee, prefixe, section, numero, cont)
            )
            f.write(line if first else ",\n" + line)
            first = False
            written += 1

        def sample(q):
            # Reservoir sample of parcels for the inside points.
            if len(reservoir) < want_inside:
                reservoir.append(q)
            else:
                j = rnd.randrange(written + 1)
                if j < want_inside:
                    reservoir[j] = q

        cell_i = 0
        while written < n:
            gx, gy = cell_i % side, cell_i // side
            cell_i += 1
            x0, y0 = gx * CELL, gy * CELL
            extent = [0.0, 0.0, max(extent[2], x0 + CELL), max(extent[3], y0 + CELL)]
            insee = "69%03d" % (1 + (gx // 10 + (gy // 10) * ((side + 9) // 10)) % 998)
            kind = zone(x0 + CELL / 2, y0 + CELL / 2)
            per, amin, amax = ZONES[kind]
            bs = CELL / per
            quads = []
            for by in range(per):
                for bx in range(per):
                    bx0, by0 = x0 + bx * bs, y0 + by * bs
                    block = ((bx0, by0), (bx0 + bs, by0), (bx0 + bs, by0 + bs), (bx0, by0 + bs))
                    split_block(block, amin, amax, rnd, quads)
            i = 0
            while i < len(quads) and written < n:
                q = quads[i]
                i += 1
                r = rnd.random()
                if r < 0.01 and i < len(quads):
                    # MultiPolygon: this quad and the next one, each shrunk by 0.5 m so the
                    # parts are separate.
                    q2 = quads[i]
                    i += 1
                    a, b = shrink(q, 0.5), shrink(q2, 0.5)
                    pid, pre, sec, num = ids.next(insee)
                    emit(
                        pid, insee, pre, sec, num,
                        [[ring_text(densify(a, rnd))], [ring_text(densify(b, rnd))]],
                        quad_area(a) + quad_area(b),
                    )
                    sample(a)
                elif r < 0.02 and quad_area(q) > 1000 and written + 1 < n:
                    # A parcel with a hole, and the enclave parcel in the hole.
                    inner = scale(q, 0.4)
                    hole = list(reversed(inner))
                    pid, pre, sec, num = ids.next(insee)
                    emit(
                        pid, insee, pre, sec, num,
                        [[ring_text(densify(q, rnd)), ring_text(densify(hole, rnd))]],
                        quad_area(q) - quad_area(inner),
                    )
                    sample(q)
                    pid, pre, sec, num = ids.next(insee)
                    emit(pid, insee, pre, sec, num, [[ring_text(densify(inner, rnd))]], quad_area(inner))
                    sample(inner)
                else:
                    pid, pre, sec, num = ids.next(insee)
                    emit(pid, insee, pre, sec, num, [[ring_text(densify(q, rnd))]], quad_area(q))
                    sample(q)
        f.write("\n]}\n")
    os.replace(tmp, path)

    with open(path, "rb") as src, gzip.open(path + ".gz.tmp", "wb", compresslevel=6) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(path + ".gz.tmp", path + ".gz")

    pts = [point_in_quad(q, rnd) for q in reservoir]
    margin = 500.0
    while len(pts) < args.points:
        pts.append(
            (rnd.uniform(-margin, extent[2] + margin), rnd.uniform(-margin, extent[3] + margin))
        )
    rnd.shuffle(pts)
    ppath = os.path.join(args.outdir, "points-%d.geojson" % n)
    with open(ppath + ".tmp", "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        f.write(
            ",\n".join(
                '{"type":"Feature","properties":{"idx":%d,"id":"pt%06d","name":"point %d"},'
                '"geometry":{"type":"Point","coordinates":[%.7f,%.7f]}}'
                % (k, k, k, LON0 + x / M_PER_DEG_LON, LAT0 + y / M_PER_DEG_LAT)
                for k, (x, y) in enumerate(pts)
            )
        )
        f.write("\n]}\n")
    os.replace(ppath + ".tmp", ppath)
    print("wrote %s (%d parcels, %d cells), %s.gz, %s" % (path, written, cell_i, path, ppath))


if __name__ == "__main__":
    main()
