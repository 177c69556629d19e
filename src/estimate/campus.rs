//! Facts attached to campuses, in the estimates: the governing fact of a campus (its total IT
//! from its own power or surface) less the buildings with their own evidence (or a figure of
//! their own from a fact about fewer buildings), shared equally among the buildings without
//! (a campus power is shared, not copied to each); a typical
//! building for the buildings of a campus without a governing fact; an operator's regional
//! total as a bound on the sum of its sites in the département (scaling the estimates that
//! rest on evidence no newer than the total, never a disclosed or measured value).

use std::collections::HashMap;

use super::chain::Cache;
use super::{
    Calibration, CalibrationResidual, Evidence, FacilityEstimate, Inputs, Method, evidence,
};
use crate::facts::{AttachedFact, Role};

/// Central IT MW of an evidence for the facility at an index.
pub(super) type ItFn<'a> = dyn FnMut(&Evidence, usize, &mut Cache) -> f64 + 'a;

/// A fact's own evidence: its power (latest kind first), else its surface.
fn fact_evidence(f: &AttachedFact) -> Option<Evidence> {
    let refs = [&f.record];
    evidence::power_evidence(&refs, &HashMap::new()).or_else(|| evidence::surface_evidence(&refs))
}

fn indices(inputs: &Inputs<'_>, f: &AttachedFact) -> Vec<usize> {
    let index = inputs.facility_index();
    f.facility_ids
        .iter()
        .filter_map(|id| index.get(id.as_str()).copied())
        .collect()
}

/// Every facility's evidence: its own, else its campus share or typical building, else the
/// prior; one calibration row per campus whose governing fact was shared.
pub(super) fn plan(
    inputs: &Inputs<'_>,
    own: &[Option<Evidence>],
    it: &mut ItFn<'_>,
    cache: &mut Cache,
) -> (Vec<Evidence>, Vec<Calibration>) {
    let mut out: Vec<Option<Evidence>> = own.to_vec();
    let mut rows = Vec::new();
    for role in [Role::Governs, Role::Reference] {
        // A fact about fewer buildings first: a building's own figure within a campus is
        // settled before the campus's figure is shared among the rest.
        let mut facts: Vec<&AttachedFact> = inputs
            .facts
            .facts
            .iter()
            .filter(|f| f.role == role)
            .collect();
        facts.sort_by_key(|f| f.facility_ids.len());
        for f in facts {
            let Some(ev) = fact_evidence(f) else { continue };
            let targets = indices(inputs, f);
            let free: Vec<usize> = targets
                .iter()
                .copied()
                .filter(|&i| out[i].is_none())
                .collect();
            let Some(&first) = targets.first() else {
                continue;
            };
            if free.is_empty() {
                continue;
            }
            let key = f.record.record.record_key.clone();
            let (method, share) = if role == Role::Governs {
                let total = it(&ev, first, cache);
                let fixed: f64 = targets
                    .iter()
                    .filter_map(|&i| out[i].as_ref().map(|e| it(e, i, cache)))
                    .sum();
                let remainder = total - fixed;
                if remainder.is_nan() || remainder <= 0.1 * total {
                    rows.push(row(&key, total, fixed, free.len(), false));
                    continue;
                }
                rows.push(row(&key, total, fixed, free.len(), true));
                (Method::CampusShare, remainder / total / free.len() as f64)
            } else {
                (Method::TypicalBuilding, 1.0)
            };
            for i in free {
                out[i] = Some(Evidence {
                    method,
                    value: ev.value,
                    record_key: Some(key.clone()),
                    via: ev.via,
                    share,
                    date: f.date,
                    also: ev.also.clone(),
                });
            }
        }
    }
    (
        out.into_iter()
            .map(|e| e.unwrap_or_else(Evidence::prior))
            .collect(),
        rows,
    )
}

fn row(key: &str, total: f64, fixed: f64, free: usize, applied: bool) -> Calibration {
    Calibration {
        name: "campus_share",
        n: free,
        fitted: total,
        spread: f64::NAN,
        applied,
        note: if applied {
            format!(
                "{key}: campus total {total:.1} MW IT, less {fixed:.1} MW of buildings with their own evidence, shared among {free} buildings without ({:.2} MW each)",
                (total - fixed) / free as f64
            )
        } else {
            format!(
                "{key}: campus total {total:.1} MW IT is not above the {fixed:.1} MW of buildings with their own evidence: its {free} other buildings keep their prior"
            )
        },
        residuals: Vec::new(),
    }
}

/// Scales the estimates under each regional total that their sum exceeds; one calibration
/// row per total.
pub(super) fn apply_constraints(
    inputs: &Inputs<'_>,
    out: &mut [FacilityEstimate],
    it: &mut ItFn<'_>,
    cache: &mut Cache,
) -> Vec<Calibration> {
    let mut rows = Vec::new();
    for f in inputs
        .facts
        .facts
        .iter()
        .filter(|f| f.role == Role::Constraint)
    {
        let targets = indices(inputs, f);
        let (Some(ev), Some(&first)) = (fact_evidence(f), targets.first()) else {
            continue;
        };
        let bound = it(&ev, first, cache);
        let scalable = |e: &FacilityEstimate| {
            !e.evidence.method.is_power()
                && e.evidence.method != Method::MeasuredEnergy
                && e.evidence
                    .date
                    .is_none_or(|d| f.date.is_none_or(|c| d <= c))
        };
        let (mut fixed, mut free) = (0.0, 0.0);
        for &i in &targets {
            if scalable(&out[i]) {
                free += out[i].it_mw.central;
            } else {
                fixed += out[i].it_mw.central;
            }
        }
        let binds = fixed + free > bound && free > 0.0;
        let s = if binds {
            ((bound - fixed) / free).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let key = f.record.record.record_key.clone();
        if binds {
            for &i in &targets {
                if scalable(&out[i]) {
                    scale(&mut out[i], s, &key);
                }
            }
        }
        rows.push(Calibration {
            name: "regional_constraint",
            n: targets.len(),
            fitted: s,
            spread: f64::NAN,
            applied: binds,
            note: format!(
                "{key}: {} sites of {} in département {}: {:.1} MW IT from their own or newer evidence + {:.1} MW from evidence no newer than the total, against the total {:.1} MW IT; {}",
                targets.len(),
                f.operator_id.as_deref().unwrap_or("?"),
                f.departement_code,
                fixed,
                free,
                bound,
                if binds { format!("binds: those estimates are scaled by {s:.3}") } else { "does not bind".into() }
            ),
            residuals: vec![CalibrationResidual {
                record_key: key.clone(),
                observed: bound,
                predicted: fixed + free,
                log_residual: (bound / (fixed + free)).ln(),
            }],
        });
    }
    rows
}

fn scale(e: &mut FacilityEstimate, s: f64, key: &str) {
    for r in [
        &mut e.it_mw,
        &mut e.energy_gwh,
        &mut e.co2e_operational_t,
        &mut e.co2e_embodied_t,
        &mut e.water_m3,
    ] {
        r.low *= s;
        r.central *= s;
        r.high *= s;
    }
    for i in 0..5 {
        e.totals.central[i] *= s;
        for d in &mut e.totals.draws[i] {
            *d *= s;
        }
    }
    e.chain.push_str(&format!(
        "; scaled by {s:.3} under the regional total {key}"
    ));
}
