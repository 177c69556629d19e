#!/usr/bin/env python3
"""Builds a large, Geofabrik-style .osm.pbf by tiling copies of a small sorted one.

In:  a sorted PBF whose ids are all below --id-step (e.g. `osmium renumber` of the Helsinki
     sample: ids 1..24260 / 1..5130 / 1..620).
Out: OUT.osm.pbf with COPIES copies laid side by side on a grid (each copy's coordinates
     shifted by its tile, its ids shifted by copy * ID_STEP), written type then id
     (all nodes, then all ways, then all relations; header says Sort.Type_then_ID), zlib
     blobs, dense nodes, metadata kept; plus, chosen at random (seeded): DC_WAYS closed building
     ways, DC_NODES tagged nodes and DC_RELATIONS building multipolygons given a data-centre tag
     (telecom=data_center and the other taggings dcinv knows, lifecycle prefixes included), and
     as many ways tagged telecom=exchange (which the data-centre filter must leave out).
     OUT.expected.json lists the elements given a data-centre tag.

Only the first delta of each delta-coded array and each way/relation id change per copy, so a
copy costs little more than re-compressing its blocks. Python standard library only.

Usage: make_big_pbf.py BASE.osm.pbf OUT.osm.pbf [--copies N] [--dc-ways N] [--dc-nodes N]
       [--dc-relations N] [--seed N] [--jobs N] [--id-step N]
"""

import argparse
import json
import math
import multiprocessing
import random
import struct
import sys
import zlib

# --------------------------------------------------------------------------- protobuf wire


def read_varint(b, i):
    v = 0
    s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        if c < 0x80:
            return v, i
        s += 7


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zz(v):
    return (v << 1) ^ (v >> 63)


def unzz(v):
    return (v >> 1) ^ -(v & 1)


def fields(b):
    """(field, wire type, value: int or bytes, raw bytes of the whole field)."""
    i = 0
    n = len(b)
    while i < n:
        start = i
        k, i = read_varint(b, i)
        f, w = k >> 3, k & 7
        if w == 0:
            v, i = read_varint(b, i)
        elif w == 2:
            ln, i = read_varint(b, i)
            v = b[i:i + ln]
            i += ln
        elif w == 1:
            v = b[i:i + 8]
            i += 8
        elif w == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % w)
        yield f, w, v, b[start:i]


def fbytes(f, data):
    return varint((f << 3) | 2) + varint(len(data)) + data


def fvarint(f, v):
    return varint(f << 3) + varint(v)


def unpack(b):
    out = []
    i = 0
    while i < len(b):
        v, i = read_varint(b, i)
        out.append(v)
    return out


def pack(values):
    return b"".join(varint(v) for v in values)


def split_first(packed):
    """First varint of a packed array, and the bytes after it."""
    if not packed:
        return None, b""
    v, i = read_varint(packed, 0)
    return v, packed[i:]


# --------------------------------------------------------------------------- file reading


def read_blobs(path):
    data = open(path, "rb").read()
    p = 0
    while p < len(data):
        (hl,) = struct.unpack(">I", data[p:p + 4])
        p += 4
        h = {f: v for f, _, v, _ in fields(data[p:p + hl])}
        p += hl
        blob = data[p:p + h[3]]
        p += h[3]
        bf = {f: v for f, _, v, _ in fields(blob)}
        raw = zlib.decompress(bf[3]) if 3 in bf else bf[1]
        yield h[1].decode(), raw


