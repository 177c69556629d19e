//! Aggregates for modellers: facilities + their estimates → sums by any grouping (région ×
//! typology × status, département) of counts, observed surfaces, IT MW, energy, CO2e and
//! water, each low / central / high, with the share of each total that is observed.
//! Centrals add up exactly (sum of facility centrals); low / high are percentiles of the
//! summed Monte Carlo draws (never sums of percentiles).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::mc::{DRAWS, Range, percentiles};
use super::{CO2E_EMB_T, CO2E_OP_T, ENERGY_GWH, FacilityEstimate, IT_MW, WATER_M3};
use crate::reconcile::Facility;

/// Sums of one group.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    pub facility_count: u64,
    pub campus_count: u64,
    pub white_space_m2_observed: f64,
    pub floor_area_m2_observed: f64,
    pub it_mw_low: f64,
    pub it_mw_central: f64,
    pub it_mw_high: f64,
    /// Share of `it_mw_central` disclosed as IT power (the rest is estimated).
    pub it_mw_observed_share: f64,
    pub energy_gwh_low: f64,
    pub energy_gwh_central: f64,
    pub energy_gwh_high: f64,
    /// Share of `energy_gwh_central` that is measured (Enedis); measured values replace the
    /// estimate of their facility in these totals.
    pub energy_gwh_observed_share: f64,
    pub co2e_operational_t_low: f64,
    pub co2e_operational_t_central: f64,
    pub co2e_operational_t_high: f64,
    pub co2e_embodied_t_low: f64,
    pub co2e_embodied_t_central: f64,
    pub co2e_embodied_t_high: f64,
    pub water_m3_low: f64,
    pub water_m3_central: f64,
    pub water_m3_high: f64,
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Sums the facilities at `indices` (excluded facilities are skipped by the caller).
pub fn sum(facilities: &[Facility], est: &[FacilityEstimate], indices: &[usize]) -> Metrics {
    let mut central = [0.0; 5];
    let mut draws = vec![[0.0; 5]; DRAWS];
    let (mut ws, mut fa, mut it_obs, mut e_obs) = (0.0, 0.0, 0.0, 0.0);
    let mut campuses = BTreeSet::new();
    for &i in indices {
        let e = &est[i];
        campuses.insert(facilities[i].campus_id.as_str());
        for (q, c) in central.iter_mut().enumerate() {
            *c += e.totals.central[q];
        }
        for (k, d) in draws.iter_mut().enumerate() {
            for (q, x) in d.iter_mut().enumerate() {
                *x += e.totals.draws[q].get(k).copied().unwrap_or(0.0);
            }
        }
        ws += e.white_space_m2_observed.unwrap_or(0.0);
        fa += e.floor_area_m2_observed.unwrap_or(0.0);
        if e.evidence.method.observed() {
            it_obs += e.totals.central[IT_MW];
        }
        if let Some((_, g)) = e.energy_gwh_observed {
            e_obs += g;
        }
    }
    let range = |q: usize| -> Range {
        let p = percentiles(&draws.iter().map(|d| d[q]).collect::<Vec<_>>());
        Range {
            low: p.low.min(central[q]),
            central: central[q],
            high: p.high.max(central[q]),
        }
    };
    let share = |part: f64, total: f64| {
        if total > 0.0 {
            round(part / total, 4)
        } else {
            0.0
        }
    };
    let (it, en, op, emb, wa) = (
        range(IT_MW),
        range(ENERGY_GWH),
        range(CO2E_OP_T),
        range(CO2E_EMB_T),
        range(WATER_M3),
    );
    Metrics {
        facility_count: indices.len() as u64,
        campus_count: campuses.len() as u64,
        white_space_m2_observed: round(ws, 1),
        floor_area_m2_observed: round(fa, 1),
        it_mw_low: round(it.low, 4),
        it_mw_central: round(it.central, 4),
        it_mw_high: round(it.high, 4),
        it_mw_observed_share: share(it_obs, it.central),
        energy_gwh_low: round(en.low, 4),
        energy_gwh_central: round(en.central, 4),
        energy_gwh_high: round(en.high, 4),
        energy_gwh_observed_share: share(e_obs, en.central),
        co2e_operational_t_low: round(op.low, 1),
        co2e_operational_t_central: round(op.central, 1),
        co2e_operational_t_high: round(op.high, 1),
        co2e_embodied_t_low: round(emb.low, 1),
        co2e_embodied_t_central: round(emb.central, 1),
        co2e_embodied_t_high: round(emb.high, 1),
        water_m3_low: round(wa.low, 1),
        water_m3_central: round(wa.central, 1),
        water_m3_high: round(wa.high, 1),
    }
}

/// Groups facilities by `key` (excluded facilities left out) and sums each group.
pub fn group_by<K: Ord + Clone>(
    facilities: &[Facility],
    est: &[FacilityEstimate],
    key: impl Fn(&Facility) -> K,
) -> Vec<(K, Metrics)> {
    let mut groups: BTreeMap<K, Vec<usize>> = BTreeMap::new();
    for (i, f) in facilities.iter().enumerate() {
        if !est[i].typology.excluded {
            groups.entry(key(f)).or_default().push(i);
        }
    }
    groups
        .into_iter()
        .map(|(k, idx)| {
            let m = sum(facilities, est, &idx);
            (k, m)
        })
        .collect()
}
