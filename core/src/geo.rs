//! Geography on plain numbers: validated WGS-84 points, great-circle distance, point in polygon,
//! and the WGS-84 ↔ GCJ-02 ↔ BD-09 conversions Chinese maps need for display. Xuncha stores
//! WGS-84 only (what a phone's GNSS gives); GCJ-02 (Amap, Tencent, WeChat) and BD-09 (Baidu)
//! exist only on the way to a map.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A WGS-84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatLon {
    /// Latitude, −90..=90.
    pub lat: f64,
    /// Longitude, −180..=180.
    pub lon: f64,
}

impl LatLon {
    /// A point, checked to be finite and within WGS-84 ranges.
    pub fn new(lat: f64, lon: f64) -> Result<Self> {
        let p = LatLon { lat, lon };
        p.validate()?;
        Ok(p)
    }

    /// Check ranges (a typed error for anything a GNSS could not have produced).
    pub fn validate(&self) -> Result<()> {
        let ok = self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon);
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidCoordinates {
                lat: self.lat,
                lon: self.lon,
            })
        }
    }
}

/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle (haversine) distance in metres.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// A lat/lon box that contains every point within `radius_m` of `center` (for index prefilters).
pub fn bounding_box(center: LatLon, radius_m: f64) -> (LatLon, LatLon) {
    let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
    let cos = center.lat.to_radians().cos().abs().max(1e-6);
    let dlon = (dlat / cos).min(180.0);
    (
        LatLon {
            lat: center.lat - dlat,
            lon: center.lon - dlon,
        },
        LatLon {
            lat: center.lat + dlat,
            lon: center.lon + dlon,
        },
    )
}

/// Grid cells per degree of the server's position key (`cases.cell`): a cell is 1/1000 degree
/// square, about 111 m north–south and 96 m east–west at 30° N.
pub const CELLS_PER_DEGREE: f64 = 1000.0;

/// Cell numbers of one row (from the south pole) are `row * CELL_ROW + column` (from 180° W).
const CELL_ROW: i64 = 1_000_000;

/// The grid cell holding `p`, the key by which the server finds cases near a point (probable
/// duplicates, the queue's neighbours) in a few cells instead of a band across the city.
///
/// The server's schema computes the same number as the generated column `cases.cell`
/// (`CAST((lat + 90) * 1000 AS INTEGER) * 1000000 + CAST((lon + 180) * 1000 AS INTEGER)` in
/// SQLite migration 09, with `trunc` in PostgreSQL migration 06); the server's test
/// `the_cell_column_equals_cores_cell` checks them against this function on both backends.
pub fn cell_of(p: LatLon) -> i64 {
    let (row, col) = cell_row_col(p);
    row * CELL_ROW + col
}

fn cell_row_col(p: LatLon) -> (i64, i64) {
    let lat = p.lat.clamp(-90.0, 90.0);
    let lon = p.lon.clamp(-180.0, 180.0);
    (
        ((lat + 90.0) * CELLS_PER_DEGREE) as i64,
        ((lon + 180.0) * CELLS_PER_DEGREE) as i64,
    )
}

/// The cells that cover the box `lo..=hi`, as one `(first, last)` range of cell numbers per row.
pub fn cell_ranges(lo: LatLon, hi: LatLon) -> Vec<(i64, i64)> {
    let (row_lo, col_lo) = cell_row_col(lo);
    let (row_hi, col_hi) = cell_row_col(hi);
    (row_lo..=row_hi)
        .map(|row| (row * CELL_ROW + col_lo, row * CELL_ROW + col_hi))
        .collect()
}

/// Is `p` inside the polygon (ring of vertices, closed or not)? Even-odd rule on lon/lat as a
/// plane, which is exact enough for grid cells of a city (~100 m across).
pub fn point_in_polygon(p: LatLon, ring: &[LatLon]) -> bool {
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.lat > p.lat) != (b.lat > p.lat)
            && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

