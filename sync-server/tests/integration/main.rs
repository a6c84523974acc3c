//! Integration tests of the sync server: a real server on port 0 (real HTTP, real SQLite file)
//! and real device stores, each in its own temporary folder.

mod access_matrix;
mod areas;
mod boards;
mod console;
mod console_forms;
mod console_kit;
mod console_more;
mod demo_cases;
mod escalation;
mod feed_order;
mod group_commit;
mod hardening;
mod helpers;
mod http_api;
mod migrate;
mod notices;
mod open311;
mod photo_checks;
mod postgres_only;
mod rounds;
mod s3_photos;
mod start_errors;
mod storage;
mod store_format;
mod sync_flow;
