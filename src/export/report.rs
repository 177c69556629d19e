//! `report.html`: the [`Inventory`], the département outlines of the admin index, the
//! build's `stats.json` and `changes.json` and the capacity trajectory → one self-contained
//! page. Leaflet, d3 and Observable Plot (vendored under `report/vendor/`, see
//! `ATTRIBUTION.md`), the page script, styles and data are all inline: nothing is fetched
//! and the page opens offline. OSM tiles are an opt-in background when online.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use geo::{BooleanOps, Simplify};
use geo_types::MultiPolygon;
use serde_json::{Value, json};

use crate::error::StoreError;
use crate::estimate::aggregate::group_by;
use crate::estimate::trajectory::{self, NATIONAL_CODE};
use crate::estimate::typology::TYPOLOGY_COLOURS;
use crate::geo::locate::AdminIndex;
use crate::inventory::Inventory;

pub const FILE_NAME: &str = "report.html";
/// Outline simplification tolerance, degrees (about 1 km).
pub const OUTLINE_TOLERANCE_DEG: f64 = 0.01;
/// The trajectory shown: the years of `dcinv trajectory`'s defaults.
pub const TRAJECTORY_YEARS: (i32, i32) = (2025, 2035);

const TEMPLATE: &str = include_str!("report/template.html");
const APP_JS: &str = include_str!("report/app.js");
const LEAFLET_JS: &str = include_str!("report/vendor/leaflet.js");
const LEAFLET_CSS: &str = include_str!("report/vendor/leaflet.css");
const D3_JS: &str = include_str!("report/vendor/d3.min.js");
const PLOT_JS: &str = include_str!("report/vendor/plot.umd.min.js");

fn err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Serialise {
        what: format!("{FILE_NAME} ({what})"),
        message: e.to_string(),
    }
}

/// Rounds to 3 decimals (~100 m), enough for outlines simplified at ~1 km.
fn r3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

fn r2(v: f64) -> f64 {
    (v * 1e2).round() / 1e2
}

/// A multipolygon as GeoJSON coordinates (rings with fewer than 4 points dropped).
fn coordinates(g: &MultiPolygon<f64>) -> Value {
    let ring = |l: &geo_types::LineString<f64>| -> Option<Value> {
        (l.0.len() >= 4)
            .then(|| Value::Array(l.0.iter().map(|c| json!([r3(c.x), r3(c.y)])).collect()))
    };
    let polygons: Vec<Value> =
        g.0.iter()
            .filter_map(|p| {
                let mut rings = vec![ring(p.exterior())?];
                rings.extend(p.interiors().iter().filter_map(ring));
                Some(Value::Array(rings))
            })
            .collect();
    Value::Array(polygons)
}

fn feature(code: &str, name: &str, g: &MultiPolygon<f64>) -> Value {
    json!({"type": "Feature", "properties": {"code": code, "name": name},
           "geometry": {"type": "MultiPolygon", "coordinates": coordinates(g)}})
}

/// Département and région outlines as GeoJSON FeatureCollections: régions are the union of
/// their départements (at full resolution), both simplified at `tolerance_deg`.
pub fn outlines(index: &AdminIndex, tolerance_deg: f64) -> Value {
    let mut regions: BTreeMap<(String, String), Vec<&MultiPolygon<f64>>> = BTreeMap::new();
    let mut departements = Vec::new();
    for (d, region_code, region_name) in index.departement_outlines() {
        departements.push(feature(
            &d.code,
            &d.name,
            &d.geometry.simplify(tolerance_deg),
        ));
        regions
            .entry((region_code, region_name))
            .or_default()
            .push(&d.geometry);
    }
    let regions: Vec<Value> = regions
        .into_iter()
        .filter(|((code, _), _)| !code.is_empty())
        .map(|((code, name), parts)| {
            let union = parts
                .iter()
                .skip(1)
                .fold((*parts[0]).clone(), |acc, p| acc.union(*p));
            feature(&code, &name, &union.simplify(tolerance_deg))
        })
        .collect();
    json!({
        "departements": {"type": "FeatureCollection", "features": departements},
        "regions": {"type": "FeatureCollection", "features": regions},
    })
}

fn range(r: &crate::estimate::mc::Range) -> Value {
    json!([r2(r.low), r2(r.central), r2(r.high)])
}

