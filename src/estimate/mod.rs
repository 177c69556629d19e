//! Estimate stage: facilities, their members' observations and the facts attached to their
//! campuses → typology, installed IT power, annual facility energy, operational and embodied
//! CO2e and water, each as low / central / high with the method and parameters used, plus the
//! calibration table (fitted ratios, fitted priors, checks) and the held-out checks.
//!
//! Evidence ladder for IT power (first that applies): the facility's own disclosed power
//! (latest dated fact first; IT, else facility / grid MVA / unstated power converted through
//! their own ranges: PUE at design load, power factor, IT share); its measured energy
//! (Enedis) through utilisation and PUE; its white space, floor area or site area through
//! ratios fitted on the records that disclose both a surface and a power (`ratios`); a share
//! of the governing fact of its campus (the campus total less the buildings with their own
//! evidence, shared among the others, `campus`); a typical building of its campus; a size
//! prior fitted on every measured and disclosed operating site of its pool (`priors`).
//! An operator's regional total bounds the sum of its sites in the département where the
//! estimates rest on evidence no newer than the total.
//!
//! Energy = IT × utilisation (average IT load over installed IT, from published fleet
//! measurements: Arcep 0.30, EU EED 0.22) × PUE × 8 760 h; a measured energy replaces it.
//!
//! Uncertainty: 2,000 Monte Carlo draws. PUE, utilisation and the power-kind conversions are
//! shared by all facilities (draw k is the same everywhere: totals keep their correlation);
//! site-to-site variation (a ratio's spread, a prior) is drawn independently per site (per
//! campus for a campus share). `low` / `high` are the 10th / 90th percentiles of the draws
//! (an 80 % interval) and `central` their mean: means add up, so a total's central is the sum
//! of its facilities' centrals. An interval is widened to contain its mean when the mean lies
//! beyond the 90th percentile.

pub mod aggregate;
pub mod benchmarks;
pub mod campus;
mod chain;
pub mod checks;
pub mod evidence;
pub mod mc;
pub mod params;
pub mod priors;
pub mod ratios;
pub mod trajectory;
pub mod typology;

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::facts::Attachments;
use crate::geo::stage::LocatedRecord;
use crate::reconcile::Facility;
use chain::{Cache, ChainIds};
use mc::{Range, Samples};
use params::Parameters;
use typology::{Typology, TypologyInput, classify};

/// How IT power was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// A share of the governing fact of the facility's campus.
    CampusShare,
    /// The typical building of the facility's campus.
    TypicalBuilding,
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
            Method::CampusShare => "campus_share",
            Method::TypicalBuilding => "typical_building",
            Method::TypologyPrior => "typology_prior",
        }
    }

    /// IT power observed as such (not estimated).
    pub fn observed(self) -> bool {
        self == Method::DisclosedItPower
    }

    /// A disclosed power of any kind.
    pub fn is_power(self) -> bool {
        matches!(
            self,
            Method::DisclosedItPower
                | Method::DisclosedFacilityPower
                | Method::DisclosedGridMva
                | Method::DisclosedPowerUnstated
        )
    }

    /// A surface rung.
    pub fn is_surface(self) -> bool {
        matches!(
            self,
            Method::WhiteSpace | Method::FloorArea | Method::SiteArea
        )
    }
}

/// The observation the ladder chose, with its value and the record it came from.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub method: Method,
    /// MW, MVA, MWh per year or m² (per `via`); 0 for the prior.
    pub value: f64,
    pub record_key: Option<String>,
    /// How `value` becomes IT MW: `method` itself, or for a campus share / typical building
    /// the rung of the campus fact.
    pub via: Method,
    /// Multiplier on the IT that `via` gives (a campus share; 1 otherwise).
    pub share: f64,
    /// `(year, month)` of the fact it rests on.
    pub date: Option<(i32, u32)>,
    /// The other surfaces of the same records (rung, m²) when `via` is a surface: combined
    /// with it (`chain::combined_ratio`).
    pub also: Vec<(Method, f64)>,
}

impl Evidence {
    pub fn own(
        method: Method,
        value: f64,
        record_key: Option<String>,
        date: Option<(i32, u32)>,
    ) -> Self {
        Evidence {
            method,
            value,
            record_key,
            via: method,
            share: 1.0,
            date,
            also: Vec::new(),
        }
    }

