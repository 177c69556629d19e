//! Published totals beside the inventory's: each published national or Île-de-France figure
//! (electricity TWh, IT capacity MW, average IT MW, counts) → the inventory total matched on
//! status and scope where the figure's definition allows (operating sites; colocation and
//! hyperscale only where it counts commercial sites; the colocation sites only for the
//! Arcep operators' survey), with low / central / high and the ratio. The build reports the
//! totals; it never forces them to match.

use serde::Serialize;

use super::FacilityEstimate;
use super::aggregate::{Metrics, sum};
use crate::common::slug;
use crate::model::{PublishedCount, Status};
use crate::reconcile::Facility;

/// One published figure and the inventory's matching total (`stats.json` → `benchmarks`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Benchmark {
    pub id: String,
    pub label: String,
    pub quantity: String,
    pub area: &'static str,
    pub year: Option<i32>,
    pub definition: String,
    pub source: String,
    pub published_value: f64,
    pub unit: &'static str,
    pub inventory_scope: String,
    pub inventory_low: Option<f64>,
    pub inventory_central: Option<f64>,
    pub inventory_high: Option<f64>,
    pub ratio_central: Option<f64>,
}

/// The inventory subset a figure's scope and definition describe.
struct Scope {
    area: &'static str,
    statuses: &'static [Status],
    typologies: Option<&'static [&'static str]>,
    words: String,
}

const OPERATING: &[Status] = &[Status::Operating];
const PLANNED: &[Status] = &[
    Status::Project,
    Status::UnderConstruction,
    Status::Contested,
];
const COMMERCIAL: &[&str] = &["colocation", "hyperscale"];
const COLOCATION: &[&str] = &["colocation"];
const COMMERCIAL_TELECOM: &[&str] = &["colocation", "hyperscale", "telecom"];

fn scope_of(c: &PublishedCount) -> Option<Scope> {
    let s = slug(&c.scope);
    let d = slug(&c.definition);
    let area = if s.starts_with("ile-de-france") {
        "ile-de-france"
    } else if s.starts_with("france") {
        "france"
    } else {
        return None;
    };
    let statuses = if s.contains("project") {
        PLANNED
    } else {
        OPERATING
    };
    let has = |w: &str| d.contains(w);
    let (typologies, words): (Option<&'static [&'static str]>, &str) =
        if has("colocation-operators") || has("colocation-operator") {
            (Some(COLOCATION), "colocation")
        } else if has("colocation-hyperscale-telco") {
            (
                Some(COMMERCIAL_TELECOM),
                "colocation, hyperscale and telecom",
            )
        } else if has("commercial") || has("colocation") {
            (Some(COMMERCIAL), "colocation and hyperscale")
        } else {
            (None, "all typologies")
        };
    Some(Scope {
        area,
        statuses,
        typologies,
        words: words.to_string(),
    })
}

/// A published figure's value: `value`, else the count (the middle of a range).
fn published(c: &PublishedCount) -> Option<f64> {
    c.value.or(match (c.count_low, c.count_high) {
        (Some(a), Some(b)) => Some((a + b) as f64 / 2.0),
        (Some(a), None) => Some(a as f64),
        _ => None,
    })
}

