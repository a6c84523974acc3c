//! `xuncha-server`: serve, run the demo city, and administer users, devices and reference data.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xuncha_core::reference::{ReferenceData, User};
use xuncha_core::workflow::Role;
use xuncha_server::{AppState, Config};

#[derive(Parser)]
#[command(name = "xuncha-server", version, about = "Xuncha 巡查 sync server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How a server runs, for `serve` and `demo` alike.
#[derive(clap::Args)]
struct ServeOptions {
    /// An online tile layer under the console's case map: a URL template with {z}, {x}, {y}
    /// (e.g. an intranet mirror of the city's base map). Off by default.
    #[arg(long)]
    map_tiles: Option<String>,
    /// The tiles are in WGS-84 (OpenStreetMap-style) rather than GCJ-02 (Amap, Tencent).
    #[arg(long)]
    map_tiles_wgs84: bool,
    /// Require `Authorization: Bearer TOKEN` on /metrics (also from XUNCHA_METRICS_TOKEN).
    #[arg(long, env = "XUNCHA_METRICS_TOKEN")]
    metrics_token: Option<String>,
}

impl ServeOptions {
    fn config(self) -> Config {
        Config {
            map_tiles: self.map_tiles.map(|url| xuncha_server::state::MapTiles {
                url,
                gcj02: !self.map_tiles_wgs84,
            }),
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()),
            ..Config::default()
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API with the SQLite database and photos under --data.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Data folder (database and photos).
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        #[command(flatten)]
        options: ServeOptions,
    },
    /// Seed the demo city on first run (users inspector1, inspector2, supervisor1, unit1, unit2,
    /// admin; password "demo"), then serve.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Data folder.
        #[arg(long, default_value = "xuncha-demo-data")]
        data: PathBuf,
        /// Seed the city without its week of sample cases (tests start from an empty city).
        #[arg(long)]
        empty: bool,
        #[command(flatten)]
        options: ServeOptions,
    },
    /// Create a user.
    CreateUser {
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        /// Login name.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// inspector | supervisor | unit_staff | admin.
        #[arg(long)]
        role: String,
        /// Unit (unit staff).
        #[arg(long)]
        unit: Option<String>,
        /// Initial password.
        #[arg(long)]
        password: String,
    },
    /// Disable a user (their tokens stop working at once).
    DisableUser {
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        #[arg(long)]
        id: String,
    },
    /// Set a new password (revokes the user's tokens).
    ResetPassword {
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        #[arg(long)]
        id: String,
        #[arg(long)]
        password: String,
    },
    /// Import reference data (categories, units, sites, grids, campaigns) from a JSON file.
    ImportReference {
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        /// The JSON file.
        file: PathBuf,
    },
    /// Revoke a device: its tokens stop working at once and it cannot sign in again.
    RevokeDevice {
        #[arg(long, default_value = "xuncha-data")]
        data: PathBuf,
        #[arg(long)]
        id: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xuncha-server: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn open(data: &std::path::Path) -> Result<AppState, String> {
    open_with(data, Config::default())
}

fn open_with(data: &std::path::Path, config: Config) -> Result<AppState, String> {
    AppState::open(data, config).map_err(|e| format!("{} ({})", e, e.code()))
}

fn api(e: xuncha_server::error::ApiError) -> String {
    format!("{} / {} ({})", e.message, e.message_en, e.code)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            addr,
            data,
            options,
        } => serve(addr, open_with(&data, options.config())?),
        Command::Demo {
            addr,
            data,
            empty,
            options,
        } => {
            let state = open_with(&data, options.config())?;
            if xuncha_server::seed_demo(&state).map_err(api)? {
                println!("演示城市已创建 / demo city seeded in {}", data.display());
                if !empty {
                    let n = xuncha_server::demo_cases::seed_cases(&state, state.now_ms())
                        .map_err(api)?;
                    println!("示例案件 / sample cases: {n}");
                }
            }
            println!(
                "用户 / users: inspector1 inspector2 supervisor1 unit1 unit2 admin — 密码 / password: demo"
            );
            serve(addr, state)
        }
        Command::CreateUser {
            data,
            id,
            name,
            role,
            unit,
            password,
        } => {
            let state = open(&data)?;
            let role = Role::parse_required(&role).map_err(|e| e.to_string())?;
            let user = User {
                id,
                name,
                role,
                unit_id: unit,
            };
            let hash = xuncha_server::auth::hash_password(&password).map_err(api)?;
            state
                .store
                .create_user(&user, &hash)
                .map_err(|e| e.to_string())?;
            println!("created user {}", user.id);
            Ok(())
        }
        Command::DisableUser { data, id } => {
            let found = open(&data)?
                .store
                .set_disabled(&id, true)
                .map_err(|e| e.to_string())?;
            if found {
                println!("disabled {id}");
                Ok(())
            } else {
                Err(format!("no user {id}"))
            }
        }
        Command::ResetPassword { data, id, password } => {
            let state = open(&data)?;
            let hash = xuncha_server::auth::hash_password(&password).map_err(api)?;
            let found = state
                .store
                .set_password(&id, &hash)
                .map_err(|e| e.to_string())?;
            if found {
                println!("password of {id} reset; their devices must sign in again");
                Ok(())
            } else {
                Err(format!("no user {id}"))
            }
        }
        Command::ImportReference { data, file } => {
            let state = open(&data)?;
            let json =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let reference = ReferenceData::from_json(&json).map_err(|e| e.to_string())?;
            let v = state
                .store
                .set_reference(&reference)
                .map_err(|e| e.to_string())?;
            println!("reference data imported as version {v}");
            Ok(())
        }
        Command::RevokeDevice { data, id } => {
            let found = open(&data)?
                .store
                .revoke_device(&id)
                .map_err(|e| e.to_string())?;
            if found {
                println!("revoked device {id}");
                Ok(())
            } else {
                Err(format!("no device {id}"))
            }
        }
    }
}

fn serve(addr: SocketAddr, state: AppState) -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("xuncha-server listening on http://{local}");
        xuncha_server::serve(listener, state, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
    })
}