    pub fn prior() -> Self {
        Evidence::own(Method::TypologyPrior, 0.0, None, None)
    }
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

/// A calibration fit (or the decision to keep the cited values).
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub name: &'static str,
    pub n: usize,
    /// Fitted value (a ratio, a median, a multiplier; see the note).
    pub fitted: f64,
    /// Geometric standard deviation of the residuals (or p90 / p50 for a prior).
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
    /// The fitted size priors (n, median, spread per pool).
    pub priors: Vec<priors::Prior>,
    /// Held-out checks (two-fold on measured sites, leave-one-out on disclosed IT powers).
    pub checks: Vec<checks::CheckSummary>,
    pub grid: String,
    pub parameters_used: Vec<params::Parameter>,
    /// The scoped facts the estimates read (stored in `fact_attachments`).
    pub facts: Attachments,
}

/// Options of a run.
#[derive(Debug, Clone)]
pub struct EstimateOptions {
    /// Grid mix for operational CO2e: `fr` (default), `eu`, `de`, ... (`grid_intensity_<x>`).
    pub grid: String,
    /// Use measured energy as evidence (off to test estimates against held-out measurements).
    pub use_measured_energy: bool,
    /// Cross-validation: facilities whose id hash is in this fold (of 2) ignore their
    /// measurement, both as evidence and in the fits of the priors.
    pub holdout_fold: Option<u64>,
    /// Leave-one-out: this facility ignores its own disclosed powers, and its records are left
    /// out of the ratio and prior fits.
    pub holdout_facility: Option<String>,
    /// Run the held-out checks (the checks' own runs do not).
    pub checks: bool,
}

impl Default for EstimateOptions {
    fn default() -> Self {
        EstimateOptions {
            grid: "fr".into(),
            use_measured_energy: true,
            holdout_fold: None,
            holdout_facility: None,
            checks: false,
        }
    }
}

/// The cross-validation fold (0 or 1) of a facility id.
pub fn fold_of(facility_id: &str) -> u64 {
    facility_id.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    }) % 2
}

/// The stage's inputs.
pub struct Inputs<'a> {
    pub records: &'a [LocatedRecord],
    pub record_facility: &'a [String],
    pub facilities: &'a [Facility],
    pub facts: &'a Attachments,
    pub tiers: &'a HashMap<String, u8>,
}

impl Inputs<'_> {
    /// Position of each facility by its id.
    pub fn facility_index(&self) -> HashMap<&str, usize> {
        self.facilities
            .iter()
            .enumerate()
            .map(|(i, f)| (f.facility_id.as_str(), i))
            .collect()
    }
}

/// What pass 1 knows of a facility.
struct Pre<'m> {
    members: Vec<&'m LocatedRecord>,
    own: Option<Evidence>,
    typ: Typology,
    param_typology: &'static str,
    /// The prior pool (`priors::pool_of`).
    pool: &'static str,
    /// The facility's stage for the surface ratios (`ratios::stage_of`).
    stage: Option<&'static str>,
    measured: Option<(i32, f64, String)>,
    use_measured: bool,
}

impl Pre<'_> {
    fn site_kind(&self) -> chain::SiteKind<'static> {
        chain::SiteKind {
            typology: self.param_typology,
            pool: self.pool,
            stage: self.stage,
        }
    }
}

/// Runs the stage over the reconciled facilities and the facts attached to them.
pub fn estimate(
    records: &[LocatedRecord],
    record_facility: &[String],
    facilities: &[Facility],
    facts: &Attachments,
    tiers: &HashMap<String, u8>,
    p: &Parameters,
    opts: &EstimateOptions,
) -> Estimates {
    let inputs = Inputs {
        records,
        record_facility,
        facilities,
        facts,
        tiers,
    };
    estimate_inputs(&inputs, p, opts)
}

