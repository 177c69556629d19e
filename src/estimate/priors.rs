//! Size priors (the installed IT of a building nobody measured) fitted on every measured and
//! disclosed site together: (pool, IT MW) samples — Enedis energies turned into IT through
//! utilisation and PUE, disclosed powers through their kind's conversion, disclosed surfaces
//! through the fitted ratios — → per pool the empirical distribution (n, median, 10th / 90th
//! percentiles, mean), drawn with a small log-normal kernel whose bias on the mean is taken
//! out, so that a prior's mean is its pool's mean and sums of priors add up to sums of sites.
//! Draw k of every site of a pool is also scaled by the k-th bootstrap mean of the pool over
//! its mean: a prior fitted on n sites is uncertain in its mean, and that uncertainty is
//! shared by all the sites drawing from it, so it stays in totals (independent per-site draws
//! alone would shrink a total's interval as 1/√(sites)).
//!
//! A pool made only of measured sites is an energy prior: its values are the measured annual
//! energies (GWh) themselves, and a site drawn from it gets IT = energy / (utilisation × PUE ×
//! 8 760 h). Fitting IT through a central utilisation and PUE and turning it back into energy
//! with drawn ones would widen the interval and bias the mean by the spread of utilisation ×
//! PUE, which the measurements already contain. A pool mixing disclosed powers is an IT prior.
//! A measured pool too small to fit (fewer than `MIN_POOL`) falls back to its parent, all
//! measured sites (`unknown`); `edge` and `large_operator` keep their cited priors.
//!
//! Pools: the buildings of registered colocation and cloud operators together
//! (`large_operator`: measured and disclosed building-level sizes; a cloud operator's building
//! is not a campus because of its operator's class); `telecom`, `enterprise`, `edge` and
//! hosting sites known only by their NAF code or name (`colocation`) on their measured sites
//! (their typology comes from the measured addresses' NAF codes); `unknown` (anonymous
//! points) on all measured sites.
//! A pool with fewer than `MIN_POOL` sites keeps the cited prior of `parameters.toml`.
//!
//! Selection bias: Enedis publishes distribution-grid delivery points only, so sites
//! connected to the transmission grid (the largest) are absent from the measured sites; the
//! disclosed sites lean the other way (large recent builds are the ones announced).

use std::collections::BTreeMap;

use serde::Serialize;

use super::mc::{DRAWS, Range, Rng, Samples, percentiles, seed};

pub const MIN_POOL: usize = 5;

/// The pool a facility draws its prior from, by its typology and the rule that set it: a
/// registered colocation or cloud operator's building (or one sized by a disclosure) →
/// `large_operator`; a hosting site known only by its NAF code or name → `colocation`.
pub fn pool_of(typology: &str, rule: &str) -> &'static str {
    let registered = rule.starts_with("operator_registry") || rule.starts_with("disclosed");
    match typology {
        "telecom" => "telecom",
        "enterprise" => "enterprise",
        "edge" => "edge",
        "colocation" | "hyperscale" | "ai_hpc" if registered => "large_operator",
        "colocation" | "hyperscale" | "ai_hpc" => "colocation",
        _ => "unknown",
    }
}

/// Where a sample came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    MeasuredEnergy,
    DisclosedPower,
    DisclosedSurface,
}

/// One site of known size.
#[derive(Debug, Clone)]
pub struct Sample {
    pub pool: &'static str,
    pub it_mw: f64,
    /// The measured annual energy (GWh) of a measured site.
    pub energy_gwh: Option<f64>,
    pub basis: Basis,
    pub record_key: String,
}

/// A fitted prior.
#[derive(Debug, Clone, Serialize)]
pub struct Prior {
    pub id: String,
    pub pool: &'static str,
    pub n: usize,
    /// Samples by basis.
    pub n_measured: usize,
    pub n_disclosed_power: usize,
    pub n_disclosed_surface: usize,
    pub median_mw: f64,
    pub p10_mw: f64,
    pub p90_mw: f64,
    pub mean_mw: f64,
    /// p90 / p10 in decades.
    pub spread_decades: f64,
    /// An energy prior (every sample measured): p10 / median / p90 / mean of the measured
    /// annual energies, in GWh; the IT figures above are those energies at central
    /// utilisation and PUE.
    pub energy_gwh: Option<EnergyFigures>,
    /// What `draws` gives: IT MW, or annual energy GWh for an energy prior.
    #[serde(skip)]
    pub values: Vec<f64>,
    /// Per draw k, the mean of a bootstrap resample of `values` over their mean: the
    /// uncertainty of the pool's mean, which a prior fitted on n sites carries and which is
    /// the same for every site drawing from it (draw k scales them all alike, so it does not
    /// average out in totals). Mean 1.
    #[serde(skip)]
    pub mean_factors: Vec<f64>,
}

