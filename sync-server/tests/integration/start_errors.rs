//! A setting that cannot work stops the server at start with an error naming it, instead of a
//! 500 on the first phone: an unreachable bucket, an unreachable database.

use xuncha_server::blobs::{PhotoLocation, S3Settings};

#[test]
fn an_unreachable_bucket_is_a_clear_error_at_start() {
    let dir = tempfile::TempDir::new().expect("tmp");
    // Nothing listens on port 9 (discard) of loopback.
    let err = xuncha_server::AppState::open(
        dir.path(),
        xuncha_server::Config {
            photos: PhotoLocation::S3 {
                url: "s3://xuncha-test/x".to_string(),
                settings: S3Settings {
                    endpoint: Some("http://127.0.0.1:9".into()),
                    ..S3Settings::default()
                },
            },
            ..xuncha_server::Config::default()
        },
    )
    .err()
    .expect("refused");
    assert_eq!(err.code(), "invalid_field");
    let text = err.to_string();
    assert!(
        text.contains("photos") && text.contains("127.0.0.1:9"),
        "{text}"
    );
}

#[test]
fn an_unreachable_database_is_a_clear_error_at_start() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let err = xuncha_server::AppState::open(
        dir.path(),
        xuncha_server::Config {
            database: xuncha_server::state::Database::Postgres(
                "postgres://xuncha@127.0.0.1:9/xuncha".into(),
            ),
            ..xuncha_server::Config::default()
        },
    )
    .err()
    .expect("refused");
    assert_eq!(err.code(), "invalid_field");
    let text = err.to_string();
    assert!(text.contains("database_url"), "{text}");
}
