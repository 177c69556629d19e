//! Held-out checks of the estimates, run on the build's own inputs: a two-fold
//! cross-validation on the measured sites (each half estimated without its measurement, the
//! priors fitted on the other half; compared on annual energy) and a leave-one-out over the
//! disclosed IT powers (each facility estimated without its own disclosed powers, its records
//! left out of the ratio and prior fits; compared on IT MW). Each → coverage of the 80 %
//! intervals, median width in decades, share of centrals within a factor of 2, and the sum
//! of centrals against the sum observed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::mc::Range;
use super::params::Parameters;
use super::{
    EstimateOptions, Estimates, FacilityEstimate, Inputs, Method, estimate_inputs, fold_of,
};

/// One held-out site.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    pub facility_id: String,
    pub observed: f64,
    pub low: f64,
    pub central: f64,
    pub high: f64,
    /// The rung the held-out estimate rested on.
    pub method: &'static str,
    /// The prior pool of the facility (`priors::pool_of`): the measured sites of
    /// `large_operator` are a biased sample (below).
    pub pool: &'static str,
}

/// A check's figures over a set of held-out sites (all of them, or one prior pool's).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PoolFigures {
    pub n: usize,
    pub inside: usize,
    pub coverage: f64,
    pub median_width_decades: f64,
    pub within_factor_2: usize,
    pub share_within_factor_2: f64,
    pub sum_central: f64,
    pub sum_observed: f64,
    /// sum_central / sum_observed.
    pub sum_ratio: f64,
}

/// A check's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckSummary {
    pub name: &'static str,
    /// `energy_gwh` or `it_mw`.
    pub quantity: &'static str,
    /// The figures over every held-out site.
    #[serde(flatten)]
    pub all: PoolFigures,
    /// Held-out sites by the rung their estimate rested on.
    pub methods: BTreeMap<&'static str, usize>,
    /// The same figures per prior pool. Enedis publishes distribution-grid delivery points
    /// only: at a large operator's site the measured energy is often one meter of several,
    /// or missing, so that pool's measured sites are a low, biased sample.
    pub by_pool: BTreeMap<&'static str, PoolFigures>,
    pub rows: Vec<CheckRow>,
}

fn figures(rows: &[&CheckRow]) -> PoolFigures {
    let n = rows.len();
    let share = |k: usize| if n > 0 { k as f64 / n as f64 } else { f64::NAN };
    let inside = rows
        .iter()
        .filter(|r| r.observed >= r.low && r.observed <= r.high)
        .count();
    let within = rows
        .iter()
        .filter(|r| r.central >= r.observed / 2.0 && r.central <= r.observed * 2.0)
        .count();
    let mut widths: Vec<f64> = rows.iter().map(|r| (r.high / r.low).log10()).collect();
    widths.sort_by(f64::total_cmp);
    let sum_central = rows.iter().map(|r| r.central).sum::<f64>();
    let sum_observed = rows.iter().map(|r| r.observed).sum::<f64>();
    PoolFigures {
        n,
        inside,
        coverage: share(inside),
        median_width_decades: widths.get(n / 2).copied().unwrap_or(f64::NAN),
        within_factor_2: within,
        share_within_factor_2: share(within),
        sum_central,
        sum_observed,
        sum_ratio: sum_central / sum_observed,
    }
}

fn summarise(name: &'static str, quantity: &'static str, rows: Vec<CheckRow>) -> CheckSummary {
    let mut methods = BTreeMap::new();
    let mut pools: BTreeMap<&'static str, Vec<&CheckRow>> = BTreeMap::new();
    for r in &rows {
        *methods.entry(r.method).or_default() += 1;
        pools.entry(r.pool).or_default().push(r);
    }
    let by_pool = pools.into_iter().map(|(k, v)| (k, figures(&v))).collect();
    let all = figures(&rows.iter().collect::<Vec<_>>());
    CheckSummary {
        name,
        quantity,
        all,
        methods,
        by_pool,
        rows,
    }
}

fn row(with: &FacilityEstimate, observed: f64, r: Range, method: Method) -> CheckRow {
    CheckRow {
        facility_id: with.facility_id.clone(),
        observed,
        low: r.low,
        central: r.central,
        high: r.high,
        method: method.as_str(),
        pool: super::priors::pool_of(with.typology.typology, &with.typology.rule),
    }
}

/// The options of a held-out run: a fold's measurements or a facility's powers held out,
/// no nested checks.
fn blind(opts: &EstimateOptions, fold: Option<u64>, facility: Option<String>) -> EstimateOptions {
    EstimateOptions {
        holdout_fold: fold,
        holdout_facility: facility,
        checks: false,
        ..opts.clone()
    }
}

/// Two-fold cross-validation on the facilities whose estimate rests on a measured energy.
pub fn two_fold(
    inputs: &Inputs<'_>,
    p: &Parameters,
    opts: &EstimateOptions,
    base: &Estimates,
) -> CheckSummary {
    let mut rows = Vec::new();
    for fold in 0..2 {
        let blind = estimate_inputs(inputs, p, &blind(opts, Some(fold), None));
        for (with, without) in base.facilities.iter().zip(&blind.facilities) {
            let Some((_, measured)) = with.energy_gwh_observed else {
                continue;
            };
            if fold_of(&with.facility_id) == fold && with.evidence.method == Method::MeasuredEnergy
            {
                rows.push(row(
                    with,
                    measured,
                    without.energy_gwh,
                    without.evidence.method,
                ));
            }
        }
    }
    summarise("two_fold_measured_energy", "energy_gwh", rows)
}

/// Leave-one-out over the facilities whose estimate rests on their own disclosed IT power.
pub fn leave_one_out(
    inputs: &Inputs<'_>,
    p: &Parameters,
    opts: &EstimateOptions,
    base: &Estimates,
) -> CheckSummary {
    let mut rows = Vec::new();
    for (i, with) in base.facilities.iter().enumerate() {
        if with.evidence.method != Method::DisclosedItPower {
            continue;
        }
        let blind = estimate_inputs(
            inputs,
            p,
            &blind(opts, None, Some(with.facility_id.clone())),
        );
        let without = &blind.facilities[i];
        rows.push(row(
            with,
            with.evidence.value,
            without.it_mw,
            without.evidence.method,
        ));
    }
    summarise("leave_one_out_disclosed_it", "it_mw", rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_a_check() {
        let r = |obs: f64, low: f64, c: f64, high: f64| CheckRow {
            facility_id: "f".into(),
            observed: obs,
            low,
            central: c,
            high,
            method: "white_space",
            pool: if obs > 5.0 {
                "large_operator"
            } else {
                "telecom"
            },
        };
        let s = summarise(
            "t",
            "it_mw",
            vec![
                r(10.0, 5.0, 8.0, 20.0),
                r(10.0, 1.0, 3.0, 9.0),
                r(1.0, 0.1, 1.0, 10.0),
            ],
        );
        assert_eq!((s.all.n, s.all.inside, s.all.within_factor_2), (3, 2, 2));
        assert!((s.all.median_width_decades - 9f64.log10()).abs() < 1e-12);
        assert!((s.all.sum_ratio - 12.0 / 21.0).abs() < 1e-12);
        assert_eq!(s.methods["white_space"], 3);
        let large = &s.by_pool["large_operator"];
        assert_eq!(large.n, 2);
        assert!((large.sum_ratio - 11.0 / 20.0).abs() < 1e-12);
        assert!((large.coverage - 0.5).abs() < 1e-12);
        assert_eq!(s.by_pool["telecom"].n, 1);
    }
}
