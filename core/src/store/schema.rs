//! Schema migrations, kept as numbered SQL files and applied by `PRAGMA user_version`.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/01_initial.sql"),
    include_str!("../../migrations/02_sync.sql"),
    include_str!("../../migrations/03_photos_by_op.sql"),
    include_str!("../../migrations/04_case_search.sql"),
    include_str!("../../migrations/05_search_by_store.sql"),
    include_str!("../../migrations/06_base_only_with_local_work.sql"),
    include_str!("../../migrations/07_notices.sql"),
    include_str!("../../migrations/08_rounds.sql"),
];

/// The newest schema version this code writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Bring the database up to [`LATEST`]; refuse (without touching anything) a database written
/// by a newer version.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    // The search table's backfill (migration 04) calls it.
    crate::search::register(conn)?;
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations.to_latest(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database made by the first schema, with data in it, upgrades to the latest and keeps
    /// its data.
    #[test]
    fn upgrades_a_database_made_by_schema_1() {
        let mut conn = Connection::open_in_memory().expect("db");
        Migrations::new(vec![M::up(MIGRATIONS[0])])
            .to_latest(&mut conn)
            .expect("schema 1");
        conn.execute("INSERT INTO units (id, name) VALUES ('u1', '城关街道')", [])
            .expect("data");
        migrate(&mut conn).expect("upgrade");
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v, LATEST);
        let name: String = conn
            .query_row("SELECT name FROM units WHERE id = 'u1'", [], |r| r.get(0))
            .expect("kept");
        assert_eq!(name, "城关街道");
        conn.execute(
            "INSERT INTO base_cases (id, seq, doc) VALUES ('c', 1, '{}')",
            [],
        )
        .expect("new table");
    }

    #[test]
    fn migrations_are_valid() {
        // On a fresh database, with the functions they call registered (as `migrate` does).
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("every migration applies");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, LATEST);
    }
}
