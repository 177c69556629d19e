//! Size ratios fitted on the records that disclose both a surface and a power: pairs (surface
//! kind, typology, surface, IT MW after the power kind's central conversion) → per surface
//! kind (white space and floor area in kW IT per m², site area in MW IT per ha) the median
//! and robust spread (MAD) of IT / surface in logs, by typology where at least
//! `MIN_TYPOLOGY` pairs exist, and by stage: an operating site (its pairs: disclosed
//! operating buildings and measured sites, IT from the measured energy) is not as dense as
//! a project's design figures (the installed IT a new build announces over its surface).
//! A site of known stage takes a ratio fitted on its stage's pairs only (else the cited
//! parameter); a site of unknown stage one fitted on every pair.
//! A ratio's range is the 80 % prediction interval for one new site (spread × √(1 + 1/n)),
//! drawn independently per site. With fewer than `MIN_KIND` pairs the cited parameter of
//! `sources/parameters.toml` is kept.

use std::collections::BTreeMap;

use super::mc::{Range, Z90};
use super::params::Parameters;
use super::{Calibration, CalibrationResidual, Method};

/// Pairs needed to fit a surface kind, and a typology within it.
pub const MIN_KIND: usize = 3;
pub const MIN_TYPOLOGY: usize = 5;

/// One record that discloses a surface and a power.
#[derive(Debug, Clone)]
pub struct Pair {
    pub record_key: String,
    /// `Method::WhiteSpace`, `FloorArea` or `SiteArea`.
    pub kind: Method,
    pub typology: &'static str,
    /// `operating` or `project` (planned or under construction); `None` when unknown.
    pub stage: Option<&'static str>,
    pub surface_m2: f64,
    pub it_mw: f64,
}

/// The stage of a status for the ratios: `operating` (operating or disused), `project`
/// (planned or under construction), none otherwise.
pub fn stage_of(status: crate::model::Status) -> Option<&'static str> {
    use crate::model::Status;
    match status {
        Status::Operating | Status::Disused => Some("operating"),
        Status::Project | Status::UnderConstruction => Some("project"),
        Status::Unknown | Status::Contested => None,
    }
}

/// A ratio as the chain uses it.
#[derive(Debug, Clone)]
pub struct Ratio {
    /// Parameter id in the chain (`ratio_<kind>` or `ratio_<kind>_<typology>`, or the cited
    /// parameter's id when too few pairs exist).
    pub id: String,
    pub range: Range,
    pub n: usize,
}

/// Unit value of a surface for its ratio: m² for white space / floor area (kW/m²), ha for
/// site area (MW/ha); IT MW = value × ratio × `scale`.
pub fn unit_value(kind: Method, m2: f64) -> (f64, f64) {
    match kind {
        Method::SiteArea => (m2 / 10_000.0, 1.0),
        _ => (m2, 0.001),
    }
}

pub fn kind_name(kind: Method) -> &'static str {
    match kind {
        Method::WhiteSpace => "white_space_kw_per_m2",
        Method::FloorArea => "floor_area_kw_per_m2",
        _ => "site_area_mw_per_ha",
    }
}

/// The cited parameter for a kind and typology (fewer than `MIN_KIND` pairs).
fn cited(kind: Method, typology: &str, p: &Parameters) -> Option<(String, Range)> {
    match kind {
        Method::WhiteSpace => p.for_typology(
            "it_density_white_space",
            typology,
            "it_density_white_space_colocation",
        ),
        Method::FloorArea => p.for_typology(
            "it_density_floor_area",
            typology,
            "it_density_floor_area_colocation",
        ),
        _ => p.for_typology(
            "it_power_per_parcel_area",
            typology,
            "it_power_per_parcel_area_colocation_campus",
        ),
    }
}

/// Fitted ratios, by (kind, stage or `all`, typology or `any`).
#[derive(Debug, Default)]
pub struct Ratios {
    fitted: BTreeMap<(String, String, String), Ratio>,
}

impl Ratios {
    /// The ratio for a surface kind, stage and typology: fitted on the stage's pairs (all
    /// pairs when the stage is unknown) for the typology, else over all typologies, else the
    /// cited parameter.
    pub fn get(
        &self,
        kind: Method,
        typology: &str,
        stage: Option<&str>,
        p: &Parameters,
    ) -> Option<Ratio> {
        let k = kind_name(kind).to_string();
        let st = stage.unwrap_or(ALL_STAGES).to_string();
        self.fitted
            .get(&(k.clone(), st.clone(), typology.to_string()))
            .or_else(|| self.fitted.get(&(k, st, "any".into())))
            .cloned()
            .or_else(|| cited(kind, typology, p).map(|(id, range)| Ratio { id, range, n: 0 }))
    }
}

/// The stage key of the groups fitted on every pair.
const ALL_STAGES: &str = "all";

/// Robust centre and spread of logs: the median, and 1.4826 × the median absolute
/// deviation (the standard deviation for normal logs; a pair whose two figures describe
/// different scopes — a campus's rooms of 2016 against its 2025 power — does not drag it).
fn log_stats(v: &[f64]) -> (f64, f64) {
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    let m = median(&mut v.to_vec());
    let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    (m, 1.4826 * median(&mut dev))
}