class Base:
    """The parsed base file: header and per-kind block templates."""

    def __init__(self, path):
        self.header = None
        self.blocks = []  # (kind, template)
        for kind, raw in read_blobs(path):
            if kind == "OSMHeader":
                self.header = raw
                continue
            strings = []
            groups = []
            extra = b""
            granularity = 100
            for f, _, v, whole in fields(raw):
                if f == 1:
                    strings = [s for g, _, s, _ in fields(v) if g == 1]
                elif f == 2:
                    groups.append(v)
                else:
                    extra += whole
                    if f == 17:
                        granularity = v
            for g in groups:
                items = list(fields(g))
                gkind = items[0][0]
                if gkind == 2:
                    self.blocks.append(("node", self.dense_template(strings, items[0][2], extra, granularity)))
                elif gkind == 3:
                    self.blocks.append(("way", self.way_template(strings, items, extra)))
                elif gkind == 4:
                    self.blocks.append(("relation", self.rel_template(strings, items, extra)))
                else:
                    raise SystemExit("unsupported group kind %d (dense nodes expected)" % gkind)

    @staticmethod
    def dense_template(strings, dense, extra, granularity):
        t = {"strings": strings, "extra": extra, "granularity": granularity, "other": b""}
        for f, _, v, whole in fields(dense):
            if f in (1, 8, 9):
                first, rest = split_first(v)
                t[f] = (unzz(first), rest)
            elif f == 10:
                t["kv"] = v
            else:
                t["other"] += whole
        ids = unpack(t[1][1])
        t["count"] = len(ids) + 1
        # Node ids (absolute) and whether each node has tags.
        acc = t[1][0]
        node_ids = [acc]
        for d in ids:
            acc += unzz(d)
            node_ids.append(acc)
        t["ids"] = node_ids
        kv = unpack(t.get("kv", b""))
        tagged = []
        i = 0
        for _ in node_ids:
            has = False
            while i < len(kv) and kv[i] != 0:
                has = True
                i += 2
            i += 1
            tagged.append(has)
        t["tagged"] = tagged
        return t

    @staticmethod
    def way_template(strings, items, extra):
        ways = []
        for f, _, msg, _ in items:
            w = {"pre": b"", "post": b""}
            for g, _, v, whole in fields(msg):
                if g == 1:
                    w["id"] = v
                elif g == 2:
                    w["keys"] = unpack(v)
                elif g == 3:
                    w["vals"] = unpack(v)
                elif g == 8:
                    first, rest = split_first(v)
                    refs = [unzz(first)] + [unzz(x) for x in unpack(rest)] if first is not None else []
                    w["first"] = refs[0] if refs else None
                    w["rest"] = rest
                    w["closed"] = len(refs) >= 4 and sum(refs[1:]) == 0
                elif g == 4:
                    w["pre"] += whole
                else:
                    w["post"] += whole
            w.setdefault("keys", [])
            w.setdefault("vals", [])
            w["keys_b"] = pack(w["keys"])
            w["vals_b"] = pack(w["vals"])
            ways.append(w)
        return {"strings": strings, "extra": extra, "ways": ways}

    @staticmethod
    def rel_template(strings, items, extra):
        rels = []
        for f, _, msg, _ in items:
            r = {"pre": b"", "post": b""}
            for g, _, v, whole in fields(msg):
                if g == 1:
                    r["id"] = v
                elif g == 2:
                    r["keys"] = unpack(v)
                elif g == 3:
                    r["vals"] = unpack(v)
                elif g == 9:
                    first, rest = split_first(v)
                    r["first"] = unzz(first) if first is not None else None
                    r["rest"] = rest
                elif g in (4, 8):
                    r["pre"] += whole
                else:
                    r["post"] += whole
            r.setdefault("keys", [])
            r.setdefault("vals", [])
            r["keys_b"] = pack(r["keys"])
            r["vals_b"] = pack(r["vals"])
            rels.append(r)
        return {"strings": strings, "extra": extra, "rels": rels}


# --------------------------------------------------------------------------- writing

WAY_TAGGINGS = [
    ("telecom", "data_center"),
    ("building", "data_center"),  # replaces the building value (any existing key is replaced)
    ("building:use", "data_center"),
    ("man_made", "data_center"),
    ("construction:telecom", "data_center"),
    ("proposed:building", "data_centre"),
    ("disused:telecom", "data_center"),
    ("telecom", "data_centre"),
]

BASE = None
CFG = None


def init_worker(base, cfg):
    global BASE, CFG
    BASE = base
    CFG = cfg


def blob(raw):
    z = zlib.compress(raw, 6)
    body = fvarint(2, len(raw)) + fbytes(3, z)
    header = fbytes(1, b"OSMData") + fvarint(3, len(body))
    return struct.pack(">I", len(header)) + header + body


def encode_block(strings, group, extra):
    table = b"".join(fbytes(1, s) for s in strings)
    return fbytes(1, table) + fbytes(2, group) + extra


def add_tags(strings, keys, vals, new_tags):
    """Adds tags (string ids appended to the table as needed); a key already present gets the
    new value, so that no element has a key twice."""
    strings = list(strings)
    keys = list(keys)
    vals = list(vals)

    def sid(s):
        s = s.encode()
        if s in strings:
            return strings.index(s)
        strings.append(s)
        return len(strings) - 1

    for k, v in new_tags:
        ki = sid(k)
        if ki in keys:
            vals[keys.index(ki)] = sid(v)
            continue
        keys.append(ki)
        vals.append(sid(v))
    return strings, keys, vals