/// One compact object per facility: what the map and its panel show.
fn facilities(inv: &Inventory) -> Vec<Value> {
    let records: HashMap<&str, &crate::model::Record> = inv
        .records
        .iter()
        .map(|r| (r.record.record_key.as_str(), &r.record))
        .collect();
    inv.facility_rows()
        .into_iter()
        .map(|row| {
            let (f, e) = (row.facility, row.estimate);
            let l = &f.location;
            let members: Vec<Value> = f
                .members
                .iter()
                .map(|k| {
                    let r = records.get(k.as_str());
                    json!([k, r.map(|r| &r.source_id), r.and_then(|r| r.name.as_ref())])
                })
                .collect();
            json!({
                "id": f.facility_id, "name": f.name, "operator": f.operator,
                "typology": f.typology, "status": f.status.as_str(),
                "lon": f.point.map(|p| p.lon), "lat": f.point.map(|p| p.lat),
                "precision": f.point_precision, "address": f.address,
                "commune": l.commune_name, "dep": l.departement_code, "dep_name": l.departement_name,
                "region": l.region_name, "campus": f.campus_id, "confidence": r2(f.confidence),
                "excluded": e.typology.excluded, "ai_hpc": e.typology.ai_hpc,
                "typology_rule": e.typology.rule,
                "it": range(&e.it_mw), "method": e.evidence.method.as_str(),
                "observed": e.evidence.method.observed(),
                "energy": range(&e.energy_gwh),
                "energy_observed": e.energy_gwh_observed.map(|(y, g)| json!([y, r2(g)])),
                "co2e_op": range(&e.co2e_operational_t), "water": range(&e.water_m3),
                "chain": e.chain, "parameters": e.parameters,
                "evidence_record": e.evidence.record_key,
                "sources": f.sources, "members": members,
            })
        })
        .collect()
}

/// Facilities and IT MW by (région, typology), ranges from the Monte Carlo draws.
fn by_region_typology(inv: &Inventory) -> Vec<Value> {
    group_by(&inv.recon.facilities, &inv.estimates.facilities, |f| {
        (f.location.region_name.clone(), f.typology.clone())
    })
    .into_iter()
    .map(|((region, typology), m)| {
        json!({
            "region": if region.is_empty() { "(not located)".to_string() } else { region },
            "typology": typology, "facilities": m.facility_count,
            "it_mw": [r2(m.it_mw_low), r2(m.it_mw_central), r2(m.it_mw_high)],
        })
    })
    .collect()
}

/// Facilities and central IT MW by estimate method.
fn by_method(inv: &Inventory) -> Vec<Value> {
    let mut groups: BTreeMap<(&str, bool), (u64, f64)> = BTreeMap::new();
    for e in inv
        .estimates
        .facilities
        .iter()
        .filter(|e| !e.typology.excluded)
    {
        let m = e.evidence.method;
        let g = groups.entry((m.as_str(), m.observed())).or_default();
        g.0 += 1;
        g.1 += e.it_mw.central;
    }
    groups
        .into_iter()
        .map(|((method, observed), (n, mw))| {
            json!({"method": method, "kind": if observed { "observed" } else { "estimated" },
                   "facilities": n, "it_mw_central": r2(mw)})
        })
        .collect()
}

fn sources(inv: &Inventory) -> Vec<Value> {
    inv.source_runs
        .iter()
        .map(|r| {
            json!({"source": r.source_id, "kept": r.records_kept, "dropped": r.records_dropped,
                   "units_read": r.units_read, "error": r.error.as_ref().map(|e| e.to_string()), "stale": r.stale})
        })
        .collect()
}