/// Fits every kind (and typology where enough pairs exist); one calibration row per fit.
pub fn fit(pairs: &[Pair]) -> (Ratios, Vec<Calibration>) {
    let mut groups: BTreeMap<(String, String, String), Vec<&Pair>> = BTreeMap::new();
    for pr in pairs {
        let k = kind_name(pr.kind).to_string();
        for stage in [Some(ALL_STAGES), pr.stage].into_iter().flatten() {
            for typology in ["any", pr.typology] {
                groups
                    .entry((k.clone(), stage.into(), typology.into()))
                    .or_default()
                    .push(pr);
            }
        }
    }
    let mut ratios = Ratios::default();
    let mut rows = Vec::new();
    for ((kind, stage, typology), members) in groups {
        let n = members.len();
        let min = if typology == "any" {
            MIN_KIND
        } else {
            MIN_TYPOLOGY
        };
        if typology != "any" && n < MIN_TYPOLOGY {
            continue;
        }
        let logs: Vec<f64> = members
            .iter()
            .map(|m| {
                let (v, scale) = unit_value(m.kind, m.surface_m2);
                (m.it_mw / (v * scale)).ln()
            })
            .collect();
        let (mean, sd) = log_stats(&logs);
        let sd_pred = sd * (1.0 + 1.0 / n as f64).sqrt();
        let applied = n >= min;
        let id = [kind.as_str(), stage.as_str(), typology.as_str()]
            .into_iter()
            .filter(|part| *part != ALL_STAGES && *part != "any")
            .fold("ratio".to_string(), |id, part| format!("{id}_{part}"));
        let range = Range {
            low: (mean - Z90 * sd_pred).exp(),
            central: mean.exp(),
            high: (mean + Z90 * sd_pred).exp(),
        };
        if applied {
            ratios.fitted.insert(
                (kind.clone(), stage.clone(), typology.clone()),
                Ratio {
                    id: id.clone(),
                    range,
                    n,
                },
            );
        }
        rows.push(Calibration {
            name: "surface_ratio",
            n,
            fitted: mean.exp(),
            spread: sd.exp(),
            applied,
            note: format!(
                "{id}: {n} records disclose a {} and a power (IT MW after the central conversion of its kind, or from a measured energy at central utilisation and PUE): median {:.3}, robust geometric sd {:.2}; 80 % prediction interval for one site {:.3}–{:.3}{}",
                kind.trim_end_matches("_kw_per_m2").trim_end_matches("_mw_per_ha").replace('_', " "),
                mean.exp(),
                sd.exp(),
                range.low,
                range.high,
                if applied { "" } else { "; too few pairs: the cited parameter is kept" }
            ),
            residuals: members
                .iter()
                .zip(&logs)
                .map(|(m, l)| CalibrationResidual {
                    record_key: m.record_key.clone(),
                    observed: m.it_mw,
                    predicted: m.it_mw / (l - mean).exp(),
                    log_residual: l - mean,
                })
                .collect(),
        });
    }
    (ratios, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(kind: Method, typology: &'static str, m2: f64, it: f64) -> Pair {
        Pair {
            record_key: format!("k{m2}"),
            kind,
            typology,
            stage: None,
            surface_m2: m2,
            it_mw: it,
        }
    }

    #[test]
    fn geometric_mean_and_prediction_interval() {
        // 2, 2 and 8 kW/m²: median 2, MAD 0 (two of three agree).
        let pairs = [
            pair(Method::WhiteSpace, "colocation", 1000.0, 2.0),
            pair(Method::WhiteSpace, "colocation", 2000.0, 4.0),
            pair(Method::WhiteSpace, "hyperscale", 1000.0, 8.0),
            pair(Method::SiteArea, "hyperscale", 100_000.0, 100.0),
        ];
        let (ratios, rows) = fit(&pairs);
        let p = Parameters::default();
        let ws = ratios
            .get(Method::WhiteSpace, "colocation", None, &p)
            .unwrap();
        assert_eq!((ws.id.as_str(), ws.n), ("ratio_white_space_kw_per_m2", 3));
        assert!((ws.range.central - 2.0).abs() < 1e-9);
        assert_eq!(ws.range.low, ws.range.high);
        // One site-area pair is too few: no fitted ratio, no cited parameter here.
        assert!(
            ratios
                .get(Method::SiteArea, "hyperscale", None, &p)
                .is_none()
        );
        assert!(rows.iter().any(|r| r.n == 1 && !r.applied));
    }

    #[test]
    fn a_stage_with_enough_pairs_has_its_own_ratio() {
        let staged = |stage: &'static str, m2: f64, it: f64| Pair {
            stage: Some(stage),
            ..pair(Method::FloorArea, "colocation", m2, it)
        };
        let mut pairs: Vec<Pair> = (1..=5)
            .map(|i| staged("operating", 1000.0 * f64::from(i), 1.5 * f64::from(i)))
            .collect();
        pairs.extend((1..=3).map(|i| staged("project", 1000.0 * f64::from(i), 4.0 * f64::from(i))));
        let (ratios, _) = fit(&pairs);
        let p = Parameters::default();
        let op = ratios
            .get(Method::FloorArea, "hyperscale", Some("operating"), &p)
            .unwrap();
        assert_eq!(op.id, "ratio_floor_area_kw_per_m2_operating");
        assert!((op.range.central - 1.5).abs() < 1e-9);
        let pr = ratios
            .get(Method::FloorArea, "hyperscale", Some("project"), &p)
            .unwrap();
        assert_eq!(
            (pr.id.as_str(), pr.n),
            ("ratio_floor_area_kw_per_m2_project", 3)
        );
        assert!((pr.range.central - 4.0).abs() < 1e-9);
        // A site of unknown stage: every pair (five operating, three projects), the
        // colocation ratio (eight pairs) before the one over all typologies.
        let all = ratios
            .get(Method::FloorArea, "colocation", None, &p)
            .unwrap();
        assert_eq!(
            (all.id.as_str(), all.n),
            ("ratio_floor_area_kw_per_m2_colocation", 8)
        );
        assert!((all.range.central - 1.5).abs() < 1e-9);
        assert_eq!(
            stage_of(crate::model::Status::UnderConstruction),
            Some("project")
        );
        assert_eq!(stage_of(crate::model::Status::Unknown), None);
    }
}
