//! Area assembly. In: the ways of a closed way or of a multipolygon relation, as node
//! locations (1e-7 degree integers, as stored in OSM) with their member roles. Out: a
//! `geo::MultiPolygon` with closed rings, outer rings counter-clockwise and holes clockwise,
//! each hole attached to the smallest outer ring around it — or an `OsmIssue` saying why there
//! is no area.
//!
//! The method follows libosmium's assembler, so results agree with `osmium export`:
//! 1. every way is cut into segments; a segment present an even number of times cancels out
//!    (shared borders of touching rings, ways traced forth and back);
//! 2. segments are joined end to end into rings, whatever the direction and splitting of the
//!    ways; a ring that meets itself is split there; a loose end is `osm_ring_not_closed`;
//! 3. any two segments that cross, overlap or touch away from a shared end point make the area
//!    invalid (`osm_ring_self_intersection`); the test is exact, on integers;
//! 4. rings are nested by containment: even depth is outer, odd depth is inner. Roles are
//!    checked against that (a disagreement is reported as `osm_multipolygon_role_mismatch` and
//!    the geometry wins); roles are not needed, so untagged members work.

use geo::{Coord, LineString, MultiPolygon, Polygon};

use super::{IssueCode, OsmIssue, OsmType};

/// A node location in OSM's fixed precision: 1e-7 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Loc {
    pub lon: i32,
    pub lat: i32,
}

impl Loc {
    pub const SCALE: f64 = 1e7;

    pub fn new(lon: i32, lat: i32) -> Loc {
        Loc { lon, lat }
    }

    /// Rounds degrees to 1e-7; `None` outside [-180, 180] × [-90, 90] or not finite.
    pub fn from_degrees(lon: f64, lat: f64) -> Option<Loc> {
        let valid = lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat);
        if !valid {
            return None;
        }
        Some(Loc {
            lon: (lon * Self::SCALE).round() as i32,
            lat: (lat * Self::SCALE).round() as i32,
        })
    }

    pub fn lon_deg(self) -> f64 {
        f64::from(self.lon) / Self::SCALE
    }

    pub fn lat_deg(self) -> f64 {
        f64::from(self.lat) / Self::SCALE
    }

    fn coord(self) -> Coord<f64> {
        Coord {
            x: self.lon_deg(),
            y: self.lat_deg(),
        }
    }
}

/// A relation member's role (anything but `outer`/`inner` is `Other`; a closed way is `Empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Outer,
    Inner,
    Empty,
    Other,
}

impl Role {
    pub fn parse(role: &str) -> Role {
        match role {
            "outer" => Role::Outer,
            "inner" => Role::Inner,
            "" => Role::Empty,
            _ => Role::Other,
        }
    }
}

/// One way of an area with its node locations in way order.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberWay {
    pub way_id: i64,
    pub role: Role,
    pub locs: Vec<Loc>,
}

