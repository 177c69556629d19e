#!/usr/bin/env python3
"""Second, independent generator of labelled linkage records (link-csv columns + true_cluster).

    gen_sites.py N SEED OUT.csv [--density X] [--approx-share S] [--name-noise P]
                 [--missing-operator P] [--address-only P]

Written apart from gen_records.py (it reads no inventory and shares no code or template
with it) so that a matcher tuned on one is measured on the other. Its world is synthetic
and dense, like the Paris region:

* metropolitan areas ("metros") on a grid 80 km apart; each holds SITES_PER_METRO × density
  sites scattered around its centre with a Gaussian of sigma 5 km / sqrt(density) (a dense
  core, sparse suburbs), so --density 10 puts ten times the sites in a smaller area;
* ~70 invented operators with Zipf-like shares (a few own most sites), synthetic aliases
  (legal forms, short forms, upper case), 60 % of them numbering their sites with codes;
* 25 % of sites are campuses: 2–6 buildings of one operator 40–350 m apart, each building a
  site of its own (its own code, or "Bât N" in the name), the hard negatives;
* names follow 7 patterns (operator + metro + code, operator + street, "Salle technique"
  + operator, brand word + number, ...), many of them generic;
* six sources (not the seven of gen_records.py): `osm` (building points, OSM ids), `map`
  (building points, names without operators 50 % of the time), `directory` (address points,
  PeeringDB-like ids and codes), `meter` (address-only: a point and an address, nothing
  else), `press` and `survey` (approximate points: the centre of the record's ~3 km sector,
  shared by every site of that sector; names noisy, operators often missing);
* --approx-share (default 1/3) is the share of records with approximate points; the other
  records are split among the other sources;
* noise on names (--name-noise, default 0.3: typos, dropped or swapped words, "DC" ↔
  "Datacenter", case, accents), missing operators (--missing-operator, default 0.25 on top
  of each source's own rate), address-only records (--address-only, default 0.12 share of
  records from `meter`).

Deterministic for a seed. Records are written grouped by source with keys `source-number`.
"""

import csv
import math
import random
import sys

SITES_PER_METRO = 900
METRO_SPACING_DEG = 0.8
RECORDS_PER_SITE_MEAN = 3.2

SYLLABLES = ["ka", "lo", "ve", "ri", "tan", "mor", "sel", "dio", "bra", "nix", "qua", "ter",
             "zen", "pha", "gor", "lum", "vex", "tri", "sol", "mar", "nor", "cap", "hel", "ost"]
SUFFIXES = ["Networks", "Data", "Cloud", "Telecom", "Hosting", "Systems", "Infra", "Digital",
            "Connect", "IT", "", "", ""]
LEGAL = ["SAS", "SA", "Inc.", "Group", "Groupe", "SARL"]
BRAND = ["Atlas", "Boreal", "Cobalt", "Delta", "Equinoxe", "Fenix", "Granit", "Helios",
         "Iris", "Jade", "Krypton", "Lynx", "Meridien", "Nova", "Onyx", "Pulsar", "Quartz",
         "Rubis", "Saphir", "Titan", "Ultra", "Vega", "Zenith", "Orion", "Aurora"]
STREET_KIND = ["rue", "avenue", "boulevard", "allée", "chemin", "quai", "impasse", "place"]
STREET_NAME = ["des Lilas", "Victor Hugo", "de la Gare", "Jean Jaurès", "du Moulin",
               "Pasteur", "de la République", "des Écoles", "Gambetta", "du Général Leclerc",
               "de Verdun", "des Acacias", "Émile Zola", "de Paris", "du Stade", "des Vignes",
               "Louis Blériot", "de l'Industrie", "Marcel Cachin", "du Port", "des Peupliers",
               "Ambroise Croizat", "de la Liberté", "Henri Barbusse", "du Parc", "Voltaire",
               "des Entrepreneurs", "de la Paix", "Anatole France", "des Frères Lumière"]
PLACES = ["Nord", "Sud", "Est", "Ouest", "Centre", "Parc", "Port", "Plaine", "Val", "Haut"]


def zipf_choice(rng, n, s=1.1):
    weights = [1.0 / (k + 1) ** s for k in range(n)]
    return rng.choices(range(n), weights=weights)[0]


def make_operators(rng):
    ops = []
    seen = set()
    while len(ops) < 70:
        base = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice([2, 2, 3]))).capitalize()
        if base in seen:
            continue
        seen.add(base)
        suffix = rng.choice(SUFFIXES)
        name = f"{base} {suffix}".strip()
        aliases = [name, base, f"{name} {rng.choice(LEGAL)}", name.upper()]
        prefix = base[:rng.choice([2, 3])].upper()
        ops.append({"name": name, "aliases": aliases, "prefix": prefix,
                    "codes": rng.random() < 0.6, "count": {}})
    return ops