/// [`estimate`] over bundled inputs.
pub fn estimate_inputs(inputs: &Inputs<'_>, p: &Parameters, opts: &EstimateOptions) -> Estimates {
    let mut cache = Cache::new(p, &opts.grid);
    let pre = classify_all(inputs, p, opts, &mut cache);
    let (ratio_fit, mut calibration) = fit_ratios(inputs, &pre, p, opts, &mut cache);
    let prior_fit = fit_priors(inputs, &pre, &ratio_fit, p, &mut cache);
    calibration.extend(prior_rows(&prior_fit, p));
    calibration.push(chain::utilisation_check(inputs, &pre, p, &mut cache));
    let own: Vec<Option<Evidence>> = pre.iter().map(|x| x.own.clone()).collect();
    let mut it_of = |ev: &Evidence, i: usize, cache: &mut Cache| {
        let ids = ChainIds::new(p, pre[i].site_kind(), ev, &ratio_fit, &prior_fit, cache);
        chain::central_it(ev, &ids, cache)
    };
    let (evidence, campus_rows) = campus::plan(inputs, &own, &mut it_of, &mut cache);
    calibration.extend(campus_rows);
    let mut out: Vec<FacilityEstimate> = inputs
        .facilities
        .iter()
        .zip(&pre)
        .zip(evidence)
        .map(|((f, x), ev)| {
            let ids = ChainIds::new(p, x.site_kind(), &ev, &ratio_fit, &prior_fit, &mut cache);
            chain::run_facility(f, x, ev, &ids, &cache)
        })
        .collect();
    calibration.extend(campus::apply_constraints(
        inputs, &mut out, &mut it_of, &mut cache,
    ));
    let mut est = Estimates {
        facilities: out,
        calibration,
        priors: prior_fit.into_values().collect(),
        checks: Vec::new(),
        grid: cache.grid_id.clone(),
        parameters_used: p.used(),
        facts: inputs.facts.clone(),
    };
    if opts.checks {
        est.checks = vec![
            checks::two_fold(inputs, p, opts, &est),
            checks::leave_one_out(inputs, p, opts, &est),
        ];
    }
    est
}

/// Pass 1: members, own evidence and typology of every facility.
fn classify_all<'a>(
    inputs: &Inputs<'a>,
    p: &Parameters,
    opts: &EstimateOptions,
    cache: &mut Cache,
) -> Vec<Pre<'a>> {
    let attached = inputs.facts.record_keys();
    // A building record carrying its campus's figure (the same value from the same source as
    // a campus fact attached to it: "OVHcloud Strasbourg SBG, 130 MW" copied onto SBG-3) says
    // what the campus holds, not the building: the campus fact shares it.
    let campus_figures: HashSet<(&str, &str, u64)> = inputs
        .facts
        .facts
        .iter()
        .filter(|f| f.scope == crate::facts::Scope::Campus && f.facility_ids.len() > 1)
        .flat_map(|f| {
            let r = &f.record.record;
            f.facility_ids.iter().flat_map(move |id| {
                r.powers
                    .iter()
                    .map(move |p| (id.as_str(), r.source_id.as_str(), p.value.to_bits()))
            })
        })
        .collect();
    let copies_campus_figure = |m: &LocatedRecord, facility: &str| {
        !m.record.powers.is_empty()
            && m.record.powers.iter().all(|p| {
                campus_figures.contains(&(facility, m.record.source_id.as_str(), p.value.to_bits()))
            })
    };
    let mut members_of: HashMap<&str, Vec<&'a LocatedRecord>> = HashMap::new();
    for (r, f) in inputs.records.iter().zip(inputs.record_facility) {
        if !attached.contains(r.record.record_key.as_str()) {
            members_of.entry(f.as_str()).or_default().push(r);
        }
    }
    let threshold = |id: &str, default: f64| p.get(id).map_or(default, |x| x.central);
    let edge_max = threshold("typology_threshold_edge_max_mw_it", 0.5);
    let hyperscale_min = threshold("typology_threshold_hyperscale_min_mw_it", 40.0);
    inputs
        .facilities
        .iter()
        .map(|f| {
            let members = members_of
                .remove(f.facility_id.as_str())
                .unwrap_or_default();
            let held_out = opts.holdout_fold == Some(fold_of(&f.facility_id));
            let use_measured = opts.use_measured_energy && !held_out;
            let use_power = opts.holdout_facility.as_deref() != Some(f.facility_id.as_str());
            let sized: Vec<&LocatedRecord> = members
                .iter()
                .copied()
                .filter(|m| !copies_campus_figure(m, &f.facility_id))
                .collect();
            let own = evidence::own_evidence(&sized, inputs.tiers, use_measured, use_power);
            // Disclosed IT size (central conversion) for the typology's size rule.
            let disclosed_it_mw = own.as_ref().filter(|e| e.method.is_power()).map(|e| {
                let ids = ChainIds::conversions_only(p, cache);
                chain::central_it(e, &ids, cache)
            });
            let mut texts: Vec<&str> = Vec::new();
            for m in &members {
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
            let measured = evidence::measured_energy(&members);
            let pool = priors::pool_of(param_typology, &typ.rule);
            Pre {
                members,
                own,
                typ,
                param_typology,
                pool,
                stage: ratios::stage_of(f.status),
                measured,
                use_measured,
            }
        })
        .collect()
}

