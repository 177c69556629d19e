//! The chain of one facility: its evidence and parameter ids → IT MW, energy, CO2e and water
//! draws (shared parameter draws from the [`Cache`], site-to-site ratio and prior draws of its
//! own), their means and 80 % intervals, and the chain in words.

use std::collections::{BTreeMap, HashMap};

use super::mc::{DRAWS, Range, Samples, draws_for, percentiles};
use super::params::Parameters;
use super::priors::Prior;
use super::ratios::{self, Ratio, Ratios};
use super::{
    CO2E_EMB_T, Calibration, CalibrationResidual, Evidence, FacilityEstimate, IT_MW, Inputs,
    Method, Pre, Totals, evidence,
};
use crate::model::SurfaceKind;
use crate::reconcile::Facility;

/// Parameters every chain may read, drawn once per run.
const GLOBAL_IDS: &[&str] = &[
    "pue_at_design_load",
    "power_factor",
    "unspecified_power_it_share",
    "embodied_building_me_per_mw_it",
    "embodied_building_me_lifetime",
    "embodied_it_per_kw_it",
    "it_equipment_lifetime",
    "wue_fr_it_basis",
];

/// Shared parameter draws of a run (draw k of a parameter is the same for every facility).
pub(super) struct Cache {
    map: HashMap<String, (Range, Samples)>,
    pub grid_id: String,
}

impl Cache {
    pub fn new(p: &Parameters, grid: &str) -> Cache {
        let mut c = Cache {
            map: HashMap::new(),
            grid_id: format!("grid_intensity_{grid}"),
        };
        let grid_id = c.grid_id.clone();
        for id in GLOBAL_IDS.iter().copied().chain([grid_id.as_str()]) {
            if let Some(par) = p.get(id) {
                c.ensure(id, par.range());
            }
        }
        c
    }

    fn ensure(&mut self, id: &str, range: Range) {
        self.map
            .entry(id.to_string())
            .or_insert_with(|| (range, draws_for(id, &range)));
    }

    /// A shared parameter at draw `k`, or its central value.
    fn v(&self, id: &str, k: Option<usize>) -> f64 {
        match (self.map.get(id), k) {
            (Some((_, s)), Some(k)) => s[k],
            (Some((r, _)), None) => r.central,
            (None, _) => f64::NAN,
        }
    }
}

/// What picks a facility's parameters, ratio and prior: its parameter typology, prior pool
/// and stage.
#[derive(Debug, Clone, Copy)]
pub(super) struct SiteKind<'s> {
    pub typology: &'s str,
    pub pool: &'s str,
    pub stage: Option<&'static str>,
}

/// The parameter ids (and fitted values) of one facility's chain.
pub(super) struct ChainIds<'a> {
    pub pue: String,
    pub load: String,
    pub ratio: Option<Ratio>,
    pub prior_id: String,
    pub prior_range: Range,
    /// The mean of the prior's draws: IT MW, or GWh per year for an energy prior.
    pub prior_mean: f64,
    pub prior_fit: Option<&'a Prior>,
    /// The other surfaces of the evidence: (IT MW per unit of ratio, their ratio).
    pub also: Vec<(f64, Ratio)>,
}