/// The energy figures of an energy prior (GWh per year).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyFigures {
    pub p10_gwh: f64,
    pub median_gwh: f64,
    pub p90_gwh: f64,
    pub mean_gwh: f64,
}

/// The pool a measured pool falls back to when it is too small to fit.
pub fn parent_pool(pool: &str) -> Option<&'static str> {
    matches!(pool, "telecom" | "enterprise" | "colocation").then_some("unknown")
}

impl Prior {
    pub fn range(&self) -> Range {
        Range {
            low: self.p10_mw,
            central: self.median_mw,
            high: self.p90_mw,
        }
    }

    /// Whether `draws` gives annual energies (GWh) rather than IT MW.
    pub fn is_energy(&self) -> bool {
        self.energy_gwh.is_some()
    }

    /// The mean of what `draws` gives (GWh for an energy prior, else MW).
    pub fn mean_value(&self) -> f64 {
        self.energy_gwh
            .as_ref()
            .map_or(self.mean_mw, |e| e.mean_gwh)
    }

    /// Draws for one facility (GWh for an energy prior, else IT MW): a sample picked
    /// uniformly, times a log-normal kernel of
    /// bandwidth h (Silverman's rule on the logs) divided by its mean exp(h²/2).
    pub fn draws(&self, facility_id: &str) -> Samples {
        let seed = seed(0x5EED_0001, self.id.bytes().chain(facility_id.bytes()));
        let logs: Vec<f64> = self.values.iter().map(|v| v.ln()).collect();
        let n = logs.len() as f64;
        let mean = logs.iter().sum::<f64>() / n;
        let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n).sqrt();
        let h = 0.9 * sd * n.powf(-0.2);
        let mut rng = Rng::new(seed);
        (0..DRAWS)
            .map(|k| {
                let i = ((rng.uniform() * n) as usize).min(self.values.len() - 1);
                let pool_mean = self.mean_factors.get(k).copied().unwrap_or(1.0);
                self.values[i] * (h * rng.normal() - h * h / 2.0).exp() * pool_mean
            })
            .collect()
    }
}

/// Per draw, the mean of a bootstrap resample of the values over their mean (seeded by the
/// prior's id: the same for every site of the pool).
fn bootstrap_mean_factors(id: &str, values: &[f64]) -> Vec<f64> {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 0 || mean <= 0.0 || !mean.is_finite() {
        return vec![1.0; DRAWS];
    }
    let mut rng = Rng::new(seed(0xB007_5742, id.bytes()));
    let factors: Vec<f64> = (0..DRAWS)
        .map(|_| {
            let total: f64 = (0..n)
                .map(|_| values[((rng.uniform() * n as f64) as usize).min(n - 1)])
                .sum();
            total / n as f64 / mean
        })
        .collect();
    // Exactly mean 1, so that a site's central (the pool's mean) is unchanged.
    let m = factors.iter().sum::<f64>() / DRAWS as f64;
    factors.into_iter().map(|f| f / m).collect()
}

/// Fits a prior per pool with at least `MIN_POOL` samples; `unknown` falls back to all
/// measured sites.
pub fn fit(samples: &[Sample]) -> BTreeMap<&'static str, Prior> {
    let mut by_pool: BTreeMap<&'static str, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        // Only registered operators' buildings have disclosed sizes to pool with: a site
        // typed by its NAF code or name is a measured address's kind of site.
        let pooled = s.pool == "large_operator" || s.basis == Basis::MeasuredEnergy;
        if s.it_mw > 0.0 && s.it_mw.is_finite() && pooled {
            by_pool.entry(s.pool).or_default().push(s);
        }
    }
    // A site of unknown typology is an anonymous point: like the measured sites (which are
    // points of the same maps), not like the disclosed ones.
    let measured: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.basis == Basis::MeasuredEnergy && s.it_mw > 0.0)
        .collect();
    by_pool.insert("unknown", measured);
    by_pool
        .into_iter()
        .filter(|(_, v)| v.len() >= MIN_POOL)
        .map(|(pool, v)| (pool, fit_pool(pool, &v)))
        .collect()
}