/// Assembles the area of `osm_type`/`id` from its ways. `Ok` carries the geometry and
/// non-fatal issues (role mismatches); `Err` the issue that prevents any area.
pub fn assemble_area(
    osm_type: OsmType,
    id: i64,
    ways: &[MemberWay],
) -> Result<(MultiPolygon<f64>, Vec<OsmIssue>), OsmIssue> {
    let issue = |code, message: String| OsmIssue::new(code, osm_type, id, message);

    // 1. Segments, normalised (a < b), with duplicates cancelled in pairs.
    let mut segs: Vec<Seg> = Vec::new();
    for way in ways {
        for pair in way.locs.windows(2) {
            let (p, q) = (pair[0], pair[1]);
            if p != q {
                segs.push(Seg::new(p, q, way.role));
            }
        }
    }
    segs.sort_unstable_by_key(|s| (s.a, s.b));
    let mut kept: Vec<Seg> = Vec::with_capacity(segs.len());
    let mut i = 0;
    while i < segs.len() {
        let mut j = i + 1;
        while j < segs.len() && segs[j].a == segs[i].a && segs[j].b == segs[i].b {
            j += 1;
        }
        if (j - i) % 2 == 1 {
            kept.push(segs[i]);
        }
        i = j;
    }
    let segs = kept;
    if segs.is_empty() {
        return Err(issue(
            IssueCode::OsmRingTooShort,
            "no segment left after removing repeated ones: fewer than three distinct points"
                .to_string(),
        ));
    }

    // 2. Rings (a loose end first: it is the clearer diagnosis).
    let rings = build_rings(&segs).map_err(|at| {
        issue(
            IssueCode::OsmRingNotClosed,
            format!(
                "a ring has a loose end at {:.7},{:.7} (lon,lat)",
                at.lon_deg(),
                at.lat_deg()
            ),
        )
    })?;

    // 3. Intersections.
    if let Some(at) = find_intersection(&segs) {
        return Err(issue(
            IssueCode::OsmRingSelfIntersection,
            format!(
                "segments cross or overlap near {:.7},{:.7} (lon,lat)",
                at.lon_deg(),
                at.lat_deg()
            ),
        ));
    }

    // 4. Nesting.
    let mut infos: Vec<RingInfo> = rings
        .into_iter()
        .map(|(locs, roles)| RingInfo::new(locs, roles))
        .collect();
    infos.sort_by_key(|r| std::cmp::Reverse(r.area2.abs()));
    let n = infos.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut depth: Vec<usize> = vec![0; n];
    for i in 0..n {
        for j in (0..i).rev() {
            if infos[j].contains_ring(&infos[i]) {
                parent[i] = Some(j);
                depth[i] = depth[j] + 1;
                break;
            }
        }
    }
    let mut mismatched = 0usize;
    for (i, info) in infos.iter().enumerate() {
        let outer = depth[i].is_multiple_of(2);
        let (n_outer, n_inner) = info.roles;
        if (outer && n_inner > 0 && n_outer == 0) || (!outer && n_outer > 0 && n_inner == 0) {
            mismatched += 1;
        }
    }
    let mut warnings = Vec::new();
    if mismatched > 0 {
        warnings.push(issue(
            IssueCode::OsmMultipolygonRoleMismatch,
            format!(
                "{mismatched} ring(s) have a role that disagrees with their nesting; the nesting was used"
            ),
        ));
    }

    // Polygons: each even-depth ring with the odd-depth rings directly inside it.
    let mut holes: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        if depth[i] % 2 == 1
            && let Some(p) = parent[i]
        {
            holes[p].push(i);
        }
    }
    let mut polygons = Vec::new();
    for i in 0..n {
        if depth[i].is_multiple_of(2) {
            let exterior = infos[i].line_string(true);
            let interiors = holes[i]
                .iter()
                .map(|&h| infos[h].line_string(false))
                .collect();
            polygons.push(Polygon::new(exterior, interiors));
        }
    }
    Ok((MultiPolygon(polygons), warnings))
}

#[derive(Debug, Clone, Copy)]
struct Seg {
    a: Loc,
    b: Loc,
    role: Role,
}

impl Seg {
    fn new(p: Loc, q: Loc, role: Role) -> Seg {
        if p < q {
            Seg { a: p, b: q, role }
        } else {
            Seg { a: q, b: p, role }
        }
    }

    fn lat_range(&self) -> (i32, i32) {
        (self.a.lat.min(self.b.lat), self.a.lat.max(self.b.lat))
    }
}

/// Sign of the cross product (q - p) × (r - p): > 0 when r is left of p→q.
fn orient(p: Loc, q: Loc, r: Loc) -> i128 {
    let (px, py) = (i128::from(p.lon), i128::from(p.lat));
    let cross = (i128::from(q.lon) - px) * (i128::from(r.lat) - py)
        - (i128::from(q.lat) - py) * (i128::from(r.lon) - px);
    cross.signum()
}

/// Whether two (normalised, distinct) segments meet anywhere but at a shared end point.
fn segments_conflict(s: &Seg, t: &Seg) -> bool {
    let o1 = orient(s.a, s.b, t.a);
    let o2 = orient(s.a, s.b, t.b);
    if o1 == 0 && o2 == 0 {
        // Collinear: along a line, the (lon, lat) order is the order of the points, so the
        // segments are intervals; they conflict when they overlap by more than a point.
        let lo = s.a.max(t.a);
        let hi = s.b.min(t.b);
        return lo < hi;
    }
    let shared = s.a == t.a || s.a == t.b || s.b == t.a || s.b == t.b;
    if shared {
        return false;
    }
    let o3 = orient(t.a, t.b, s.a);
    let o4 = orient(t.a, t.b, s.b);
    o1 * o2 <= 0 && o3 * o4 <= 0
}