impl<'a> ChainIds<'a> {
    pub fn new(
        p: &Parameters,
        site: SiteKind<'_>,
        ev: &Evidence,
        ratio_fit: &Ratios,
        prior_fit: &'a BTreeMap<&'static str, Prior>,
        cache: &mut Cache,
    ) -> ChainIds<'a> {
        let mut pick = |prefix: &str, fallback: &str| -> String {
            match p.for_typology(prefix, site.typology, fallback) {
                Some((id, range)) => {
                    cache.ensure(&id, range);
                    id
                }
                None => fallback.to_string(),
            }
        };
        let pue = pick("pue", "pue_global_average");
        let load = pick("utilisation", "utilisation_fleet");
        let via = ev.via;
        let ratio = via
            .is_surface()
            .then(|| ratio_fit.get(via, site.typology, site.stage, p))
            .flatten();
        let also = if ratio.is_some() {
            ev.also
                .iter()
                .filter_map(|&(kind, m2)| {
                    let (v, scale) = ratios::unit_value(kind, m2);
                    ratio_fit
                        .get(kind, site.typology, site.stage, p)
                        .map(|r| (v * scale, r))
                })
                .collect()
        } else {
            Vec::new()
        };
        let fitted = prior_fit.get(site.pool).or_else(|| {
            super::priors::parent_pool(site.pool).and_then(|parent| prior_fit.get(parent))
        });
        let (prior_id, prior_range, prior_mean) = match fitted {
            Some(pr) => (pr.id.clone(), pr.range(), pr.mean_value()),
            None => {
                let (id, r) = p
                    .for_typology("it_mw_prior", site.typology, "it_mw_prior_unknown")
                    .unwrap_or(("it_mw_prior_unknown".into(), Range::exact(f64::NAN)));
                (id, r, r.central)
            }
        };
        ChainIds {
            pue,
            load,
            ratio,
            prior_id,
            prior_range,
            prior_mean,
            prior_fit: fitted,
            also,
        }
    }

    /// The prior's draws are annual energies (GWh), not IT MW.
    pub fn prior_energy(&self) -> bool {
        self.prior_fit.is_some_and(Prior::is_energy)
    }

    /// Ids for power conversions only (no ratio, no prior).
    pub fn conversions_only(p: &Parameters, cache: &mut Cache) -> ChainIds<'static> {
        static NO_PRIORS: BTreeMap<&'static str, Prior> = BTreeMap::new();
        ChainIds::new(
            p,
            SiteKind {
                typology: "unknown",
                pool: "unknown",
                stage: None,
            },
            &Evidence::own(Method::DisclosedItPower, 0.0, None, None),
            &Ratios::default(),
            &NO_PRIORS,
            cache,
        )
    }
}

/// IT MW from a value of rung `via`, given the shared parameters (`g`) and the site's own
/// ratio and prior values.
fn convert(
    via: Method,
    value: f64,
    ids: &ChainIds<'_>,
    g: &dyn Fn(&str) -> f64,
    ratio: f64,
    prior: f64,
) -> f64 {
    match via {
        Method::DisclosedItPower => value,
        Method::DisclosedFacilityPower => value / g("pue_at_design_load"),
        Method::DisclosedGridMva => value * g("power_factor") / g("pue_at_design_load"),
        Method::DisclosedPowerUnstated => value * g("unspecified_power_it_share"),
        Method::MeasuredEnergy => value / 8760.0 / (g(&ids.pue) * g(&ids.load)),
        Method::WhiteSpace | Method::FloorArea | Method::SiteArea => {
            let (v, scale) = ratios::unit_value(via, value);
            v * scale * ratio
        }
        // An energy prior's draw is GWh per year: IT through the site's utilisation and PUE.
        Method::TypologyPrior if ids.prior_energy() => prior / 8.76 / (g(&ids.pue) * g(&ids.load)),
        Method::TypologyPrior | Method::CampusShare | Method::TypicalBuilding => prior,
    }
}

/// IT MW at central values (a ratio's geometric mean, a prior's mean), times the share.
pub(super) fn central_it(ev: &Evidence, ids: &ChainIds<'_>, cache: &Cache) -> f64 {
    let g = |id: &str| cache.v(id, None);
    let ratio = ids.ratio.as_ref().map_or(f64::NAN, |r| {
        let also: Vec<f64> = ids.also.iter().map(|(_, a)| a.range.central).collect();
        combined_ratio(ev, r, ids, &also, r.range.central)
    });
    convert(ev.via, ev.value, ids, &g, ratio, ids.prior_mean) * ev.share
}

/// Weight of a ratio in a combination: 1 / σ² of its log (σ from its 80 % interval).
fn weight(r: &Ratio) -> f64 {
    let sigma = (r.range.high / r.range.low).ln() / (2.0 * super::mc::Z90);
    if sigma > 1e-9 {
        1.0 / (sigma * sigma)
    } else {
        1e18
    }
}

