//! The demo's photos: street scenes drawn in memory and encoded as JPEG (a rubbish pile on the
//! before-photos, swept paving on the after-photos), so the demo city's cases and the load tools
//! carry real, decodable photos.

use image::{Rgb, RgbImage};

/// A 640×480 street scene as JPEG: a building, a kerb and paving; with a rubbish pile when
/// `dirty` (its shape varies with `seed`).
pub fn scene_jpeg(dirty: bool, seed: u32) -> Vec<u8> {
    let mut img = RgbImage::from_fn(640, 480, |x, y| {
        if y < 200 {
            Rgb([150, 190, 225])
        } else if y < 230 {
            Rgb([120, 120, 120])
        } else {
            let shade = 170 + ((x / 40 + y / 40) % 2) as u8 * 12;
            Rgb([shade, shade - 8, shade - 20])
        }
    });
    for x in 40..260 {
        for y in 60..200 {
            img.put_pixel(x, y, Rgb([205, 120, 90]));
        }
    }
    if dirty {
        let mut s = seed.wrapping_mul(2_654_435_761).max(1);
        for _ in 0..30 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let (cx, cy, r) = (260 + s % 160, 330 + (s >> 8) % 80, 18 + (s >> 16) % 30);
            let colour =
                [Rgb([96, 72, 40]), Rgb([60, 60, 60]), Rgb([30, 110, 60])][(s % 3) as usize];
            for x in cx.saturating_sub(r)..(cx + r).min(640) {
                for y in cy.saturating_sub(r)..(cy + r).min(480) {
                    let (dx, dy) = (x as i64 - cx as i64, y as i64 - cy as i64);
                    if dx * dx + dy * dy <= (r * r) as i64 {
                        img.put_pixel(x, y, colour);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    // Encoding an in-memory RGB buffer cannot fail short of running out of memory.
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img);
    out
}

/// A drawn street scene (with its rubbish when `dirty`) stored like an upload, named as a
/// photo of `kind` taken at `at` at `loc`.
pub fn stored_scene(
    state: &crate::state::AppState,
    dirty: bool,
    seed: u32,
    kind: xuncha_core::model::PhotoKind,
    at: i64,
    loc: &xuncha_core::model::Location,
) -> Result<xuncha_core::model::PhotoRef, crate::error::ApiError> {
    let bytes = scene_jpeg(dirty, seed);
    let (sha256, mime) = crate::blobs::block_on(crate::handlers::photos::store_whole(
        state,
        "demo-seed",
        bytes.clone(),
    ))?;
    Ok(xuncha_core::model::PhotoRef {
        sha256,
        kind,
        mime: mime.to_string(),
        size: bytes.len() as u64,
        captured_at_ms: Some(at),
        location: Some(loc.clone()),
    })
}