// Krasovsky 1940 ellipsoid, as used by the GCJ-02 obfuscation.
const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
const BD_X_PI: f64 = std::f64::consts::PI * 3000.0 / 180.0;

/// GCJ-02 applies only inside China's rough bounding box; elsewhere the coordinates are WGS-84.
pub fn in_china(p: LatLon) -> bool {
    (73.66..=135.05).contains(&p.lon) && (3.86..=53.55).contains(&p.lat)
}

fn gcj_delta(p: LatLon) -> (f64, f64) {
    use std::f64::consts::PI;
    let x = p.lon - 105.0;
    let y = p.lat - 35.0;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = p.lat.to_radians();
    let magic = 1.0 - KRASOVSKY_EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad.cos() * PI);
    (dlat, dlon)
}

/// WGS-84 → GCJ-02 (for Amap / Tencent / WeChat maps).
pub fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    if !in_china(p) {
        return p;
    }
    let (dlat, dlon) = gcj_delta(p);
    LatLon {
        lat: p.lat + dlat,
        lon: p.lon + dlon,
    }
}

/// GCJ-02 → WGS-84. There is no closed form: iterate the forward transform until it lands
/// within a millimetre of the input (a handful of rounds).
pub fn gcj02_to_wgs84(g: LatLon) -> LatLon {
    if !in_china(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let f = wgs84_to_gcj02(w);
        let (elat, elon) = (f.lat - g.lat, f.lon - g.lon);
        w = LatLon {
            lat: w.lat - elat,
            lon: w.lon - elon,
        };
        if elat.abs() < 1e-9 && elon.abs() < 1e-9 {
            break;
        }
    }
    w
}