/// The ratio that gives, on the evidence's own surface, the combined IT of all its surfaces:
/// the weighted mean of their log IT (weights 1 / σ² of each ratio's log). The ratios of
/// one site are drawn with the same normal deviates (their errors may share a cause: a
/// dense site is dense on every surface), so combining narrows no interval below the
/// narrowest one.
pub(super) fn combined_ratio(
    ev: &Evidence,
    primary: &Ratio,
    ids: &ChainIds<'_>,
    also: &[f64],
    ratio: f64,
) -> f64 {
    if ids.also.is_empty() {
        return ratio;
    }
    let (v, scale) = ratios::unit_value(ev.via, ev.value);
    let unit = v * scale;
    let mut sum_w = weight(primary);
    let mut sum = sum_w * (unit * ratio).ln();
    for ((u, r), x) in ids.also.iter().zip(also) {
        let w = weight(r);
        sum_w += w;
        sum += w * (u * x).ln();
    }
    (sum / sum_w).exp() / unit
}

/// The site's own draws of its ratio and prior (a campus share draws its campus's ratio once
/// for the whole campus: seeded by the campus fact).
fn local_draws(ev: &Evidence, ids: &ChainIds<'_>, facility_id: &str) -> (Samples, Samples) {
    let seed = match ev.method {
        Method::CampusShare | Method::TypicalBuilding => {
            ev.record_key.as_deref().unwrap_or(facility_id)
        }
        _ => facility_id,
    };
    let ratio = match ids.ratio.as_ref() {
        Some(r) if !ids.also.is_empty() => {
            // One set of deviates for every surface ratio of the site.
            let id = format!("surface_ratios@{seed}");
            let own = draws_for(&id, &r.range);
            let also: Vec<Samples> = ids
                .also
                .iter()
                .map(|(_, a)| draws_for(&id, &a.range))
                .collect();
            own.iter()
                .enumerate()
                .map(|(k, &x)| {
                    let at_k: Vec<f64> = also.iter().map(|d| d[k]).collect();
                    combined_ratio(ev, r, ids, &at_k, x)
                })
                .collect()
        }
        Some(r) => draws_for(&format!("{}@{seed}", r.id), &r.range),
        None => Vec::new(),
    };
    let prior = if ev.via == Method::TypologyPrior {
        match ids.prior_fit {
            Some(pr) => pr.draws(facility_id),
            None => draws_for(&format!("{}@{facility_id}", ids.prior_id), &ids.prior_range),
        }
    } else {
        Vec::new()
    };
    (ratio, prior)
}

fn bounded(low: f64, central: f64, high: f64) -> Range {
    Range {
        low: low.min(central),
        central,
        high: high.max(central),
    }
}

fn mean(s: &[f64]) -> f64 {
    s.iter().sum::<f64>() / s.len().max(1) as f64
}

/// Draws, means and intervals of one facility.
pub(super) fn run_facility(
    f: &Facility,
    x: &Pre<'_>,
    ev: Evidence,
    ids: &ChainIds<'_>,
    cache: &Cache,
) -> FacilityEstimate {
    let (ratio, prior) = local_draws(&ev, ids, &f.facility_id);
    let observed_gwh = if x.use_measured {
        x.measured.as_ref().map(|(_, g, _)| *g)
    } else {
        None
    };
    let grid = cache.grid_id.as_str();
    let mut draws: [Samples; 5] = Default::default();
    let (mut energy_est, mut co2_est, mut water_est) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0..DRAWS {
        let g = |id: &str| cache.v(id, Some(k));
        let it = convert(
            ev.via,
            ev.value,
            ids,
            &g,
            ratio.get(k).copied().unwrap_or(f64::NAN),
            prior.get(k).copied().unwrap_or(f64::NAN),
        ) * ev.share;
        let pue = g(&ids.pue);
        let energy = it * g(&ids.load) * pue * 8.76;
        let energy_tot = observed_gwh.unwrap_or(energy);
        let co2_emb = it * g("embodied_building_me_per_mw_it") / g("embodied_building_me_lifetime")
            + it * g("embodied_it_per_kw_it") / g("it_equipment_lifetime");
        let water = |e: f64| e / pue * 1000.0 * g("wue_fr_it_basis");
        for (i, v) in [
            it,
            energy_tot,
            energy_tot * g(grid),
            co2_emb,
            water(energy_tot),
        ]
        .into_iter()
        .enumerate()
        {
            draws[i].push(v);
        }
        energy_est.push(energy);
        co2_est.push(energy * g(grid));
        water_est.push(water(energy));
    }
    let central: [f64; 5] = std::array::from_fn(|i| mean(&draws[i]));
    let pct = |c: f64, s: &Samples| {
        let r = percentiles(s);
        bounded(r.low, c, r.high)
    };
    let it = pct(central[IT_MW], &draws[IT_MW]);
    let energy = pct(mean(&energy_est), &energy_est);
    FacilityEstimate {
        facility_id: f.facility_id.clone(),
        parameters: parameters_of(&ev, ids, grid),
        chain: chain_text(&ev, ids, cache, it, energy.central, x),
        typology: x.typ.clone(),
        it_mw: it,
        energy_gwh: energy,
        energy_gwh_observed: x.measured.as_ref().map(|(y, g, _)| (*y, *g)),
        co2e_operational_t: pct(mean(&co2_est), &co2_est),
        co2e_embodied_t: pct(central[CO2E_EMB_T], &draws[CO2E_EMB_T]),
        water_m3: pct(mean(&water_est), &water_est),
        white_space_m2_observed: evidence::surface(&x.members, &[SurfaceKind::WhiteSpace])
            .map(|s| s.0),
        floor_area_m2_observed: evidence::surface(&x.members, &[SurfaceKind::FloorArea])
            .map(|s| s.0),
        totals: Totals { central, draws },
        evidence: ev,
    }
}