/// A location where two segments conflict, if any (sweep over longitude).
fn find_intersection(segs: &[Seg]) -> Option<Loc> {
    let mut order: Vec<usize> = (0..segs.len()).collect();
    order.sort_unstable_by_key(|&i| segs[i].a.lon);
    for (k, &i) in order.iter().enumerate() {
        let s = &segs[i];
        let (s_lo, s_hi) = s.lat_range();
        for &j in &order[k + 1..] {
            let t = &segs[j];
            if t.a.lon > s.b.lon {
                break;
            }
            let (t_lo, t_hi) = t.lat_range();
            if t_lo > s_hi || t_hi < s_lo {
                continue;
            }
            if segments_conflict(s, t) {
                return Some(if s.a == t.a || s.a == t.b { s.b } else { s.a });
            }
        }
    }
    None
}

type Ring = (Vec<Loc>, (usize, usize));

/// Joins segments into closed rings (each a closed list of locations plus the number of its
/// segments with role outer and inner); `Err(location)` at a loose end.
fn build_rings(segs: &[Seg]) -> Result<Vec<Ring>, Loc> {
    let mut verts: Vec<Loc> = segs.iter().flat_map(|s| [s.a, s.b]).collect();
    verts.sort_unstable();
    verts.dedup();
    let index = |l: Loc| verts.binary_search(&l).unwrap_or(0);
    let ends: Vec<(usize, usize)> = segs.iter().map(|s| (index(s.a), index(s.b))).collect();
    // Adjacency in CSR form.
    let mut start = vec![0usize; verts.len() + 1];
    for &(a, b) in &ends {
        start[a + 1] += 1;
        start[b + 1] += 1;
    }
    for v in 0..verts.len() {
        if (start[v + 1]) % 2 == 1 {
            return Err(verts[v]);
        }
        start[v + 1] += start[v];
    }
    let mut fill = start.clone();
    let mut adj = vec![0usize; start[verts.len()]];
    for (e, &(a, b)) in ends.iter().enumerate() {
        adj[fill[a]] = e;
        fill[a] += 1;
        adj[fill[b]] = e;
        fill[b] += 1;
    }
    let mut cursor: Vec<usize> = start[..verts.len()].to_vec();
    let mut used = vec![false; segs.len()];
    let mut in_path = vec![usize::MAX; verts.len()];
    let mut rings = Vec::new();
    let mut path: Vec<usize> = Vec::new();
    let mut path_edges: Vec<usize> = Vec::new();
    for first in 0..segs.len() {
        if used[first] {
            continue;
        }
        let origin = ends[first].0;
        path.clear();
        path_edges.clear();
        path.push(origin);
        in_path[origin] = 0;
        let mut cur = origin;
        loop {
            let mut edge = None;
            while cursor[cur] < start[cur + 1] {
                let e = adj[cursor[cur]];
                cursor[cur] += 1;
                if !used[e] {
                    edge = Some(e);
                    break;
                }
            }
            let Some(e) = edge else { break };
            used[e] = true;
            let (a, b) = ends[e];
            let next = if a == cur { b } else { a };
            path_edges.push(e);
            if in_path[next] != usize::MAX {
                let k = in_path[next];
                let mut locs: Vec<Loc> = path[k..].iter().map(|&v| verts[v]).collect();
                locs.push(verts[next]);
                let mut roles = (0usize, 0usize);
                for &e in &path_edges[k..] {
                    match segs[e].role {
                        Role::Outer => roles.0 += 1,
                        Role::Inner => roles.1 += 1,
                        _ => {}
                    }
                }
                for &v in &path[k + 1..] {
                    in_path[v] = usize::MAX;
                }
                path.truncate(k + 1);
                path_edges.truncate(k);
                rings.push((locs, roles));
                cur = next;
            } else {
                in_path[next] = path.len();
                path.push(next);
                cur = next;
            }
        }
        if path.len() > 1 {
            return Err(verts[cur]);
        }
        in_path[origin] = usize::MAX;
    }
    Ok(rings)
}

struct RingInfo {
    locs: Vec<Loc>,
    /// Twice the signed area (shoelace, degrees × 1e7 squared): > 0 for counter-clockwise.
    area2: i128,
    min: Loc,
    max: Loc,
    roles: (usize, usize),
}