def shift(copy):
    cols = CFG["cols"]
    col, row = copy % cols, copy // cols
    return col * CFG["tile_lon"], row * CFG["tile_lat"]  # nanodegrees


def make_copy(args):
    kind, copy = args
    off = copy * CFG["id_step"]
    dlon_n, dlat_n = shift(copy)
    out = []
    for bi, (k, t) in enumerate(BASE.blocks):
        if k != kind:
            continue
        if kind == "node":
            g = t["granularity"]
            strings = t["strings"]
            kv = t.get("kv", b"")
            mods = CFG["dc_nodes"].get((copy, bi), [])
            if mods:
                values = unpack(kv)
                # Each node's tags are (key, value) pairs ended by a 0: rewrite the chosen
                # nodes' pairs with telecom=data_center added (or replacing their telecom value).
                spans = []
                i = 0
                for _ in range(len(t["ids"])):
                    start = i
                    while values[i] != 0:
                        i += 2
                    spans.append((start, i))
                    i += 1
                for n in sorted(mods, reverse=True):
                    start, end = spans[n]
                    pairs = values[start:end]
                    strings, ks, vs = add_tags(strings, pairs[0::2], pairs[1::2], [("telecom", "data_center")])
                    values[start:end] = [x for kv in zip(ks, vs) for x in kv]
                kv = pack(values)
            ids = varint(zz(t[1][0] + off)) + t[1][1]
            lats = varint(zz(t[8][0] + dlat_n // g)) + t[8][1]
            lons = varint(zz(t[9][0] + dlon_n // g)) + t[9][1]
            dense = fbytes(1, ids) + t["other"] + fbytes(8, lats) + fbytes(9, lons)
            if kv:
                dense += fbytes(10, kv)
            out.append(blob(encode_block(strings, fbytes(2, dense), t["extra"])))
        elif kind == "way":
            strings = t["strings"]
            mods = CFG["dc_ways"].get((copy, bi), {})
            parts = []
            for wi, w in enumerate(t["ways"]):
                keys_b, vals_b = w["keys_b"], w["vals_b"]
                if wi in mods:
                    tag = mods[wi]
                    strings, ks, vs = add_tags(strings, w["keys"], w["vals"], [tag])
                    keys_b, vals_b = pack(ks), pack(vs)
                msg = fvarint(1, w["id"] + off) + fbytes(2, keys_b) + fbytes(3, vals_b) + w["pre"]
                if w["first"] is not None:
                    msg += fbytes(8, varint(zz(w["first"] + off)) + w["rest"])
                msg += w["post"]
                parts.append(fbytes(3, msg))
            out.append(blob(encode_block(strings, b"".join(parts), t["extra"])))
        else:
            strings = t["strings"]
            mods = CFG["dc_rels"].get((copy, bi), set())
            parts = []
            for ri, r in enumerate(t["rels"]):
                keys_b, vals_b = r["keys_b"], r["vals_b"]
                if ri in mods:
                    strings, ks, vs = add_tags(strings, r["keys"], r["vals"], [("telecom", "data_center")])
                    keys_b, vals_b = pack(ks), pack(vs)
                msg = fvarint(1, r["id"] + off) + fbytes(2, keys_b) + fbytes(3, vals_b) + r["pre"]
                if r["first"] is not None:
                    msg += fbytes(9, varint(zz(r["first"] + off)) + r["rest"])
                msg += r["post"]
                parts.append(fbytes(4, msg))
            out.append(blob(encode_block(strings, b"".join(parts), t["extra"])))
    return b"".join(out)


def header_blob(base_header, bbox_n):
    left, right, top, bottom = bbox_n
    hb = fvarint(1, zz(left)) + fvarint(2, zz(right)) + fvarint(3, zz(top)) + fvarint(4, zz(bottom))
    # HeaderBBox fields are sint64: 1 left, 2 right, 3 top, 4 bottom.
    out = fbytes(1, hb)
    for f, _, v, whole in fields(base_header):
        if f in (4,):
            out += whole
    out += fbytes(5, b"Sort.Type_then_ID")
    out += fbytes(16, b"dcinv bench/make_big_pbf.py")
    z = zlib.compress(out, 6)
    body = fvarint(2, len(out)) + fbytes(3, z)
    header = fbytes(1, b"OSMHeader") + fvarint(3, len(body))
    return struct.pack(">I", len(header)) + header + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("out")
    ap.add_argument("--copies", type=int, default=400)
    ap.add_argument("--dc-ways", type=int, default=300)
    ap.add_argument("--dc-nodes", type=int, default=30)
    ap.add_argument("--dc-relations", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--id-step", type=int, default=100000)
    a = ap.parse_args()

    base = Base(a.base)
    bbox = None
    for f, _, v, _ in fields(base.header):
        if f == 1:
            b = {g: unzz(x) for g, _, x, _ in fields(v)}
            bbox = (b[1], b[2], b[3], b[4])
    if bbox is None:
        raise SystemExit("the base file's header has no bounding box")
    for kind, t in base.blocks:
        ids = t["ids"] if kind == "node" else [w["id"] for w in t.get("ways", t.get("rels", []))]
        if ids and max(ids) >= a.id_step:
            raise SystemExit("base ids reach %d: renumber it (osmium renumber) or raise --id-step" % max(ids))
    cols = max(1, math.ceil(math.sqrt(a.copies)))
    tile_lon = int((bbox[1] - bbox[0]) * 1.05) // 100 * 100
    tile_lat = int((bbox[2] - bbox[3]) * 1.05) // 100 * 100
    rows = math.ceil(a.copies / cols)

    rng = random.Random(a.seed)
    # Candidates: closed building ways, tagged nodes, building multipolygon relations.
    way_cands, node_cands, rel_cands = [], [], []
    for bi, (kind, t) in enumerate(base.blocks):
        st = t["strings"]
        if kind == "way":
            for wi, w in enumerate(t["ways"]):
                keys = [st[k] for k in w["keys"]]
                if w.get("closed") and b"building" in keys:
                    way_cands.append((bi, wi))
        elif kind == "node":
            node_cands += [(bi, ni) for ni, tagged in enumerate(t["tagged"]) if tagged]
        else:
            for ri, r in enumerate(t["rels"]):
                tags = {st[k]: st[v] for k, v in zip(r["keys"], r["vals"])}
                if tags.get(b"type") == b"multipolygon" and b"building" in tags:
                    rel_cands.append((bi, ri))

    def pick(cands, n):
        chosen = set()
        while len(chosen) < min(n, len(cands) * a.copies):
            chosen.add((rng.randrange(a.copies),) + rng.choice(cands))
        return sorted(chosen)

    dc_ways, dc_nodes, dc_rels = {}, {}, {}
    expected = {"ways": [], "nodes": [], "relations": [], "exchanges": []}
    for i, (c, bi, wi) in enumerate(pick(way_cands, 2 * a.dc_ways)):
        t = base.blocks[bi][1]
        way_id = t["ways"][wi]["id"] + c * a.id_step
        if i % 2 == 0 and len(expected["ways"]) < a.dc_ways:
            tag = WAY_TAGGINGS[len(expected["ways"]) % len(WAY_TAGGINGS)]
            expected["ways"].append([way_id, tag[0], tag[1]])
        else:
            tag = ("telecom", "exchange")
            expected["exchanges"].append(way_id)
        dc_ways.setdefault((c, bi), {})[wi] = tag
    for c, bi, ni in pick(node_cands, a.dc_nodes):
        dc_nodes.setdefault((c, bi), []).append(ni)
        expected["nodes"].append(base.blocks[bi][1]["ids"][ni] + c * a.id_step)
    for c, bi, ri in pick(rel_cands, a.dc_relations):
        dc_rels.setdefault((c, bi), set()).add(ri)
        expected["relations"].append(base.blocks[bi][1]["rels"][ri]["id"] + c * a.id_step)

    cfg = {
        "id_step": a.id_step, "cols": cols, "tile_lon": tile_lon, "tile_lat": tile_lat,
        "dc_ways": dc_ways, "dc_nodes": dc_nodes, "dc_rels": dc_rels,
    }
    bbox_out = (bbox[0], bbox[0] + cols * tile_lon, bbox[3] + rows * tile_lat, bbox[3])
    with open(a.out, "wb") as out:
        out.write(header_blob(base.header, bbox_out))
        with multiprocessing.Pool(a.jobs, initializer=init_worker, initargs=(base, cfg)) as pool:
            for kind in ("node", "way", "relation"):
                for data in pool.imap(make_copy, [(kind, c) for c in range(a.copies)], chunksize=2):
                    out.write(data)
    with open(a.out + ".expected.json", "w") as f:
        json.dump(expected, f, indent=1)
    print("%s: %d copies, %d data-centre ways, %d nodes, %d relations, %d exchanges"
          % (a.out, a.copies, len(expected["ways"]), len(expected["nodes"]),
             len(expected["relations"]), len(expected["exchanges"])), file=sys.stderr)


if __name__ == "__main__":
    main()