fn issues(inv: &Inventory) -> Vec<Value> {
    let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
    for i in &inv.issues {
        let code = serde_json::to_value(i.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *by.entry((code, i.source_id.clone())).or_default() += 1;
    }
    by.into_iter()
        .map(|((code, source), n)| json!({"code": code, "source": source, "count": n}))
        .collect()
}

/// National trajectory rows, or an empty list.
fn national_trajectory(rows: &[trajectory::TrajectoryRow]) -> Vec<Value> {
    rows.iter()
        .filter(|r| r.region_code == NATIONAL_CODE)
        .map(|r| {
            json!({"year": r.year,
                   "it_mw": [r2(r.it_mw_low), r2(r.it_mw_central), r2(r.it_mw_high)],
                   "energy_gwh": [r2(r.energy_gwh_low), r2(r.energy_gwh_central), r2(r.energy_gwh_high)]})
        })
        .collect()
}

/// Everything the page shows. `stats` and `changes` are the build's `stats.json` and
/// `changes.json` (the `benchmarks` block of stats.json is shown when present).
pub fn data(
    inv: &Inventory,
    outlines: Value,
    stats: Option<&Value>,
    changes: Option<&Value>,
    trajectory: &[trajectory::TrajectoryRow],
) -> Value {
    let total = |k: &str| stats.and_then(|s| s["totals"].get(k)).cloned();
    json!({
        "run": {"run_id": inv.run_id, "generated_at": inv.finished_at,
                "fetch_mode": inv.fetch_mode, "tool_version": env!("CARGO_PKG_VERSION")},
        "colours": TYPOLOGY_COLOURS,
        "facility_count": inv.recon.facilities.len(),
        "record_count": inv.records.len(),
        "totals": total("metrics"),
        "facilities": facilities(inv),
        "by_region_typology": by_region_typology(inv),
        "by_method": by_method(inv),
        "benchmarks": stats.and_then(|s| s.get("benchmarks")).filter(|b| b.is_array()),
        "sources": sources(inv),
        "issues": issues(inv),
        "changes": changes,
        "trajectory": national_trajectory(trajectory),
        "outlines": outlines,
    })
}

/// `url(...)` references removed from a stylesheet (Leaflet's icons are not used: nothing
/// may be fetched).
fn strip_urls(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(i) = rest.find("url(") {
        out.push_str(&rest[..i]);
        out.push_str("none");
        rest = rest[i..].find(')').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

/// A script body that cannot close its `<script>` element early.
fn script(js: &str) -> String {
    js.replace("</script", "<\\/script")
        .replace("//# sourceMappingURL=", "//# ")
}

/// The page: the template with the vendored libraries, the page script and the data inlined.
pub fn render(data: &Value) -> Result<String, StoreError> {
    // `<` only occurs inside JSON strings, where \u003c is the same character.
    let json = serde_json::to_string(data)
        .map_err(|e| err("data", e))?
        .replace('<', "\\u003c");
    let mut out = String::with_capacity(TEMPLATE.len() + json.len() + 700_000);
    for (i, part) in TEMPLATE.split("@@").enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
            continue;
        }
        match part {
            "LEAFLET_CSS" => out.push_str(&strip_urls(LEAFLET_CSS)),
            "LEAFLET_JS" => out.push_str(&script(LEAFLET_JS)),
            "D3_JS" => out.push_str(&script(D3_JS)),
            "PLOT_JS" => out.push_str(&script(PLOT_JS)),
            "APP_JS" => out.push_str(&script(APP_JS)),
            "DATA" => out.push_str(&json),
            "TITLE" => out.push_str(&format!(
                "dcinv inventory report: {} facilities",
                data["facility_count"]
            )),
            other => return Err(err("template", format!("unknown marker @@{other}@@"))),
        }
    }
    Ok(out)
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes `<out>/report.html` from the inventory, the [`outlines`] of the build's admin
/// index, the parameters (for the trajectory) and the files the build just wrote: the
/// GeoPackage `gpkg` (read back for the trajectory, as `dcinv trajectory` does),
/// `<out>/stats.json` and `changes` (the build's `changes.json`).
pub fn write(
    out: &Path,
    inv: &Inventory,
    outlines: &Value,
    params: &crate::estimate::params::Parameters,
    [gpkg, changes]: [&Path; 2],
) -> Result<PathBuf, StoreError> {
    let stats = read_json(&out.join(super::stats::JSON_NAME));
    let changes = read_json(changes);
    let inputs = trajectory::read_inputs(gpkg)?;
    let (from, to) = TRAJECTORY_YEARS;
    let rows = trajectory::project(&inputs, params, from, to);
    let page = render(&data(
        inv,
        outlines.clone(),
        stats.as_ref(),
        changes.as_ref(),
        &rows,
    ))?;
    let path = out.join(FILE_NAME);
    crate::common::write_atomic(&path, page.as_bytes()).map_err(|e| StoreError::Io {
        path: path.clone(),
        source: e,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_stylesheet_urls() {
        let css = ".a{background-image:url(images/layers.png)} .b{behavior: url(#default#VML);}";
        assert_eq!(
            strip_urls(css),
            ".a{background-image:none} .b{behavior: none;}"
        );
        assert!(!strip_urls(LEAFLET_CSS).contains("url("));
    }

    #[test]
    fn renders_every_marker_and_escapes_the_data() {
        let data = json!({"facility_count": 2, "facilities": [{"name": "</script><b>x"}]});
        let page = render(&data).unwrap();
        assert!(!page.contains("@@"), "a marker was left");
        assert!(page.contains("\\u003c/script>\\u003cb>x"));
        assert_eq!(
            page.matches("</script>").count(),
            page.matches("<script").count()
        );
        assert!(page.contains("dcinv inventory report: 2 facilities"));
        // nothing is loaded from elsewhere (links in the libraries' strings load nothing)
        for bad in ["src=\"http", "<link", "src=\"//", "@import"] {
            assert!(!page.contains(bad), "{bad}");
        }
    }
}