fn parameters_of(ev: &Evidence, ids: &ChainIds<'_>, grid: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![ids.pue.clone(), ids.load.clone()];
    match ev.via {
        Method::DisclosedFacilityPower => out.push("pue_at_design_load".into()),
        Method::DisclosedGridMva => {
            out.extend(["power_factor".into(), "pue_at_design_load".into()])
        }
        Method::DisclosedPowerUnstated => out.push("unspecified_power_it_share".into()),
        Method::TypologyPrior => out.push(ids.prior_id.clone()),
        _ => {}
    }
    out.extend(ids.ratio.as_ref().map(|r| r.id.clone()));
    out.extend(ids.also.iter().map(|(_, r)| r.id.clone()));
    out.extend(GLOBAL_IDS[3..].iter().map(|s| (*s).to_string()));
    out.push(grid.to_string());
    out
}

fn chain_text(
    ev: &Evidence,
    ids: &ChainIds<'_>,
    cache: &Cache,
    it: Range,
    energy: f64,
    x: &Pre<'_>,
) -> String {
    let rung = if ev.method == ev.via {
        ev.method.as_str().to_string()
    } else {
        format!(
            "{} ({} of {})",
            ev.method.as_str(),
            fmt_share(ev.share),
            ev.via.as_str()
        )
    };
    let ratio = ids
        .ratio
        .as_ref()
        .map(|r| {
            let also: String = ids
                .also
                .iter()
                .map(|(u, a)| {
                    format!(
                        ", combined with {:.1} MW by {} {:.3} [{:.3}–{:.3}] (n={})",
                        u * a.range.central,
                        a.id,
                        a.range.central,
                        a.range.low,
                        a.range.high,
                        a.n
                    )
                })
                .collect();
            format!(
                " × {} {:.3} [{:.3}–{:.3}] (n={}){also}",
                r.id, r.range.central, r.range.low, r.range.high, r.n
            )
        })
        .unwrap_or_default();
    let prior = if ev.via == Method::TypologyPrior && ids.prior_energy() {
        format!(
            " {} (measured energies: mean {:.2} GWh/yr, IT through utilisation and PUE)",
            ids.prior_id, ids.prior_mean
        )
    } else if ev.via == Method::TypologyPrior {
        format!(
            " {} (median {:.2}, mean {:.2} MW)",
            ids.prior_id, ids.prior_range.central, ids.prior_mean
        )
    } else {
        String::new()
    };
    format!(
        "{rung}{}{}{ratio}{prior} → IT {:.2} MW [{:.2}–{:.2}] → × utilisation (central {:.2}) × PUE (central {:.2}) × 8.76 h → mean {:.2} GWh/yr{}; typology {} ({})",
        if ev.value > 0.0 {
            format!(" {:.1}", ev.value)
        } else {
            String::new()
        },
        ev.record_key
            .as_deref()
            .map(|k| format!(" from {k}"))
            .unwrap_or_default(),
        it.central,
        it.low,
        it.high,
        cache.v(&ids.load, None),
        cache.v(&ids.pue, None),
        energy,
        x.measured
            .as_ref()
            .map(|(y, g, _)| format!("; measured {g:.2} GWh in {y}"))
            .unwrap_or_default(),
        x.typ.typology,
        x.typ.rule
    )
}

