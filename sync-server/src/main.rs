//! `xuncha-server`: serve, run the demo city, and administer users, devices and reference data.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use xuncha_core::reference::{ReferenceData, User};
use xuncha_core::workflow::Role;
use xuncha_server::{AppState, Config};

#[derive(Parser)]
#[command(name = "xuncha-server", version, about = "Xuncha 巡查 sync server")]
struct Cli {
    /// What the log shows: a level (`info`, `debug`) or per-module directives
    /// (`info,xuncha_server::apply=debug`); RUST_LOG when unset.
    #[arg(long, global = true, env = "XUNCHA_LOG")]
    log: Option<String>,
    /// `text` (one line per event, colours only on a terminal) or `json` (one JSON object per
    /// line, for a log collector).
    #[arg(long, global = true, env = "XUNCHA_LOG_FORMAT", default_value = "text",
          value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

/// The log: to stderr (stdout is for what a command prints: a created user, a check), at the
/// level asked for, as text or JSON lines. Core's `log` records (the store, the sync client) come
/// through the same subscriber.
fn init_log(filter: Option<&str>, format: &str) {
    let filter = filter
        .map(str::to_string)
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        eprintln!("xuncha-server: log filter '{filter}' not understood ({e}); logging at info");
        tracing_subscriber::EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    if format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
}

/// Where a server's records and photos are, for every command alike.
#[derive(clap::Args)]
struct StorageOptions {
    /// A TOML file of settings: the keys are the long flags with `_` (database_url = "…");
    /// flags and XUNCHA_… variables win over it.
    #[arg(long, env = "XUNCHA_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder: the embedded SQLite database and the photos, unless --database-url and
    /// --photos put them elsewhere.
    #[arg(long, env = "XUNCHA_DATA")]
    data: Option<PathBuf>,
    /// Keep records in PostgreSQL (postgres://user:password@host:port/db; also DATABASE_URL)
    /// instead of the embedded SQLite file in --data: several instances may share it.
    #[arg(long, env = "XUNCHA_DATABASE_URL")]
    database_url: Option<String>,
    /// Where photo bytes are kept: a folder, or an S3-compatible bucket `s3://bucket/prefix`
    /// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Default: photos/ in --data.
    #[arg(long, env = "XUNCHA_PHOTOS")]
    photos: Option<String>,
    /// The S3 service's address, e.g. http://127.0.0.1:9000 (also AWS_ENDPOINT_URL).
    #[arg(long, env = "XUNCHA_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// The S3 region (also AWS_REGION; default us-east-1).
    #[arg(long, env = "XUNCHA_S3_REGION")]
    s3_region: Option<String>,
    /// Virtual-hosted-style S3 requests (bucket.endpoint), as Aliyun OSS wants; default path-style.
    #[arg(long, env = "XUNCHA_S3_VIRTUAL_HOSTED")]
    s3_virtual_hosted: bool,
}

impl StorageOptions {
    /// The data folder, or `default`.
    fn data(&self, default: &str) -> PathBuf {
        self.data.clone().unwrap_or_else(|| default.into())
    }

