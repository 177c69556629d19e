//! Areas and representative points. In: a `geo::MultiPolygon` in WGS84 degrees (lon, lat).
//! Out: its area in square metres on the WGS84 ellipsoid (geodesic, Karney's algorithm via geo's
//! `GeodesicArea`), holes subtracted, the same whatever the orientation of the rings; and a
//! point guaranteed inside it (geo's `InteriorPoint`).

use geo::{InteriorPoint, MultiPolygon, Point};

/// The crate's one geodesic area (holes subtracted, any ring orientation).
pub use crate::common::geodesy::{area_m2, polygon_area_m2, ring_area_m2};

/// A point inside the (multi)polygon (inside its largest part), or `None` when it is empty.
pub fn representative_point(shape: &MultiPolygon<f64>) -> Option<Point<f64>> {
    shape.interior_point()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Coord, Intersects};
    use geo::{GeodesicArea, LineString, Polygon};
    use proptest::prelude::*;

    fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
        let mut coords: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
        coords.push(coords[0]);
        LineString(coords)
    }

    fn rect(x0: f64, y0: f64, w: f64, h: f64) -> LineString<f64> {
        ring(&[(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)])
    }

    fn reversed(r: &LineString<f64>) -> LineString<f64> {
        LineString(r.0.iter().rev().copied().collect())
    }

    /// A star-shaped (hence simple) ring around a centre: radii per angle step.
    fn star(cx: f64, cy: f64, radii: &[f64]) -> LineString<f64> {
        let n = radii.len();
        let pts: Vec<(f64, f64)> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect();
        ring(&pts)
    }

    #[test]
    fn one_degree_square_at_equator() {
        // 1° × 1° at the equator on WGS84: about 12 308 778 361 m².
        let mp = MultiPolygon(vec![Polygon::new(rect(0.0, 0.0, 1.0, 1.0), vec![])]);
        let a = area_m2(&mp);
        assert!((a - 12_308_778_361.469).abs() / a < 1e-6, "{a}");
        let cw = MultiPolygon(vec![Polygon::new(
            reversed(&rect(0.0, 0.0, 1.0, 1.0)),
            vec![],
        )]);
        assert!((area_m2(&cw) - a).abs() < 1e-3);
        assert_eq!(area_m2(&MultiPolygon(vec![])), 0.0);
        assert_eq!(representative_point(&MultiPolygon(vec![])), None);
    }

    proptest! {
        #[test]
        fn area_invariant_under_ring_reversal(
            cx in -179.0f64..179.0, cy in -80.0f64..80.0,
            radii in prop::collection::vec(1e-4f64..0.5, 3..24),
            flip_outer: bool, flip_hole: bool,
        ) {
            let outer = star(cx, cy, &radii);
            let min_r = radii.iter().cloned().fold(f64::INFINITY, f64::min);
            let hole = star(cx, cy, &[min_r * 0.5; 8]);
            let base = MultiPolygon(vec![Polygon::new(outer.clone(), vec![hole.clone()])]);
            let o = if flip_outer { reversed(&outer) } else { outer };
            let h = if flip_hole { reversed(&hole) } else { hole };
            let flipped = MultiPolygon(vec![Polygon::new(o, vec![h])]);
            let (a, b) = (area_m2(&base), area_m2(&flipped));
            prop_assert!(a > 0.0);
            prop_assert!((a - b).abs() <= 1e-9 * a.max(1.0), "{} vs {}", a, b);
        }

        #[test]
        fn representative_point_is_inside(
            cx in -179.0f64..179.0, cy in -80.0f64..80.0,
            radii in prop::collection::vec(1e-4f64..0.5, 3..24),
            with_hole: bool,
        ) {
            let outer = star(cx, cy, &radii);
            let min_r = radii.iter().cloned().fold(f64::INFINITY, f64::min);
            let holes = if with_hole { vec![star(cx, cy, &[min_r * 0.5; 6])] } else { vec![] };
            let mp = MultiPolygon(vec![Polygon::new(outer, holes)]);
            let p = representative_point(&mp);
            prop_assert!(p.is_some());
            if let Some(p) = p {
                prop_assert!(mp.intersects(&p), "{:?} not in {:?}", p, mp);
                if !with_hole {
                    prop_assert!(mp.contains(&p) || mp.intersects(&p));
                }
            }
        }

        #[test]
        fn hole_area_is_subtracted(
            x0 in -170.0f64..170.0, y0 in -70.0f64..70.0,
            w in 1e-4f64..2.0, h in 1e-4f64..2.0,
            fx in 0.05f64..0.45, fy in 0.05f64..0.45, fw in 0.05f64..0.5, fh in 0.05f64..0.5,
            flip_hole: bool,
        ) {
            let outer = rect(x0, y0, w, h);
            let hole = rect(x0 + fx * w, y0 + fy * h, fw * w, fh * h);
            let hole_ring = hole.clone();
            let hole = if flip_hole { reversed(&hole) } else { hole };
            let whole = area_m2(&MultiPolygon(vec![Polygon::new(outer.clone(), vec![])]));
            let hole_only = area_m2(&MultiPolygon(vec![Polygon::new(hole.clone(), vec![])]));
            let with_hole = area_m2(&MultiPolygon(vec![Polygon::new(outer, vec![hole])]));
            let expected = whole - hole_only;
            prop_assert!(with_hole > 0.0 && with_hole < whole);
            prop_assert!((with_hole - expected).abs() <= 1e-6 * expected, "{} vs {}", with_hole, expected);
            // Independently: geo's own polygon area, rings oriented as it expects (CCW, CW).
            let cw_hole = reversed(&hole_ring);
            let geo_area = Polygon::new(rect(x0, y0, w, h), vec![cw_hole]).geodesic_area_signed();
            prop_assert!((geo_area - expected).abs() <= 1e-6 * expected, "{} vs {}", geo_area, expected);
        }
    }
}
