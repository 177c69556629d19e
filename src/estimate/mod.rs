//! Estimate stage: facilities and their members' observations → typology, installed IT power,
//! annual facility energy, operational and embodied CO2e and water, each as low / central /
//! high with the method and parameters used, plus the calibration table.
//!
//! Evidence ladder for IT power (first that applies): disclosed IT power; disclosed facility
//! power, grid MVA or a power of unstated kind, converted; measured energy (Enedis) through
//! PUE and load factor; white space or floor area through density ratios; site area through
//! MW per hectare; a typology prior.
//!
//! Uncertainty: 2,000 Monte Carlo draws in which each parameter's draw k is shared by all
//! facilities (`mc`), so totals keep the parameters' correlation, while a typology prior (the
//! size of a site nobody measured) varies independently from site to site. Parameters are
//! split log-normals through their 10/50/90 percentiles. `low` / `high` are the 10th / 90th
//! percentiles of the draws (an 80 % interval) and `central` their mean: means add up, so a
//! total's central is the sum of its facilities' centrals (and the mean of the summed draws),
//! whereas medians of skewed quantities do not. An interval is widened to contain its mean
//! in the rare case the mean lies beyond the 90th percentile.

pub mod aggregate;
pub mod mc;
pub mod params;
pub mod trajectory;
pub mod typology;

use std::collections::HashMap;

use serde::Serialize;

use crate::geo::stage::LocatedRecord;
use crate::model::{PowerKind, SurfaceKind};
use crate::reconcile::Facility;
use mc::{DRAWS, Range, Samples, draws_for, percentiles};
use params::Parameters;
use typology::{Typology, TypologyInput, classify};

/// How IT power was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    DisclosedItPower,
    DisclosedFacilityPower,
    DisclosedGridMva,
    DisclosedPowerUnstated,
    MeasuredEnergy,
    WhiteSpace,
    FloorArea,
    SiteArea,
    TypologyPrior,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::DisclosedItPower => "disclosed_it_power",
            Method::DisclosedFacilityPower => "disclosed_facility_power",
            Method::DisclosedGridMva => "disclosed_grid_mva",
            Method::DisclosedPowerUnstated => "disclosed_power_unstated",
            Method::MeasuredEnergy => "measured_energy",
            Method::WhiteSpace => "white_space",
            Method::FloorArea => "floor_area",
            Method::SiteArea => "site_area",
            Method::TypologyPrior => "typology_prior",
        }
    }

    /// IT power observed as such (not estimated).
    pub fn observed(self) -> bool {
        self == Method::DisclosedItPower
    }
}

/// The observation the ladder chose, with its value and the record it came from.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub method: Method,
    /// MW, MVA, MWh per year or m², per the method; 0 for the prior.
    pub value: f64,
    pub record_key: Option<String>,
}

/// Estimates of one facility (same order as the facilities).
#[derive(Debug, Clone)]
pub struct FacilityEstimate {
    pub facility_id: String,
    pub typology: Typology,
    pub evidence: Evidence,
    /// Parameter ids the chain used.
    pub parameters: Vec<String>,
    /// Human-readable chain of evidence.
    pub chain: String,
    pub it_mw: Range,
    pub energy_gwh: Range,
    /// Latest measured year and its facility energy (GWh), summed over measured addresses.
    pub energy_gwh_observed: Option<(i32, f64)>,
    pub co2e_operational_t: Range,
    pub co2e_embodied_t: Range,
    pub water_m3: Range,
    pub white_space_m2_observed: Option<f64>,
    pub floor_area_m2_observed: Option<f64>,
    /// Values for totals (energy observed where measured): central and draws.
    pub totals: Totals,
}

/// One facility's contribution to totals: central values and draws.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub central: [f64; 5],
    pub draws: [Samples; 5],
}

/// Indices into `Totals` arrays.
pub const IT_MW: usize = 0;
pub const ENERGY_GWH: usize = 1;
pub const CO2E_OP_T: usize = 2;
pub const CO2E_EMB_T: usize = 3;
pub const WATER_M3: usize = 4;

/// A calibration fit (or the decision to keep the priors).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub name: &'static str,
    pub n: usize,
    /// Fitted multiplier on the priors (1 = priors kept).
    pub fitted: f64,
    /// Geometric standard deviation of the residuals.
    pub spread: f64,
    pub applied: bool,
    pub note: String,
    pub residuals: Vec<CalibrationResidual>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CalibrationResidual {
    pub record_key: String,
    pub observed: f64,
    pub predicted: f64,
    /// ln(observed / predicted).
    pub log_residual: f64,
}

