//! A static k-d tree over (lon, lat) points on the sphere (3-D unit vectors scaled to the
//! Earth's radius, so the straight-line chord stands in for the great-circle distance):
//! points in → the k nearest of a query point within a radius, with an eligibility filter.
//! Build O(n log n); a query visits O(log n + k) nodes whatever the local density, which is
//! what keeps candidate generation linear (see `blocking`).

use std::cmp::Ordering;

/// Mean Earth radius of the haversine sphere, metres.
const R: f64 = crate::common::geodesy::EARTH_RADIUS_M;
/// Points per leaf (scanned linearly).
const LEAF: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Entry {
    p: [f64; 3],
    /// Record index.
    id: u32,
    /// Tie-break between equally distant points (a rank that does not depend on input order).
    tie: u32,
}

/// The tree: entries permuted so that each range's median splits it on one axis.
pub struct KdTree {
    entries: Vec<Entry>,
}

/// (lon, lat) in degrees → 3-D point in metres.
pub fn xyz((lon, lat): (f64, f64)) -> [f64; 3] {
    let (lo, la) = (lon.to_radians(), lat.to_radians());
    [
        R * la.cos() * lo.cos(),
        R * la.cos() * lo.sin(),
        R * la.sin(),
    ]
}

/// The squared chord of a great-circle distance of `metres`.
pub fn chord2(metres: f64) -> f64 {
    let c = 2.0 * R * (metres.min(std::f64::consts::PI * R) / (2.0 * R)).sin();
    c * c
}

fn d2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// A found neighbour: squared chord, tie rank, record index.
pub type Found = (f64, u32, u32);

fn closer(a: &Found, b: &Found) -> Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

impl KdTree {
    /// `points`: (record index, (lon, lat), tie rank).
    pub fn new(points: impl IntoIterator<Item = (u32, (f64, f64), u32)>) -> KdTree {
        let mut entries: Vec<Entry> = points
            .into_iter()
            .map(|(id, p, tie)| Entry { p: xyz(p), id, tie })
            .collect();
        build(&mut entries, 0);
        KdTree { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `k` nearest eligible points within `radius_m` of `q`, nearest first (ties by rank).
    pub fn nearest(
        &self,
        q: (f64, f64),
        k: usize,
        radius_m: f64,
        eligible: &dyn Fn(u32) -> bool,
    ) -> Vec<Found> {
        let mut out = Vec::with_capacity(k + 1);
        if k > 0 {
            self.search(
                &xyz(q),
                k,
                chord2(radius_m),
                eligible,
                0,
                self.entries.len(),
                0,
                &mut out,
            );
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn search(
        &self,
        q: &[f64; 3],
        k: usize,
        max2: f64,
        eligible: &dyn Fn(u32) -> bool,
        lo: usize,
        hi: usize,
        depth: usize,
        out: &mut Vec<Found>,
    ) {
        if hi - lo <= LEAF {
            for e in &self.entries[lo..hi] {
                offer(q, e, k, max2, eligible, out);
            }
            return;
        }
        let mid = lo + (hi - lo) / 2;
        let node = &self.entries[mid];
        offer(q, node, k, max2, eligible, out);
        let axis = depth % 3;
        let diff = q[axis] - node.p[axis];
        let (near, far) = if diff < 0.0 {
            ((lo, mid), (mid + 1, hi))
        } else {
            ((mid + 1, hi), (lo, mid))
        };
        self.search(q, k, max2, eligible, near.0, near.1, depth + 1, out);
        let bound = if out.len() == k { out[k - 1].0 } else { max2 };
        if diff * diff <= bound {
            self.search(q, k, max2, eligible, far.0, far.1, depth + 1, out);
        }
    }
}

fn offer(
    q: &[f64; 3],
    e: &Entry,
    k: usize,
    max2: f64,
    eligible: &dyn Fn(u32) -> bool,
    out: &mut Vec<Found>,
) {
    let d = d2(q, &e.p);
    if d > max2 {
        return;
    }
    let f = (d, e.tie, e.id);
    if out.len() == k && closer(&f, &out[k - 1]) != Ordering::Less {
        return;
    }
    if !eligible(e.id) {
        return;
    }
    let at = out.partition_point(|x| closer(x, &f) == Ordering::Less);
    out.insert(at, f);
    out.truncate(k);
}

fn build(entries: &mut [Entry], depth: usize) {
    if entries.len() <= LEAF {
        return;
    }
    let axis = depth % 3;
    let mid = entries.len() / 2;
    entries.select_nth_unstable_by(mid, |a, b| a.p[axis].total_cmp(&b.p[axis]));
    let (left, right) = entries.split_at_mut(mid);
    build(left, depth + 1);
    build(&mut right[1..], depth + 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::distance_m;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nearest_agrees_with_a_scan(
            pts in proptest::collection::vec((2.0f64..2.05, 48.0f64..48.03), 1..300),
            q in (2.0f64..2.05, 48.0f64..48.03),
            k in 1usize..12,
            radius in 10.0f64..3000.0,
        ) {
            let tree = KdTree::new(pts.iter().enumerate().map(|(i, p)| (i as u32, *p, i as u32)));
            let got: Vec<u32> = tree.nearest(q, k, radius, &|id| id % 5 != 0).iter().map(|f| f.2).collect();
            let mut want: Vec<(f64, u32)> = pts
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 != 0)
                .map(|(i, p)| (distance_m(q, *p), i as u32))
                .filter(|(d, _)| *d <= radius * (1.0 - 1e-9))
                .collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            // Same set up to the k-th distance (chord and haversine order points alike).
            let want_ids: Vec<u32> = want.iter().take(k).map(|w| w.1).collect();
            prop_assert!(got.len() >= want_ids.len().min(k));
            for id in &want_ids {
                prop_assert!(got.contains(id), "{id} missing from {got:?}, want {want_ids:?}");
            }
        }
    }
}
