//! The photo folder stays bounded: uploads that stop expire, photos no operation names are
//! collected after their grace period (never one a case uses), a device's unnamed bytes have a
//! quota, and `xuncha-server usage` shows where the bytes are.

use serde_json::{Value, json};
use xuncha_core::store::photo_format::sample_jpeg;
use xuncha_core::store::sha256_hex;
use xuncha_server::housekeeping::{StorageLimits, Swept};

use crate::hardening::Raw;
use crate::helpers::{Device, TestServer, now_ms};
use crate::photo_checks::upload_status;

const DAY: i64 = 86_400_000;

/// One storage sweep, as the server's hourly task runs it, at `now_ms`.
fn sweep_once(state: &xuncha_server::AppState, now_ms: i64) -> Result<Swept, String> {
    xuncha_server::blobs::block_on(xuncha_server::housekeeping::sweep_once(state, now_ms))
        .map_err(|e| e.message_en)
}

fn announce(raw: &Raw, bytes: &[u8]) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/uploads", raw.url))
        .bearer_auth(&raw.token)
        .json(&json!({"sha256": sha256_hex(bytes), "size": bytes.len()}))
        .send()
        .expect("create");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn send(raw: &Raw, bytes: &[u8], from: usize) -> Value {
    reqwest::blocking::Client::new()
        .patch(format!("{}/v1/uploads/{}", raw.url, sha256_hex(bytes)))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&raw.token)
        .header("upload-offset", from.to_string())
        .body(bytes[from..].to_vec())
        .send()
        .expect("patch")
        .json()
        .expect("json")
}

#[test]
fn expired_uploads_and_unnamed_photos_are_swept_and_named_ones_kept() {
    let server = TestServer::start();
    let raw = Raw::login(&server, "inspector1", "sweep-phone");
    // An upload that stopped halfway.
    let stopped = sample_jpeg(31, 40_000);
    assert_eq!(announce(&raw, &stopped).0, 201);
    let half = reqwest::blocking::Client::new()
        .patch(format!("{}/v1/uploads/{}", raw.url, sha256_hex(&stopped)))
        .header("content-type", "application/offset+octet-stream")
        .bearer_auth(&raw.token)
        .header("upload-offset", "0")
        .body(stopped[..20_000].to_vec())
        .send()
        .expect("half");
    assert_eq!(half.status().as_u16(), 200);
    // A whole photo no operation names (its report was refused, or it was never sent).
    let stray = sample_jpeg(32, 30_000);
    assert_eq!(announce(&raw, &stray).0, 201);
    assert_eq!(send(&raw, &stray, 0)["complete"], true);
    // A photo a case uses.
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 33);
    phone.sync();
    let named = sha256_hex(&crate::helpers::photo_bytes(33));
    let partial_dir = server.state.blob_dir.join("partial");
    let partial_files = || {
        std::fs::read_dir(&partial_dir)
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(partial_files(), 1);

    // Within the grace periods nothing goes.
    assert_eq!(
        sweep_once(&server.state, now_ms() + DAY).expect("sweep"),
        Swept::default()
    );
    // After them: the stopped upload and the stray photo go; the case's photo stays.
    let swept = sweep_once(&server.state, now_ms() + 8 * DAY).expect("sweep");
    assert_eq!((swept.uploads, swept.photos), (1, 1));
    assert_eq!(swept.bytes, 20_000 + 30_000);
    assert_eq!(partial_files(), 0);
    let blob = |sha: &str| crate::helpers::blob_file(&server.state, sha);
    assert!(!blob(&sha256_hex(&stray)).exists());
    assert!(blob(&named).exists());
    assert_eq!(
        (upload_status(&raw, &stopped), upload_status(&raw, &stray)),
        (404, 404)
    );
    // A second sweep finds nothing more.
    assert_eq!(
        sweep_once(&server.state, now_ms() + 8 * DAY).expect("sweep"),
        Swept::default()
    );
}

#[test]
fn a_device_holds_only_its_quota_of_unnamed_bytes() {
    let server = TestServer::start_with(xuncha_server::Config {
        storage: StorageLimits {
            device_quota_bytes: 100_000,
            ..StorageLimits::default()
        },
        ..xuncha_server::Config::default()
    });
    let raw = Raw::login(&server, "inspector1", "quota-phone");
    let first = sample_jpeg(41, 60_000);
    assert_eq!(announce(&raw, &first).0, 201);
    assert_eq!(send(&raw, &first, 0)["complete"], true);
    let second = sample_jpeg(42, 60_000);
    let (s, b) = announce(&raw, &second);
    assert_eq!(
        (s, b["code"].as_str()),
        (507, Some("device_quota_exceeded")),
        "{b}"
    );
    // Another device is not held to this one's quota.
    let other = Raw::login(&server, "inspector2", "other-quota-phone");
    assert_eq!(announce(&other, &second).0, 201);
}

#[test]
fn usage_shows_where_the_bytes_are_from_the_command_line() {
    let dir = tempfile::TempDir::new().expect("tmp");
    {
        let state = xuncha_server::AppState::open(dir.path(), xuncha_server::Config::default())
            .expect("open");
        for seed in 0..3 {
            xuncha_server::blobs::block_on(xuncha_server::handlers::photos::store_whole(
                &state,
                "usage-phone",
                sample_jpeg(seed, 10_000),
            ))
            .expect("store");
        }
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args(["usage", "--data"])
        .arg(dir.path())
        .output()
        .expect("run xuncha-server usage");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("照片 photos               3 (0.0 MiB)"),
        "{text}"
    );
    assert!(text.contains("无操作引用 unnamed      3"), "{text}");
    assert!(text.contains("usage-phone"), "{text}");
}

#[test]
fn a_photo_collected_on_the_server_and_used_again_by_its_phone_is_sent_again() {
    let server = TestServer::start();
    let phone = Device::signed_in(&server, "inspector1", 0);
    phone.report("0101", 60);
    assert_eq!(phone.sync().photos_uploaded, 1);
    let sha = sha256_hex(&crate::helpers::photo_bytes(60));
    let blob = crate::helpers::blob_file(&server.state, &sha);
    // The case that used it goes (as when its report is refused), and the sweep collects it.
    crate::helpers::server_sql(
        &server,
        &format!("DELETE FROM case_photos WHERE sha256 = '{sha}'"),
    );
    assert_eq!(
        sweep_once(&server.state, now_ms() + 8 * DAY)
            .expect("sweep")
            .photos,
        1
    );
    assert!(!blob.exists());
    // The inspector reports again with the same picture: the phone sends it again.
    let second = phone.report("0102", 60);
    let r = phone.sync();
    assert_eq!((r.accepted, r.photos_uploaded), (1, 1));
    assert!(blob.exists());
    let sup = Raw::login(&server, "supervisor1", "sweep-desk");
    assert_eq!(
        crate::photo_checks::get_status(&sup, &format!("/v1/photos/{sha}")),
        200,
        "the second case ({second}) shows it"
    );
}