/// Everything the stage produces.
#[derive(Debug, Default)]
pub struct Estimates {
    pub facilities: Vec<FacilityEstimate>,
    pub calibration: Vec<Calibration>,
    pub grid: String,
    pub parameters_used: Vec<params::Parameter>,
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct EstimateOptions {
    /// Grid mix for operational CO2e: `fr` (default), `eu`, `de`, ... (`grid_intensity_<x>`).
    pub grid: String,
    /// Use measured energy as evidence (off to test estimates against held-out measurements).
    pub use_measured_energy: bool,
    /// Cross-validation: facilities whose id hash is in this fold (of 2) ignore their
    /// measurement, both as evidence and in the calibration of the priors.
    pub holdout_fold: Option<u64>,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            grid: "fr".into(),
            use_measured_energy: true,
            holdout_fold: None,
        }
    }
}

/// The cross-validation fold (0 or 1) of a facility id.
pub fn fold_of(facility_id: &str) -> u64 {
    facility_id.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    }) % 2
}

/// Parameter values for the chain: at their centrals, or draw k.
struct Values<'a> {
    cache: &'a HashMap<String, (Range, Samples)>,
    draw: Option<usize>,
    /// Draws specific to this facility for one parameter id (site-to-site variation is
    /// independent between facilities, unlike the shared parameter draws).
    local: Option<(&'a str, &'a Samples)>,
}

impl Values<'_> {
    fn v(&self, id: &str) -> f64 {
        if let (Some((lid, s)), Some(k)) = (self.local, self.draw)
            && lid == id
        {
            return s[k];
        }
        match self.cache.get(id) {
            Some((r, s)) => match self.draw {
                Some(k) => s[k],
                None => r.central,
            },
            None => f64::NAN,
        }
    }
}

/// Parameter ids of one facility's chain.
struct ChainIds {
    density: String,
    white_share: String,
    mw_per_ha: String,
    pue: String,
    load: String,
    prior: String,
}

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

fn it_from(e: &Evidence, ids: &ChainIds, p: &Values<'_>, calib: f64) -> f64 {
    match e.method {
        Method::DisclosedItPower => e.value,
        Method::DisclosedFacilityPower => e.value / p.v("pue_at_design_load"),
        Method::DisclosedGridMva => e.value * p.v("power_factor") / p.v("pue_at_design_load"),
        Method::DisclosedPowerUnstated => e.value * p.v("unspecified_power_it_share"),
        Method::MeasuredEnergy => e.value / 8760.0 / (p.v(&ids.pue) * p.v(&ids.load)),
        Method::WhiteSpace => e.value * p.v(&ids.density) / 1000.0 * calib,
        Method::FloorArea => e.value * p.v(&ids.white_share) * p.v(&ids.density) / 1000.0 * calib,
        Method::SiteArea => e.value / 10_000.0 * p.v(&ids.mw_per_ha),
        Method::TypologyPrior => p.v(&ids.prior),
    }
}

/// IT MW, estimated energy GWh, totals energy GWh, CO2e op t, CO2e emb t, water m³.
fn chain(
    e: &Evidence,
    ids: &ChainIds,
    p: &Values<'_>,
    calib: f64,
    grid_id: &str,
    observed_gwh: Option<f64>,
) -> ([f64; 5], f64) {
    let it = it_from(e, ids, p, calib);
    let pue = p.v(&ids.pue);
    let energy = it * p.v(&ids.load) * pue * 8.76;
    let energy_tot = observed_gwh.unwrap_or(energy);
    let co2_op = energy_tot * p.v(grid_id);
    let co2_emb = it * p.v("embodied_building_me_per_mw_it") / p.v("embodied_building_me_lifetime")
        + it * 1000.0 * p.v("embodied_it_per_kw_it") / 1000.0 / p.v("it_equipment_lifetime");
    let water = energy_tot / pue * 1000.0 * p.v("wue_fr_it_basis");
    ([it, energy_tot, co2_op, co2_emb, water], energy)
}

fn bounded(r: Range) -> Range {
    Range {
        low: r.low.min(r.central),
        central: r.central,
        high: r.high.max(r.central),
    }
}