/// Pairs of every record (members and attached facts) that discloses a surface and a power,
/// except the left-out facility's, and the fitted ratios.
fn fit_ratios(
    inputs: &Inputs<'_>,
    pre: &[Pre<'_>],
    p: &Parameters,
    opts: &EstimateOptions,
    cache: &mut Cache,
) -> (ratios::Ratios, Vec<Calibration>) {
    let index = inputs.facility_index();
    let mut pairs = Vec::new();
    for (lr, fid) in inputs.records.iter().zip(inputs.record_facility) {
        if opts.holdout_facility.as_deref() == Some(fid.as_str()) {
            continue;
        }
        let refs = [lr];
        let Some(power) = evidence::power_evidence(&refs, &HashMap::new()) else {
            continue;
        };
        let ids = ChainIds::conversions_only(p, cache);
        let it = chain::central_it(&power, &ids, cache);
        let typology = index
            .get(fid.as_str())
            .map_or("unknown", |&i| pre[i].param_typology);
        for (method, kinds) in evidence::SURFACE_RUNGS {
            if let Some((m2, _, _)) = evidence::surface(&refs, kinds)
                && it > 0.0
            {
                pairs.push(ratios::Pair {
                    record_key: lr.record.record_key.clone(),
                    kind: method,
                    typology,
                    stage: ratios::stage_of(lr.record.status),
                    surface_m2: m2,
                    it_mw: it,
                });
            }
        }
    }
    pairs.extend(measured_pairs(inputs, pre, p, opts, cache));
    ratios::fit(&pairs)
}

/// Pairs of the measured facilities (their measurement in use, no disclosed power among
/// their records) that have a surface: IT from the measured energy at central utilisation
/// and PUE of their typology, the stage `operating`.
fn measured_pairs(
    inputs: &Inputs<'_>,
    pre: &[Pre<'_>],
    p: &Parameters,
    opts: &EstimateOptions,
    cache: &mut Cache,
) -> Vec<ratios::Pair> {
    let no_priors: BTreeMap<&'static str, priors::Prior> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (f, x) in inputs.facilities.iter().zip(pre) {
        let Some((_, gwh, key)) = x.measured.as_ref().filter(|_| x.use_measured) else {
            continue;
        };
        // A disclosed power comes first in the ladder: `own` is one when the records have it.
        if opts.holdout_facility.as_deref() == Some(f.facility_id.as_str())
            || x.own.as_ref().is_some_and(|e| e.method.is_power())
        {
            continue;
        }
        let ev = Evidence::own(
            Method::MeasuredEnergy,
            gwh * 1000.0,
            Some(key.clone()),
            None,
        );
        let ids = ChainIds::new(
            p,
            x.site_kind(),
            &ev,
            &ratios::Ratios::default(),
            &no_priors,
            cache,
        );
        let it = chain::central_it(&ev, &ids, cache);
        for (method, kinds) in evidence::SURFACE_RUNGS {
            if let Some((m2, _, _)) = evidence::surface(&x.members, kinds)
                && it > 0.0
            {
                pairs.push(ratios::Pair {
                    record_key: format!("{key} (measured, {})", f.facility_id),
                    kind: method,
                    typology: x.param_typology,
                    stage: Some("operating"),
                    surface_m2: m2,
                    it_mw: it,
                });
            }
        }
    }
    pairs
}

/// Size samples of every operating facility (or of unknown status) with its own evidence
/// (held-out evidence is not its own in a check's run), and the fitted priors by pool.
fn fit_priors(
    inputs: &Inputs<'_>,
    pre: &[Pre<'_>],
    ratio_fit: &ratios::Ratios,
    p: &Parameters,
    cache: &mut Cache,
) -> BTreeMap<&'static str, priors::Prior> {
    use crate::model::Status;
    let no_priors: BTreeMap<&'static str, priors::Prior> = BTreeMap::new();
    let mut samples = Vec::new();
    for (f, x) in inputs.facilities.iter().zip(pre) {
        let Some(ev) = &x.own else { continue };
        if !matches!(f.status, Status::Operating | Status::Unknown) {
            continue;
        }
        // A building's prior is fitted on building-level sizes: a figure placed at a city
        // centre, or a campus fact standing for its site, describes more than a building.
        let record = x
            .members
            .iter()
            .find(|m| Some(&m.record.record_key) == ev.record_key.as_ref());
        if !record.is_some_and(|m| building_level(&m.record)) {
            continue;
        }
        let basis = match ev.method {
            Method::MeasuredEnergy => priors::Basis::MeasuredEnergy,
            m if m.is_power() => priors::Basis::DisclosedPower,
            _ => priors::Basis::DisclosedSurface,
        };
        let ids = ChainIds::new(p, x.site_kind(), ev, ratio_fit, &no_priors, cache);
        samples.push(priors::Sample {
            pool: x.pool,
            it_mw: chain::central_it(ev, &ids, cache),
            energy_gwh: (ev.method == Method::MeasuredEnergy).then_some(ev.value / 1000.0),
            basis,
            record_key: ev.record_key.clone().unwrap_or_default(),
        });
    }
    priors::fit(&samples)
}

/// Whether a record's figures describe one building (not a whole site or campus).
fn building_level(r: &crate::model::Record) -> bool {
    use crate::model::PointPrecision as P;
    match r.point_precision {
        P::Building | P::Address => true,
        P::Approximate => false,
        P::Commune | P::None => crate::facts::scope_of(r) == crate::facts::Scope::Building,
    }
}

/// One calibration row per pool: the fitted prior, or the cited one kept.
fn prior_rows(fit: &BTreeMap<&'static str, priors::Prior>, p: &Parameters) -> Vec<Calibration> {
    let pools = [
        "colocation",
        "edge",
        "enterprise",
        "large_operator",
        "telecom",
        "unknown",
    ];
    pools
        .into_iter()
        .map(|pool| match fit.get(pool) {
            Some(pr) => Calibration {
                name: "size_prior",
                n: pr.n,
                fitted: pr.median_mw,
                spread: pr.p90_mw / pr.median_mw,
                applied: true,
                note: format!(
                    "{}: {} operating sites ({} measured energies through utilisation and PUE, {} disclosed powers, {} disclosed surfaces through the fitted ratios): IT MW p10 {:.2} / median {:.2} / p90 {:.2}, mean {:.2} ({:.1} decades); drawn from the empirical distribution{}. Selection bias: Enedis lists distribution-grid delivery points only, so transmission-connected sites (the largest) are missing from the measured sites, while disclosed sites lean to large recent builds",
                    pr.id, pr.n, pr.n_measured, pr.n_disclosed_power, pr.n_disclosed_surface,
                    pr.p10_mw, pr.median_mw, pr.p90_mw, pr.mean_mw, pr.spread_decades,
                    pr.energy_gwh.as_ref().map_or_else(String::new, |e| format!(
                        " of measured energies (an energy prior: GWh p10 {:.2} / median {:.2} / p90 {:.2}, mean {:.2}; IT = energy / (utilisation × PUE × 8 760 h))",
                        e.p10_gwh, e.median_gwh, e.p90_gwh, e.mean_gwh
                    ))
                ),
                residuals: Vec::new(),
            },
            None => {
                let cited = p
                    .for_typology(
                        "it_mw_prior",
                        if pool == "large_operator" { "colocation" } else { pool },
                        "it_mw_prior_unknown",
                    )
                    .map(|(id, r)| format!("{id} {:.2} / {:.2} / {:.2}", r.low, r.central, r.high))
                    .unwrap_or_else(|| "none".into());
                let kept = match priors::parent_pool(pool).and_then(|parent| fit.get(parent)) {
                    Some(parent) => format!("its parent pool's prior is used ({})", parent.id),
                    None => format!("the cited prior is kept ({cited})"),
                };
                Calibration {
                    name: "size_prior",
                    n: 0,
                    fitted: f64::NAN,
                    spread: f64::NAN,
                    applied: false,
                    note: format!(
                        "{pool}: fewer than {} operating sites of known size: {kept}",
                        priors::MIN_POOL
                    ),
                    residuals: Vec::new(),
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
