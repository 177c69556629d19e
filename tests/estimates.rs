//! Estimates on the real mirror: invariants, totals equal to the sum of facility values,
//! and a hold-out of the measured Enedis sites (estimated without their measurement).

mod common;

use std::collections::HashMap;
use std::sync::OnceLock;

use dcinv::estimate::{self, EstimateOptions, Method, params::Parameters};
use dcinv::pipeline::{self, BuildOptions, BuildReport};

fn built() -> &'static (BuildReport, tempfile::TempDir) {
    static BUILT: OnceLock<(BuildReport, tempfile::TempDir)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let report = pipeline::build(&BuildOptions::mirror(
            common::catalog(),
            common::mirror(),
            dir.path().join("out"),
        ))
        .unwrap();
        (report, dir)
    })
}

#[test]
fn every_facility_has_a_typology_and_an_ordered_range() {
    let inv = &built().0.inventory;
    assert_eq!(inv.estimates.facilities.len(), inv.recon.facilities.len());
    for (f, e) in inv.recon.facilities.iter().zip(&inv.estimates.facilities) {
        assert_eq!(f.facility_id, e.facility_id);
        assert!(!e.typology.rule.is_empty());
        assert_eq!(f.typology, e.typology.typology);
        for r in [
            e.it_mw,
            e.energy_gwh,
            e.co2e_operational_t,
            e.co2e_embodied_t,
            e.water_m3,
        ] {
            assert!(
                r.low <= r.central && r.central <= r.high,
                "{}: {r:?}",
                f.facility_id
            );
            assert!(r.low >= 0.0 && r.central.is_finite());
        }
        assert!(e.it_mw.central > 0.0, "{}", e.chain);
    }
}

#[test]
fn stats_totals_are_the_sums_of_facility_centrals() {
    let (report, dir) = built();
    let inv = &report.inventory;
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/stats.json")).unwrap()).unwrap();
    let total = &stats["totals"]["metrics"];
    let it: f64 = inv
        .estimates
        .facilities
        .iter()
        .map(|e| e.it_mw.central)
        .sum();
    let energy: f64 = inv
        .estimates
        .facilities
        .iter()
        .map(|e| {
            e.energy_gwh_observed
                .map_or(e.energy_gwh.central, |(_, g)| g)
        })
        .sum();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-3 * b.abs().max(1.0);
    assert!(
        close(total["it_mw_central"].as_f64().unwrap(), it),
        "{total}"
    );
    assert!(
        close(total["energy_gwh_central"].as_f64().unwrap(), energy),
        "{total}"
    );
    // The région rows add up to the national totals too.
    let rows = stats["rows"].as_array().unwrap();
    let sum_rows: f64 = rows
        .iter()
        .map(|r| r["it_mw_central"].as_f64().unwrap())
        .sum();
    assert!(close(sum_rows, it), "{sum_rows} vs {it}");
    let n: u64 = rows
        .iter()
        .map(|r| r["facility_count"].as_u64().unwrap())
        .sum();
    assert_eq!(n as usize, inv.recon.facilities.len());
    // Low / high of the total are percentiles of summed draws: with independent site-size
    // priors the interval is much narrower than the sum of the facilities' intervals (adding
    // 10th percentiles would give exactly `sum_low`).
    let sum_low: f64 = inv.estimates.facilities.iter().map(|e| e.it_mw.low).sum();
    let sum_high: f64 = inv.estimates.facilities.iter().map(|e| e.it_mw.high).sum();
    let (low, high) = (
        total["it_mw_low"].as_f64().unwrap(),
        total["it_mw_high"].as_f64().unwrap(),
    );
    assert!(low > sum_low * 1.05, "{low} vs sum of lows {sum_low}");
    assert!(high < sum_high * 0.95, "{high} vs sum of highs {sum_high}");
    // Calibration and citations travel with the stats.
    assert!(!stats["calibration"].as_array().unwrap().is_empty());
    assert!(
        stats["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "grid_intensity_fr" && !p["source"].as_str().unwrap().is_empty())
    );
}

#[test]
fn held_out_measurements_fall_in_the_intervals() {
    let inv = &built().0.inventory;
    let params = Parameters::load(&common::catalog().join("parameters.toml")).unwrap();
    let tiers: HashMap<String, u8> = inv
        .specs
        .iter()
        .map(|s| (s.id.clone(), s.trust_tier))
        .collect();
    // Two-fold cross-validation: each half of the facilities is estimated without its
    // measurement, with the priors calibrated on the other half only.
    let mut inside = 0;
    let mut widths = Vec::new();
    let mut n = 0;
    for fold in 0..2 {
        let blind = estimate::estimate(
            &inv.records,
            &inv.recon.record_facility,
            &inv.recon.facilities,
            &tiers,
            &params,
            &EstimateOptions {
                grid: "fr".into(),
                use_measured_energy: true,
                holdout_fold: Some(fold),
            },
        );
        for (with, without) in inv.estimates.facilities.iter().zip(&blind.facilities) {
            let Some((_, measured)) = with.energy_gwh_observed else {
                continue;
            };
            // Held-out sites whose estimate rested on the measurement.
            if estimate::fold_of(&with.facility_id) != fold
                || with.evidence.method != Method::MeasuredEnergy
            {
                continue;
            }
            assert_ne!(without.evidence.method, Method::MeasuredEnergy);
            n += 1;
            let r = without.energy_gwh;
            if std::env::var_os("DCINV_DEBUG_HOLDOUT").is_some() {
                println!(
                    "holdout {:>10.3} in [{:.3} {:.3} {:.3}] {} {}",
                    measured,
                    r.low,
                    r.central,
                    r.high,
                    without.typology.typology,
                    without.evidence.method.as_str()
                );
            }
            if measured >= r.low && measured <= r.high {
                inside += 1;
            }
            widths.push((r.high / r.low).log10());
        }
    }
    widths.sort_by(f64::total_cmp);
    let coverage = f64::from(inside) / f64::from(n);
    let median_width = widths[widths.len() / 2];
    println!(
        "held-out Enedis sites: {n}; measured energy inside the 80 % interval: {inside} ({:.0} %); median interval width {median_width:.2} decades",
        coverage * 100.0
    );
    assert!(n >= 50, "{n}");
    assert!(coverage >= 0.5, "coverage {coverage}");
    assert!(median_width <= 2.0, "width {median_width}");
}
