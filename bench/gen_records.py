#!/usr/bin/env python3
"""Labelled synthetic records for the record-linkage benchmark.

    gen_records.py N SEED OUT.csv [--inventory PATH]

Writes N records (columns record_key, source, lon, lat, precision, name, operator, codes,
osm_id, peeringdb_id, address, commune, true_cluster) that are noisy copies of synthetic
base facilities modelled on the real ones of a dcinv build. Deterministic for a seed.

Templates: the `facilities` table of a built inventory (GeoPackage, read with sqlite3 at run
time; nothing of it is stored here). Looked up in this order: --inventory, $BENCH_INVENTORY,
/tmp/bench_inv/inventory.gpkg, output/inventory.gpkg next to this folder. Without one, a small
built-in list of real operator names and French city centres is used (see FALLBACK_*).

Recipe (see README.md for the rates):
  * base facility = a template facility (operator, name pattern, code prefix, street pool,
    département) moved to a point up to 20 km from the template's point (uniform in the
    disc), 40 % of them drawn from Île-de-France templates;
  * constant density: the records are spread over ceil(N / 10,000) tiles, each a copy of
    metropolitan France shifted by whole multiples of 17° of longitude and -12° of latitude
    (tile 0 is France itself), so 10x more records cover 10x the area instead of making the
    same area 10x denser (with one tile, N <= 10,000, nothing changes);
  * site codes are renumbered per operator and code prefix (PA5 -> PA17), so two facilities
    of one operator never share a code; names follow the template's pattern (code or number
    substituted, or a place name appended, or the generic name kept as is);
  * hard negatives: campus siblings (same operator, next codes, same street, 100-600 m away)
    and same-name siblings (same operator and generic name, 0.3-3 km away);
  * each base facility gets 1-8 records (1 + Binomial(7, 4/7), mean 5) from distinct sources
    (a second osm copy when there are 8) with per-source field rates, point noise by
    precision, name typos, dropped words, operator aliases, shared osm/peeringdb ids.
"""

import csv
import math
import os
import random
import sqlite3
import struct
import sys
import unicodedata

SOURCES = ["osm", "community", "cloudsmog", "enedis", "peeringdb", "disclosures", "hand"]
# Relative chance of each source appearing among a facility's records.
SOURCE_WEIGHT = {
    "osm": 1.0,
    "community": 0.9,
    "cloudsmog": 0.9,
    "enedis": 0.8,
    "peeringdb": 0.5,
    "disclosures": 0.6,
    "hand": 0.6,
}
# Per source: P(name), P(operator), P(codes | facility has codes), P(address | facility
# has one), P(osm_id | facility has one), precision weights (building, address,
# approximate, none).
PROFILE = {
    "osm": (0.85, 0.55, 0.5, 0.4, 1.0, (1.0, 0.0, 0.0, 0.0)),
    "community": (0.95, 0.8, 0.7, 0.5, 0.6, (0.7, 0.2, 0.1, 0.0)),
    "cloudsmog": (0.9, 0.6, 0.4, 0.6, 0.8, (0.9, 0.1, 0.0, 0.0)),
    "enedis": (0.0, 0.0, 0.0, 1.0, 0.0, (0.0, 1.0, 0.0, 0.0)),
    "peeringdb": (1.0, 0.95, 0.8, 0.9, 0.0, (0.0, 0.7, 0.3, 0.0)),
    "disclosures": (0.7, 1.0, 0.9, 0.6, 0.0, (0.0, 0.3, 0.6, 0.1)),
    "hand": (0.9, 0.7, 0.5, 0.3, 0.0, (0.3, 0.5, 0.1, 0.1)),
}
PRECISIONS = ["building", "address", "approximate", ""]

# Operator spellings that different sources use for one operator.
ALIASES = [
    ["Digital Realty", "Interxion", "Digital Realty (Interxion)"],
    ["OVHcloud", "OVH"],
    ["Bouygues Telecom", "Bouygues Télécom"],
    ["Equinix", "Equinix, Inc."],
    ["SFR", "SFR Business"],
    ["Orange", "Orange Business Services"],
]
ALIAS_OF = {a.lower(): group for group in ALIASES for a in group}