fn fmt_share(s: f64) -> String {
    format!("{:.1} %", s * 100.0)
}

/// Utilisation checked against the facilities that have both a measured energy and a
/// disclosed power: implied utilisation = energy / (IT × PUE × 8 760 h), against the
/// parameter (reported; the published value is kept).
pub(super) fn utilisation_check(
    inputs: &Inputs<'_>,
    pre: &[Pre<'_>],
    p: &Parameters,
    cache: &mut Cache,
) -> Calibration {
    let mut residuals = Vec::new();
    let no_priors = BTreeMap::new();
    let mut cited = f64::NAN;
    for x in pre {
        let (Some(power), Some((_, gwh, _))) = (
            evidence::power_evidence(&x.members, inputs.tiers),
            x.measured.as_ref(),
        ) else {
            continue;
        };
        let ids = ChainIds::new(
            p,
            x.site_kind(),
            &power,
            &Ratios::default(),
            &no_priors,
            cache,
        );
        let it = central_it(&power, &ids, cache);
        let (pue, load) = (cache.v(&ids.pue, None), cache.v(&ids.load, None));
        cited = load;
        let implied = gwh / (it * pue * 8.76);
        if implied.is_finite() && implied > 0.0 {
            residuals.push(CalibrationResidual {
                record_key: power.record_key.clone().unwrap_or_default(),
                observed: implied,
                predicted: load,
                log_residual: (implied / load).ln(),
            });
        }
    }
    let mut v: Vec<f64> = residuals.iter().map(|r| r.observed).collect();
    v.sort_by(f64::total_cmp);
    let median = v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    Calibration {
        name: "utilisation_check",
        n: v.len(),
        fitted: median,
        spread: f64::NAN,
        applied: false,
        note: format!(
            "{} facilities have both a measured energy and a disclosed power: implied utilisation (energy / (IT × PUE × 8 760 h)) median {median:.2} against the published fleet value {cited:.2} (kept: Enedis may see only part of a site's delivery points, and a disclosed power may include phases not yet built)",
            v.len()
        ),
        residuals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(id: &str, low: f64, central: f64, high: f64) -> Ratio {
        Ratio {
            id: id.into(),
            range: Range { low, central, high },
            n: 5,
        }
    }

    fn ids(also: Vec<(f64, Ratio)>) -> ChainIds<'static> {
        ChainIds {
            pue: "pue".into(),
            load: "load".into(),
            ratio: None,
            prior_id: String::new(),
            prior_range: Range::exact(f64::NAN),
            prior_mean: f64::NAN,
            prior_fit: None,
            also,
        }
    }

    #[test]
    fn surfaces_combine_by_the_precision_of_their_ratios() {
        // 10,000 m² of floor at 2 kW/m² (20 MW) and 10 ha of site at 6 MW/ha (60 MW), the
        // site ratio twice as spread in logs as the floor one: weights 4 : 1.
        let floor = ratio("floor", 1.0, 2.0, 4.0);
        let site = ratio("site", 1.5, 6.0, 24.0);
        let mut ev = Evidence::own(Method::FloorArea, 10_000.0, None, None);
        ev.also = vec![(Method::SiteArea, 100_000.0)];
        let with_site = ids(vec![(10.0, site)]);
        let r = combined_ratio(&ev, &floor, &with_site, &[6.0], 2.0);
        let it = r * 10.0;
        let expected = ((4.0 * 20f64.ln() + 60f64.ln()) / 5.0).exp();
        assert!((it - expected).abs() < 1e-9, "{it} vs {expected}");
        assert!(it > 20.0 && it < 60.0);
        // Nothing else to combine: the ratio as it is.
        assert_eq!(combined_ratio(&ev, &floor, &ids(Vec::new()), &[], 2.5), 2.5);
    }
}