impl RingInfo {
    fn new(locs: Vec<Loc>, roles: (usize, usize)) -> RingInfo {
        let mut area2: i128 = 0;
        for w in locs.windows(2) {
            area2 += i128::from(w[0].lon) * i128::from(w[1].lat)
                - i128::from(w[1].lon) * i128::from(w[0].lat);
        }
        let min = Loc::new(
            locs.iter().map(|l| l.lon).min().unwrap_or(0),
            locs.iter().map(|l| l.lat).min().unwrap_or(0),
        );
        let max = Loc::new(
            locs.iter().map(|l| l.lon).max().unwrap_or(0),
            locs.iter().map(|l| l.lat).max().unwrap_or(0),
        );
        RingInfo {
            locs,
            area2,
            min,
            max,
            roles,
        }
    }

    /// Whether `other` (which does not cross this ring) lies inside this ring.
    fn contains_ring(&self, other: &RingInfo) -> bool {
        if other.min.lon < self.min.lon
            || other.min.lat < self.min.lat
            || other.max.lon > self.max.lon
            || other.max.lat > self.max.lat
        {
            return false;
        }
        // The first vertex (or edge midpoint) of `other` not on this ring's boundary decides.
        for l in &other.locs {
            match self.locate2(2 * i64::from(l.lon), 2 * i64::from(l.lat)) {
                Place::Inside => return true,
                Place::Outside => return false,
                Place::Boundary => {}
            }
        }
        for w in other.locs.windows(2) {
            let x = i64::from(w[0].lon) + i64::from(w[1].lon);
            let y = i64::from(w[0].lat) + i64::from(w[1].lat);
            match self.locate2(x, y) {
                Place::Inside => return true,
                Place::Outside => return false,
                Place::Boundary => {}
            }
        }
        false
    }

    /// Where the point (x/2, y/2) lies relative to this ring (crossing number, exact).
    fn locate2(&self, x: i64, y: i64) -> Place {
        let (x, y) = (i128::from(x), i128::from(y));
        let mut inside = false;
        for w in self.locs.windows(2) {
            let (ax, ay) = (2 * i128::from(w[0].lon), 2 * i128::from(w[0].lat));
            let (bx, by) = (2 * i128::from(w[1].lon), 2 * i128::from(w[1].lat));
            let cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
            if cross == 0
                && x >= ax.min(bx)
                && x <= ax.max(bx)
                && y >= ay.min(by)
                && y <= ay.max(by)
            {
                return Place::Boundary;
            }
            if (ay > y) != (by > y) {
                // The edge crosses the horizontal line through the point: count it when the
                // crossing is to the right of the point.
                let right = if by > ay { cross > 0 } else { cross < 0 };
                if right {
                    inside = !inside;
                }
            }
        }
        if inside {
            Place::Inside
        } else {
            Place::Outside
        }
    }