/// The best power evidence of a set of members: kind order IT > facility > MVA > unstated,
/// then the record's trust tier, then the record key.
fn power_evidence(members: &[&LocatedRecord], tiers: &HashMap<String, u8>) -> Option<Evidence> {
    let rank = |k: PowerKind| match k {
        PowerKind::It => Some((0, Method::DisclosedItPower)),
        PowerKind::Facility | PowerKind::Thermal | PowerKind::Planned => {
            Some((1, Method::DisclosedFacilityPower))
        }
        PowerKind::GridMva => Some((2, Method::DisclosedGridMva)),
        PowerKind::Unspecified => Some((3, Method::DisclosedPowerUnstated)),
    };
    members
        .iter()
        .flat_map(|m| m.record.powers.iter().map(move |p| (m, p)))
        .filter(|(_, p)| p.value > 0.0)
        .filter_map(|(m, p)| rank(p.kind).map(|(r, method)| (r, m, p, method)))
        .min_by(|a, b| {
            let tier = |m: &LocatedRecord| tiers.get(&m.record.source_id).copied().unwrap_or(9);
            a.0.cmp(&b.0)
                .then(tier(a.1).cmp(&tier(b.1)))
                .then(a.1.record.record_key.cmp(&b.1.record.record_key))
        })
        .map(|(_, m, p, method)| Evidence {
            method,
            value: p.value,
            record_key: Some(m.record.record_key.clone()),
        })
}

/// Measured energy of the latest year any member was measured (GWh), summed over the
/// members measured that year (addresses whose series stops earlier are left out rather
/// than mixing years).
fn measured_energy(members: &[&LocatedRecord]) -> Option<(i32, f64, String)> {
    let year = members
        .iter()
        .flat_map(|m| m.record.energy.iter().map(|e| e.year))
        .max()?;
    let in_year: Vec<(&LocatedRecord, f64)> = members
        .iter()
        .filter_map(|m| {
            m.record
                .energy
                .iter()
                .find(|e| e.year == year)
                .map(|e| (*m, e.mwh))
        })
        .collect();
    let key = in_year.first()?.0.record.record_key.clone();
    let mwh: f64 = in_year.iter().map(|(_, v)| v).sum();
    Some((year, mwh / 1000.0, key))
}

fn surface(members: &[&LocatedRecord], kinds: &[SurfaceKind]) -> Option<(f64, String)> {
    members
        .iter()
        .flat_map(|m| m.record.surfaces.iter().map(move |s| (m, s)))
        .filter(|(_, s)| kinds.contains(&s.kind) && s.value_m2 > 0.0)
        .max_by(|a, b| a.1.value_m2.total_cmp(&b.1.value_m2))
        .map(|(m, s)| (s.value_m2, m.record.record_key.clone()))
}

/// Chooses the evidence for IT power.
fn evidence(
    members: &[&LocatedRecord],
    tiers: &HashMap<String, u8>,
    use_measured: bool,
) -> Evidence {
    if let Some(e) = power_evidence(members, tiers) {
        return e;
    }
    if use_measured && let Some((_, gwh, key)) = measured_energy(members) {
        return Evidence {
            method: Method::MeasuredEnergy,
            value: gwh * 1000.0,
            record_key: Some(key),
        };
    }
    if let Some((m2, key)) = surface(members, &[SurfaceKind::WhiteSpace]) {
        return Evidence {
            method: Method::WhiteSpace,
            value: m2,
            record_key: Some(key),
        };
    }
    if let Some((m2, key)) = surface(members, &[SurfaceKind::FloorArea, SurfaceKind::Unspecified]) {
        return Evidence {
            method: Method::FloorArea,
            value: m2,
            record_key: Some(key),
        };
    }
    if let Some((m2, key)) = surface(members, &[SurfaceKind::SiteArea]) {
        return Evidence {
            method: Method::SiteArea,
            value: m2,
            record_key: Some(key),
        };
    }
    Evidence {
        method: Method::TypologyPrior,
        value: 0.0,
        record_key: None,
    }
}

