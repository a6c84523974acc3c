//! The case page's map: a plain SVG of the grids, sites and nearby cases around a case, drawn
//! on the server from the reference data. No tiles, no script, nothing from the internet, so it
//! works on a closed government intranet.

use maud::{Markup, html};
use xuncha_core::geo::{LatLon, gcj02_to_wgs84, wgs84_to_gcj02};
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;

use super::i18n::{Lang, t};
use crate::state::MapTiles;

/// Zoom of the optional tile layer: a 256-px tile is about 530 m across at 30° N.
const TILE_ZOOM: u32 = 16;

/// Web-Mercator tile coordinates (fractional) of a point in the tiles' own datum.
fn tile_xy(p: LatLon, z: u32) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let x = (p.lon + 180.0) / 360.0 * n;
    let lat = p.lat.to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x, y)
}

/// The north-west corner of tile `(x, y)` in the tiles' own datum.
fn tile_corner(x: f64, y: f64, z: u32) -> LatLon {
    let n = f64::from(1u32 << z);
    let lon = x / n * 360.0 - 180.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * y / n))
        .sinh()
        .atan()
        .to_degrees();
    LatLon { lat, lon }
}

/// The tiles covering the map around `origin` (WGS-84), each as (url, x, y, width, height) in
/// the map's metres. Tiles in GCJ-02 are placed by converting their corners back to WGS-84.
fn tiles_around(tiles: &MapTiles, origin: LatLon) -> Vec<(String, f64, f64, f64, f64)> {
    let to_tiles = |p: LatLon| if tiles.gcj02 { wgs84_to_gcj02(p) } else { p };
    let from_tiles = |p: LatLon| if tiles.gcj02 { gcj02_to_wgs84(p) } else { p };
    let dlat = RADIUS_M / 110_574.0;
    let dlon = RADIUS_M / (111_320.0 * origin.lat.to_radians().cos());
    let (x0, y0) = tile_xy(
        to_tiles(LatLon {
            lat: origin.lat + dlat,
            lon: origin.lon - dlon,
        }),
        TILE_ZOOM,
    );
    let (x1, y1) = tile_xy(
        to_tiles(LatLon {
            lat: origin.lat - dlat,
            lon: origin.lon + dlon,
        }),
        TILE_ZOOM,
    );
    let mut out = Vec::new();
    for x in x0.floor() as i64..=x1.floor() as i64 {
        for y in y0.floor() as i64..=y1.floor() as i64 {
            let nw = project(
                origin,
                from_tiles(tile_corner(x as f64, y as f64, TILE_ZOOM)),
            );
            let se = project(
                origin,
                from_tiles(tile_corner((x + 1) as f64, (y + 1) as f64, TILE_ZOOM)),
            );
            let url = tiles
                .url
                .replace("{z}", &TILE_ZOOM.to_string())
                .replace("{x}", &x.to_string())
                .replace("{y}", &y.to_string());
            out.push((url, nw.0, nw.1, se.0 - nw.0, se.1 - nw.1));
        }
    }
    out
}

/// Half the width of the map, in metres.
const RADIUS_M: f64 = 400.0;

/// Metres east and south of `origin` (an equirectangular projection: exact enough for 1 km).
fn project(origin: LatLon, p: LatLon) -> (f64, f64) {
    let x = (p.lon - origin.lon) * origin.lat.to_radians().cos() * 111_320.0;
    let y = (origin.lat - p.lat) * 110_574.0;
    (x, y)
}

fn near(x: f64, y: f64) -> bool {
    x.abs() <= RADIUS_M * 1.2 && y.abs() <= RADIUS_M * 1.2
}