    /// The ring as a line string, counter-clockwise for an outer ring, clockwise for a hole.
    fn line_string(&self, outer: bool) -> LineString<f64> {
        let ccw = self.area2 > 0;
        let coords: Vec<Coord<f64>> = if ccw == outer {
            self.locs.iter().map(|l| l.coord()).collect()
        } else {
            self.locs.iter().rev().map(|l| l.coord()).collect()
        };
        LineString(coords)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Inside,
    Outside,
    Boundary,
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Winding;

    fn l(lon: i32, lat: i32) -> Loc {
        Loc::new(lon, lat)
    }

    fn way(id: i64, role: Role, pts: &[(i32, i32)]) -> MemberWay {
        MemberWay {
            way_id: id,
            role,
            locs: pts.iter().map(|&(x, y)| l(x, y)).collect(),
        }
    }

    fn square(x0: i32, y0: i32, size: i32) -> Vec<(i32, i32)> {
        vec![
            (x0, y0),
            (x0 + size, y0),
            (x0 + size, y0 + size),
            (x0, y0 + size),
            (x0, y0),
        ]
    }

    #[test]
    fn closed_way_becomes_ccw_polygon() {
        let mut pts = square(0, 0, 10);
        pts.reverse(); // clockwise input
        let (mp, warnings) = assemble_area(OsmType::Way, 1, &[way(1, Role::Empty, &pts)]).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(mp.0.len(), 1);
        assert!(mp.0[0].exterior().is_ccw());
        assert_eq!(mp.0[0].exterior().0.len(), 5);
    }

    #[test]
    fn split_reversed_outer_with_hole() {
        // Outer square split into two ways, the second reversed; one inner.
        let w1 = way(1, Role::Outer, &[(0, 0), (100, 0), (100, 100)]);
        let w2 = way(2, Role::Outer, &[(0, 0), (0, 100), (100, 100)]);
        let hole = way(3, Role::Inner, &square(10, 10, 20));
        let (mp, warnings) = assemble_area(OsmType::Relation, 7, &[w1, w2, hole]).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(mp.0.len(), 1);
        let p = &mp.0[0];
        assert!(p.exterior().is_ccw());
        assert_eq!(p.interiors().len(), 1);
        assert!(p.interiors()[0].is_cw());
    }

    #[test]
    fn containment_decides_when_roles_missing_or_wrong() {
        let outer = way(1, Role::Empty, &square(0, 0, 100));
        let inner = way(2, Role::Outer, &square(10, 10, 20));
        let island = way(3, Role::Empty, &square(12, 12, 5));
        let other = way(4, Role::Empty, &square(200, 0, 10));
        let (mp, warnings) =
            assemble_area(OsmType::Relation, 7, &[outer, inner, island, other]).unwrap();
        assert_eq!(mp.0.len(), 3);
        let holes: usize = mp.0.iter().map(|p| p.interiors().len()).sum();
        assert_eq!(holes, 1);
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].code, IssueCode::OsmMultipolygonRoleMismatch);
    }

    #[test]
    fn not_closed_too_short_and_crossing() {
        let open = way(1, Role::Outer, &[(0, 0), (10, 0), (10, 10), (0, 10)]);
        let e = assemble_area(OsmType::Relation, 1, &[open]).unwrap_err();
        assert_eq!(e.code, IssueCode::OsmRingNotClosed);
        assert_eq!(e.element, "relation/1");

        let short = way(2, Role::Empty, &[(0, 0), (10, 0), (0, 0)]);
        let e = assemble_area(OsmType::Way, 2, &[short]).unwrap_err();
        assert_eq!(e.code, IssueCode::OsmRingTooShort);

        let bowtie = way(
            3,
            Role::Empty,
            &[(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)],
        );
        let e = assemble_area(OsmType::Way, 3, &[bowtie]).unwrap_err();
        assert_eq!(e.code, IssueCode::OsmRingSelfIntersection);

        // A spike (back along the same line) overlaps.
        let spike = way(
            4,
            Role::Empty,
            &[
                (0, 0),
                (10, 0),
                (10, 10),
                (10, 20),
                (10, 5),
                (0, 10),
                (0, 0),
            ],
        );
        let e = assemble_area(OsmType::Way, 4, &[spike]).unwrap_err();
        assert_eq!(e.code, IssueCode::OsmRingSelfIntersection);

        // A node touching another ring's edge (not at a node).
        let a = way(5, Role::Outer, &square(0, 0, 10));
        let b = way(6, Role::Outer, &[(10, 5), (20, 0), (20, 10), (10, 5)]);
        let e = assemble_area(OsmType::Relation, 5, &[a, b]).unwrap_err();
        assert_eq!(e.code, IssueCode::OsmRingSelfIntersection);
    }

    #[test]
    fn touching_rings_and_figure_eight() {
        // A figure eight in one way: two rings touching at (10,10).
        let eight = way(
            1,
            Role::Empty,
            &[
                (0, 0),
                (10, 0),
                (10, 10),
                (20, 10),
                (20, 20),
                (10, 20),
                (10, 10),
                (0, 10),
                (0, 0),
            ],
        );
        let (mp, _) = assemble_area(OsmType::Way, 1, &[eight]).unwrap();
        assert_eq!(mp.0.len(), 2);
        // An inner ring touching the outer ring at a node.
        let outer = way(
            2,
            Role::Outer,
            &[(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)],
        );
        let inner = way(3, Role::Inner, &[(0, 0), (5, 2), (2, 5), (0, 0)]);
        let (mp, w) = assemble_area(OsmType::Relation, 2, &[outer, inner]).unwrap();
        assert!(w.is_empty());
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        // Two outer squares sharing a side merge into one ring.
        let a = way(4, Role::Outer, &square(0, 0, 10));
        let b = way(5, Role::Outer, &square(10, 0, 10));
        let (mp, _) = assemble_area(OsmType::Relation, 3, &[a, b]).unwrap();
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 7);
    }

    #[test]
    fn degrees_round_trip() {
        let loc = Loc::from_degrees(24.9351762, 60.164155).unwrap();
        assert_eq!(loc, l(249_351_762, 601_641_550));
        assert!(Loc::from_degrees(200.0, 0.0).is_none());
        assert!(Loc::from_degrees(f64::NAN, 0.0).is_none());
    }
}