    /// Open the server's state with `config` and these places.
    fn open(self, default_data: &str, mut config: Config) -> Result<(AppState, PathBuf), String> {
        let data = self.data(default_data);
        config.database = match self
            .database_url
            .or_else(|| std::env::var("DATABASE_URL").ok())
            .filter(|u| !u.is_empty())
        {
            Some(url) => xuncha_server::state::Database::Postgres(url),
            None => xuncha_server::state::Database::DataFolder,
        };
        config.photos = match self.photos.as_deref().filter(|p| !p.is_empty()) {
            None => xuncha_server::blobs::PhotoLocation::DataFolder,
            Some(p) => xuncha_server::blobs::PhotoLocation::parse(
                p,
                xuncha_server::blobs::S3Settings {
                    endpoint: self.s3_endpoint,
                    region: self.s3_region,
                    virtual_hosted: self.s3_virtual_hosted,
                },
            ),
        };
        let state = AppState::open(&data, config).map_err(|e| format!("{} ({})", e, e.code()))?;
        Ok((state, data))
    }
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
    /// The server sits behind a reverse proxy that sets X-Forwarded-For: take the client's
    /// address from it (for sign-in throttling and logs).
    #[arg(long, env = "XUNCHA_TRUST_FORWARDED_FOR")]
    trust_forwarded_for: bool,
    /// Browsers reach this server over HTTPS (TLS at the reverse proxy): console cookies are
    /// marked Secure.
    #[arg(long, env = "XUNCHA_BEHIND_TLS")]
    behind_tls: bool,
    /// Seconds a client has to send a request's head (and that an idle keep-alive connection
    /// stays open).
    #[arg(long, env = "XUNCHA_HEADER_TIMEOUT_SECS", default_value_t = 20)]
    header_timeout_secs: u64,
    /// Seconds a connection may move no byte either way before it is closed.
    #[arg(long, env = "XUNCHA_IDLE_TIMEOUT_SECS", default_value_t = 120)]
    idle_timeout_secs: u64,
    /// Slowest average request body accepted, bytes per second (after 20 s of grace).
    #[arg(long, env = "XUNCHA_BODY_MIN_RATE", default_value_t = 256)]
    body_min_rate: u64,
    /// Seconds a request body has before its average rate counts.
    #[arg(long, env = "XUNCHA_BODY_GRACE_SECS", default_value_t = 20)]
    body_grace_secs: u64,
    /// Connections open at once (lowered to fit the open-file limit).
    #[arg(long, env = "XUNCHA_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Password checks at once (each takes ~19 MiB while it runs).
    #[arg(long, env = "XUNCHA_SIGNIN_HASHING", default_value_t = 2)]
    signin_hashing: usize,
    /// Minutes an account or address stays locked after too many failed sign-ins.
    #[arg(long, env = "XUNCHA_SIGNIN_LOCKOUT_MINS", default_value_t = 15)]
    signin_lockout_mins: u64,
    /// Minutes an operation's clock may run ahead of the server's before it is refused
    /// (clock_ahead; the phone re-stamps it).
    #[arg(long, env = "XUNCHA_MAX_CLOCK_SKEW_MINS", default_value_t = 10)]
    max_clock_skew_mins: i64,
    /// Days ahead a deadline may be set.
    #[arg(long, env = "XUNCHA_DEADLINE_HORIZON_DAYS", default_value_t = 366)]
    deadline_horizon_days: i64,
    /// Photos decoded into thumbnails at once (each may take up to 256 MiB while it runs).
    #[arg(long, env = "XUNCHA_THUMBNAIL_DECODES", default_value_t = 2)]
    thumbnail_decodes: usize,
    /// Threads for storage work (database, files). A few per core keep the disk and the CPU
    /// busy; many more only add memory and switching (at 1,000 phones, 16 instead of tokio's
    /// 512 took p99 from 2.2 s to 0.12 s and peak memory from 1.4 GB to 170 MB).
    #[arg(long, env = "XUNCHA_STORAGE_THREADS", default_value_t = 16)]
    storage_threads: usize,
    /// Hours after which a photo named by an operation, whose bytes have not come, is listed
    /// for supervisors.
    #[arg(long, env = "XUNCHA_PHOTO_ARRIVAL_GRACE_HOURS", default_value_t = 24)]
    photo_arrival_grace_hours: i64,
    /// Days an upload may receive no byte before it is dropped.
    #[arg(long, env = "XUNCHA_UPLOAD_EXPIRY_DAYS", default_value_t = 7)]
    upload_expiry_days: i64,
    /// Days after which a photo no operation names is deleted.
    #[arg(long, env = "XUNCHA_UNNAMED_PHOTO_DAYS", default_value_t = 7)]
    unnamed_photo_days: i64,
    /// MiB one device may hold in photos no operation names.
    #[arg(long, env = "XUNCHA_DEVICE_QUOTA_MIB", default_value_t = 512)]
    device_quota_mib: u64,
    /// A host (`host` or `host:port`) whose photos an Open311 citizen report may name by
    /// `media_url`; repeat it, or give several separated by commas. None by default.
    #[arg(
        long = "open311-media-host",
        env = "XUNCHA_OPEN311_MEDIA_HOSTS",
        value_delimiter = ','
    )]
    open311_media_hosts: Vec<String>,
    /// Citizen reports one Open311 API key may post per hour (a tenth of them at once); past
    /// it the client gets 429 with Retry-After. Counted by each instance.
    #[arg(
        long = "open311-reports-per-hour",
        env = "XUNCHA_OPEN311_REPORTS_PER_HOUR",
        default_value_t = 600
    )]
    open311_reports_per_hour: u32,
    /// The city's notice channels (webhook, 企业微信, 钉钉, SMS gateway): a TOML file of
    /// `[[channel]]` tables, described in sync-server/src/notices/channels.rs. Without it,
    /// notices stay in the app and the console.
    #[arg(long, env = "XUNCHA_NOTIFY_CHANNELS")]
    notify_channels: Option<PathBuf>,
    /// The console's address as people reach it, for the links in outgoing notices (default:
    /// http:// and the listening address).
    #[arg(long, env = "XUNCHA_PUBLIC_URL")]
    public_url: Option<String>,
    /// Milliseconds one notice delivery may take before it counts as failed.
    #[arg(long, env = "XUNCHA_NOTIFY_TIMEOUT_MS", default_value_t = 10_000)]
    notify_timeout_ms: u64,
    /// Milliseconds before a failed notice delivery is tried again (doubling each time, up to
    /// an hour; after 12 attempts it is a dead letter).
    #[arg(long, env = "XUNCHA_NOTIFY_FIRST_RETRY_MS", default_value_t = 5_000)]
    notify_first_retry_ms: u64,
}

