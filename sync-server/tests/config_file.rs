//! `xuncha-server … --config xuncha.toml`, as a deployment runs it: the real binary, its settings
//! from a file (a flag or an `XUNCHA_…` variable wins over the file), a wrong key or value an
//! error at start naming it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn healthz(port: u16) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn a_server_runs_from_its_settings_file_and_flags_win_over_it() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let (file_port, flag_port) = (free_port(), free_port());
    let settings = dir.path().join("xuncha.toml");
    std::fs::write(
        &settings,
        format!(
            "# a city's settings\naddr = \"127.0.0.1:{file_port}\"\ndata = \"{}\"\n\
             max_clock_skew_mins = 5\nbehind_tls = true\nthumbnail_decodes = 1\n",
            dir.path().join("data").display()
        ),
    )
    .expect("write settings");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args(["serve", "--config"])
        .arg(&settings)
        .args(["--addr", &format!("127.0.0.1:{flag_port}")])
        .env_remove("XUNCHA_ADDR")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start xuncha-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut answer = None;
    while Instant::now() < deadline && answer.is_none() {
        answer = healthz(flag_port);
        std::thread::sleep(Duration::from_millis(100));
    }
    let on_file_port = healthz(file_port);
    let data_made = dir.path().join("data").join("xuncha-server.db").exists();
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.expect("the server answers on the port the flag gave");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    assert!(on_file_port.is_none(), "the flag wins over the file's addr");
    assert!(data_made, "the file's data folder is used");
}

#[test]
fn a_wrong_setting_is_an_error_at_start_that_names_it() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let run = |toml: &str| {
        let settings = dir.path().join("bad.toml");
        std::fs::write(&settings, toml).expect("write");
        let out = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
            .args(["serve", "--config"])
            .arg(&settings)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{toml} was accepted");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = run("max_conections = 10\n");
    assert!(err.contains("unknown setting 'max_conections'"), "{err}");
    let err = run("max_connections = \"lots\"\n");
    assert!(err.contains("--max-connections"), "{err}");
    let err = run("photos = [1, 2]\n");
    assert!(err.contains("'photos'"), "{err}");
    let err = run("this is not toml");
    assert!(err.contains("not a TOML file"), "{err}");
}

#[test]
fn admin_commands_read_the_same_file() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let settings = dir.path().join("xuncha.toml");
    std::fs::write(
        &settings,
        format!(
            "data = \"{}\"\nmax_clock_skew_mins = 5\n",
            dir.path().join("city").display()
        ),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_xuncha-server"))
        .args([
            "create-user",
            "--id",
            "zhang3",
            "--name",
            "张三",
            "--role",
            "inspector",
            "--password",
            "s3cret-pass",
            "--config",
        ])
        .arg(&settings)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("city").join("xuncha-server.db").exists());
}
