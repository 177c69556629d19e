//! Capacity trajectory: facilities (status, typology, région, IT MW range) and the trajectory
//! parameters → installed IT MW and facility energy by year and région (plus national rows,
//! `region_code = FR`), low / central / high.
//!
//! Operating (and unknown-status) facilities are in service from the base year on; a facility
//! under construction enters after `build_time_per_phase` years with probability
//! `build_probability_under_construction`; an announced project after
//! `delivery_delay_announcement_to_operation` years with `build_probability_announced`
//! (`_contested` when contested); disused facilities are out. Load ramps from
//! `ramp_first_year_share_<typology>` to the steady state over `ramp_up_years_<typology>`
//! (immediate for typologies without a ramp row). Central = every parameter at its central
//! value and a project counted with its build probability; low / high = 10th / 90th
//! percentiles of Monte Carlo draws (shared parameter draws; one built-or-not draw per
//! project and draw; IT MW drawn on a common quantile).

use std::collections::BTreeMap;

use serde::Serialize;

use super::mc::{DRAWS, Range, Rng, draws_for, percentiles};
use super::params::Parameters;

/// `region_code` of the national rows (sums over every région, with their own percentiles).
pub const NATIONAL_CODE: &str = "FR";

/// What the trajectory needs of a facility.
#[derive(Debug, Clone)]
pub struct TrajectoryInput {
    pub facility_id: String,
    pub region_code: String,
    pub region_name: String,
    pub status: String,
    pub typology: String,
    pub it_mw: Range,
}

/// One (year, région) row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrajectoryRow {
    pub year: i32,
    pub region_code: String,
    pub region_name: String,
    pub it_mw_low: f64,
    pub it_mw_central: f64,
    pub it_mw_high: f64,
    pub energy_gwh_low: f64,
    pub energy_gwh_central: f64,
    pub energy_gwh_high: f64,
}

struct Param {
    range: Range,
    draws: Vec<f64>,
}

impl Param {
    fn get(p: &Parameters, id: &str, default: f64) -> Param {
        let range = p.get(id).map_or(Range::exact(default), |x| x.range());
        Param {
            draws: draws_for(id, &range),
            range,
        }
    }

    fn at(&self, k: Option<usize>) -> f64 {
        k.map_or(self.range.central, |k| self.draws[k])
    }
}

fn by_typology(p: &Parameters, prefix: &str, typology: &str, fallback: &str, d: f64) -> Param {
    match p.for_typology(prefix, typology, fallback) {
        Some((id, range)) => Param {
            draws: draws_for(&id, &range),
            range,
        },
        None => Param::get(p, fallback, d),
    }
}

/// Share of steady-state load `t` years after delivery (t = 0 is the first year).
fn ramp(first: f64, years: f64, t: f64) -> f64 {
    if years <= 0.0 {
        1.0
    } else {
        (first + (1.0 - first) * (t / years)).clamp(0.0, 1.0)
    }
}

