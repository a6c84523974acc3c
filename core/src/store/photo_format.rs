//! What bytes count as a photo: the type by signature ([`sniff_image_type`]) and, before a photo
//! is kept (on the phone when it is attached, on the server when an upload completes), a walk
//! of the file's structure ([`inspect`]): JPEG segments up to the end-of-image marker, PNG
//! chunks with their CRCs up to `IEND`, the WebP RIFF container and its chunks, the HEIF boxes.
//! A truncated or forged file is refused then, with a reason, instead of failing later as a
//! broken thumbnail; the dimensions are read from the headers (no pixel is decoded) and checked
//! against [`crate::limits::MAX_PHOTO_SIDE`] and [`crate::limits::MAX_PHOTO_PIXELS`].
//! Sans I/O; never allocates more than a few bytes, whatever the input.

use crate::limits::{MAX_PHOTO_PIXELS, MAX_PHOTO_SIDE};

/// JPEG.
pub const JPEG: &str = "image/jpeg";
/// PNG.
pub const PNG: &str = "image/png";
/// WebP.
pub const WEBP: &str = "image/webp";
/// HEIC / HEIF (iPhones and many Android cameras).
pub const HEIC: &str = "image/heic";

/// The image type of `bytes` by its signature, or `None` if it is not one we accept. Only the
/// first bytes are read: see [`inspect`] for the whole file.
pub fn sniff_image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() >= 4 && bytes[..3] == [0xFF, 0xD8, 0xFF] {
        return Some(JPEG);
    }
    if bytes.starts_with(PNG_SIGNATURE) {
        return Some(PNG);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(WEBP);
    }
    // ISO-BMFF: size(4) "ftyp" major-brand(4); HEIF/HEIC brands.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        const BRANDS: [&[u8; 4]; 8] = [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ];
        if BRANDS.iter().any(|b| &bytes[8..12] == *b) {
            return Some(HEIC);
        }
    }
    None
}

/// A photo whose structure holds: its type and size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// Media type ([`JPEG`], [`PNG`], [`WEBP`] or [`HEIC`]).
    pub mime: &'static str,
    /// Width in pixels (≥ 1).
    pub width: u32,
    /// Height in pixels (≥ 1).
    pub height: u32,
}

/// Why bytes are not kept as a photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    /// Not a JPEG, PNG, WebP or HEIC file at all.
    NotAnImage,
    /// The type is right but the file is cut short or malformed (what was wrong, in English).
    Damaged(&'static str),
    /// More pixels than a phone camera makes.
    TooManyPixels {
        /// Width the file claims.
        width: u32,
        /// Height the file claims.
        height: u32,
    },
}

/// Check that `bytes` are a whole JPEG, PNG, WebP or HEIC image of a size a phone makes.
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, ImageProblem> {
    let mime = sniff_image_type(bytes).ok_or(ImageProblem::NotAnImage)?;
    let (width, height) = match mime {
        JPEG => jpeg_size(bytes),
        PNG => png_size(bytes),
        WEBP => webp_size(bytes),
        _ => heif_size(bytes),
    }
    .map_err(ImageProblem::Damaged)?;
    if width == 0 || height == 0 {
        return Err(ImageProblem::Damaged("zero width or height"));
    }
    if width > MAX_PHOTO_SIDE
        || height > MAX_PHOTO_SIDE
        || u64::from(width) * u64::from(height) > MAX_PHOTO_PIXELS
    {
        return Err(ImageProblem::TooManyPixels { width, height });
    }
    Ok(ImageInfo {
        mime,
        width,
        height,
    })
}

/// A real 64x48 JPEG (a street corner), the photo of tests, demos and benchmarks.
const STREET_JPEG: &[u8] = include_bytes!("../../tests/fixtures/images/street.jpg");

