//! Schema migrations, kept as numbered SQL files and applied by `PRAGMA user_version`.

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

use crate::error::{Error, Result};

const MIGRATIONS: &[&str] = &[include_str!("../../migrations/01_initial.sql")];

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
    let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
    migrations.to_latest(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        assert!(migrations.validate().is_ok());
    }
}
