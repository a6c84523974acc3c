//! Photos in an S3-compatible bucket, against a real S3 server (`tests/run-all.sh` starts
//! `s3s-fs` and sets `XUNCHA_TEST_S3_ENDPOINT` with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`;
//! without them these tests say they are skipped and pass): uploads in pieces, a cut resumed,
//! downloads, thumbnails and the sweep all go through the bucket.

use xuncha_core::store::photo_format::sample_jpeg;
use xuncha_core::store::sha256_hex;
use xuncha_server::blobs::{PhotoLocation, S3Settings};

use crate::hardening::Raw;
use crate::helpers::{Device, TestServer};

/// The bucket the test script made.
const BUCKET: &str = "xuncha-test";

fn endpoint() -> Option<String> {
    match std::env::var("XUNCHA_TEST_S3_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            eprintln!("skipped: XUNCHA_TEST_S3_ENDPOINT is not set (tests/run-all.sh sets it)");
            None
        }
    }
}

/// A server whose photos live under their own prefix of the test bucket.
fn server_on_s3(endpoint: &str) -> TestServer {
    TestServer::start_with(xuncha_server::Config {
        photos: PhotoLocation::S3 {
            url: format!("s3://{BUCKET}/run-{}", uuid::Uuid::new_v4()),
            settings: S3Settings {
                endpoint: Some(endpoint.to_string()),
                ..S3Settings::default()
            },
        },
        ..xuncha_server::Config::default()
    })
}

#[test]
fn photos_go_up_in_pieces_resume_and_come_down_through_the_bucket() {
    let Some(endpoint) = endpoint() else { return };
    let server = server_on_s3(&endpoint);
    // A phone's report: its photo goes up in pieces to the bucket.
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 81);
    let r = phone.sync();
    assert_eq!((r.accepted, r.photos_uploaded), (1, 1));
    let photo = crate::helpers::photo_bytes(81);
    let sha = sha256_hex(&photo);
    assert!(
        !crate::helpers::blob_file(&server.state, &sha).exists(),
        "not on the local disk"
    );
    let sup = Raw::login(&server, "supervisor1", "s3-desk");
    let client = reqwest::blocking::Client::new();
    let got = client
        .get(format!("{}/v1/photos/{sha}", sup.url))
        .bearer_auth(&sup.token)
        .send()
        .expect("download");
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().expect("bytes").to_vec(), photo);
    let thumb = client
        .get(format!("{}/v1/photos/{sha}/thumb", sup.url))
        .bearer_auth(&sup.token)
        .send()
        .expect("thumb");
    assert_eq!(thumb.headers()["content-type"], "image/jpeg");

    // A 3 MB photo cut after its first 1.5 MB resumes where it stopped.
    let big = sample_jpeg(82, 3_000_000);
    let big_sha = sha256_hex(&big);
    let create = client
        .post(format!("{}/v1/uploads", sup.url))
        .bearer_auth(&sup.token)
        .json(&serde_json::json!({"sha256": big_sha, "size": big.len()}))
        .send()
        .expect("create");
    assert_eq!(create.status().as_u16(), 201);
    let first = client
        .patch(format!("{}/v1/uploads/{big_sha}", sup.url))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&sup.token)
        .header("upload-offset", "0")
        .body(big[..1_500_000].to_vec())
        .send()
        .expect("first half");
    assert_eq!(first.status().as_u16(), 200);
    let status: serde_json::Value = client
        .get(format!("{}/v1/uploads/{big_sha}", sup.url))
        .bearer_auth(&sup.token)
        .send()
        .expect("status")
        .json()
        .expect("json");
    assert_eq!(status["offset"], 1_500_000);
    let rest: serde_json::Value = client
        .patch(format!("{}/v1/uploads/{big_sha}", sup.url))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&sup.token)
        .header("upload-offset", "1500000")
        .body(big[1_500_000..].to_vec())
        .send()
        .expect("rest")
        .json()
        .expect("json");
    assert_eq!(rest["complete"], true, "{rest}");

    // The sweep finds the unnamed big photo in the bucket and deletes it.
    let swept = xuncha_server::blobs::block_on(xuncha_server::housekeeping::sweep_once(
        &server.state,
        crate::helpers::now_ms() + 8 * 86_400_000,
    ))
    .expect("sweep");
    assert_eq!((swept.photos, swept.bytes), (1, big.len() as u64));
}