/// GCJ-02 → BD-09 (Baidu maps).
pub fn gcj02_to_bd09(g: LatLon) -> LatLon {
    let (x, y) = (g.lon, g.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    LatLon {
        lat: z * theta.sin() + 0.006,
        lon: z * theta.cos() + 0.0065,
    }
}

/// BD-09 → GCJ-02: the usual closed-form approximation (off by up to a few decimetres),
/// refined by fixed-point iteration on the forward transform until it is exact.
pub fn bd09_to_gcj02(b: LatLon) -> LatLon {
    let mut g = bd09_to_gcj02_approx(b);
    for _ in 0..10 {
        let f = gcj02_to_bd09(g);
        let (elat, elon) = (f.lat - b.lat, f.lon - b.lon);
        if elat.abs() < 1e-10 && elon.abs() < 1e-10 {
            break;
        }
        g = LatLon {
            lat: g.lat - elat,
            lon: g.lon - elon,
        };
    }
    g
}

fn bd09_to_gcj02_approx(b: LatLon) -> LatLon {
    let (x, y) = (b.lon - 0.0065, b.lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    LatLon {
        lat: z * theta.sin(),
        lon: z * theta.cos(),
    }
}

/// WGS-84 → BD-09.
pub fn wgs84_to_bd09(p: LatLon) -> LatLon {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// BD-09 → WGS-84.
pub fn bd09_to_wgs84(b: LatLon) -> LatLon {
    gcj02_to_wgs84(bd09_to_gcj02(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }

    /// Published reference results of the widely used coordtransform library for the point
    /// lon 116.404, lat 39.915 (Tiananmen); we must land within 1 m of each.
    #[test]
    fn conversions_match_published_reference_points() {
        let input = ll(39.915, 116.404);
        let cases = [
            (
                wgs84_to_gcj02(input),
                ll(39.91640428150164, 116.41024449916938),
            ),
            (
                gcj02_to_bd09(input),
                ll(39.92133699351021, 116.41036949371029),
            ),
            (
                bd09_to_gcj02(input),
                ll(39.90865673957631, 116.39762729119315),
            ),
            // coordtransform's gcj→wgs is a one-step approximation; ours iterates to the exact
            // inverse, which must still agree with it within a metre.
            (
                gcj02_to_wgs84(input),
                ll(39.91359571849836, 116.39775550083061),
            ),
        ];
        for (got, want) in cases {
            let d = distance_m(got, want);
            assert!(d < 1.0, "got {got:?}, want {want:?}, {d:.3} m apart");
        }
    }

    #[test]
    fn round_trips_are_within_a_centimetre() {
        for p in [
            ll(39.915, 116.404),
            ll(22.543, 114.057),
            ll(30.6586, 104.0648),
        ] {
            assert!(distance_m(gcj02_to_wgs84(wgs84_to_gcj02(p)), p) < 0.01);
            assert!(distance_m(bd09_to_wgs84(wgs84_to_bd09(p)), p) < 0.01);
        }
    }

    #[test]
    fn outside_china_is_unchanged() {
        let paris = ll(48.8566, 2.3522);
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn distance_known_values() {
        // One degree of latitude ≈ 111.2 km.
        let d = distance_m(ll(30.0, 120.0), ll(31.0, 120.0));
        assert!((d - 111_195.0).abs() < 50.0, "{d}");
        assert_eq!(distance_m(ll(30.0, 120.0), ll(30.0, 120.0)), 0.0);
    }

    #[test]
    fn polygon_membership() {
        let square = [ll(0.0, 0.0), ll(0.0, 1.0), ll(1.0, 1.0), ll(1.0, 0.0)];
        assert!(point_in_polygon(ll(0.5, 0.5), &square));
        assert!(!point_in_polygon(ll(1.5, 0.5), &square));
        // A concave "L": the notch is outside.
        let l = [
            ll(0.0, 0.0),
            ll(0.0, 2.0),
            ll(1.0, 2.0),
            ll(1.0, 1.0),
            ll(2.0, 1.0),
            ll(2.0, 0.0),
        ];
        assert!(point_in_polygon(ll(1.5, 0.5), &l));
        assert!(!point_in_polygon(ll(1.5, 1.5), &l));
        assert!(!point_in_polygon(ll(0.5, 0.5), &square[..2]));
    }

    #[test]
    fn bounding_box_contains_radius() {
        let c = ll(30.0, 120.0);
        let (lo, hi) = bounding_box(c, 500.0);
        assert!(distance_m(c, ll(hi.lat, c.lon)) >= 499.0);
        assert!(distance_m(c, ll(c.lat, lo.lon)) >= 499.0);
    }

    #[test]
    fn the_cells_of_a_box_hold_every_point_in_it() {
        let c = ll(30.2500004, 120.1699996);
        let (lo, hi) = bounding_box(c, 50.0);
        let ranges = cell_ranges(lo, hi);
        // 100 m of latitude crosses at most two rows of ~111 m.
        assert!((1..=2).contains(&ranges.len()), "{ranges:?}");
        for i in 0..=20 {
            for j in 0..=20 {
                let p = ll(
                    lo.lat + (hi.lat - lo.lat) * f64::from(i) / 20.0,
                    lo.lon + (hi.lon - lo.lon) * f64::from(j) / 20.0,
                );
                let cell = cell_of(p);
                assert!(
                    ranges.iter().any(|(a, b)| (*a..=*b).contains(&cell)),
                    "{p:?} in cell {cell} outside {ranges:?}"
                );
            }
        }
        // Neighbouring cells differ, the corners of the world have cells.
        assert_ne!(cell_of(ll(30.0, 120.0)), cell_of(ll(30.0011, 120.0)));
        assert_ne!(cell_of(ll(30.0, 120.0)), cell_of(ll(30.0, 120.0011)));
        assert_eq!(cell_of(ll(-90.0, -180.0)), 0);
        assert_eq!(cell_of(ll(90.0, 180.0)), 180_000 * 1_000_000 + 360_000);
    }

    #[test]
    fn invalid_coordinates_are_typed_errors() {
        for (lat, lon) in [
            (91.0, 0.0),
            (0.0, 181.0),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            assert_eq!(
                LatLon::new(lat, lon).map_err(|e| e.code()).err(),
                Some("invalid_coordinates")
            );
        }
        assert!(LatLon::new(-90.0, 180.0).is_ok());
    }
}
