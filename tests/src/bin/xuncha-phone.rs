//! One simulated phone, driven step by step from a script (the console's browser test): a real
//! client store (SQLite file under `--dir`) signed in to a running server as a demo user. Each
//! call opens the store, signs in on first use, does one thing and syncs.
//!
//! xuncha-phone --server URL --dir DIR --user inspector1 report --description "…" [--site s1]
//! xuncha-phone --server URL --dir DIR --user unit1 cases          # after a sync: id status unit
//! xuncha-phone --server URL --dir DIR --user unit1 acknowledge --case ID
//! xuncha-phone --server URL --dir DIR --user unit1 rectify --case ID --note "…"
//! xuncha-phone --server URL --dir DIR --user x photo --out after.jpg   # a JPEG for an upload
//! xuncha-phone --server URL --dir DIR --user inspector1 tasks     # id state kind place
//! xuncha-phone --server URL --dir DIR --user inspector1 check --pick 0 --seed 3
//!
//! Photos are real JPEGs (a drawn street scene, with a rubbish pile before and without after).

use std::sync::atomic::AtomicBool;

use clap::{Parser, Subcommand};
use uuid::Uuid;
use xuncha_core::model::Location;
use xuncha_core::store::{CaseQuery, NewReport, PhotoInput};
use xuncha_core::sync::client::SyncOptions;
use xuncha_core::{OpBody, Store};
use xuncha_server::demo::scene::scene_jpeg;

#[derive(Parser)]
#[command(about = "One simulated Xuncha phone, a step at a time")]
struct Args {
    /// Server base URL.
    #[arg(long)]
    server: String,
    /// Folder holding this phone's store.
    #[arg(long)]
    dir: std::path::PathBuf,
    /// Demo user (password "demo").
    #[arg(long)]
    user: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report a case with a before-photo at a demo site, then sync; prints the case id.
    Report {
        #[arg(long)]
        description: String,
        #[arg(long, default_value = "0101")]
        category: String,
        /// The demo site to report at (its owner is the suggested unit).
        #[arg(long, default_value = "s1")]
        site: String,
    },
    /// Sync and print the cases this phone holds: `id status unit`.
    Cases,
    /// Write a real after-photo JPEG to a file (for a browser upload); no sync.
    Photo {
        #[arg(long)]
        out: std::path::PathBuf,
        /// A photo of a rubbish pile shaped by this seed (bytes no other photo has), instead of
        /// the clean street.
        #[arg(long)]
        seed: Option<u32>,
    },
    /// Acknowledge a dispatched case, then sync.
    Acknowledge {
        #[arg(long)]
        case: Uuid,
    },
    /// Rectify with an after-photo, then sync.
    Rectify {
        #[arg(long)]
        case: Uuid,
        #[arg(long, default_value = "已清理完毕")]
        note: String,
    },
    /// Sync and print this person's round tasks, open first: `task state round-kind place`.
    Tasks,
    /// Fill an open task (the `pick`th) offline — a site's checklist with seeded findings and a
    /// photo for each deduction, or a re-check — then sync; prints the task id.
    Check {
        #[arg(long, default_value_t = 0)]
        pick: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn sync(store: &Store) -> xuncha_core::Result<()> {
    let report = store.sync(
        &SyncOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    if !store.rejections()?.is_empty() {
        eprintln!("refused: {:?}", store.rejections()?);
    }
    eprintln!("synced: {report:?}");
    Ok(())
}

fn run(args: &Args) -> xuncha_core::Result<()> {
    if let Command::Photo { out, seed } = &args.command {
        std::fs::write(out, scene_jpeg(seed.is_some(), seed.unwrap_or(11)))?;
        return Ok(());
    }
    let store = Store::open(args.dir.join(&args.user))?;
    if store.session().is_none() {
        store.sign_in_remote(
            &args.server,
            &args.user,
            "demo",
            &format!("phone-{}", args.user),
        )?;
    }
    sync(&store)?;
    match &args.command {
        Command::Report {
            description,
            category,
            site,
        } => {
            let sites = store.sites_near(30.26, 120.17, 20_000.0, 1_000)?;
            let s = sites.iter().map(|n| &n.site).find(|s| &s.id == site);
            let (lat, lon, name) = s.map(|s| (s.lat, s.lon, s.name.clone())).unwrap_or((
                30.251,
                120.152,
                site.clone(),
            ));
            let seed = Uuid::now_v7().as_u128() as u32;
            let op = store.report(NewReport {
                category: category.clone(),
                description: description.clone(),
                location: Location {
                    lat: lat + 0.0002,
                    lon: lon + 0.0002,
                    accuracy_m: Some(8.0),
                    address: format!("演示市{name}门前"),
                },
                site_id: Some(site.clone()),
                campaign_id: None,
                undercover: false,
                photos: vec![PhotoInput::bytes(scene_jpeg(true, seed))],
            })?;
            sync(&store)?;
            println!("{}", op.case_id);
        }
        Command::Cases => {
            for item in store.list_cases(&CaseQuery::default())?.items {
                let c = item.case;
                println!(
                    "{} {} {}",
                    c.id,
                    c.status.as_str(),
                    c.unit_id.unwrap_or_default()
                );
            }
        }
        Command::Photo { .. } => {}
        Command::Tasks => {
            for t in store.tasks(None)? {
                println!(
                    "{} {} {} {}",
                    t.task.id,
                    t.state.as_str(),
                    t.round.kind.as_str(),
                    t.place.map(|p| p.name).unwrap_or_default()
                );
            }
        }
        Command::Check { pick, seed } => {
            let mut rng = xuncha_tests::Rng::new(*seed);
            let op = xuncha_tests::rounds::fill_open_task(&store, *pick, &mut rng).ok_or(
                xuncha_core::Error::NotFound {
                    kind: "task",
                    id: "an open task".into(),
                },
            )?;
            sync(&store)?;
            println!("{}", op.case_id);
        }
        Command::Acknowledge { case } => {
            store.act(
                *case,
                OpBody::Acknowledge {
                    note: String::new(),
                },
                vec![],
            )?;
            sync(&store)?;
        }
        Command::Rectify { case, note } => {
            store.act(
                *case,
                OpBody::Rectify {
                    note: note.clone(),
                    photos: vec![],
                },
                vec![PhotoInput::bytes(scene_jpeg(false, 7))],
            )?;
            sync(&store)?;
        }
    }
    if !store.rejections()?.is_empty() {
        return Err(xuncha_core::Error::InvalidField {
            field: "rejections",
            reason: "the server refused an operation of this phone".into(),
        });
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("xuncha-phone: {e} ({})", e.code());
        std::process::exit(2);
    }
}
