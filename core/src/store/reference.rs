//! Reference data (server → device, read-only here): the category taxonomy, units, sites (点位),
//! grids (网格), the users directory, campaigns and the working calendar; and the queries the
//! report screen needs: the category tree, sites near me, and the grid / owner unit of a point.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::calendar::{DeadlineSpec, WorkCalendar};
use crate::error::{Error, Result};
use crate::fold::validate_category_code;
use crate::geo::{self, LatLon};
use crate::workflow::Role;

/// A 大类 (two-digit class) of the taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryClass {
    /// Two digits, e.g. `01`.
    pub code: String,
    /// e.g. 市容环境.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
}

/// A 小类 with its default deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Four digits: class + subclass, e.g. `0101`.
    pub code: String,
    /// e.g. 暴露垃圾/乱倒垃圾.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
    /// Default time limit to rectify, e.g. `4h`, `2d`.
    pub deadline: DeadlineSpec,
    /// A shorter limit to make safe / stop work first, where the standard sets one.
    #[serde(default)]
    pub first_response: Option<DeadlineSpec>,
    /// Urgent (e.g. a missing manhole cover).
    #[serde(default)]
    pub urgent: bool,
    /// Points deducted from the unit per case (configurable by the city).
    #[serde(default)]
    pub deduction: f64,
}

impl Category {
    /// The class code (first two digits).
    pub fn class_code(&self) -> &str {
        self.code.get(..2).unwrap_or("")
    }
}

/// A class with its categories, for the category picker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryTreeNode {
    /// The class.
    pub class: CategoryClass,
    /// Its categories, by code.
    pub categories: Vec<Category>,
}

/// A responsible unit (街道办, market operator, sanitation company, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind, free text.
    #[serde(default)]
    pub kind: String,
}

/// A 点位: a place campaigns inspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Type: 农贸市场, 背街小巷, 公交站台, …
    #[serde(default)]
    pub kind: String,
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// Address text.
    #[serde(default)]
    pub address: String,
    /// Unit responsible for the place.
    #[serde(default)]
    pub owner_unit_id: Option<String>,
}

/// A grid cell (单元网格) with its owner unit: 网定格、格定责.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner unit.
    #[serde(default)]
    pub owner_unit_id: Option<String>,
    /// Outer ring, WGS-84.
    pub polygon: Vec<LatLon>,
}

/// An entry of the users directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Stable id (login name).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Unit, for unit staff.
    #[serde(default)]
    pub unit_id: Option<String>,
}

/// A 专项整治 campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// First day (YYYY-MM-DD).
    #[serde(default)]
    pub starts_on: Option<String>,
    /// Last day (YYYY-MM-DD).
    #[serde(default)]
    pub ends_on: Option<String>,
}

/// The whole reference snapshot, as JSON from the server or a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceData {
    /// 大类.
    #[serde(default)]
    pub classes: Vec<CategoryClass>,
    /// 小类.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Units.
    #[serde(default)]
    pub units: Vec<Unit>,
    /// Sites.
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Grids.
    #[serde(default)]
    pub grids: Vec<Grid>,
    /// Users directory.
    #[serde(default)]
    pub users: Vec<User>,
    /// Campaigns.
    #[serde(default)]
    pub campaigns: Vec<Campaign>,
    /// Working calendar (defaults: Asia/Shanghai office hours, no holidays).
    #[serde(default)]
    pub calendar: WorkCalendar,
}

impl ReferenceData {
    /// Parse and validate reference JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        let data: ReferenceData =
            serde_json::from_str(json).map_err(|e| Error::InvalidReferenceData(e.to_string()))?;
        data.validate()?;
        Ok(data)
    }

    /// Check codes, references between items and coordinates.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidReferenceData(m));
        let unit_ids: std::collections::HashSet<&str> =
            self.units.iter().map(|u| u.id.as_str()).collect();
        let class_codes: std::collections::HashSet<&str> =
            self.classes.iter().map(|c| c.code.as_str()).collect();
        for c in &self.classes {
            if c.code.len() != 2 || !c.code.bytes().all(|b| b.is_ascii_digit()) {
                return bad(format!("class code '{}' is not two digits", c.code));
            }
        }
        for c in &self.categories {
            validate_category_code(&c.code)?;
            if !class_codes.contains(c.class_code()) {
                return bad(format!(
                    "category {} has no class {}",
                    c.code,
                    c.class_code()
                ));
            }
        }
        let known_unit = |u: &Option<String>| u.as_deref().is_none_or(|u| unit_ids.contains(u));
        for s in &self.sites {
            LatLon::new(s.lat, s.lon)?;
            if !known_unit(&s.owner_unit_id) {
                return bad(format!("site {} names an unknown unit", s.id));
            }
        }
        for g in &self.grids {
            if g.polygon.len() < 3 {
                return bad(format!("grid {} has fewer than 3 points", g.id));
            }
            for p in &g.polygon {
                p.validate()?;
            }
            if !known_unit(&g.owner_unit_id) {
                return bad(format!("grid {} names an unknown unit", g.id));
            }
        }
        for u in &self.users {
            if u.role == Role::UnitStaff && (u.unit_id.is_none() || !known_unit(&u.unit_id)) {
                return bad(format!("unit staff {} needs a known unit", u.id));
            }
        }
        let all_ids = self
            .units
            .iter()
            .map(|u| &u.id)
            .chain(self.sites.iter().map(|s| &s.id))
            .chain(self.grids.iter().map(|g| &g.id))
            .chain(self.users.iter().map(|u| &u.id))
            .chain(self.campaigns.iter().map(|c| &c.id));
        for id in all_ids {
            if id.trim().is_empty() {
                return bad("an item has an empty id".into());
            }
        }
        self.calendar.validate()
    }
}

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
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('calendar', ?1)",
        [serde_json::to_string(&data.calendar)?],
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