fn fit_pool(pool: &'static str, v: &[&Sample]) -> Prior {
    let sorted = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x
    };
    let it = sorted(v.iter().map(|s| s.it_mw).collect());
    let r = percentiles(&it);
    let count = |b: Basis| v.iter().filter(|s| s.basis == b).count();
    let energies: Option<Vec<f64>> = v
        .iter()
        .map(|s| s.energy_gwh.filter(|e| *e > 0.0 && e.is_finite()))
        .collect();
    let energy = energies.map(sorted);
    let energy_gwh = energy.as_ref().map(|e| {
        let q = percentiles(e);
        EnergyFigures {
            p10_gwh: q.low,
            median_gwh: q.central,
            p90_gwh: q.high,
            mean_gwh: e.iter().sum::<f64>() / e.len() as f64,
        }
    });
    let id = format!("it_mw_prior_fitted_{pool}");
    let values = energy.unwrap_or_else(|| it.clone());
    Prior {
        mean_factors: bootstrap_mean_factors(&id, &values),
        id,
        pool,
        n: it.len(),
        n_measured: count(Basis::MeasuredEnergy),
        n_disclosed_power: count(Basis::DisclosedPower),
        n_disclosed_surface: count(Basis::DisclosedSurface),
        median_mw: r.central,
        p10_mw: r.low,
        p90_mw: r.high,
        mean_mw: it.iter().sum::<f64>() / it.len() as f64,
        spread_decades: (r.high / r.low).log10(),
        energy_gwh,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prior_keeps_its_pools_mean_and_spread() {
        let samples: Vec<Sample> = (0..40)
            .map(|i| Sample {
                pool: "telecom",
                it_mw: 0.1 * 1.2f64.powi(i),
                energy_gwh: Some(0.1 * 1.2f64.powi(i) * 4.0),
                basis: Basis::MeasuredEnergy,
                record_key: format!("r{i}"),
            })
            .collect();
        let priors = fit(&samples);
        let t = &priors["telecom"];
        assert_eq!((t.n, t.n_measured), (40, 40));
        // Anonymous points: all measured sites.
        assert_eq!(priors["unknown"].n, 40);
        // Every sample measured: an energy prior, drawn in GWh.
        assert!(t.is_energy());
        let e = t.energy_gwh.as_ref().unwrap();
        assert!((e.median_gwh / t.median_mw - 4.0).abs() < 1e-9);
        let d = t.draws("fr-1");
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!(
            (mean / t.mean_value() - 1.0).abs() < 0.1,
            "{mean} vs {}",
            t.mean_value()
        );
        let r = percentiles(&d);
        assert!(
            r.low > e.p10_gwh * 0.4 && r.high < e.p90_gwh * 1.6,
            "{r:?} vs {e:?}"
        );
        assert_eq!(d, t.draws("fr-1"));
        assert_ne!(d, t.draws("fr-2"));
        assert_eq!(
            pool_of("hyperscale", "operator_registry:cloud"),
            "large_operator"
        );
        assert_eq!(
            pool_of("colocation", "naf:63_data_processing_hosting"),
            "colocation"
        );
    }

    #[test]
    fn a_pool_with_disclosed_sizes_is_an_it_prior_and_small_pools_fall_back() {
        let sample = |i: i32, basis: Basis| Sample {
            pool: "large_operator",
            it_mw: 5.0 + f64::from(i),
            energy_gwh: (basis == Basis::MeasuredEnergy).then_some(10.0 + f64::from(i)),
            basis,
            record_key: format!("r{i}"),
        };
        let mut samples: Vec<Sample> = (0..4).map(|i| sample(i, Basis::MeasuredEnergy)).collect();
        samples.push(sample(9, Basis::DisclosedPower));
        let priors = fit(&samples);
        let large = &priors["large_operator"];
        assert!(!large.is_energy());
        assert_eq!(large.mean_value(), large.mean_mw);
        assert!(large.draws("fr-1").iter().all(|v| *v > 1.0 && *v < 40.0));
        // The four measured ones make no pool of five: `unknown` is not fitted.
        assert!(!priors.contains_key("unknown"));
        assert_eq!(parent_pool("telecom"), Some("unknown"));
        assert_eq!(parent_pool("edge"), None);
        assert_eq!(parent_pool("large_operator"), None);
    }
}