/// Every published figure with a national or Île-de-France scope, beside the inventory.
pub fn benchmarks(
    facilities: &[Facility],
    est: &[FacilityEstimate],
    figures: &[PublishedCount],
) -> Vec<Benchmark> {
    let mut out = Vec::new();
    for c in figures {
        let (Some(scope), Some(value)) = (scope_of(c), published(c)) else {
            continue;
        };
        let idx: Vec<usize> = facilities
            .iter()
            .zip(est)
            .enumerate()
            .filter(|(_, (f, e))| {
                !e.typology.excluded
                    && scope.statuses.contains(&f.status)
                    && (scope.area == "france" || f.location.region_code == "11")
                    && scope
                        .typologies
                        .is_none_or(|t| t.contains(&e.typology.typology))
            })
            .map(|(i, _)| i)
            .collect();
        let m: Metrics = sum(facilities, est, &idx);
        let status_words = if scope.statuses == OPERATING {
            "operating"
        } else {
            "project, under construction or contested"
        };
        let (unit, quantity, low, central, high, what) = match c.metric.as_str() {
            "electricity_twh" => (
                "TWh",
                "energy_twh",
                m.energy_gwh_low / 1000.0,
                m.energy_gwh_central / 1000.0,
                m.energy_gwh_high / 1000.0,
                "annual energy (measured where measured)",
            ),
            "it_capacity_mw" => (
                "MW",
                "it_mw",
                m.it_mw_low,
                m.it_mw_central,
                m.it_mw_high,
                "installed IT",
            ),
            "avg_it_capacity_mw" => {
                let n = m.facility_count.max(1) as f64;
                (
                    "MW",
                    "avg_it_mw",
                    m.it_mw_low / n,
                    m.it_mw_central / n,
                    m.it_mw_high / n,
                    "installed IT per facility",
                )
            }
            "count" => {
                let n = m.facility_count as f64;
                ("sites", "count", n, n, n, "facilities (buildings)")
            }
            _ => continue,
        };
        let (low, high) = if quantity == "count" {
            (None, None)
        } else {
            (Some(low), Some(high))
        };
        out.push(Benchmark {
            id: format!(
                "{}-{}-{}-{}",
                slug(&c.scope),
                c.metric,
                c.year
                    .map_or_else(|| slug(&c.source_date), |y| y.to_string()),
                value
            ),
            label: format!(
                "{} {}{} ({})",
                c.scope,
                c.metric.replace('_', " "),
                c.year.map(|y| format!(" {y}")).unwrap_or_default(),
                c.definition
            ),
            quantity: quantity.into(),
            area: scope.area,
            year: c
                .year
                .or_else(|| crate::facts::parse_date(&c.source_date).map(|d| d.0)),
            definition: c.definition.clone(),
            source: c.source_url.clone(),
            published_value: value,
            unit,
            inventory_scope: format!(
                "{status_words}, {}{}, {what}",
                scope.words,
                if scope.area == "france" {
                    ""
                } else {
                    ", in Île-de-France (région 11)"
                }
            ),
            inventory_low: low,
            inventory_central: Some(central),
            inventory_high: high,
            ratio_central: (value > 0.0).then(|| central / value),
        });
    }
    out
}

/// Summary lines: each benchmark, then the held-out checks.
pub fn summary_lines(
    facilities: &[Facility],
    est: &super::Estimates,
    figures: &[PublishedCount],
) -> Vec<String> {
    let mut out = vec![format!(
        "{:<58} {:>10} {:>26} {:>6}",
        "published figure", "published", "inventory (low–high)", "ratio"
    )];
    for b in benchmarks(facilities, &est.facilities, figures) {
        let label: String = b.label.chars().take(58).collect();
        let inv_text = match (b.inventory_low, b.inventory_central, b.inventory_high) {
            (Some(l), Some(c), Some(h)) => format!("{c:.1} ({l:.1}–{h:.1}) {}", b.unit),
            (_, Some(c), _) => format!("{c:.0} {}", b.unit),
            _ => "—".into(),
        };
        out.push(format!(
            "{label:<58} {:>10} {inv_text:>26} {:>6}",
            format!("{} {}", b.published_value, b.unit),
            b.ratio_central.map_or("—".into(), |r| format!("{r:.2}"))
        ));
    }
    for c in &est.checks {
        out.push(format!(
            "check {}: {} held-out sites, {:.0} % inside their 80 % interval, median width {:.2} decades, {:.0} % of centrals within ×2, sum of centrals {:.2} × the sum observed",
            c.name,
            c.all.n,
            c.all.coverage * 100.0,
            c.all.median_width_decades,
            c.all.share_within_factor_2 * 100.0,
            c.all.sum_ratio
        ));
    }
    out
}
