#!/usr/bin/env python3
"""The data-centre extraction done the pyosmium way, for bench/run.sh.

In:  an .osm.pbf, a file of KEY=VALUE lines (dc_tags.txt) and an output path.
Out: a GeoJSON FeatureCollection of the matching nodes (points) and areas (closed ways and
     multipolygon relations, polygons), properties = tags + osm_type + osm_id.

It follows pyosmium's documented idiom: FileProcessor(...).with_areas(TagFilter) (the C++ tag
filter selects the relations to assemble in the first pass) .with_filter(TagFilter) (the C++
filter passes only matching nodes and areas to Python), node locations in the default
'flex_mem' store.
"""
import json
import sys

import osmium
from osmium.filter import TagFilter


def main():
    pbf, tags_file, out_path = sys.argv[1:4]
    pairs = []
    for line in open(tags_file, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split("=", 1)
            pairs.append((k, v))
    factory = osmium.geom.GeoJSONFactory()
    fp = (osmium.FileProcessor(pbf)
          .with_areas(TagFilter(*pairs))
          .with_filter(TagFilter(*pairs)))
    n = 0
    with open(out_path, "w", encoding="utf-8") as out:
        out.write('{"type":"FeatureCollection","features":[\n')
        for obj in fp:
            if obj.is_node():
                kind, oid = "node", obj.id
                try:
                    geom = factory.create_point(obj)
                except Exception:
                    continue
            elif obj.is_area():
                kind = "way" if obj.from_way() else "relation"
                oid = obj.orig_id()
                try:
                    geom = factory.create_multipolygon(obj)
                except Exception:
                    continue
            else:
                continue  # ways and relations themselves: only their areas are wanted
            props = {"osm_type": kind, "osm_id": oid}
            props.update({t.k: t.v for t in obj.tags})
            feature = '{"type":"Feature","geometry":%s,"properties":%s}' % (geom, json.dumps(props, ensure_ascii=False))
            out.write((",\n" if n else "") + feature)
            n += 1
        out.write("\n]}\n")
    print("pyosmium: %d features" % n, file=sys.stderr)


if __name__ == "__main__":
    main()