def metro_centre(m):
    # A grid of metros; rows of 20, spaced METRO_SPACING_DEG (lon scaled for latitude).
    row, col = divmod(m, 20)
    lat = 43.0 + (row % 24) * METRO_SPACING_DEG * 0.7 - (row // 24) * 0.35
    lon = -4.0 + col * METRO_SPACING_DEG + (row // 24) * 0.4
    return lat, lon


def offset(lat, lon, dx_m, dy_m):
    return (lat + dy_m / 111_195.0,
            lon + dx_m / (111_195.0 * math.cos(math.radians(lat))))


def sector_of(m, lat, lon):
    """A ~3 km sector: its commune-like code and its centre (the approximate point)."""
    sy, sx = math.floor(lat / 0.027), math.floor(lon / 0.04)
    return f"M{m:04d}S{sy % 1000:03d}{sx % 1000:03d}", ((sy + 0.5) * 0.027, (sx + 0.5) * 0.04)


def typo(rng, s):
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 2)
    k = rng.random()
    if k < 0.33:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if k < 0.66:
        return s[:i] + s[i + 1:]
    return s[:i] + s[i] + s[i:]


def strip_accents(s):
    table = str.maketrans("éèêëàâîïôöûùüçÉÈ", "eeeeaaiioouuucEE")
    return s.translate(table)


def noisy_name(rng, name, p):
    if not name or rng.random() >= p:
        return name
    words = name.split()
    k = rng.random()
    if k < 0.25:
        name = typo(rng, name)
    elif k < 0.4 and len(words) > 2:
        del words[rng.randrange(len(words))]
        name = " ".join(words)
    elif k < 0.5 and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        name = " ".join(words)
    elif k < 0.65:
        name = name.replace("Datacenter", "DC") if "Datacenter" in name else f"Datacenter {name}"
    elif k < 0.8:
        name = name.upper()
    else:
        name = strip_accents(name).lower()
    return name


def main(argv):
    opts, pos = {}, []
    it = iter(argv[1:])
    for a in it:
        if a.startswith("--"):
            opts[a[2:]] = float(next(it))
        else:
            pos.append(a)
    if len(pos) != 3:
        sys.exit(__doc__)
    n, seed, out = int(pos[0]), int(pos[1]), pos[2]
    density = opts.get("density", 1.0)
    approx = opts.get("approx-share", 1 / 3)
    name_noise = opts.get("name-noise", 0.3)
    missing_op = opts.get("missing-operator", 0.25)
    address_only = opts.get("address-only", 0.12)
    rng = random.Random(seed)
    ops = make_operators(rng)

    n_sites = max(1, math.ceil(n / 1.5))  # more than needed: records stop at n
    per_metro = max(50, round(SITES_PER_METRO * density))
    sigma = 5000.0 / math.sqrt(density)
    streets_per_metro = 150

    # --- sites ------------------------------------------------------------------------
    sites = []  # dict(id, lat, lon, metro, op, code, name, address, commune, sector_pt)
    metro = 0
    in_metro = 0
    while len(sites) < n_sites:
        if in_metro >= per_metro:
            metro += 1
            in_metro = 0
        clat, clon = metro_centre(metro)
        srng = random.Random(seed * 1_000_003 + metro)
        streets = [f"{srng.choice(STREET_KIND)} {srng.choice(STREET_NAME)}"
                   for _ in range(streets_per_metro)]
        dx, dy = rng.gauss(0, sigma), rng.gauss(0, sigma)
        lat, lon = offset(clat, clon, dx, dy)
        op = ops[zipf_choice(rng, len(ops))]
        buildings = 1 if rng.random() >= 0.25 else rng.randint(2, 6)
        street = rng.choice(streets)
        number = rng.randint(1, 220)
        pattern = rng.randrange(7)
        brand = rng.choice(BRAND)
        place = rng.choice(PLACES)
        for b in range(buildings):
            if len(sites) >= n_sites:
                break
            if b:
                ang = rng.uniform(0, 2 * math.pi)
                d = rng.uniform(40, 350)
                blat, blon = offset(lat, lon, d * math.cos(ang), d * math.sin(ang))
            else:
                blat, blon = lat, lon
            key = (metro, op["prefix"])
            op["count"][key] = op["count"].get(key, 0) + 1
            code = f"{op['prefix']}{op['count'][key]}" if op["codes"] else None
            bstreet = street if rng.random() < 0.6 else rng.choice(streets)
            address = f"{number + 2 * b if bstreet == street else rng.randint(1, 220)} {bstreet}"
            suffix = code if code else (f"Bât {b + 1}" if buildings > 1 else "")
            if pattern == 0:
                name = f"{op['name']} {place} {suffix}"
            elif pattern == 1:
                name = f"{op['name']} {bstreet.split(' ', 1)[1]} {suffix}"
            elif pattern == 2:
                name = f"Salle technique {op['name']} {suffix}"
            elif pattern == 3:
                name = f"{brand} {suffix or rng.randint(1, 9)}"
            elif pattern == 4:
                name = f"Datacenter {op['name']} {suffix}"
            elif pattern == 5:
                name = f"{op['name']} {suffix}"
            else:
                name = f"Campus {brand} {place} {suffix}"
            commune, spt = sector_of(metro, blat, blon)
            sites.append({"id": f"S{len(sites)}", "lat": blat, "lon": blon, "op": op,
                          "code": code, "name": " ".join(name.split()), "address": address,
                          "commune": commune, "spt": spt,
                          "osm": rng.randrange(10**6, 10**10) if rng.random() < 0.7 else None,
                          "pdb": rng.randrange(1, 10**6) if op["codes"] and rng.random() < 0.4
                          else None})
            in_metro += 1

    # --- records ----------------------------------------------------------------------
    # Source weights: approximate sources take `approx` of the records, `meter` takes
    # `address_only`, the rest is shared by osm / map / directory.
    rest = max(0.0, 1.0 - approx - address_only)
    weights = {"osm": rest * 0.42, "map": rest * 0.38, "directory": rest * 0.20,
               "meter": address_only, "press": approx * 0.45, "survey": approx * 0.55}
    names = list(weights)
    rows = {s: [] for s in names}
    total = 0
    used_sites = 0
    for site in sites:
        if total >= n:
            break
        used_sites += 1
        k = 1 + min(5, int(rng.expovariate(1.0 / (RECORDS_PER_SITE_MEAN - 1))))
        chosen = set()
        for _ in range(k):
            src = rng.choices(names, weights=[weights[s] for s in names])[0]
            if src in chosen and src != "survey":
                continue
            if total >= n:
                break
            chosen.add(src)
            total += 1
            op = site["op"]
            rec = {"source": src, "true_cluster": site["id"], "commune": site["commune"],
                   "osm_id": "", "peeringdb_id": "", "codes": "", "address": "",
                   "operator": "", "name": ""}
            lat, lon = site["lat"], site["lon"]
            if src in ("osm", "map"):
                d, a = rng.uniform(0, 45), rng.uniform(0, 2 * math.pi)
                lat, lon = offset(lat, lon, d * math.cos(a), d * math.sin(a))
                rec["precision"] = "building"
                rec["name"] = noisy_name(rng, site["name"], name_noise) if rng.random() < 0.9 else ""
                own_missing = 0.4 if src == "osm" else 0.5
                if rng.random() >= own_missing and rng.random() >= missing_op:
                    rec["operator"] = rng.choice(op["aliases"])
                if site["code"] and rng.random() < 0.5:
                    rec["codes"] = site["code"]
                if src == "osm" or (site["osm"] and rng.random() < 0.5):
                    rec["osm_id"] = str(site["osm"] or rng.randrange(10**10, 10**11))
                if rng.random() < 0.3:
                    rec["address"] = site["address"]
            elif src == "directory":
                d, a = rng.uniform(10, 180), rng.uniform(0, 2 * math.pi)
                lat, lon = offset(lat, lon, d * math.cos(a), d * math.sin(a))
                rec["precision"] = "address"
                rec["name"] = noisy_name(rng, site["name"], name_noise)
                if rng.random() >= missing_op:
                    rec["operator"] = rng.choice(op["aliases"])
                if site["code"]:
                    rec["codes"] = site["code"]
                if site["pdb"]:
                    rec["peeringdb_id"] = str(site["pdb"])
                rec["address"] = site["address"]
            elif src == "meter":
                d, a = rng.uniform(5, 150), rng.uniform(0, 2 * math.pi)
                lat, lon = offset(lat, lon, d * math.cos(a), d * math.sin(a))
                rec["precision"] = "address"
                rec["address"] = site["address"]
            else:  # press, survey: approximate, at the sector centre
                lat, lon = site["spt"]
                rec["precision"] = "approximate"
                rec["name"] = noisy_name(rng, site["name"], name_noise * 1.5)
                own_missing = 0.2 if src == "press" else 0.5
                if rng.random() >= own_missing and rng.random() >= missing_op:
                    rec["operator"] = rng.choice(op["aliases"])
                if site["code"] and rng.random() < (0.7 if src == "press" else 0.3):
                    rec["codes"] = site["code"]
                if rng.random() < 0.1:
                    rec["precision"] = "none"
                    lat = lon = None
            if rec["address"] and rng.random() < 0.06:
                num, street = rec["address"].split(" ", 1)
                rec["address"] = f"{int(num) + rng.choice([-2, 2, 1])} {street}"
            if rng.random() < 0.03:
                rec["commune"] = ""
            rec["lat"] = "" if lat is None else f"{lat:.6f}"
            rec["lon"] = "" if lon is None else f"{lon:.6f}"
            rows[src].append(rec)

    cols = ["record_key", "source", "lon", "lat", "precision", "name", "operator", "codes",
            "osm_id", "peeringdb_id", "address", "commune", "true_cluster"]
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(cols)
        for src in names:
            recs = rows[src]
            rng.shuffle(recs)
            for i, rec in enumerate(recs):
                rec["record_key"] = f"{src}-{i}"
                w.writerow([rec.get(c, "") for c in cols])
    print(f"gen_sites: {total} records, {used_sites} sites, {metro + 1} metros "
          f"(density {density}, approximate share {approx})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