pub fn project(
    inputs: &[TrajectoryInput],
    p: &Parameters,
    from: i32,
    to: i32,
) -> Vec<TrajectoryRow> {
    let build_time = Param::get(p, "build_time_per_phase", 3.0);
    let delay = Param::get(p, "delivery_delay_announcement_to_operation", 5.0);
    let prob_uc = Param::get(p, "build_probability_under_construction", 0.9);
    let prob_announced = Param::get(p, "build_probability_announced", 0.5);
    let prob_contested = Param::get(p, "build_probability_contested", 0.3);
    let years: Vec<i32> = (from..=to).collect();
    // region → year → (central it, central energy, draws it, draws energy)
    type Acc = (f64, f64, Vec<f64>, Vec<f64>);
    let mut acc: BTreeMap<(String, String), Vec<Acc>> = BTreeMap::new();
    let mut z_rng = Rng::new(0x7A3C_0001);
    let z: Vec<f64> = (0..DRAWS).map(|_| z_rng.normal()).collect();
    for f in inputs {
        let (probability, wait): (Option<&Param>, Option<&Param>) = match f.status.as_str() {
            "operating" | "unknown" => (None, None),
            "under_construction" => (Some(&prob_uc), Some(&build_time)),
            "project" => (Some(&prob_announced), Some(&delay)),
            "contested" => (Some(&prob_contested), Some(&delay)),
            _ => continue,
        };
        let load = by_typology(
            p,
            "load_factor",
            &f.typology,
            "load_factor_steady_state",
            0.6,
        );
        let pue = by_typology(p, "pue", &f.typology, "pue_global_average", 1.5);
        let (first, ramp_years) = if p
            .by_id
            .contains_key(&format!("ramp_up_years_{}", f.typology))
        {
            (
                Param::get(p, &format!("ramp_first_year_share_{}", f.typology), 1.0),
                Param::get(p, &format!("ramp_up_years_{}", f.typology), 0.0),
            )
        } else {
            (
                Param {
                    range: Range::exact(1.0),
                    draws: vec![1.0; DRAWS],
                },
                Param {
                    range: Range::exact(0.0),
                    draws: vec![0.0; DRAWS],
                },
            )
        };
        let mut built_rng = Rng::new(f.facility_id.bytes().fold(0xB17D_u64, |h, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        }));
        let built_u: Vec<f64> = (0..DRAWS).map(|_| built_rng.uniform()).collect();
        let mut per_year: Vec<Acc> = years
            .iter()
            .map(|_| (0.0, 0.0, vec![0.0; DRAWS], vec![0.0; DRAWS]))
            .collect();
        for (yi, year) in years.iter().enumerate() {
            let t = f64::from(year - from);
            // Central: expected contribution with central parameters.
            let contribution = |k: Option<usize>| -> (f64, f64) {
                let it = k.map_or(f.it_mw.central, |k| f.it_mw.at(z[k]));
                let (factor, since) = match (probability, wait) {
                    (Some(prob), Some(w)) => {
                        let delivery = w.at(k).ceil().max(1.0);
                        if t < delivery {
                            return (0.0, 0.0);
                        }
                        let built = match k {
                            None => prob.at(None),
                            Some(k) => f64::from(u8::from(built_u[k] < prob.at(Some(k)))),
                        };
                        (built, t - delivery)
                    }
                    _ => (1.0, f64::INFINITY),
                };
                let installed = it * factor;
                let share = ramp(first.at(k), ramp_years.at(k), since);
                (installed, installed * load.at(k) * share * pue.at(k) * 8.76)
            };
            let (c_it, c_en) = contribution(None);
            let row = &mut per_year[yi];
            row.0 += c_it;
            row.1 += c_en;
            for k in 0..DRAWS {
                let (a, b) = contribution(Some(k));
                row.2[k] += a;
                row.3[k] += b;
            }
        }
        // The facility counts in its région and in the national total.
        for key in [
            (f.region_code.clone(), f.region_name.clone()),
            (NATIONAL_CODE.to_string(), "France".to_string()),
        ] {
            let rows = acc.entry(key).or_insert_with(|| {
                years
                    .iter()
                    .map(|_| (0.0, 0.0, vec![0.0; DRAWS], vec![0.0; DRAWS]))
                    .collect()
            });
            for (row, add) in rows.iter_mut().zip(&per_year) {
                row.0 += add.0;
                row.1 += add.1;
                for k in 0..DRAWS {
                    row.2[k] += add.2[k];
                    row.3[k] += add.3[k];
                }
            }
        }
    }
    let round = |v: f64| (v * 1e4).round() / 1e4;
    let mut out = Vec::new();
    for ((code, name), rows) in acc {
        for (yi, (c_it, c_en, d_it, d_en)) in rows.into_iter().enumerate() {
            let (pi, pe) = (percentiles(&d_it), percentiles(&d_en));
            out.push(TrajectoryRow {
                year: years[yi],
                region_code: code.clone(),
                region_name: name.clone(),
                it_mw_low: round(pi.low.min(c_it)),
                it_mw_central: round(c_it),
                it_mw_high: round(pi.high.max(c_it)),
                energy_gwh_low: round(pe.low.min(c_en)),
                energy_gwh_central: round(c_en),
                energy_gwh_high: round(pe.high.max(c_en)),
            });
        }
    }
    out.sort_by(|a, b| (a.year, &a.region_code).cmp(&(b.year, &b.region_code)));
    out
}

/// Reads the trajectory inputs from an inventory GeoPackage (`facilities` layer).
pub fn read_inputs(
    gpkg: &std::path::Path,
) -> Result<Vec<TrajectoryInput>, crate::error::StoreError> {
    let err = |e: rusqlite::Error| crate::error::StoreError::Gpkg {
        path: gpkg.to_path_buf(),
        message: e.to_string(),
    };
    if !gpkg.is_file() {
        return Err(crate::error::StoreError::Gpkg {
            path: gpkg.to_path_buf(),
            message: "no such inventory; run `dcinv build` first".into(),
        });
    }
    let conn =
        rusqlite::Connection::open_with_flags(gpkg, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(err)?;
    let mut stmt = conn
        .prepare(
            "SELECT facility_id, region_code, region_name, status, typology, it_mw_low, \
             it_mw_central, it_mw_high FROM facilities WHERE excluded = 0 ORDER BY facility_id",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TrajectoryInput {
                facility_id: r.get(0)?,
                region_code: r.get(1)?,
                region_name: r.get(2)?,
                status: r.get(3)?,
                typology: r.get(4)?,
                it_mw: Range {
                    low: r.get(5)?,
                    central: r.get(6)?,
                    high: r.get(7)?,
                },
            })
        })
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn params() -> Parameters {
        Parameters::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/parameters.toml"))
            .unwrap()
    }

    fn input(id: &str, status: &str, mw: f64) -> TrajectoryInput {
        TrajectoryInput {
            facility_id: id.into(),
            region_code: "11".into(),
            region_name: "Île-de-France".into(),
            status: status.into(),
            typology: "colocation".into(),
            it_mw: Range {
                low: mw * 0.5,
                central: mw,
                high: mw * 2.0,
            },
        }
    }

    #[test]
    fn base_year_is_the_operating_fleet_and_projects_come_later() {
        let p = params();
        let rows = project(
            &[
                input("a", "operating", 10.0),
                input("b", "operating", 5.0),
                input("c", "project", 100.0),
                input("d", "disused", 7.0),
            ],
            &p,
            2025,
            2035,
        );
        let rows: Vec<_> = rows.into_iter().filter(|r| r.region_code == "11").collect();
        assert_eq!(rows.len(), 11);
        assert_eq!(rows[0].it_mw_central, 15.0);
        let last = rows.last().unwrap();
        let prob = p.get("build_probability_announced").unwrap().central;
        assert!(
            (last.it_mw_central - (15.0 + 100.0 * prob)).abs() < 1e-6,
            "{last:?}"
        );
        assert!(last.it_mw_low <= last.it_mw_central && last.it_mw_central <= last.it_mw_high);
    }
}