/// Fits the surface → IT power ratio on records that disclose both a surface and a power:
/// multiplier on the prior densities (geometric mean of observed / predicted); applied when
/// at least three pairs exist, else the priors are kept.
fn calibrate_surface(
    records: &[LocatedRecord],
    p: &Parameters,
    cache: &mut HashMap<String, (Range, Samples)>,
) -> Calibration {
    let mut residuals = Vec::new();
    for lr in records {
        let r = &lr.record;
        let refs = [lr];
        let Some(power) = power_evidence(&refs, &HashMap::new()) else {
            continue;
        };
        let ws = surface(&refs, &[SurfaceKind::WhiteSpace])
            .map(|(m2, _)| (m2, Method::WhiteSpace))
            .or_else(|| {
                surface(&refs, &[SurfaceKind::FloorArea]).map(|(m2, _)| (m2, Method::FloorArea))
            });
        let Some((m2, method)) = ws else { continue };
        let ids = chain_ids(p, "colocation", cache);
        let values = Values {
            cache,
            draw: None,
            local: None,
        };
        let observed = it_from(&power, &ids, &values, 1.0);
        let predicted = it_from(
            &Evidence {
                method,
                value: m2,
                record_key: None,
            },
            &ids,
            &values,
            1.0,
        );
        if observed > 0.0 && predicted > 0.0 {
            residuals.push(CalibrationResidual {
                record_key: r.record_key.clone(),
                observed,
                predicted,
                log_residual: (observed / predicted).ln(),
            });
        }
    }
    let n = residuals.len();
    let mean = residuals.iter().map(|r| r.log_residual).sum::<f64>() / n.max(1) as f64;
    let sd = if n > 1 {
        (residuals
            .iter()
            .map(|r| (r.log_residual - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64)
            .sqrt()
    } else {
        0.0
    };
    let applied = n >= 3;
    let (fitted, note) = if applied {
        (
            mean.exp(),
            format!(
                "{n} records disclose a surface and a power (IT MW after conversion): the density priors (colocation rows) are multiplied by {:.2}, with the uncertainty of that mean (geometric sd {:.2}, /sqrt(n))",
                mean.exp(),
                sd.exp()
            ),
        )
    } else {
        (
            1.0,
            format!(
                "only {n} records disclose both a surface and a power: the cited priors are kept"
            ),
        )
    };
    let se = sd / (n.max(1) as f64).sqrt();
    let range = if applied {
        Range {
            low: (mean - mc::Z90 * se).exp(),
            central: mean.exp(),
            high: (mean + mc::Z90 * se).exp(),
        }
    } else {
        Range::exact(1.0)
    };
    cache.insert(
        "calibration_surface_density".into(),
        (range, draws_for("calibration_surface_density", &range)),
    );
    Calibration {
        name: "surface_to_it_power",
        n,
        fitted,
        spread: sd.exp(),
        applied,
        note,
        residuals,
    }
}

/// Energy → power: measured annual energy against disclosed power gives load × PUE; the
/// priors are kept unless three such facilities exist (reported either way).
fn calibrate_energy(
    facilities: &[Facility],
    members_of: &HashMap<&str, Vec<&LocatedRecord>>,
    p: &Parameters,
    cache: &mut HashMap<String, (Range, Samples)>,
) -> Calibration {
    let mut residuals = Vec::new();
    for f in facilities {
        let members = &members_of[f.facility_id.as_str()];
        let (Some(power), Some((_, gwh, _))) = (
            power_evidence(members, &HashMap::new()),
            measured_energy(members),
        ) else {
            continue;
        };
        let ids = chain_ids(p, "colocation", cache);
        let values = Values {
            cache,
            draw: None,
            local: None,
        };
        let it = it_from(&power, &ids, &values, 1.0);
        let predicted = it * values.v(&ids.load) * values.v(&ids.pue) * 8.76;
        if it > 0.0 && predicted > 0.0 {
            residuals.push(CalibrationResidual {
                record_key: power.record_key.unwrap_or_default(),
                observed: gwh,
                predicted,
                log_residual: (gwh / predicted).ln(),
            });
        }
    }
    let n = residuals.len();
    let mean = residuals.iter().map(|r| r.log_residual).sum::<f64>() / n.max(1) as f64;
    Calibration {
        name: "energy_to_it_power",
        n,
        fitted: if n > 0 { mean.exp() } else { 1.0 },
        spread: 1.0,
        applied: false,
        note: format!(
            "{n} facilities have both measured energy and a disclosed power; the load-factor and PUE priors are kept (reported for comparison: measured / predicted energy)"
        ),
        residuals,
    }
}

fn ensure(cache: &mut HashMap<String, (Range, Samples)>, id: &str, range: Range) {
    cache
        .entry(id.to_string())
        .or_insert_with(|| (range, draws_for(id, &range)));
}

fn chain_ids(
    p: &Parameters,
    typology: &str,
    cache: &mut HashMap<String, (Range, Samples)>,
) -> ChainIds {
    let mut pick = |prefix: &str, fallback: &str| -> String {
        match p.for_typology(prefix, typology, fallback) {
            Some((id, range)) => {
                ensure(cache, &id, range);
                id
            }
            None => fallback.to_string(),
        }
    };
    ChainIds {
        density: pick(
            "it_density_white_space",
            "it_density_white_space_colocation",
        ),
        white_share: pick(
            "white_space_per_floor_area",
            "white_space_per_floor_area_colocation",
        ),
        mw_per_ha: pick(
            "it_power_per_parcel_area",
            "it_power_per_parcel_area_colocation_campus",
        ),
        pue: pick("pue", "pue_global_average"),
        load: pick("load_factor", "load_factor_steady_state"),
        prior: pick("it_mw_prior", "it_mw_prior_unknown"),
    }
}

/// Runs the stage over the reconciled facilities.
pub fn estimate(
    records: &[LocatedRecord],
    record_facility: &[String],
    facilities: &[Facility],
    tiers: &HashMap<String, u8>,
    p: &Parameters,
    opts: &EstimateOptions,
) -> Estimates {
    let mut members_of: HashMap<&str, Vec<&LocatedRecord>> = HashMap::new();
    for (r, f) in records.iter().zip(record_facility) {
        members_of.entry(f.as_str()).or_default().push(r);
    }
    for f in facilities {
        members_of.entry(f.facility_id.as_str()).or_default();
    }
    let mut cache: HashMap<String, (Range, Samples)> = HashMap::new();
    for id in GLOBAL_IDS {
        if let Some(par) = p.get(id) {
            ensure(&mut cache, id, par.range());
        }
    }
    let grid_id = format!("grid_intensity_{}", opts.grid);
    if let Some(par) = p.get(&grid_id) {
        ensure(&mut cache, &grid_id, par.range());
    }
    let threshold = |id: &str, default: f64| p.get(id).map_or(default, |x| x.central);
    let edge_max = threshold("typology_threshold_edge_max_mw_it", 0.5);
    let hyperscale_min = threshold("typology_threshold_hyperscale_min_mw_it", 40.0);
    let mut calibration = vec![
        calibrate_surface(records, p, &mut cache),
        calibrate_energy(facilities, &members_of, p, &mut cache),
    ];
    let calib_id = "calibration_surface_density";

    // Pass 1: evidence and typology of every facility.
    struct Pre<'m> {
        members: &'m [&'m LocatedRecord],
        ev: Evidence,
        typ: Typology,
        param_typology: &'static str,
        measured: Option<(i32, f64, String)>,
        use_measured: bool,
    }
    let mut pre: Vec<Pre<'_>> = Vec::with_capacity(facilities.len());
    for f in facilities {
        let members = members_of[f.facility_id.as_str()].as_slice();
        let held_out = opts.holdout_fold == Some(fold_of(&f.facility_id));
        let use_measured = opts.use_measured_energy && !held_out;
        let ev = evidence(members, tiers, use_measured);
        // Disclosed IT size (central conversion) for the typology's size rule.
        let disclosed_it_mw = match ev.method {
            Method::DisclosedItPower
            | Method::DisclosedFacilityPower
            | Method::DisclosedGridMva
            | Method::DisclosedPowerUnstated => {
                let ids = chain_ids(p, "unknown", &mut cache);
                let values = Values {
                    cache: &cache,
                    draw: None,
                    local: None,
                };
                Some(it_from(&ev, &ids, &values, 1.0))
            }
            _ => None,
        };
        let mut texts: Vec<&str> = Vec::new();
        for m in members {
            texts.extend(m.record.name.as_deref());
            texts.extend(m.record.alt_names.iter().map(String::as_str));
            texts.extend(m.record.description.as_deref());
        }
        let typ = classify(&TypologyInput {
            operator_kind: f.operator_kind.as_deref(),
            operator_id: f.operator_id.as_deref(),
            texts,
            disclosed_it_mw,
            edge_max_mw: edge_max,
            hyperscale_min_mw: hyperscale_min,
        });
        let param_typology = if typ.ai_hpc && p.by_id.contains_key("pue_ai_hpc") {
            "ai_hpc"
        } else {
            typ.typology
        };
        pre.push(Pre {
            members,
            ev,
            typ,
            param_typology,
            measured: measured_energy(members),
            use_measured,
        });
    }

    // Calibration of the typology priors on the measured sites: the IT power implied by each
    // measured annual energy (central load and PUE of its typology); with at least five sites
    // of a typology, its prior becomes their 10th / 50th / 90th percentiles (all measured
    // sites pooled for unknown typology).
    let mut implied: std::collections::BTreeMap<&str, Vec<(f64, String)>> = Default::default();
    for x in &pre {
        if x.ev.method != Method::MeasuredEnergy {
            continue;
        }
        let ids = chain_ids(p, x.param_typology, &mut cache);
        let values = Values {
            cache: &cache,
            draw: None,
            local: None,
        };
        let it = it_from(&x.ev, &ids, &values, 1.0);
        let key = x.ev.record_key.clone().unwrap_or_default();
        implied
            .entry(x.param_typology)
            .or_default()
            .push((it, key.clone()));
        implied.entry("unknown").or_default().push((it, key));
    }
    let mut calibrated_prior: HashMap<&str, String> = HashMap::new();
    for (typology, values) in &implied {
        let ids = chain_ids(p, typology, &mut cache);
        let prior = cache.get(&ids.prior).map(|(r, _)| *r);
        let its: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
        let n = its.len();
        let fitted = percentiles(&its);
        let applied = n >= 5 && fitted.low > 0.0;
        let id = format!("it_mw_prior_calibrated_{typology}");
        if applied {
            ensure(&mut cache, &id, fitted);
            calibrated_prior.insert(typology, id.clone());
        }
        calibration.push(Calibration {
            name: "typology_prior_from_measured_energy",
            n,
            fitted: fitted.central,
            spread: if fitted.central > 0.0 { fitted.high / fitted.central } else { 0.0 },
            applied,
            note: format!(
                "{typology}: IT MW implied by {n} measured annual energies (central load and PUE): p10 {:.3} / p50 {:.3} / p90 {:.3} MW, against the cited prior {}; {}",
                fitted.low,
                fitted.central,
                fitted.high,
                prior.map_or("none".into(), |r| format!("{:.2} / {:.2} / {:.2}", r.low, r.central, r.high)),
                if applied { "the fitted range replaces the prior" } else { "too few sites: the cited prior is kept" }
            ),
            residuals: values
                .iter()
                .map(|(v, key)| CalibrationResidual {
                    record_key: key.clone(),
                    observed: *v,
                    predicted: prior.map_or(f64::NAN, |r| r.central),
                    log_residual: prior.map_or(f64::NAN, |r| (v / r.central).ln()),
                })
                .collect(),
        });
    }

    // Pass 2: the chain for every facility.
    let mut out = Vec::with_capacity(facilities.len());
    for (f, x) in facilities.iter().zip(pre) {
        let Pre {
            members,
            ev,
            typ,
            param_typology,
            measured: observed,
            use_measured,
        } = x;
        let mut ids = chain_ids(p, param_typology, &mut cache);
        if let Some(id) = calibrated_prior.get(param_typology) {
            ids.prior = id.clone();
        }
        // Site-to-site variation of a prior is independent between facilities.
        let local_draws: Option<Samples> = (ev.method == Method::TypologyPrior).then(|| {
            let range = cache
                .get(&ids.prior)
                .map_or(Range::exact(f64::NAN), |(r, _)| *r);
            draws_for(&format!("{}@{}", ids.prior, f.facility_id), &range)
        });
        let local = local_draws.as_ref().map(|s| (ids.prior.as_str(), s));
        let observed_gwh = if use_measured {
            observed.as_ref().map(|(_, g, _)| *g)
        } else {
            None
        };
        let calib_applies = matches!(ev.method, Method::WhiteSpace | Method::FloorArea);
        let calib_of = |values: &Values<'_>| {
            if calib_applies {
                values.v(calib_id)
            } else {
                1.0
            }
        };
        let central_values = Values {
            cache: &cache,
            draw: None,
            local,
        };
        let mut draws: [Samples; 5] = Default::default();
        let mut energy_est: Samples = Vec::with_capacity(DRAWS);
        let mut co2_est: Samples = Vec::with_capacity(DRAWS);
        let mut water_est: Samples = Vec::with_capacity(DRAWS);
        for k in 0..DRAWS {
            let values = Values {
                cache: &cache,
                draw: Some(k),
                local,
            };
            let (v, e) = chain(
                &ev,
                &ids,
                &values,
                calib_of(&values),
                &grid_id,
                observed_gwh,
            );
            for (i, x) in v.iter().enumerate() {
                draws[i].push(*x);
            }
            energy_est.push(e);
            co2_est.push(e * values.v(&grid_id));
            water_est.push(e / values.v(&ids.pue) * 1000.0 * values.v("wue_fr_it_basis"));
        }
        // Central = mean of the draws: additive, so totals are sums of facility centrals and
        // the mean of the summed draws.
        let mean = |s: &Samples| s.iter().sum::<f64>() / s.len().max(1) as f64;
        let central: [f64; 5] = std::array::from_fn(|i| mean(&draws[i]));
        let energy_est_central = mean(&energy_est);
        let pct = |central: f64, s: &Samples| {
            let r = percentiles(s);
            bounded(Range {
                low: r.low,
                central,
                high: r.high,
            })
        };
        let central_pue = central_values.v(&ids.pue);
        let mut parameters: Vec<String> = vec![ids.pue.clone(), ids.load.clone()];
        match ev.method {
            Method::DisclosedFacilityPower => parameters.push("pue_at_design_load".into()),
            Method::DisclosedGridMva => {
                parameters.extend(["power_factor".into(), "pue_at_design_load".into()]);
            }
            Method::DisclosedPowerUnstated => parameters.push("unspecified_power_it_share".into()),
            Method::WhiteSpace => parameters.extend([ids.density.clone(), calib_id.into()]),
            Method::FloorArea => parameters.extend([
                ids.white_share.clone(),
                ids.density.clone(),
                calib_id.into(),
            ]),
            Method::SiteArea => parameters.push(ids.mw_per_ha.clone()),
            Method::TypologyPrior => parameters.push(ids.prior.clone()),
            Method::DisclosedItPower | Method::MeasuredEnergy => {}
        }
        parameters.extend(GLOBAL_IDS[3..].iter().map(|s| (*s).to_string()));
        parameters.push(grid_id.clone());
        let it = pct(central[IT_MW], &draws[IT_MW]);
        let chain_text = format!(
            "{} {}{} → IT {:.2} MW [{:.2}–{:.2}] → × load (central {:.2}) × PUE (central {:.2}) × 8.76 h → mean {:.2} GWh/yr{}; typology {} ({})",
            ev.method.as_str(),
            if ev.value > 0.0 {
                format!("{:.1}", ev.value)
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
            central_values.v(&ids.load),
            central_pue,
            energy_est_central,
            observed
                .as_ref()
                .map(|(y, g, _)| format!("; measured {g:.2} GWh in {y}"))
                .unwrap_or_default(),
            typ.typology,
            typ.rule
        );
        out.push(FacilityEstimate {
            facility_id: f.facility_id.clone(),
            typology: typ,
            evidence: ev,
            parameters,
            chain: chain_text,
            it_mw: it,
            energy_gwh: pct(energy_est_central, &energy_est),
            energy_gwh_observed: observed.map(|(y, g, _)| (y, g)),
            co2e_operational_t: pct(mean(&co2_est), &co2_est),
            co2e_embodied_t: pct(central[CO2E_EMB_T], &draws[CO2E_EMB_T]),
            water_m3: pct(mean(&water_est), &water_est),
            white_space_m2_observed: surface(members, &[SurfaceKind::WhiteSpace]).map(|s| s.0),
            floor_area_m2_observed: surface(members, &[SurfaceKind::FloorArea]).map(|s| s.0),
            totals: Totals { central, draws },
        });
    }
    Estimates {
        facilities: out,
        calibration,
        grid: grid_id,
        parameters_used: p.used(),
    }
}