IDF_DEPTS = {"75", "77", "78", "91", "92", "93", "94", "95"}

# Fallback when no inventory is found: real operators (name pattern, code prefix) ...
FALLBACK_OPERATORS = [
    ("Equinix", "Equinix {code}", "PA"),
    ("Digital Realty", "Digital Realty {code}", "PAR"),
    ("Interxion", "Interxion {code}", "PAR"),
    ("Data4", "Data4 {code}", "PAR"),
    ("Telehouse", "Telehouse {place}", "TH"),
    ("Global Switch", "Global Switch {place}", ""),
    ("OVHcloud", "OVHcloud {place} - {code}", "RBX"),
    ("Scaleway", "Scaleway {code}", "DC"),
    ("Opcore", "OPCORE {code}", "DC"),
    ("Euclyde", "Euclyde {code}", "DC"),
    ("Free Pro", "Free Pro - Datacenter {place}", ""),
    ("Orange", "Datacenter Orange {place}", ""),
    ("SFR", "Site Technique SFR", ""),
    ("Bouygues Telecom", "Bouygues Télécom", ""),
    ("Cogent", "Cogent", ""),
    ("Colt", "Colt {place} {n}", ""),
    ("TDF", "Salle technique TDF", ""),
    ("IBM", "Datacenter IBM", ""),
    ("Atos", "Atos {place}", ""),
    ("CELESTE", "Datacenter {place}", ""),
    ("Sigma", "Sigma {place}", ""),
    ("Zayo", "Zayo {place}", ""),
]
# ... and French city centres (INSEE code, name, lon, lat).
FALLBACK_CITIES = [
    ("75056", "Paris", 2.3522, 48.8566),
    ("93066", "Saint-Denis", 2.3574, 48.9362),
    ("93001", "Aubervilliers", 2.3821, 48.9146),
    ("92050", "Nanterre", 2.2071, 48.8924),
    ("92026", "Courbevoie", 2.2522, 48.8973),
    ("78640", "Vélizy-Villacoublay", 2.1917, 48.7826),
    ("77258", "Lognes", 2.6300, 48.8370),
    ("91377", "Massy", 2.2713, 48.7309),
    ("13055", "Marseille", 5.3698, 43.2965),
    ("69123", "Lyon", 4.8357, 45.7640),
    ("59350", "Lille", 3.0573, 50.6292),
    ("59512", "Roubaix", 3.1746, 50.6942),
    ("59273", "Gravelines", 2.1283, 50.9864),
    ("67482", "Strasbourg", 7.7521, 48.5734),
    ("33063", "Bordeaux", -0.5792, 44.8378),
    ("31555", "Toulouse", 1.4442, 43.6047),
    ("44109", "Nantes", -1.5536, 47.2184),
    ("35238", "Rennes", -1.6778, 48.1173),
    ("06088", "Nice", 7.2620, 43.7102),
    ("34172", "Montpellier", 3.8767, 43.6108),
    ("38185", "Grenoble", 5.7245, 45.1885),
    ("21231", "Dijon", 5.0415, 47.3220),
]

STREET_TYPES = ["rue", "avenue", "boulevard", "chemin", "allee", "route", "impasse", "place"]
STREET_NAMES = [
    "jean jaures", "de la republique", "victor hugo", "pasteur", "du general de gaulle",
    "de paris", "de la gare", "jean moulin", "gambetta", "foch", "des lilas", "de verdun",
    "du moulin", "de la liberte", "carnot", "voltaire", "emile zola", "anatole france",
    "des ecoles", "de l eglise", "du stade", "des peupliers", "de la paix", "jules ferry",
    "marcel paul", "paul vaillant couturier", "henri barbusse", "gabriel peri", "lenine",
    "des champs", "du marechal leclerc", "de la convention", "de la marne", "de lyon",
    "ampere", "branly", "denis papin", "gustave eiffel", "louis bleriot", "des entrepreneurs",
    "de l industrie", "du commerce", "des artisans", "de la croix", "du chateau", "des vignes",
    "des roses", "du parc", "de la fontaine", "du four", "de la poste", "des tilleuls",
    "des chenes", "saint martin", "saint pierre", "de bretagne", "de normandie", "de flandre",
    "des innovations", "de la technologie",
]
PLACES = [
    "Nord", "Sud", "Est", "Ouest", "Centre", "Campus", "Paris", "Saint-Denis", "Lyon",
    "Marseille", "Lille", "Bordeaux", "Toulouse", "Nantes", "Rennes", "Strasbourg",
]
GENERIC_PREFIXES = ["Datacenter", "Data Center", "DC", "Datacentre"]


