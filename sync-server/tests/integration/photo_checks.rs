//! Photos an attacker (or a broken camera app) sends, over real HTTP against a real server:
//! bytes that only start like a JPEG, a huge PNG cut short, a whole PNG claiming a billion
//! pixels are refused when the upload completes, with their own codes, and nothing is kept; a
//! whole photo that still cannot be decoded costs one decode, however often it is viewed.

use serde_json::{Value, json};
use xuncha_core::Location;
use xuncha_core::store::{NewReport, PhotoInput, sha256_hex};

use crate::hardening::Raw;
use crate::helpers::{Device, TestServer, metric};

/// Announce and send `bytes` in one go; the final answer's status and body.
fn upload(raw: &Raw, bytes: &[u8]) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let sha = sha256_hex(bytes);
    let resp = client
        .post(format!("{}/v1/uploads", raw.url))
        .bearer_auth(&raw.token)
        .json(&json!({"sha256": sha, "size": bytes.len()}))
        .send()
        .expect("create");
    assert_eq!(resp.status().as_u16(), 201);
    let resp = client
        .patch(format!("{}/v1/uploads/{sha}", raw.url))
        .bearer_auth(&raw.token)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes.to_vec())
        .send()
        .expect("append");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

/// The status of an upload by hash (404 once a refused upload is forgotten).
fn upload_status(raw: &Raw, bytes: &[u8]) -> u16 {
    reqwest::blocking::Client::new()
        .get(format!("{}/v1/uploads/{}", raw.url, sha256_hex(bytes)))
        .bearer_auth(&raw.token)
        .send()
        .expect("status")
        .status()
        .as_u16()
}

/// A PNG with valid chunk CRCs claiming `w` x `h` pixels, whose image data is `idat`.
fn png(w: u32, h: u32, idat: &[u8], with_end: bool) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", idat);
    if with_end {
        chunk(&mut out, b"IEND", &[]);
    }
    out
}

#[test]
fn photos_that_do_not_parse_are_refused_at_upload_and_nothing_is_kept() {
    let server = TestServer::start();
    let raw = Raw::login(&server, "inspector1", "photo-checks-1");
    let stored_before = server.state.store.stats().expect("stats").photos;

    // Only the first bytes of a JPEG (the old check passed it).
    let mut forged = vec![0xFF, 0xD8, 0xFF, 0xE0];
    forged.extend((0..20_000u32).map(|i| (i * 7 % 251) as u8));
    forged.extend_from_slice(&[0xFF, 0xD9]);
    let (s, b) = upload(&raw, &forged);
    assert_eq!((s, b["code"].as_str()), (415, Some("photo_damaged")), "{b}");
    assert!(b["message"].as_str().expect("zh").contains("损坏"));

    // The attack of issue 11: a 16383 x 5800 PNG whose data stops halfway, no IEND.
    let idat: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let truncated = png(16_383, 5_800, &idat, false);
    let (s, b) = upload(&raw, &truncated);
    assert_eq!((s, b["code"].as_str()), (415, Some("photo_damaged")), "{b}");

    // Whole, but 268 megapixels: more than any phone makes.
    let huge = png(16_383, 16_383, &[0x78, 0x9C, 0x03, 0x00], true);
    let (s, b) = upload(&raw, &huge);
    assert_eq!(
        (s, b["code"].as_str()),
        (413, Some("photo_too_many_pixels")),
        "{b}"
    );

    // Refused uploads are forgotten: nothing stored, nothing to resume.
    for bytes in [&forged, &truncated, &huge] {
        assert_eq!(upload_status(&raw, bytes), 404);
    }
    assert_eq!(
        server.state.store.stats().expect("stats").photos,
        stored_before
    );

    // A real photo of every accepted type still goes through.
    for fixture in [
        &include_bytes!("../../../core/tests/fixtures/images/street.jpg")[..],
        include_bytes!("../../../core/tests/fixtures/images/street.png"),
        include_bytes!("../../../core/tests/fixtures/images/street.webp"),
        include_bytes!("../../../core/tests/fixtures/images/street.heic"),
    ] {
        let (s, b) = upload(&raw, fixture);
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["complete"], true);
    }
}

#[test]
fn the_phone_refuses_a_damaged_photo_when_it_is_attached() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    let mut cut = xuncha_core::store::photo_format::sample_jpeg(3, 50_000);
    cut.truncate(30_000);
    let err = phone
        .store
        .report(NewReport {
            category: "0101".into(),
            description: "照片只拍了一半".into(),
            location: Location {
                lat: 30.2552,
                lon: 120.1552,
                accuracy_m: Some(5.0),
                address: String::new(),
            },
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![PhotoInput::bytes(cut)],
        })
        .expect_err("a cut photo is refused on the phone");
    assert_eq!(err.code(), "photo_damaged");
    assert_eq!(phone.store.outbox().expect("outbox").len(), 0);
}

#[test]
fn a_photo_that_cannot_be_decoded_is_decoded_once_and_shown_as_a_placeholder() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    // Whole and within the limits, but its image data is not a zlib stream: only decoding
    // finds out, and decoding it would want 4000 x 3000 pixels.
    let garbage: Vec<u8> = (0..5_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let undecodable = png(4_000, 3_000, &garbage, true);
    phone
        .store
        .report(NewReport {
            category: "0101".into(),
            description: "相机应用写坏的照片".into(),
            location: Location {
                lat: 30.2552,
                lon: 120.1552,
                accuracy_m: Some(5.0),
                address: String::new(),
            },
            site_id: None,
            campaign_id: None,
            undercover: false,
            photos: vec![PhotoInput::bytes(undecodable.clone())],
        })
        .expect("the structure holds, so the phone keeps it");
    phone.sync();
    let token = phone
        .store
        .sync_state()
        .expect("state")
        .token
        .expect("token");
    let url = format!(
        "{}/v1/photos/{}/thumb",
        server.url,
        sha256_hex(&undecodable)
    );
    let failed = r#"xuncha_thumbnail_decodes_total{outcome="failed"}"#;
    assert_eq!(metric(&server, failed), 0);
    for _ in 0..5 {
        let resp = reqwest::blocking::Client::new()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .expect("thumb");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()["xuncha-thumbnail-placeholder"],
            "undecodable"
        );
        assert!(resp.text().expect("svg").contains("无法预览"));
    }
    assert_eq!(metric(&server, failed), 1, "decoded once, then remembered");
}
