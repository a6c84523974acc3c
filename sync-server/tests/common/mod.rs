//! The real `xuncha-server` binary for the tests that knock at it from outside (`abuse.rs`,
//! `server_log.rs`): `demo --empty` on a free port in a folder of its own, its log (stderr) in a
//! file, killed when dropped. Each test binary uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub url: String,
    pub port: u16,
    /// The server's log (its stderr).
    pub log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start it with `extra` flags and `RUST_LOG=rust_log`; wait until `/healthz` answers.
    pub fn start(extra: &[&str], rust_log: &str) -> Server {
        let dir = tempfile::TempDir::new().expect("tmp");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let log = dir.path().join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
            .args([
                "demo",
                "--empty",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data",
            ])
            .arg(dir.path().join("data"))
            .args(extra)
            .env("RUST_LOG", rust_log)
            .env_remove("XUNCHA_LOG")
            .env_remove("XUNCHA_LOG_FORMAT")
            // The log goes to stderr.
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn server");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if reqwest::blocking::get(format!("{url}/healthz"))
                .is_ok_and(|r| r.status().is_success())
            {
                return Server {
                    child,
                    url,
                    port,
                    log,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("server did not start");
    }
}