#[cfg(test)]
mod tests {
    //! A case worked out by hand: three facilities, exact parameters (low = central = high).
    use super::*;
    use crate::geo::locate::{LocateMethod, Location};
    use crate::model::{EnergyObs, PowerFact, Provenance, Record, Status, SurfaceFact};
    use crate::reconcile::Facility;
    use std::path::Path;

    const PARAMS: &[(&str, f64)] = &[
        ("pue_colocation", 1.5),
        ("load_factor_colocation", 0.5),
        ("pue_enterprise", 2.0),
        ("load_factor_steady_state", 0.5),
        ("pue_telecom", 1.6),
        ("it_density_white_space_telecom", 1.0),
        ("grid_intensity_fr", 50.0),
        ("embodied_building_me_per_mw_it", 1000.0),
        ("embodied_building_me_lifetime", 25.0),
        ("embodied_it_per_kw_it", 2500.0),
        ("it_equipment_lifetime", 5.0),
        ("wue_fr_it_basis", 0.5),
        ("pue_at_design_load", 1.3),
        ("power_factor", 0.9),
        ("unspecified_power_it_share", 0.8),
        ("it_mw_prior_unknown", 1.0),
    ];

    fn params() -> Parameters {
        let text: String = PARAMS
            .iter()
            .map(|(id, v)| {
                format!(
                    "[[parameter]]\nid = \"{id}\"\ngroup = \"g\"\ntypology = \"any\"\nlow = {v}\ncentral = {v}\nhigh = {v}\nunit = \"u\"\ntag = \"E\"\nsource = \"test\"\nnote = \"exact\"\n\n"
                )
            })
            .collect();
        Parameters::parse(Path::new("hand.toml"), &text).unwrap()
    }