/// A real, whole JPEG of exactly `len` bytes (or, below ~1.2 KB, the smallest it can be),
/// different for every `seed`: the street picture with comment segments of seeded filler after
/// its start marker. Every decoder reads it; tests, the demo city and benchmarks use it where a
/// phone would send a photo.
pub fn sample_jpeg(seed: u64, len: usize) -> Vec<u8> {
    const MAX_SEGMENT: usize = 65_533;
    // Bytes of comment segments (4 bytes of marker and length, then the filler).
    let mut extra = len.saturating_sub(STREET_JPEG.len()).max(12);
    let mut out = Vec::with_capacity(STREET_JPEG.len() + extra);
    out.extend_from_slice(&STREET_JPEG[..2]);
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while extra >= 5 {
        let mut n = (extra - 4).min(MAX_SEGMENT);
        // Never leave a remainder too small for one more segment.
        if (1..5).contains(&(extra - 4 - n)) {
            n -= 5;
        }
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((n + 2) as u16).to_be_bytes());
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(x as u8);
        }
        extra -= n + 4;
    }
    out.extend_from_slice(&STREET_JPEG[2..]);
    out
}

type Size = Result<(u32, u32), &'static str>;

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// JPEG: segments from SOI; the size from the first frame header (SOF); entropy-coded data
/// after each SOS skipped to the next marker; done at the first EOI (bytes after it, such as
/// the extra pictures some phones append, are not read).
fn jpeg_size(b: &[u8]) -> Size {
    const CUT: &str = "JPEG ends before its end-of-image marker";
    let mut at = 2; // after SOI
    let mut size = None;
    loop {
        // A marker: 0xFF, any fill 0xFF bytes, then the marker code.
        if b.get(at) != Some(&0xFF) {
            return Err(if at >= b.len() {
                CUT
            } else {
                "JPEG segment does not start with a marker"
            });
        }
        while b.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *b.get(at).ok_or(CUT)?;
        at += 1;
        match marker {
            0xD9 => return size.ok_or("JPEG has no frame header"),
            0xD8 | 0x00 => return Err("JPEG has a misplaced marker"),
            0x01 | 0xD0..=0xD7 => continue, // no length
            _ => {}
        }
        let len = be16(b, at).ok_or(CUT)? as usize;
        if len < 2 {
            return Err("JPEG segment length is too small");
        }
        let end = at.checked_add(len).filter(|&e| e <= b.len()).ok_or(CUT)?;
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame && size.is_none() {
            // precision(1) height(2) width(2)
            let h = be16(b, at + 3).filter(|_| len >= 7).ok_or(CUT)?;
            let w = be16(b, at + 5).ok_or(CUT)?;
            size = Some((w, h));
        }
        at = end;
        if marker == 0xDA {
            if size.is_none() {
                return Err("JPEG scan comes before its frame header");
            }
            // Entropy-coded data: runs to the next marker that is not a stuffed 0xFF00 or a
            // restart marker.
            loop {
                let ff = b[at..].iter().position(|&x| x == 0xFF).ok_or(CUT)?;
                at += ff;
                match b.get(at + 1) {
                    None => return Err(CUT),
                    Some(0x00 | 0xD0..=0xD7) => at += 2,
                    Some(0xFF) => at += 1,
                    Some(_) => break,
                }
            }
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// PNG: every chunk's length and CRC, `IHDR` first (13 bytes), at least one `IDAT`, `IEND`
/// last.
fn png_size(b: &[u8]) -> Size {
    const CUT: &str = "PNG ends before its IEND chunk";
    let mut at = PNG_SIGNATURE.len();
    let mut size = None;
    let mut has_data = false;
    loop {
        let len = be32(b, at).ok_or(CUT)?;
        if len > 0x7FFF_FFFF {
            return Err("PNG chunk length is too large");
        }
        let len = len as usize;
        let kind = b.get(at + 4..at + 8).ok_or(CUT)?;
        let data_end = (at + 8).checked_add(len).ok_or(CUT)?;
        let crc = be32(b, data_end).ok_or(CUT)?;
        if crc32fast::hash(&b[at + 4..data_end]) != crc {
            return Err("PNG chunk CRC does not match");
        }
        let data = &b[at + 8..data_end];
        match (kind, size) {
            (b"IHDR", None) if len == 13 => {
                size = Some((be32(data, 0).ok_or(CUT)?, be32(data, 4).ok_or(CUT)?));
            }
            (_, None) => return Err("PNG does not start with its IHDR chunk"),
            (b"IHDR", Some(_)) => return Err("PNG has a second IHDR chunk"),
            (b"IDAT", Some(_)) => has_data = true,
            (b"IEND", Some(s)) => {
                return if has_data {
                    Ok(s)
                } else {
                    Err("PNG has no image data")
                };
            }
            _ => {}
        }
        at = data_end + 4;
    }
}

/// WebP: the RIFF size fits the file, the chunks fit the RIFF, and the first chunk is a
/// `VP8 ` (lossy), `VP8L` (lossless) or `VP8X` (extended) header with the size in it.
fn webp_size(b: &[u8]) -> Size {
    const CUT: &str = "WebP ends before the size its RIFF header gives";
    let riff = le32(b, 4).ok_or(CUT)? as usize;
    let end = riff.checked_add(8).filter(|&e| e <= b.len()).ok_or(CUT)?;
    let mut at = 12;
    let mut size = None;
    while at < end {
        let kind = b.get(at..at + 4).filter(|_| at + 8 <= end).ok_or(CUT)?;
        let len = le32(b, at + 4).ok_or(CUT)? as usize;
        let data_end = (at + 8).checked_add(len).filter(|&e| e <= end).ok_or(CUT)?;
        let data = &b[at + 8..data_end];
        if size.is_none() {
            size = Some(match kind {
                b"VP8 " => {
                    if data.get(3..6) != Some(&[0x9D, 0x01, 0x2A][..]) {
                        return Err("WebP lossy frame has no start code");
                    }
                    // Width and height follow the start code; a chunk may end before them.
                    let wh = data.get(6..10).ok_or(CUT)?;
                    (
                        u32::from(u16::from_le_bytes([wh[0], wh[1]])) & 0x3FFF,
                        u32::from(u16::from_le_bytes([wh[2], wh[3]])) & 0x3FFF,
                    )
                }
                b"VP8L" => {
                    if data.first() != Some(&0x2F) {
                        return Err("WebP lossless frame has no signature");
                    }
                    let bits = le32(data, 1).ok_or(CUT)?;
                    ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
                }
                b"VP8X" => (le24(data, 4).ok_or(CUT)? + 1, le24(data, 7).ok_or(CUT)? + 1),
                _ => return Err("WebP does not start with an image header"),
            });
        }
        // Chunks are padded to an even length.
        at = data_end + (len & 1);
    }
    size.ok_or("WebP holds no image")
}

/// HEIF/HEIC: the top-level boxes tile the file exactly, `ftyp` first, a `meta` box and a media
/// data box; the size is the largest image spatial extent (`ispe`) among the item properties
/// (the whole picture, not one of its tiles; before any crop, so never less than what shows).
fn heif_size(b: &[u8]) -> Size {
    let top = boxes(b, 0, b.len())?;
    if top.first().map(|x| &x.kind) != Some(b"ftyp") {
        return Err("HEIF does not start with its ftyp box");
    }
    let meta = top
        .iter()
        .find(|x| &x.kind == b"meta")
        .ok_or("HEIF has no meta box")?;
    if !top.iter().any(|x| &x.kind == b"mdat" || &x.kind == b"idat") {
        return Err("HEIF has no media data");
    }
    // meta is a full box (4 bytes of version and flags before its children).
    let meta_children = boxes(b, meta.body + 4, meta.end)?;
    let iprp = find(&meta_children, b"iprp").ok_or("HEIF has no item properties")?;
    let ipco_in = boxes(b, iprp.body, iprp.end)?;
    let ipco = find(&ipco_in, b"ipco").ok_or("HEIF has no item properties")?;
    let mut best: Option<(u32, u32)> = None;
    for p in boxes(b, ipco.body, ipco.end)? {
        if &p.kind == b"ispe" {
            // full box header, then width and height.
            let w = be32(b, p.body + 4).filter(|_| p.body + 12 <= p.end);
            let h = be32(b, p.body + 8);
            let (Some(w), Some(h)) = (w, h) else {
                return Err("HEIF image size property is cut short");
            };
            if best
                .is_none_or(|(bw, bh)| u64::from(w) * u64::from(h) > u64::from(bw) * u64::from(bh))
            {
                best = Some((w, h));
            }
        }
    }
    best.ok_or("HEIF has no image size property")
}

/// One ISO-BMFF box: its four-character type, where its body starts and where it ends.
struct BmffBox {
    kind: [u8; 4],
    body: usize,
    end: usize,
}

/// At most this many boxes are read at one level: no real photo comes near it, and it keeps a
/// forged file from making the walk long.
const MAX_BOXES: usize = 4_096;

/// The boxes that exactly tile `b[from..to]`.
fn boxes(b: &[u8], from: usize, to: usize) -> Result<Vec<BmffBox>, &'static str> {
    const CUT: &str = "HEIF box runs past its container";
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        if out.len() == MAX_BOXES {
            return Err("HEIF has too many boxes");
        }
        let size32 = be32(b, at).filter(|_| at + 8 <= to).ok_or(CUT)?;
        let kind: [u8; 4] = b[at + 4..at + 8].try_into().map_err(|_| CUT)?;
        let (body, end) = match size32 {
            0 => (at + 8, to),
            1 => {
                let large = b
                    .get(at + 8..at + 16)
                    .filter(|_| at + 16 <= to)
                    .ok_or(CUT)?;
                let large = u64::from_be_bytes(large.try_into().map_err(|_| CUT)?);
                let end = usize::try_from(large)
                    .ok()
                    .and_then(|l| at.checked_add(l))
                    .filter(|&e| e >= at + 16)
                    .ok_or(CUT)?;
                (at + 16, end)
            }
            s if s < 8 => return Err("HEIF box size is too small"),
            s => (at + 8, at + s as usize),
        };
        if end > to {
            return Err(CUT);
        }
        out.push(BmffBox { kind, body, end });
        at = end;
    }
    Ok(out)
}

fn find<'a>(list: &'a [BmffBox], kind: &[u8; 4]) -> Option<&'a BmffBox> {
    list.iter().find(|x| &x.kind == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREET_JPG: &[u8] = STREET_JPEG;
    const STREET_PROGRESSIVE: &[u8] =
        include_bytes!("../../tests/fixtures/images/street-progressive.jpg");
    const STREET_PNG: &[u8] = include_bytes!("../../tests/fixtures/images/street.png");
    const STREET_WEBP: &[u8] = include_bytes!("../../tests/fixtures/images/street.webp");
    const STREET_WEBP_LOSSLESS: &[u8] =
        include_bytes!("../../tests/fixtures/images/street-lossless.webp");
    const STREET_WEBP_ALPHA: &[u8] =
        include_bytes!("../../tests/fixtures/images/street-alpha.webp");
    const STREET_HEIC: &[u8] = include_bytes!("../../tests/fixtures/images/street.heic");

    fn all() -> [(&'static [u8], &'static str); 7] {
        [
            (STREET_JPG, JPEG),
            (STREET_PROGRESSIVE, JPEG),
            (STREET_PNG, PNG),
            (STREET_WEBP, WEBP),
            (STREET_WEBP_LOSSLESS, WEBP),
            (STREET_WEBP_ALPHA, WEBP),
            (STREET_HEIC, HEIC),
        ]
    }

    #[test]
    fn sniffs_accepted_types_and_refuses_others() {
        assert_eq!(sniff_image_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some(JPEG));
        assert_eq!(sniff_image_type(b"\x89PNG\r\n\x1a\n...."), Some(PNG));
        assert_eq!(sniff_image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some(WEBP));
        assert_eq!(sniff_image_type(b"\0\0\0\x18ftypheic\0\0"), Some(HEIC));
        assert_eq!(sniff_image_type(b"\0\0\0\x18ftypmp42\0\0"), None);
        assert_eq!(sniff_image_type(b"hello, I am a JPEG"), None);
        assert_eq!(sniff_image_type(b""), None);
    }

    #[test]
    fn real_photos_of_every_type_pass_with_their_size() {
        for (bytes, mime) in all() {
            // HEVC codes whole blocks: the HEIC's coded extent is 64x64, cropped to 64x48 on
            // display; the limit is checked on the larger one.
            let height = if mime == HEIC { 64 } else { 48 };
            assert_eq!(
                inspect(bytes),
                Ok(ImageInfo {
                    mime,
                    width: 64,
                    height
                }),
                "{mime}"
            );
        }
    }

    #[test]
    fn every_cut_of_every_type_is_refused() {
        for (bytes, mime) in all() {
            for len in 0..bytes.len() {
                let r = inspect(&bytes[..len]);
                assert!(r.is_err(), "{mime} cut at {len} of {} passed", bytes.len());
            }
        }
    }

    /// Found by `cargo fuzz` (upload_bytes): a lossy WebP chunk that ends right after its start
    /// code, inside a RIFF that holds more, once made the size check read past the chunk.
    #[test]
    fn a_webp_frame_that_ends_at_its_start_code_is_refused() {
        let mut b = b"RIFF\0\0\0\0WEBPVP8 \x06\0\0\0\xd0\x04\x00\x9d\x01\x2a".to_vec();
        b.extend([0u8; 64]);
        let riff = (b.len() - 8) as u32;
        b[4..8].copy_from_slice(&riff.to_le_bytes());
        assert!(inspect(&b).is_err());
    }

    #[test]
    fn sample_jpegs_are_whole_distinct_and_exactly_their_size() {
        let edge = STREET_JPEG.len() + 65_533 + 4 + 2;
        for (seed, len) in [(1, 0), (2, 4_096), (3, 300_000), (4, edge)] {
            let b = sample_jpeg(seed, len);
            assert!(inspect(&b).is_ok(), "{len}");
            assert_eq!(b.len(), len.max(STREET_JPEG.len() + 12), "{len}");
        }
        assert_ne!(sample_jpeg(1, 4_096), sample_jpeg(2, 4_096));
    }

    #[test]
    fn a_flipped_byte_in_a_png_is_caught_by_its_crc() {
        let mut b = STREET_PNG.to_vec();
        let mid = b.len() / 2;
        b[mid] ^= 0x40;
        assert_eq!(
            inspect(&b),
            Err(ImageProblem::Damaged("PNG chunk CRC does not match"))
        );
    }

    #[test]
    fn signature_alone_is_not_a_jpeg() {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
        b.extend_from_slice(&[0x5A; 300]);
        b.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(inspect(&b), Err(ImageProblem::Damaged(_))));
        assert_eq!(inspect(b"hello"), Err(ImageProblem::NotAnImage));
    }

    #[test]
    fn bytes_after_the_end_of_a_jpeg_are_allowed() {
        let mut b = STREET_JPG.to_vec();
        b.extend_from_slice(b"MPF second picture follows");
        assert!(inspect(&b).is_ok());
    }

    /// A PNG with valid chunks claiming `w` x `h` pixels.
    fn png_claiming(w: u32, h: u32, with_end: bool) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let crc = crc32fast::hash(&out[start..]);
            out.extend_from_slice(&crc.to_be_bytes());
        }
        let mut out = PNG_SIGNATURE.to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&w.to_be_bytes());
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00]);
        if with_end {
            chunk(&mut out, b"IEND", &[]);
        }
        out
    }

    #[test]
    fn pixel_limits_hold_whatever_the_header_claims() {
        assert!(inspect(&png_claiming(4000, 3000, true)).is_ok());
        assert_eq!(
            inspect(&png_claiming(16_383, 16_383, true)),
            Err(ImageProblem::TooManyPixels {
                width: 16_383,
                height: 16_383
            })
        );
        assert!(matches!(
            inspect(&png_claiming(MAX_PHOTO_SIDE + 1, 10, true)),
            Err(ImageProblem::TooManyPixels { .. })
        ));
        assert!(matches!(
            inspect(&png_claiming(0, 10, true)),
            Err(ImageProblem::Damaged(_))
        ));
        // The attack of issue 11: a huge PNG without its end.
        assert_eq!(
            inspect(&png_claiming(16_383, 5_800, false)),
            Err(ImageProblem::Damaged("PNG ends before its IEND chunk"))
        );
    }

    #[test]
    fn a_heif_box_running_past_the_file_is_refused() {
        let mut b = STREET_HEIC.to_vec();
        // The meta box (second top-level box) claims one byte more than the file holds.
        let meta_at = be32(&b, 0).expect("ftyp size") as usize;
        let meta_len = be32(&b, meta_at).expect("meta size");
        b[meta_at..meta_at + 4].copy_from_slice(&(meta_len + 10_000).to_be_bytes());
        assert!(matches!(inspect(&b), Err(ImageProblem::Damaged(_))));
    }
}
