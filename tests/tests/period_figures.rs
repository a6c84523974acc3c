//! The ranking, the site coverage and the daily charts read from the store's SQL
//! (`ServerStore::period_facts`) equal what `xuncha_core::kpi` computes from every case and its
//! whole timeline, on a campaign year of cases, for many periods — on SQLite, and on PostgreSQL
//! too when the test command started one (`XUNCHA_TEST_POSTGRES_URL`).

use xuncha_core::kpi::{
    self, DayFlow, Finder, UnitScore, Weights, coverage_of, daily_flow, daily_flow_facts,
    rank_facts, rank_units, site_coverage,
};
use xuncha_server::{AppState, Config};

const DAY: i64 = 86_400_000;

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

fn same_scores(sql: &[UnitScore], full: &[UnitScore], what: &str) {
    assert_eq!(sql.len(), full.len(), "{what}: units");
    for (a, b) in sql.iter().zip(full) {
        let ints = |s: &UnitScore| {
            (
                s.unit_id.clone(),
                s.due,
                s.closed,
                s.closed_on_time,
                s.parked,
                s.reworked,
                s.dispatched,
                s.extended,
                s.overdue,
            )
        };
        assert_eq!(ints(a), ints(b), "{what}");
        assert!(
            close(a.mean_hours_to_rectify, b.mean_hours_to_rectify),
            "{what}: {a:?} {b:?}"
        );
        assert!((a.deductions - b.deductions).abs() < 1e-9, "{what}");
        assert!((a.score - b.score).abs() < 1e-9, "{what}");
    }
}

fn check(state: &AppState, label: &str) {
    let now = state.now_ms();
    let (_, reference) = state.store.reference().expect("reference");
    let everything = state.store.cases_with_timelines().expect("every case");
    assert!(everything.len() > 1_000, "a year of cases");
    let mut units: Vec<String> = reference.units.iter().map(|u| u.id.clone()).collect();
    units.extend(everything.iter().filter_map(|(c, _)| c.unit_id.clone()));
    units.sort();
    units.dedup();
    let sites: Vec<String> = reference.sites.iter().map(|s| s.id.clone()).collect();
    // Who found each case, from the reporter's account (the SQL joins the same).
    let index = state.store.reference_index();
    let mut finders = std::collections::HashMap::new();
    for (c, _) in &everything {
        finders.entry(c.reporter_id.clone()).or_insert_with(|| {
            let user = state.store.user(&c.reporter_id).expect("user");
            let area = user.and_then(|u| u.user.area_id);
            Finder::of(&c.reporter_id, area.as_deref(), &index.areas)
        });
    }
    assert!(
        finders.values().any(|f| *f == Finder::District),
        "a district found some: {finders:?}"
    );
    let found_by = |c: &xuncha_core::model::Case| finders[&c.reporter_id];
    let mut periods: Vec<(i64, i64)> = (0..13)
        .map(|m| (now - (m + 1) * 30 * DAY, now - m * 30 * DAY))
        .collect();
    periods.push((now - 366 * DAY, now + DAY));
    periods.push((now - 7 * DAY, now));
    periods.push((now + 10 * DAY, now + 20 * DAY));
    for (from, to) in periods {
        let what = format!("{label} [{from}, {to})");
        let days = ((to - from) / DAY).clamp(0, 366) as usize;
        let chart_from = to - days as i64 * DAY;
        let facts = state
            .store
            .period_facts(from, to, chart_from, to)
            .expect("period facts");
        let mut sql_units: Vec<String> = reference.units.iter().map(|u| u.id.clone()).collect();
        sql_units.extend(facts.units.iter().cloned());
        sql_units.sort();
        sql_units.dedup();
        assert_eq!(sql_units, units, "{what}: every unit holding cases");
        let w = Weights::default();
        same_scores(
            &rank_facts(&sql_units, &facts.ranked, from, to, &w),
            &rank_units(&units, &everything, &found_by, from, to, &w),
            &what,
        );
        // Only the cases that count were read.
        let counting = everything
            .iter()
            .filter(|(c, t)| kpi::CaseFacts::of(c, t, found_by(c)).counts_in(from, to))
            .count();
        assert_eq!(facts.ranked.len(), counting, "{what}: cases read");
        let reported: Vec<&str> = facts.sites.iter().map(String::as_str).collect();
        assert_eq!(
            coverage_of(&sites, &reported),
            site_coverage(&sites, everything.iter().map(|(c, _)| c), from, to),
            "{what}: coverage"
        );
        let by_sql: Vec<DayFlow> = daily_flow_facts(&facts.days, chart_from, days, DAY, now);
        let by_timelines = daily_flow(&everything, chart_from, days, DAY, now);
        assert_eq!(by_sql, by_timelines, "{what}: daily charts");
    }
    // The figures are not all zero: the comparison compared something.
    let year = state
        .store
        .period_facts(now - 366 * DAY, now, now - 30 * DAY, now)
        .expect("year");
    let ranked = rank_facts(
        &units,
        &year.ranked,
        now - 366 * DAY,
        now,
        &Weights::default(),
    );
    assert!(
        ranked
            .iter()
            .any(|s| s.closed > 100 && s.reworked > 0 && s.deductions > 0.0)
    );
    let flow = daily_flow_facts(&year.days, now - 30 * DAY, 30, DAY, now);
    assert!(
        flow.iter().any(|d| d.overdue > 0) && flow.iter().any(|d| d.closed > 0),
        "{flow:?}"
    );
}

fn year_on(state: &AppState) {
    xuncha_server::demo::seed_demo(state).expect("demo city");
    xuncha_tests::city_year::build_year(state, 3_000, state.now_ms(), 5, &mut |_| {})
        .expect("a year of cases");
}

#[test]
fn the_period_figures_from_sql_equal_those_from_every_timeline() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let state = AppState::open(dir.path(), Config::default()).expect("sqlite server");
    year_on(&state);
    check(&state, "sqlite");

    let Ok(admin) = std::env::var("XUNCHA_TEST_POSTGRES_URL") else {
        eprintln!("PostgreSQL not started: the SQLite half ran");
        return;
    };
    let name = format!("period_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).expect("admin");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let config = Config {
        database: xuncha_server::state::Database::Postgres(format!("{base}/{name}")),
        ..Config::default()
    };
    let dir = tempfile::TempDir::new().expect("tmp");
    let state = AppState::open(dir.path(), config).expect("postgres server");
    year_on(&state);
    check(&state, "postgres");
}
