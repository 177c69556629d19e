# dcinv — the two set-up commands: `make inventory` (the main job) and `make test`.
# Offline: `make inventory MIRROR=../shared/data/mirror` reads every source from a mirror.

CARGO ?= cargo
OUT ?= output
MIRROR ?=
DCINV = target/release/dcinv

.PHONY: inventory test lint fmt build sources clean eval bench bench-smoke

build:
	$(CARGO) build --release --locked

# Builds output/inventory.gpkg, facilities.geojson, stats.csv, stats.json.
# Without MIRROR it downloads the catalog URLs; exit code 1 means "built, but a source failed"
# (named in the summary), which is kept as a warning so a partial live build still lands.
inventory: build
ifeq ($(strip $(MIRROR)),)
	$(DCINV) build --out $(OUT); rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make: built with failed sources (see above)"; exit 0; fi; exit $$rc
else
	$(DCINV) build --mirror $(MIRROR) --out $(OUT)
endif

# Pairwise precision / recall of the last build against the hand-labelled set.
eval: build
	$(DCINV) eval-links tests/labels/links_93_13_91.csv --inventory $(OUT)/inventory.gpkg

# Side-by-side benchmarks against peer tools (each installs its peers in a .venv beside it):
# reconciliation vs Splink, parcel joins vs GeoPandas/DuckDB/ogr2ogr, OSM extraction vs
# osmium/pyosmium. `make bench-smoke` runs the tiny agreement checks that CI runs.
bench: build
	bench/run.sh
	bash bench/cadastre/run.sh
	bash bench/osm/run.sh

bench-smoke: build
	bash bench/cadastre/run.sh --smoke
	bash bench/osm/run.sh --smoke

sources: build
	$(DCINV) sources

# The test command of the README (and of CI): format, lints, then every test.
test:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) test --locked

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf $(OUT)