/// The grid containing a point and its owner unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// Grid id.
    pub grid_id: String,
    /// Grid name.
    pub grid_name: String,
    /// Owner unit of the grid.
    pub owner_unit_id: Option<String>,
}

/// The reference data the write path consults on every operation, held in memory (it changes
/// only when a new snapshot is loaded).
#[derive(Debug, Default)]
pub(crate) struct RefCache {
    categories: std::collections::HashMap<String, Category>,
    /// Site id → owner unit.
    site_owners: std::collections::HashMap<String, Option<String>>,
    units: std::collections::HashSet<String>,
    campaigns: std::collections::HashSet<String>,
    grids: Vec<(Grid, (LatLon, LatLon))>,
    pub(crate) calendar: WorkCalendar,
}

impl RefCache {
    /// Read the cache from the database.
    pub(crate) fn load(conn: &Connection) -> Result<Self> {
        let mut categories = std::collections::HashMap::new();
        let mut st = conn.prepare(&format!("SELECT {CATEGORY_COLUMNS} FROM categories"))?;
        for row in st.query_map([], row_category)? {
            let (c, _) = row?;
            categories.insert(c.code.clone(), c);
        }
        let site_owners = conn
            .prepare("SELECT id, owner_unit_id FROM sites")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ids = |table: &str| -> Result<std::collections::HashSet<String>> {
            Ok(conn
                .prepare(&format!("SELECT id FROM {table}"))?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        };
        let units = ids("units")?;
        let campaigns = ids("campaigns")?;
        let mut grids = Vec::new();
        let mut st =
            conn.prepare("SELECT id, name, owner_unit_id, polygon FROM grids ORDER BY id")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let polygon: String = r.get(3)?;
            let grid = Grid {
                id: r.get(0)?,
                name: r.get(1)?,
                owner_unit_id: r.get(2)?,
                polygon: serde_json::from_str(&polygon)?,
            };
            let bbox = bbox_of(&grid.polygon);
            grids.push((grid, bbox));
        }
        let calendar: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'calendar'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let calendar = match calendar {
            Some(j) => serde_json::from_str(&j)?,
            None => WorkCalendar::default(),
        };
        Ok(RefCache {
            categories,
            site_owners,
            units,
            campaigns,
            grids,
            calendar,
        })
    }

    /// One category by code: a malformed code and an unknown one are different errors.
    pub(crate) fn category(&self, code: &str) -> Result<&Category> {
        validate_category_code(code)?;
        self.categories
            .get(code)
            .ok_or_else(|| Error::UnknownCategory(code.to_string()))
    }

    /// The owner unit of a site; `not_found` for an unknown site.
    pub(crate) fn site_owner(&self, id: &str) -> Result<Option<&str>> {
        self.site_owners
            .get(id)
            .map(|o| o.as_deref())
            .ok_or_else(|| Error::NotFound {
                kind: "site",
                id: id.to_string(),
            })
    }

    /// `not_found` unless the unit exists.
    pub(crate) fn check_unit(&self, id: &str) -> Result<()> {
        if self.units.contains(id) {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "unit",
                id: id.to_string(),
            })
        }
    }

    /// `not_found` unless the campaign exists.
    pub(crate) fn check_campaign(&self, id: &str) -> Result<()> {
        if self.campaigns.contains(id) {
            Ok(())
        } else {
            Err(Error::NotFound {
                kind: "campaign",
                id: id.to_string(),
            })
        }
    }

    /// True before any reference data was loaded.
    pub(crate) fn has_units(&self) -> bool {
        !self.units.is_empty()
    }

    /// The grid that contains `at`, if any (first by id when grids overlap).
    pub(crate) fn locate(&self, at: LatLon) -> Option<Placement> {
        self.grids
            .iter()
            .find(|(g, (lo, hi))| {
                (lo.lat..=hi.lat).contains(&at.lat)
                    && (lo.lon..=hi.lon).contains(&at.lon)
                    && geo::point_in_polygon(at, &g.polygon)
            })
            .map(|(g, _)| Placement {
                grid_id: g.id.clone(),
                grid_name: g.name.clone(),
                owner_unit_id: g.owner_unit_id.clone(),
            })
    }
}

fn bbox_of(ring: &[LatLon]) -> (LatLon, LatLon) {
    let mut lo = LatLon {
        lat: f64::INFINITY,
        lon: f64::INFINITY,
    };
    let mut hi = LatLon {
        lat: f64::NEG_INFINITY,
        lon: f64::NEG_INFINITY,
    };
    for p in ring {
        lo.lat = lo.lat.min(p.lat);
        lo.lon = lo.lon.min(p.lon);
        hi.lat = hi.lat.max(p.lat);
        hi.lon = hi.lon.max(p.lon);
    }
    (lo, hi)
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
