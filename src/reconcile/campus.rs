//! Campus formation: facilities → the campus id of each (`cp-` + the hex of the smallest
//! facility id of the campus; a lone facility is its own campus). A campus is one
//! operator's site:
//!
//! 1. facilities of one operator with precise points (building, address) within
//!    `OPERATOR_M` of each other (single linkage);
//! 2. an unnamed facility without operator (an outline mapped without tags) joins the campus
//!    of the facility nearest to it when that one, within `UNNAMED_M`, has an operator and
//!    is clearly the nearest named facility (the next is `MARGIN` times as far);
//! 3. a facility placed only at commune level (a disclosure about "the campus") joins the
//!    campus of its operator in its commune when there is exactly one.
//!
//! Neighbours come from a k-d tree (bounded cost whatever the number of facilities).

use std::collections::{BTreeSet, HashMap};

use super::Facility;
use super::kdtree::KdTree;
use crate::common::distance_m;
use crate::model::PointPrecision;

const OPERATOR_M: f64 = 1000.0;
const UNNAMED_M: f64 = 150.0;
const MARGIN: f64 = 1.25;
const K: usize = 32;

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

fn precise(f: &Facility) -> bool {
    f.point.is_some()
        && matches!(
            f.point_precision,
            PointPrecision::Building | PointPrecision::Address
        )
}

fn lonlat(f: &Facility) -> Option<(f64, f64)> {
    f.point.map(|p| (p.lon, p.lat))
}

/// Sets `campus_id` on every facility.
pub fn assign_campuses(facilities: &mut [Facility]) {
    let n = facilities.len();
    let mut parent: Vec<usize> = (0..n).collect();
    // Facilities in id order, so that ties and the ids do not depend on input order.
    let mut rank = vec![0u32; n];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| facilities[a].facility_id.cmp(&facilities[b].facility_id));
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u32;
    }
    let tree = KdTree::new(
        (0..n)
            .filter(|&i| precise(&facilities[i]))
            .filter_map(|i| Some((i as u32, lonlat(&facilities[i])?, rank[i]))),
    );
    // (1) One operator's precise facilities within OPERATOR_M.
    for i in 0..n {
        let f = &facilities[i];
        let (Some(op), Some(p), true) = (&f.operator_id, lonlat(f), precise(f)) else {
            continue;
        };
        let same = |j: u32| facilities[j as usize].operator_id.as_ref() == Some(op);
        for (_, _, j) in tree.nearest(p, K, OPERATOR_M, &same) {
            union(&mut parent, i, j as usize);
        }
    }
    // (2) Unnamed facilities without operator join the clearly nearest named facility's
    // campus when it has an operator.
    let mut joins = Vec::new();
    let named = |f: &Facility| f.name.is_some() || f.operator.is_some();
    for i in 0..n {
        let f = &facilities[i];
        let (false, Some(p), true) = (named(f), lonlat(f), precise(f)) else {
            continue;
        };
        let found = tree.nearest(p, K, UNNAMED_M * MARGIN, &|j| {
            named(&facilities[j as usize])
        });
        // The nearest named facility, and the nearest one of another campus.
        let mut first: Option<(usize, usize, f64)> = None;
        let mut clear = true;
        for (_, _, j) in found {
            let j = j as usize;
            let Some(q) = lonlat(&facilities[j]) else {
                continue;
            };
            let (d, root) = (distance_m(p, q), find(&mut parent, j));
            match first {
                None => first = Some((j, root, d)),
                Some((_, r0, d0)) if root != r0 => {
                    clear = d >= MARGIN * d0;
                    break;
                }
                Some(_) => {}
            }
        }
        if let Some((j, _, d0)) = first
            && clear
            && d0 <= UNNAMED_M
            && facilities[j].operator_id.is_some()
        {
            joins.push((i, j));
        }
    }
    for (i, j) in joins.drain(..) {
        union(&mut parent, i, j);
    }
    // (3) Commune-level facilities join their operator's only campus in their commune.
    let mut campuses: HashMap<(&str, &str), BTreeSet<usize>> = HashMap::new();
    for (i, f) in facilities.iter().enumerate() {
        if let (Some(op), Some(c), true) = (&f.operator_id, &f.location.commune_insee, precise(f)) {
            let root = find(&mut parent, i);
            campuses
                .entry((op.as_str(), c.as_str()))
                .or_default()
                .insert(root);
        }
    }
    for (i, f) in facilities.iter().enumerate() {
        if precise(f) {
            continue;
        }
        if let (Some(op), Some(c)) = (&f.operator_id, &f.location.commune_insee)
            && let Some(roots) = campuses.get(&(op.as_str(), c.as_str()))
            && roots.len() == 1
            && let Some(&root) = roots.first()
        {
            joins.push((i, root));
        }
    }
    for (i, root) in joins {
        union(&mut parent, i, root);
    }
    // Ids: the smallest facility id of each campus.
    let mut smallest: HashMap<usize, String> = HashMap::new();
    for (i, f) in facilities.iter().enumerate() {
        let r = find(&mut parent, i);
        let id = &f.facility_id;
        let e = smallest.entry(r).or_insert_with(|| id.clone());
        if id < e {
            e.clone_from(id);
        }
    }
    for (i, f) in facilities.iter_mut().enumerate() {
        let r = find(&mut parent, i);
        f.campus_id = format!("cp-{}", smallest[&r].trim_start_matches("fr-"));
    }
}
