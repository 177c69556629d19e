//! Distances and areas on the Earth, through the `geo` crate. In: WGS 84 lon/lat degrees.
//! Out: the great-circle distance in metres (haversine on the GRS80 mean sphere) and the
//! area in m² on the WGS 84 ellipsoid (geodesic, Karney's algorithm), holes subtracted,
//! whatever the orientation of the rings.

use geo::{Distance, GeodesicArea, Haversine, LineString, MultiPolygon, Point, Polygon};

/// The mean Earth radius of the haversine sphere (GRS80), metres: the radius `distance_m` uses,
/// for code that converts metres to angles or to 3-D chords on the same sphere.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two (lon, lat) points.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}

/// Area in m² of a (multi)polygon: Σ over polygons of |outer| − Σ|holes|, each ring measured
/// on its own so that neither ring orientation nor a polygon's holes' orientation matters.
/// Rings must each cover less than half of the Earth (always true for buildings and sites).
pub fn area_m2(shape: &MultiPolygon<f64>) -> f64 {
    shape.0.iter().map(polygon_area_m2).sum()
}

/// Area in m² of one polygon (see [`area_m2`]).
pub fn polygon_area_m2(polygon: &Polygon<f64>) -> f64 {
    let holes: f64 = polygon.interiors().iter().map(ring_area_m2).sum();
    ring_area_m2(polygon.exterior()) - holes
}

/// Area in m² enclosed by one ring, whichever way it turns.
pub fn ring_area_m2(ring: &LineString<f64>) -> f64 {
    if ring.0.len() < 4 {
        return 0.0;
    }
    // The signed area is exact for both orientations (the unsigned one is not: a clockwise
    // ring gives the Earth's area minus the ring's).
    Polygon::new(ring.clone(), Vec::new())
        .geodesic_area_signed()
        .abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Coord;

    #[test]
    fn paris_to_marseille() {
        // Notre-Dame to the Vieux-Port: ~661 km on the sphere.
        let d = distance_m((2.3499, 48.8530), (5.3743, 43.2951));
        assert!((d - 660_500.0).abs() < 2_000.0, "{d}");
        assert_eq!(distance_m((2.0, 48.0), (2.0, 48.0)), 0.0);
        // One degree of latitude on the mean sphere.
        let deg = distance_m((0.0, 0.0), (0.0, 1.0));
        assert!((deg - EARTH_RADIUS_M.to_radians()).abs() < 1e-6, "{deg}");
    }

    fn square(x0: f64, y0: f64, w: f64, clockwise: bool) -> LineString<f64> {
        let mut pts = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + w), (x0, y0 + w)];
        if clockwise {
            pts.reverse();
        }
        let mut coords: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
        coords.push(coords[0]);
        LineString(coords)
    }

    #[test]
    fn holes_are_subtracted_whatever_the_winding() {
        let outer = square(2.0, 48.0, 0.01, false);
        let hole = square(2.004, 48.004, 0.002, false);
        let full = area_m2(&MultiPolygon::new(vec![Polygon::new(
            outer.clone(),
            vec![],
        )]));
        let h = ring_area_m2(&hole);
        // ~0.01° × 0.01° at 48° N: ~1.11 km × 0.74 km.
        assert!((full - 827_000.0).abs() < 5_000.0, "{full}");
        for (o, i) in [(false, false), (false, true), (true, false), (true, true)] {
            let p = Polygon::new(
                square(2.0, 48.0, 0.01, o),
                vec![square(2.004, 48.004, 0.002, i)],
            );
            let a = area_m2(&MultiPolygon::new(vec![p]));
            assert!((a - (full - h)).abs() < 1e-6, "{o} {i}: {a}");
        }
        assert_eq!(ring_area_m2(&LineString(vec![])), 0.0);
    }
}
