//! The case page's map: a plain SVG of the grids, sites and nearby cases around a case, drawn
//! on the server from the reference data. No tiles, no script, nothing from the internet, so it
//! works on a closed government intranet.

use maud::{Markup, html};
use xuncha_core::geo::LatLon;
use xuncha_core::model::Case;
use xuncha_core::reference::ReferenceData;

use super::pages::{Lang, t};

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

/// The map of `case` with `nearby` open cases (and their distances).
pub fn case_map(lang: Lang, case: &Case, nearby: &[(Case, f64)], r: &ReferenceData) -> Markup {
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
            svg #case-map xmlns="http://www.w3.org/2000/svg" viewBox=(view) role="img" aria-label=(t(lang, "位置示意图", "map")) {
                rect x=(-RADIUS_M) y=(-RADIUS_M) width=(2.0 * RADIUS_M) height=(2.0 * RADIUS_M) fill="#f8faf5" {}
                @for g in &r.grids {
                    @let pts: Vec<(f64, f64)> = g.polygon.iter().map(|p| ll(p.lat, p.lon)).collect();
                    @if pts.iter().any(|(x, y)| near(*x, *y)) || case.grid_id.as_deref() == Some(g.id.as_str()) {
                        @let mine = case.grid_id.as_deref() == Some(g.id.as_str());
                        polygon points=(pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" "))
                            fill=(if mine { "#fff3e0" } else { "#eef1f4" }) stroke="#9aa5b1" stroke-width="2" stroke-dasharray="8 4" {
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