impl ServeOptions {
    fn config(self, addr: &str) -> Result<Config, String> {
        let channels = match &self.notify_channels {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("{}: cannot read the channels file: {e}", path.display())
                })?;
                xuncha_server::notices::channels::parse_channels(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
        };
        let public_url = match self.public_url.filter(|u| !u.trim().is_empty()) {
            Some(u) => match reqwest::Url::parse(u.trim()) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {
                    u.trim().trim_end_matches('/').to_string()
                }
                _ => {
                    return Err(format!(
                        "--public-url '{u}' is not an http or https address"
                    ));
                }
            },
            None => format!("http://{addr}"),
        };
        Ok(Config {
            notify: xuncha_server::notices::channels::NotifyConfig {
                channels,
                public_url,
                send_timeout: std::time::Duration::from_millis(
                    self.notify_timeout_ms.clamp(100, 120_000),
                ),
                first_retry_ms: self.notify_first_retry_ms.clamp(10, 3_600_000) as i64,
            },
            map_tiles: self.map_tiles.map(|url| xuncha_server::state::MapTiles {
                url,
                gcj02: !self.map_tiles_wgs84,
            }),
            metrics_token: self.metrics_token.filter(|t| !t.is_empty()),
            trust_forwarded_for: self.trust_forwarded_for,
            behind_tls: self.behind_tls,
            connections: xuncha_server::connections::ConnectionLimits {
                header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
                idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
                body_min_rate: self.body_min_rate,
                body_grace: Duration::from_secs(self.body_grace_secs),
                max_connections: self.max_connections.max(1),
            },
            signin: xuncha_server::signin_guard::SignInLimits {
                hashing_at_once: self.signin_hashing.max(1),
                lockout: Duration::from_secs(self.signin_lockout_mins.max(1) * 60),
                ..Default::default()
            },
            push_rules: xuncha_server::apply::PushRules {
                max_clock_skew_ms: self.max_clock_skew_mins.max(1) * 60_000,
                deadline_horizon_ms: self.deadline_horizon_days.clamp(1, 3_660) * 86_400_000,
            },
            thumbnail_decodes: self.thumbnail_decodes.max(1),
            storage_threads: self.storage_threads.max(2),
            photo_arrival_grace_ms: self.photo_arrival_grace_hours.clamp(0, 24 * 365) * 3_600_000,
            storage: xuncha_server::housekeeping::StorageLimits {
                upload_expiry_ms: self.upload_expiry_days.clamp(1, 365) * 86_400_000,
                unreferenced_grace_ms: self.unnamed_photo_days.clamp(1, 365) * 86_400_000,
                device_quota_bytes: self.device_quota_mib.clamp(1, 1 << 20) * 1_048_576,
            },
            open311_media_hosts: self
                .open311_media_hosts
                .into_iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            open311_reports_per_hour: self.open311_reports_per_hour,
            ..Config::default()
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API (records and photos in --data, or in PostgreSQL and a bucket).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "XUNCHA_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        storage: StorageOptions,
        #[command(flatten)]
        options: ServeOptions,
    },
    /// Seed the demo city on first run (users inspector1, inspector2, supervisor1, unit1, unit2,
    /// admin; password "demo"), then serve.
    #[cfg(feature = "demo")]
    Demo {
        /// Address to listen on.
        #[arg(long, env = "XUNCHA_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        #[command(flatten)]
        storage: StorageOptions,
        /// Seed the city without its week of sample cases (tests start from an empty city).
        #[arg(long)]
        empty: bool,
        #[command(flatten)]
        options: ServeOptions,
    },
    /// Create a user.
    CreateUser {
        #[command(flatten)]
        storage: StorageOptions,
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
        /// Area a supervisor or an admin is scoped to (an id from the reference data's areas):
        /// they see and act on that area's subtree only. Without it, the whole city.
        #[arg(long)]
        area: Option<String>,
        /// Initial password.
        #[arg(long)]
        password: String,
    },
    /// Issue an Open311 client its API key for posting citizen reports (市民随手拍), printed
    /// once; or, with --revoke, revoke it. Without --name, list the clients.
    Open311Key {
        #[command(flatten)]
        storage: StorageOptions,
        /// The client's name (a 12345 hotline, a WeChat mini program…).
        #[arg(long)]
        name: Option<String>,
        /// Revoke the client's key instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Disable a user (their tokens stop working at once).
    DisableUser {
        #[command(flatten)]
        storage: StorageOptions,
        #[arg(long)]
        id: String,
    },
    /// Set a new password (revokes the user's tokens).
    ResetPassword {
        #[command(flatten)]
        storage: StorageOptions,
        #[arg(long)]
        id: String,
        #[arg(long)]
        password: String,
    },
    /// Import reference data (categories, units, sites, grids, campaigns) from a JSON file.
    ImportReference {
        #[command(flatten)]
        storage: StorageOptions,
        /// The JSON file.
        file: PathBuf,
    },
    /// Write the 测评 standard as the Excel template an office fills in: the city's current
    /// indicators (or three examples), one per row, and a sheet explaining each column.
    StandardTemplate {
        #[command(flatten)]
        storage: StorageOptions,
        /// The .xlsx file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the city's 测评 standard from a filled-in template (.xlsx) or a JSON list of
    /// indicators; checked like any reference data (codes, site types, numbers, categories),
    /// and nothing changes if a row is wrong (the error names it).
    ImportStandard {
        #[command(flatten)]
        storage: StorageOptions,
        /// The .xlsx or .json file.
        file: PathBuf,
    },
    /// Where the bytes are: database, photos (and those no operation names), uploads in
    /// progress, thumbnails, photos still to come, and the devices holding the most unnamed bytes.
    Usage {
        #[command(flatten)]
        storage: StorageOptions,
    },
    /// Move a SQLite server's records to PostgreSQL and its photos to a bucket or folder:
    /// resumable (run it again after a cut), every photo checked against its hash, every table's
    /// rows counted on both sides; feed sequences kept, so phones sync on with their cursors.
    Migrate {
        /// The SQLite server's data folder.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database to fill (empty, or a copy this command began).
        #[arg(long)]
        to: String,
        /// Where the photos go: s3://bucket/prefix or a folder (default: they stay in FROM/photos).
        #[arg(long)]
        photos: Option<String>,
        /// The S3 service's address (also AWS_ENDPOINT_URL).
        #[arg(long, env = "XUNCHA_S3_ENDPOINT")]
        s3_endpoint: Option<String>,
        /// The S3 region (also AWS_REGION).
        #[arg(long, env = "XUNCHA_S3_REGION")]
        s3_region: Option<String>,
        /// Virtual-hosted-style S3 requests.
        #[arg(long, env = "XUNCHA_S3_VIRTUAL_HOSTED")]
        s3_virtual_hosted: bool,
    },
    /// Revoke a device: its tokens stop working at once and it cannot sign in again.
    RevokeDevice {
        #[command(flatten)]
        storage: StorageOptions,
        #[arg(long)]
        id: String,
    },
}

fn main() -> ExitCode {
    let args = match xuncha_server::config_file::expand(
        std::env::args_os().collect(),
        &<Cli as clap::CommandFactory>::command(),
    ) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("xuncha-server: {msg}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
    init_log(cli.log.as_deref(), &cli.log_format);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xuncha-server: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The data folder of commands other than `demo`.
const DATA: &str = "xuncha-data";

fn open(storage: StorageOptions) -> Result<AppState, String> {
    Ok(storage.open(DATA, Config::default())?.0)
}

fn api(e: xuncha_server::error::ApiError) -> String {
    format!("{} / {} ({})", e.message, e.message_en, e.code)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            addr,
            storage,
            options,
        } => serve(
            addr,
            storage.open(DATA, options.config(&addr.to_string())?)?.0,
        ),
        #[cfg(feature = "demo")]
        Command::Demo {
            addr,
            storage,
            empty,
            options,
        } => {
            let (state, data) =
                storage.open("xuncha-demo-data", options.config(&addr.to_string())?)?;
            if xuncha_server::demo::seed_demo(&state).map_err(api)? {
                let records = match &state.config.database {
                    xuncha_server::state::Database::Postgres(_) => "PostgreSQL".to_string(),
                    xuncha_server::state::Database::DataFolder => data.display().to_string(),
                };
                println!(
                    "演示城市已创建 / demo city seeded in {records} (photos: {})",
                    state.blobs.describe
                );
                if !empty {
                    let n = xuncha_server::demo::cases::seed_cases(&state, state.now_ms())
                        .map_err(api)?;
                    println!("示例案件 / sample cases: {n}");
                    let r = xuncha_server::demo::rounds::seed_rounds(&state, state.now_ms())
                        .map_err(api)?;
                    println!("巡查轮次 / inspection rounds: {r}");
                }
            }
            println!(
                "用户 / users: inspector1 inspector2 supervisor1 supervisor2(西湖区) unit1 unit2 admin — 密码 / password: demo"
            );
            serve(addr, state)
        }
        Command::CreateUser {
            storage,
            id,
            name,
            role,
            unit,
            area,
            password,
        } => {
            if id == xuncha_core::scope::CITIZEN_REPORTER {
                return Err(format!(
                    "the user id '{id}' is the citizen reporter of Open311 reports: choose another"
                ));
            }
            if id == xuncha_core::escalation::SYSTEM_ACTOR {
                return Err(format!(
                    "the user id '{id}' is the server's own (automatic escalation): choose another"
                ));
            }
            let state = open(storage)?;
            let role = Role::parse_required(&role).map_err(|e| e.to_string())?;
            if let Some(a) = &area {
                if !matches!(role, Role::Supervisor | Role::Admin) {
                    return Err("--area scopes a supervisor or an admin".into());
                }
                if state.store.reference_index().areas.get(a).is_none() {
                    return Err(format!(
                        "no area '{a}' in the reference data: import the areas first"
                    ));
                }
            }
            let user = User {
                id,
                name,
                role,
                unit_id: unit,
                area_id: area,
            };
            let hash = xuncha_server::auth::hash_password(&password).map_err(api)?;
            state
                .store
                .create_user(&user, &hash)
                .map_err(|e| e.to_string())?;
            println!("created user {}", user.id);
            Ok(())
        }
        Command::Open311Key {
            storage,
            name,
            revoke,
        } => {
            let state = open(storage)?;
            match (name, revoke) {
                (None, _) => {
                    let clients = state.store.open311_clients().map_err(|e| e.to_string())?;
                    for (name, created_ms, revoked) in clients {
                        let state = if revoked { "revoked" } else { "active" };
                        println!("{name}\t{state}\tissued {created_ms}");
                    }
                    Ok(())
                }
                (Some(name), true) => {
                    if state
                        .store
                        .revoke_open311_key(&name)
                        .map_err(|e| e.to_string())?
                    {
                        println!("revoked the key of {name}");
                        Ok(())
                    } else {
                        Err(format!("no Open311 client {name}"))
                    }
                }
                (Some(name), false) => {
                    let key = xuncha_server::open311::clients::issue_key(&state, &name)
                        .map_err(|e| e.to_string())?;
                    // The key alone on stdout, for a script; the note on stderr.
                    println!("{key}");
                    eprintln!("the API key of Open311 client {name} (shown this once)");
                    Ok(())
                }
            }
        }
        Command::DisableUser { storage, id } => {
            let found = open(storage)?
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
        Command::ResetPassword {
            storage,
            id,
            password,
        } => {
            let state = open(storage)?;
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
        Command::ImportReference { storage, file } => {
            let state = open(storage)?;
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
        Command::StandardTemplate { storage, out } => {
            let state = open(storage)?;
            let (_, data) = state.store.reference().map_err(|e| e.to_string())?;
            let bytes = xuncha_server::standard_sheet::template(&data.standard)
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            println!(
                "测评标准模板 / standard template: {} ({} indicators)",
                out.display(),
                data.standard.len()
            );
            Ok(())
        }
        Command::ImportStandard { storage, file } => {
            let state = open(storage)?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let standard = xuncha_server::standard_sheet::parse(&bytes)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let done = xuncha_server::standard_sheet::import(
                state.store.as_ref(),
                standard,
                xuncha_core::Lang::ZhCn,
            )?;
            println!(
                "测评标准已导入 / standard imported: {} indicators (was {}), reference data version {}",
                done.after, done.before, done.version
            );
            Ok(())
        }
        Command::Usage { storage } => {
            let (state, _) = storage.open(DATA, Config::default())?;
            let report =
                xuncha_server::housekeeping::usage_report(&state).map_err(|e| e.to_string())?;
            print!("{report}");
            Ok(())
        }
        Command::Migrate {
            from,
            to,
            photos,
            s3_endpoint,
            s3_region,
            s3_virtual_hosted,
        } => {
            let target = match photos.as_deref() {
                None => xuncha_server::blobs::Blobs::local(&from.join("photos")),
                Some(p) => match xuncha_server::blobs::PhotoLocation::parse(
                    p,
                    xuncha_server::blobs::S3Settings {
                        endpoint: s3_endpoint,
                        region: s3_region,
                        virtual_hosted: s3_virtual_hosted,
                    },
                ) {
                    xuncha_server::blobs::PhotoLocation::S3 { url, settings } => {
                        xuncha_server::blobs::Blobs::s3(&url, &settings)
                    }
                    xuncha_server::blobs::PhotoLocation::Folder(dir) => {
                        xuncha_server::blobs::Blobs::local(&dir)
                    }
                    xuncha_server::blobs::PhotoLocation::DataFolder => {
                        xuncha_server::blobs::Blobs::local(&from.join("photos"))
                    }
                },
            }
            .map_err(|e| e.to_string())?;
            let done = xuncha_server::migrate::migrate(&from, &to, &target, &mut |line| {
                eprintln!("  {line}")
            })?;
            for (table, rows) in &done.tables {
                println!("{table:<16} {rows}");
            }
            println!(
                "photos           {} copied, {} already there ({})",
                done.photos_copied, done.photos_present, target.describe
            );
            println!("迁移完成 / migrated: every table's rows and every photo checked");
            Ok(())
        }
        Command::RevokeDevice { storage, id } => {
            let found = open(storage)?
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(state.config.storage_threads)
        .build()
        .map_err(|e| e.to_string())?;
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