/// The map of `case` with `nearby` open cases (and their distances), over `tiles` if
/// configured.
pub fn case_map(
    lang: Lang,
    case: &Case,
    nearby: &[(Case, f64)],
    r: &ReferenceData,
    tiles: Option<&MapTiles>,
) -> Markup {
    let origin = LatLon {
        lat: case.location.lat,
        lon: case.location.lon,
    };
    let ll = |lat: f64, lon: f64| project(origin, LatLon { lat, lon });
    let view = format!(
        "{} {} {} {}",
        -RADIUS_M,
        -RADIUS_M * 0.6,
        2.0 * RADIUS_M,
        1.2 * RADIUS_M
    );
    html! {
        figure.map {
            figcaption {
                (t(lang, "位置示意图（半径 400 米；红点为本案，蓝点为附近未结案件，方块为点位）",
                       "Map (400 m around; red: this case, blue: open cases nearby, squares: sites)"))
            }
            svg #case-map xmlns="http://www.w3.org/2000/svg" viewBox=(view) role="group" aria-label=(t(lang, "位置示意图", "map")) {
                rect x=(-RADIUS_M) y=(-RADIUS_M) width=(2.0 * RADIUS_M) height=(2.0 * RADIUS_M) fill="#f8faf5" {}
                @if let Some(tiles) = tiles {
                    g.tiles opacity="0.85" {
                        @for (url, x, y, w, h) in tiles_around(tiles, origin) {
                            image href=(url) x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{w:.1}")) height=(format!("{h:.1}")) preserveAspectRatio="none" {}
                        }
                    }
                }
                @for g in &r.grids {
                    @let pts: Vec<(f64, f64)> = g.polygon.iter().map(|p| ll(p.lat, p.lon)).collect();
                    @if pts.iter().any(|(x, y)| near(*x, *y)) || case.grid_id.as_deref() == Some(g.id.as_str()) {
                        @let mine = case.grid_id.as_deref() == Some(g.id.as_str());
                        polygon points=(pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" "))
                            fill=(if mine { "#fff3e0" } else { "#eef1f4" }) fill-opacity=(if tiles.is_some() { "0.25" } else { "1" }) stroke="#9aa5b1" stroke-width="2" stroke-dasharray="8 4" {
                            title { (g.name) }
                        }
                        @let (cx, cy) = centroid(&pts);
                        @if near(cx, cy) {
                            text x=(format!("{cx:.0}")) y=(format!("{cy:.0}")) font-size="18" fill="#7b8794" text-anchor="middle" { (g.name) }
                        }
                    }
                }
                @for s in &r.sites {
                    @let (x, y) = ll(s.lat, s.lon);
                    @if near(x, y) {
                        rect x=(format!("{:.1}", x - 7.0)) y=(format!("{:.1}", y - 7.0)) width="14" height="14" fill="#616e7c" {
                            title { (s.name) }
                        }
                        text x=(format!("{:.1}", x + 10.0)) y=(format!("{:.1}", y + 5.0)) font-size="14" fill="#3e4c59" { (s.name) }
                    }
                }
                @for (c, d) in nearby {
                    @let (x, y) = ll(c.location.lat, c.location.lon);
                    @if near(x, y) {
                        a href=(format!("/console/cases/{}", c.id)) {
                            circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="9" fill="#1e88e5" stroke="#fff" stroke-width="2" {
                                title { (c.description) " · " (format!("{d:.0}")) " m" }
                            }
                        }
                    }
                }
                circle cx="0" cy="0" r="13" fill="#b71c1c" stroke="#fff" stroke-width="3" {
                    title { (case.location.address) }
                }
                // Scale bar: 100 m.
                line x1=(-RADIUS_M + 20.0) y1=(RADIUS_M * 0.6 - 20.0) x2=(-RADIUS_M + 120.0) y2=(RADIUS_M * 0.6 - 20.0) stroke="#1f2933" stroke-width="4" {}
                text x=(-RADIUS_M + 20.0) y=(RADIUS_M * 0.6 - 30.0) font-size="16" fill="#1f2933" { "100 m" }
            }
        }
    }
}

fn centroid(pts: &[(f64, f64)]) -> (f64, f64) {
    let n = pts.len().max(1) as f64;
    (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    )
}