def ascii_fold(s):
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


def normalise_address(raw):
    """`63 BOULEVARD BESSIERES, 75000 Paris` -> (`63`, `boulevard bessieres`)."""
    head = raw.split(",")[0]
    words = "".join(c if c.isalnum() else " " for c in ascii_fold(head).lower()).split()
    if not words:
        return None
    number = ""
    if words[0].isdigit():
        number = words.pop(0)
    if len(words) < 2 or words[0] not in STREET_TYPES + ["quai", "square", "cours", "mail"]:
        return None
    return " ".join(words)


def gpkg_point(blob):
    """(x, y) of a GeoPackage point geometry blob."""
    if blob is None or blob[:2] != b"GP":
        return None
    flags = blob[3]
    env = (flags >> 1) & 7
    off = 8 + {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(env, 0)
    order = "<" if blob[off] == 1 else ">"
    (gtype,) = struct.unpack(order + "I", blob[off + 1 : off + 5])
    if gtype % 1000 != 1:
        return None
    x, y = struct.unpack(order + "dd", blob[off + 5 : off + 21])
    if math.isnan(x) or math.isnan(y):
        return None
    return x, y


def find_inventory(arg):
    here = os.path.dirname(os.path.abspath(__file__))
    for p in [arg, os.environ.get("BENCH_INVENTORY"), "/tmp/bench_inv/inventory.gpkg",
              os.path.join(here, "..", "output", "inventory.gpkg")]:
        if p and os.path.exists(p):
            return p
    return None


def load_templates(path):
    """Template dicts from a built inventory, plus street and place pools."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = con.execute(
        "select geom, name, operator, codes, address, commune_insee, departement_code, "
        "region_code, commune_name from facilities"
    ).fetchall()
    con.close()
    templates, streets, places = [], set(), set()
    for geom, name, op, codes, addr, insee, dept, region, cname in rows:
        pt = gpkg_point(geom)
        if pt is None or not (-6 < pt[0] < 10 and 41 < pt[1] < 52):
            continue
        dept = dept or (insee or "")[:2] or "00"
        street = normalise_address(addr) if addr else None
        if street:
            streets.add(street)
        if cname:
            places.add(cname)
        templates.append({
            "x": pt[0], "y": pt[1], "name": (name or "").strip(), "operator": (op or "").strip(),
            "codes": [c for c in (codes or "").split(";") if c.strip()],
            "has_address": bool(street), "dept": dept,
            "idf": region == "11" or dept in IDF_DEPTS,
        })
    for i, t in enumerate(templates):
        t["i"] = i
    return templates, sorted(streets), sorted(places)


def fallback_templates():
    templates, rng = [], random.Random(0)
    for i, (insee, cname, x, y) in enumerate(FALLBACK_CITIES):
        for j, (op, pattern, prefix) in enumerate(FALLBACK_OPERATORS):
            if (i + j) % 3:
                continue
            code = f"{prefix}{rng.randint(1, 9)}" if prefix else ""
            name = pattern.format(code=code, place=cname, n=rng.randint(1, 5))
            templates.append({
                "x": x, "y": y, "name": name, "operator": op, "codes": [code] if code else [],
                "has_address": True, "dept": insee[:2], "idf": insee[:2] in IDF_DEPTS,
            })
    for i, t in enumerate(templates):
        t["i"] = i
    return templates, [], [c[1] for c in FALLBACK_CITIES]


TILE_RECORDS = 10_000


def tile_offsets(n):
    """(dlon, dlat) of n tiles: France, then copies 17° of longitude apart (19 columns,
    -153°..+153°) in rows 12° of latitude apart going south (France spans 16° x 11° with its
    20 km discs, so tiles never overlap and every point keeps |lat| <= 52°, where a 0.015°
    longitude cell is still wider than 1 km). Ordered by distance from France."""
    cells = [(c * 17.0, -r * 12.0) for r in range(7) for c in range(-9, 10)]
    cells.sort(key=lambda o: (abs(o[0]) + abs(o[1]), o))
    if n > len(cells):
        sys.exit(f"gen_records: at most {len(cells) * TILE_RECORDS} records (tiles)")
    return cells[:n]


def code_prefix(code):
    c = "".join(ch for ch in code.upper() if ch.isalnum())
    p = ""
    for ch in c:
        if not ch.isalpha():
            break
        p += ch
    return p or "DC"


class Generator:
    def __init__(self, seed, templates, streets, places, tiles=1):
        self.rng = random.Random(seed)
        self.tiles = tile_offsets(tiles)
        self.idf = [t for t in templates if t["idf"]]
        self.other = [t for t in templates if not t["idf"]] or self.idf
        self.idf = self.idf or self.other
        self.streets = sorted(set(streets) | {f"{t} {n}" for t in STREET_TYPES[:6]
                                              for n in STREET_NAMES})
        self.places = sorted(set(places) | set(PLACES))
        self.code_counter = {}
        self.name_counter = {}
        self.next_osm = 100000000 + self.rng.randrange(1000000)
        self.next_pdb = 1000 + self.rng.randrange(1000)
        self.facility = 0

    # --- base facilities -------------------------------------------------------------
    def new_code(self, owner, prefix):
        k = (owner, prefix)
        n = self.code_counter.get(k, 0) + 1
        self.code_counter[k] = n
        return f"{prefix}{n}"

    def make_name(self, t, code):
        rng = self.rng
        name = t["name"]
        if not name:
            return ""
        if code and t["codes"]:
            old = t["codes"][0]
            idx = name.upper().find(old.upper())
            if idx >= 0:
                return name[:idx] + code + name[idx + len(old):]
            return f"{t['operator'] or name} {code}"
        words = name.split()
        nums = [i for i, w in enumerate(words) if w.isdigit()]
        if nums:
            k = t["i"]
            n = self.name_counter.get(k, 0) + 1
            self.name_counter[k] = n
            words[nums[-1]] = str(n)
            return " ".join(words)
        u = rng.random()
        if u < 0.45:
            return name  # generic: "Bouygues Télécom", "Site Technique SFR"
        place = rng.choice(self.places)
        if u < 0.8:
            return f"{name} {place}"
        return f"{name} {place} {rng.randint(1, 9)}"

    def jitter(self, x, y, rmin, rmax):
        rng = self.rng
        r = math.sqrt(rng.uniform((rmin / rmax) ** 2, 1.0)) * rmax if rmax > 0 else 0.0
        a = rng.uniform(0, 2 * math.pi)
        dy = r * math.sin(a) / 111320.0
        dx = r * math.cos(a) / (111320.0 * math.cos(math.radians(y)))
        return x + dx, y + dy

    def commune(self, dept, x, y, tile):
        cy, cx = math.floor(y / 0.036), math.floor(x / 0.054)
        code = f"{dept}{(cy * 7919 + cx * 104729) % 1000:03d}"
        return code if tile == 0 else f"{code}T{tile}"

    def base(self, t, x, y, operator, code, street, name=None, tile=0):
        rng = self.rng
        fid = self.facility
        self.facility += 1
        has_addr = street is not None
        number = rng.randint(1, 300)
        colo = bool(t["codes"]) or operator in ("Equinix", "Digital Realty", "Telehouse",
                                                "Data4", "Interxion")
        return {
            "id": fid, "x": x, "y": y, "t": t, "operator": operator,
            "codes": [code] if code else [],
            "name": self.make_name(t, code) if name is None else name,
            "address": f"{number} {street}" if has_addr else None,
            "street": street,
            "commune": self.commune(t["dept"], x, y, tile),
            "tile": tile,
            "osm": self.take_osm() if rng.random() < 0.6 else None,
            "pdb": self.take_pdb() if rng.random() < (0.35 if colo else 0.05) else None,
        }

    def take_osm(self):
        self.next_osm += 1 + self.rng.randrange(50)
        return self.next_osm

    def take_pdb(self):
        self.next_pdb += 1 + self.rng.randrange(3)
        return self.next_pdb

    def facilities(self):
        """Yields base facilities (with their hard-negative siblings right after them)."""
        rng = self.rng
        while True:
            t = rng.choice(self.idf if rng.random() < 0.4 else self.other)
            # One tile: no draw, so N <= 10,000 gives the same records as before tiling.
            tile = rng.randrange(len(self.tiles)) if len(self.tiles) > 1 else 0
            dx, dy = self.tiles[tile]
            x, y = self.jitter(t["x"] + dx, t["y"] + dy, 0, 20000)
            operator = t["operator"]
            owner = operator or t["name"]
            prefix = code_prefix(t["codes"][0]) if t["codes"] else None
            code = self.new_code(owner, prefix) if prefix else None
            has_addr = rng.random() < (0.85 if t["has_address"] else 0.55)
            street = rng.choice(self.streets) if has_addr else None
            f = self.base(t, x, y, operator, code, street, tile=tile)
            yield f
            if prefix and operator and rng.random() < 0.3:
                # Campus: the same operator's next buildings a few hundred metres away.
                for _ in range(rng.randint(1, 3)):
                    sx, sy = self.jitter(x, y, 100, 600)
                    yield self.base(t, sx, sy, operator, self.new_code(owner, prefix),
                                    street if street and rng.random() < 0.7
                                    else rng.choice(self.streets), tile=tile)
            elif operator and f["name"] and rng.random() < 0.1:
                # Another building of the same operator under the same generic name.
                sx, sy = self.jitter(x, y, 300, 3000)
                yield self.base(t, sx, sy, operator, None, rng.choice(self.streets),
                                name=f["name"], tile=tile)

    # --- noisy records ---------------------------------------------------------------
    def noisy_name(self, name):
        rng = self.rng
        if rng.random() < 0.1:
            words = name.split()
            if len(words) >= 2:
                del words[rng.randrange(len(words))]
                name = " ".join(words)
        if rng.random() < 0.15 and len(name) > 3:
            i = rng.randrange(len(name) - 1)
            op = rng.randrange(3)
            if op == 0:
                name = name[:i] + name[i + 1] + name[i] + name[i + 2:]
            elif op == 1:
                name = name[:i] + name[i + 1:]
            else:
                name = name[:i] + name[i] + name[i:]
        u = rng.random()
        if u < 0.08:
            name = f"{rng.choice(GENERIC_PREFIXES)} {name}"
        elif u < 0.16:
            name = name.upper()
        elif u < 0.3:
            name = ascii_fold(name)
        return name

    def noisy_operator(self, op):
        rng = self.rng
        group = ALIAS_OF.get(op.lower())
        if group and rng.random() < 0.2:
            op = rng.choice(group)
        elif rng.random() < 0.08:
            op = op.upper()
        return op

    def noisy_code(self, code):
        rng = self.rng
        if rng.random() < 0.05:
            p = code_prefix(code)
            digits = code[len(p):]
            if digits.isdigit():
                return f"{p}{int(digits):02d}" if rng.random() < 0.5 else f"{p}-{digits}"
        return code

    def records(self, f):
        rng = self.rng
        k = 1 + sum(rng.random() < 4 / 7 for _ in range(7))
        pool = list(SOURCES)
        chosen = []
        for _ in range(min(k, len(pool))):
            total = sum(SOURCE_WEIGHT[s] for s in pool)
            u = rng.random() * total
            for s in pool:
                u -= SOURCE_WEIGHT[s]
                if u <= 0:
                    break
            pool.remove(s)
            chosen.append(s)
        if k == 8:
            chosen.append("osm")
        for src in chosen:
            p_name, p_op, p_codes, p_addr, p_osm, precw = PROFILE[src]
            name = f["name"] if f["name"] and rng.random() < p_name else ""
            if name:
                name = self.noisy_name(name)
            op = f["operator"] if f["operator"] and rng.random() < p_op else ""
            if op:
                op = self.noisy_operator(op)
            codes = ""
            if f["codes"] and rng.random() < p_codes:
                codes = ";".join(self.noisy_code(c) for c in f["codes"])
            addr = ""
            if f["address"] and rng.random() < p_addr:
                addr = f["address"]
                if rng.random() < 0.05:  # sources disagree on the number
                    addr = f"{rng.randint(1, 300)} {f['street']}"
            if src == "enedis":
                addr = f["address"] or f"{rng.randint(1, 300)} {rng.choice(self.streets)}"
            osm = f["osm"] if f["osm"] and rng.random() < p_osm else ""
            pdb = f["pdb"] if src == "peeringdb" and f["pdb"] else ""
            if not pdb and f["pdb"] and src in ("community", "hand") and rng.random() < 0.2:
                pdb = f["pdb"]
            u = rng.random() * sum(precw)
            prec = ""
            for p, w in zip(PRECISIONS, precw):
                u -= w
                if u <= 0:
                    prec = p
                    break
            if prec == "building":
                x, y = self.jitter(f["x"], f["y"], 0, 60)
            elif prec == "address":
                x, y = self.jitter(f["x"], f["y"], 20, 200)
            elif prec == "approximate":
                # City centre: the centre of a ~6.7 km cell (0-4.7 km away), shared by every
                # facility of that "city".
                cy, cx = math.floor(f["y"] / 0.06), math.floor(f["x"] / 0.09)
                x, y = (cx + 0.5) * 0.09, (cy + 0.5) * 0.06
            else:
                x = y = None
            commune = f["commune"] if rng.random() < 0.97 else ""
            yield (src, x, y, prec, name, op, codes, osm, pdb, addr, commune)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    inv_arg = None
    if "--inventory" in argv:
        inv_arg = argv[argv.index("--inventory") + 1]
        args.remove(inv_arg)
    if len(args) != 3:
        sys.exit(__doc__)
    n, seed, out = int(args[0]), int(args[1]), args[2]
    inv = find_inventory(inv_arg)
    if inv:
        templates, streets, places = load_templates(inv)
        origin = f"{len(templates)} template facilities from {inv}"
    else:
        templates, streets, places = fallback_templates()
        origin = f"built-in fallback ({len(templates)} templates)"
    gen = Generator(seed, templates, streets, places, tiles=-(-n // TILE_RECORDS))
    # Records are written grouped by source (as the sources deliver them), each source's
    # records in facility order; keys are `source-number`, so they do not reveal clusters.
    header = ["record_key", "source", "lon", "lat", "precision", "name", "operator", "codes",
              "osm_id", "peeringdb_id", "address", "commune", "true_cluster"]
    parts = {s: open(f"{out}.{s}.part", "w", newline="") for s in SOURCES}
    writers = {s: csv.writer(fh, lineterminator="\n") for s, fh in parts.items()}
    count = dict.fromkeys(SOURCES, 0)
    written = 0
    for f in gen.facilities():
        cluster = f"f{f['id']}"
        for src, x, y, prec, name, op, codes, osm, pdb, addr, commune in gen.records(f):
            lon = f"{x:.6f}" if x is not None else ""
            lat = f"{y:.6f}" if y is not None else ""
            count[src] += 1
            writers[src].writerow([f"{src}-{count[src]}", src, lon, lat, prec, name, op, codes,
                                   osm, pdb, addr, commune, cluster])
            written += 1
            if written >= n:
                break
        if written >= n:
            break
    with open(out, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerow(header)
        for s in SOURCES:
            parts[s].close()
            with open(f"{out}.{s}.part") as part:
                while True:
                    chunk = part.read(1 << 20)
                    if not chunk:
                        break
                    fh.write(chunk)
            os.remove(f"{out}.{s}.part")
    print(f"gen_records: {written} records of {gen.facility} facilities ({origin}) -> {out}",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