    fn location() -> Location {
        Location {
            commune_insee: None,
            commune_name: None,
            departement_code: "93".into(),
            departement_name: "Seine-Saint-Denis".into(),
            region_code: "11".into(),
            region_name: "Île-de-France".into(),
            method: LocateMethod::PointInPolygon,
            distance_m: 0.0,
        }
    }

    fn record(key: &str, name: &str) -> LocatedRecord {
        let mut r = Record::new(
            "test",
            key,
            Provenance {
                source_id: "test".into(),
                file: "f".into(),
                snapshot_sha256: String::new(),
                retrieved_at: String::new(),
                origin: String::new(),
                licence: String::new(),
                locator: String::new(),
            },
        );
        r.name = Some(name.into());
        LocatedRecord {
            record: r,
            location: location(),
        }
    }

    fn facility(id: &str, kind: Option<&str>) -> Facility {
        Facility {
            facility_id: id.into(),
            anchor: id.into(),
            members: vec![],
            sources: vec![],
            name: None,
            operator: None,
            operator_id: None,
            operator_kind: kind.map(str::to_string),
            codes: vec![],
            status: Status::Operating,
            typology: "unknown".into(),
            point: None,
            point_precision: crate::model::PointPrecision::None,
            location: location(),
            address: None,
            website: None,
            campus_id: format!("cp-{id}"),
            confidence: 0.5,
            fields: vec![],
        }
    }

