//! Reference data in the device's SQLite file: the snapshot's tables (for the category tree and
//! site search) and the snapshot itself (for the in-memory [`ReferenceIndex`]). The tables leave
//! out the areas, which only the server decides scope by; the snapshot keeps them.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::calendar::DeadlineSpec;
use crate::error::Result;
use crate::geo::{self, LatLon};
use crate::reference::{
    Campaign, Category, CategoryClass, CategoryTreeNode, ReferenceData, ReferenceIndex, Site, Unit,
    User, bbox_of,
};
use crate::workflow::Role;

/// Replace every reference table with the snapshot (one transaction).
pub(crate) fn replace_all(tx: &Transaction<'_>, data: &ReferenceData) -> Result<()> {
    for table in [
        "categories",
        "category_classes",
        "units",
        "sites",
        "grids",
        "users",
        "campaigns",
    ] {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut st =
        tx.prepare("INSERT INTO category_classes (code, name, name_en) VALUES (?1, ?2, ?3)")?;
    for c in &data.classes {
        st.execute(params![c.code, c.name, c.name_en])?;
    }
    let mut st = tx.prepare(
        "INSERT INTO categories (code, class_code, name, name_en, deadline, first_response, urgent, deduction)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for c in &data.categories {
        st.execute(params![
            c.code,
            c.class_code(),
            c.name,
            c.name_en,
            c.deadline.to_string(),
            c.first_response.map(|d| d.to_string()),
            c.urgent,
            c.deduction
        ])?;
    }
    let mut st = tx.prepare("INSERT INTO units (id, name, kind) VALUES (?1, ?2, ?3)")?;
    for u in &data.units {
        st.execute(params![u.id, u.name, u.kind])?;
    }
    let mut st = tx.prepare(
        "INSERT INTO sites (id, name, kind, lat, lon, address, owner_unit_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for s in &data.sites {
        st.execute(params![
            s.id,
            s.name,
            s.kind,
            s.lat,
            s.lon,
            s.address,
            s.owner_unit_id
        ])?;
    }
    let mut st = tx.prepare(
        "INSERT INTO grids (id, name, owner_unit_id, min_lat, max_lat, min_lon, max_lon, polygon)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for g in &data.grids {
        let (lo, hi) = bbox_of(&g.polygon);
        st.execute(params![
            g.id,
            g.name,
            g.owner_unit_id,
            lo.lat,
            hi.lat,
            lo.lon,
            hi.lon,
            serde_json::to_string(&g.polygon)?
        ])?;
    }
    let mut st =
        tx.prepare("INSERT INTO users (id, name, role, unit_id) VALUES (?1, ?2, ?3, ?4)")?;
    for u in &data.users {
        st.execute(params![u.id, u.name, u.role.as_str(), u.unit_id])?;
    }
    let mut st =
        tx.prepare("INSERT INTO campaigns (id, name, starts_on, ends_on) VALUES (?1, ?2, ?3, ?4)")?;
    for c in &data.campaigns {
        st.execute(params![c.id, c.name, c.starts_on, c.ends_on])?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('reference', ?1)",
        [serde_json::to_string(data)?],
    )?;
    Ok(())
}

fn row_category(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Category, String)> {
    let deadline: String = r.get(3)?;
    let first: Option<String> = r.get(4)?;
    Ok((
        Category {
            code: r.get(0)?,
            name: r.get(1)?,
            name_en: r.get(2)?,
            deadline: deadline.parse().unwrap_or(DeadlineSpec::Days(1)),
            first_response: first.and_then(|f| f.parse().ok()),
            urgent: r.get(5)?,
            deduction: r.get(6)?,
            escalate_after: None,
        },
        r.get(7)?,
    ))
}

const CATEGORY_COLUMNS: &str =
    "code, name, name_en, deadline, first_response, urgent, deduction, class_code";

/// Classes with their categories, ordered by code.
pub(crate) fn category_tree(conn: &Connection) -> Result<Vec<CategoryTreeNode>> {
    let mut nodes: Vec<CategoryTreeNode> = conn
        .prepare("SELECT code, name, name_en FROM category_classes ORDER BY code")?
        .query_map([], |r| {
            Ok(CategoryTreeNode {
                class: CategoryClass {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    name_en: r.get(2)?,
                },
                categories: vec![],
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = conn.prepare(&format!(
        "SELECT {CATEGORY_COLUMNS} FROM categories ORDER BY code"
    ))?;
    for row in st.query_map([], row_category)? {
        let (cat, class) = row?;
        if let Some(n) = nodes.iter_mut().find(|n| n.class.code == class) {
            n.categories.push(cat);
        }
    }
    Ok(nodes)
}

/// A site with its distance from the query point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearbySite {
    /// The site.
    pub site: Site,
    /// Distance in metres.
    pub distance_m: f64,
}

fn row_site(r: &rusqlite::Row<'_>) -> rusqlite::Result<Site> {
    Ok(Site {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        lat: r.get(3)?,
        lon: r.get(4)?,
        address: r.get(5)?,
        owner_unit_id: r.get(6)?,
        area_id: None,
    })
}

const SITE_COLUMNS: &str = "id, name, kind, lat, lon, address, owner_unit_id";

/// Sites within `radius_m` of `at`, nearest first, at most `limit`.
pub(crate) fn sites_near(
    conn: &Connection,
    at: LatLon,
    radius_m: f64,
    limit: usize,
) -> Result<Vec<NearbySite>> {
    at.validate()?;
    let (lo, hi) = geo::bounding_box(at, radius_m.max(0.0));
    let mut st = conn.prepare_cached(&format!(
        "SELECT {SITE_COLUMNS} FROM sites WHERE lat BETWEEN ?1 AND ?2 AND lon BETWEEN ?3 AND ?4"
    ))?;
    let mut found: Vec<NearbySite> = st
        .query_map(params![lo.lat, hi.lat, lo.lon, hi.lon], row_site)?
        .filter_map(|s| s.ok())
        .map(|site| NearbySite {
            distance_m: geo::distance_m(at, LatLon::new(site.lat, site.lon).unwrap_or(at)),
            site,
        })
        .filter(|n| n.distance_m <= radius_m)
        .collect();
    found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    found.truncate(limit);
    Ok(found)
}

/// All units, by name.
pub(crate) fn units(conn: &Connection) -> Result<Vec<Unit>> {
    Ok(conn
        .prepare("SELECT id, name, kind FROM units ORDER BY id")?
        .query_map([], |r| {
            Ok(Unit {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get(2)?,
                area_id: None,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The users directory, by id.
pub(crate) fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut st = conn.prepare("SELECT id, name, role, unit_id FROM users ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, role, unit_id) = row?;
        out.push(User {
            id,
            name,
            role: Role::parse_required(&role)?,
            unit_id,
            area_id: None,
        });
    }
    Ok(out)
}

/// Campaigns, by id.
pub(crate) fn campaigns(conn: &Connection) -> Result<Vec<Campaign>> {
    Ok(conn
        .prepare("SELECT id, name, starts_on, ends_on FROM campaigns ORDER BY id")?
        .query_map([], |r| {
            Ok(Campaign {
                id: r.get(0)?,
                name: r.get(1)?,
                starts_on: r.get(2)?,
                ends_on: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The index of the loaded snapshot (empty before any was loaded).
pub(crate) fn load_index(conn: &Connection) -> Result<ReferenceIndex> {
    let json: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'reference'", [], |r| {
            r.get(0)
        })
        .optional()?;
    let data = match json {
        Some(j) => serde_json::from_str(&j)?,
        None => ReferenceData::default(),
    };
    Ok(ReferenceIndex::new(&data))
}