    #[test]
    fn three_facilities_by_hand() {
        let mut a = record("a", "Equinix PA3");
        a.record.powers.push(PowerFact {
            value: 10.0,
            unit: "MW",
            kind: PowerKind::It,
            kind_text: None,
            field: "power".into(),
        });
        let mut b = record("b", "Centre de Calculs");
        b.record.energy.push(EnergyObs {
            year: 2024,
            mwh: 4380.0,
        });
        let mut c = record("c", "Salle technique");
        c.record.surfaces.push(SurfaceFact {
            value_m2: 1000.0,
            kind: SurfaceKind::WhiteSpace,
            kind_text: None,
            field: "s".into(),
        });
        let records = vec![a, b, c];
        let owners = vec!["fa".to_string(), "fb".into(), "fc".into()];
        let facilities = vec![
            facility("fa", Some("colocation")),
            facility("fb", None),
            facility("fc", None),
        ];
        let est = estimate(
            &records,
            &owners,
            &facilities,
            &HashMap::new(),
            &params(),
            &EstimateOptions::default(),
        );
        let e = &est.facilities;
        let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-6 * y.abs().max(1.0), "{x} != {y}");
        // A: disclosed 10 MW IT; colocation, load 0.5, PUE 1.5.
        assert_eq!(e[0].typology.typology, "colocation");
        close(e[0].it_mw.central, 10.0);
        close(e[0].energy_gwh.central, 10.0 * 0.5 * 1.5 * 8.76); // 65.7
        close(e[0].co2e_operational_t.central, 65.7 * 50.0); // 3285
        close(
            e[0].co2e_embodied_t.central,
            10.0 * 1000.0 / 25.0 + 10_000.0 * 2.5 / 5.0,
        ); // 5400
        close(e[0].water_m3.central, 65.7 / 1.5 * 1000.0 * 0.5); // 21900
        // B: 4380 MWh measured; enterprise, PUE 2.0, load 0.5 → 0.5 MW IT.
        assert_eq!(e[1].typology.typology, "enterprise");
        assert_eq!(e[1].evidence.method, Method::MeasuredEnergy);
        close(e[1].it_mw.central, 0.5);
        close(e[1].energy_gwh.central, 4.38);
        close(e[1].co2e_embodied_t.central, 20.0 + 250.0);
        close(e[1].water_m3.central, 4.38 / 2.0 * 1000.0 * 0.5); // 1095
        // C: 1000 m² of white space at 1 kW/m²; telecom, PUE 1.6, load 0.5.
        assert_eq!(e[2].typology.typology, "telecom");
        close(e[2].it_mw.central, 1.0);
        close(e[2].energy_gwh.central, 7.008);
        close(e[2].co2e_operational_t.central, 350.4);
        // Totals, by hand.
        let m = aggregate::sum(&facilities, e, &[0, 1, 2]);
        close(m.it_mw_central, 11.5);
        close(m.energy_gwh_central, 65.7 + 4.38 + 7.008);
        close(m.co2e_operational_t_central, 3285.0 + 219.0 + 350.4);
        close(m.co2e_embodied_t_central, 5400.0 + 270.0 + 540.0);
        close(m.water_m3_central, 21_900.0 + 1095.0 + 2190.0);
        close(
            m.energy_gwh_observed_share,
            (4.38 / 77.088 * 1e4_f64).round() / 1e4,
        );
        assert_eq!(m.it_mw_low, m.it_mw_high); // exact parameters: no spread
    }
}
