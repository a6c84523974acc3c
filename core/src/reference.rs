//! Reference data (server → device, read-only on devices): the category taxonomy, units, sites
//! (点位), grids (网格), the users directory, campaigns and the working calendar, as plain types;
//! and [`ReferenceIndex`], the in-memory index both the device and the server check operations
//! against.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::calendar::{DeadlineSpec, WorkCalendar};
use crate::error::{Error, Result};
use crate::fold::validate_category_code;
use crate::geo::{self, LatLon};
use crate::model::OpBody;
use crate::workflow::Role;

/// A 大类 (two-digit class) of the taxonomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// 督办 by the server: a case its unit holds this long (working time) past the deadline is
    /// escalated to the area above, and again after each further stretch, up to the city
    /// ([`crate::escalation`]). None: only supervisors escalate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after: Option<DeadlineSpec>,
}

impl Category {
    /// The class code (first two digits).
    pub fn class_code(&self) -> &str {
        self.code.get(..2).unwrap_or("")
    }
}

/// A class with its categories, for the category picker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryTreeNode {
    /// The class.
    pub class: CategoryClass,
    /// Its categories, by code.
    pub categories: Vec<Category>,
}

/// A responsible unit (街道办, market operator, sanitation company, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    /// Stable id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind, free text.
    #[serde(default)]
    pub kind: String,
    /// Area it answers to; none (or the city) for a city-wide unit any area may dispatch to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
}

/// A 点位: a place campaigns inspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Area (区/街道) it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
}

/// A grid cell (单元网格) with its owner unit: 网定格、格定责.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Area (区/街道) it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
}

/// An entry of the users directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Area a supervisor or an admin is scoped to (they see its subtree); none for the city
    /// office, which sees everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_id: Option<String>,
}

/// A 专项整治 campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceData {
    /// The area tree (市 → 区/县 → 街道/乡镇); empty for a city run as one area.
    #[serde(default)]
    pub areas: Vec<crate::area::Area>,
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
    /// The ranking's composite score weights (defaults: `kpi::Weights::default()`).
    #[serde(default)]
    pub scoring: crate::kpi::Weights,
    /// Who issues the weekly bulletin (督查通报), and under what title.
    #[serde(default)]
    pub bulletin: BulletinSettings,
    /// When units are warned of a deadline ([`crate::notify`]).
    #[serde(default)]
    pub notices: crate::notify::NoticeSettings,
    /// The 测评 standard: the indicators sites are checked against ([`crate::standard`]).
    #[serde(default)]
    pub standard: Vec<crate::standard::Indicator>,
}

/// The heading of the bulletin an office issues: the office's name (落款 and 发文机关), and the
/// bulletin's title. The issue number (第N期) is the server's, per city and year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulletinSettings {
    /// The issuing office, e.g. 某某市创建全国文明城市工作指挥部办公室.
    #[serde(default = "BulletinSettings::default_office")]
    pub office: String,
    /// The title above the number, e.g. 督查通报 or 创文督查通报.
    #[serde(default = "BulletinSettings::default_title")]
    pub title: String,
}

impl BulletinSettings {
    /// The longest office name or title (a heading line, not a paragraph).
    pub const MAX_CHARS: usize = 60;

    /// Both given, on one line, at most [`Self::MAX_CHARS`] characters.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (what, v) in [("office", &self.office), ("title", &self.title)] {
            if v.trim().is_empty()
                || v.chars().count() > Self::MAX_CHARS
                || v.chars().any(char::is_control)
            {
                return Err(format!(
                    "bulletin {what} must be 1 to {} characters on one line",
                    Self::MAX_CHARS
                ));
            }
        }
        Ok(())
    }

    fn default_office() -> String {
        "创建文明城市工作办公室".into()
    }
    fn default_title() -> String {
        "督查通报".into()
    }
}

impl Default for BulletinSettings {
    fn default() -> Self {
        BulletinSettings {
            office: Self::default_office(),
            title: Self::default_title(),
        }
    }
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
        let unit_ids: HashSet<&str> = self.units.iter().map(|u| u.id.as_str()).collect();
        let class_codes: HashSet<&str> = self.classes.iter().map(|c| c.code.as_str()).collect();
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
        crate::area::AreaTree::validate(&self.areas).or_else(bad)?;
        let area_ids: HashSet<&str> = self.areas.iter().map(|a| a.id.as_str()).collect();
        let placed = self
            .units
            .iter()
            .map(|u| ("unit", &u.id, &u.area_id))
            .chain(self.sites.iter().map(|s| ("site", &s.id, &s.area_id)))
            .chain(self.grids.iter().map(|g| ("grid", &g.id, &g.area_id)))
            .chain(self.users.iter().map(|u| ("user", &u.id, &u.area_id)));
        for (kind, id, area) in placed {
            if let Some(a) = area
                && !area_ids.contains(a.as_str())
            {
                return bad(format!("{kind} {id} names an unknown area {a}"));
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
        self.scoring.validate().or_else(bad)?;
        self.bulletin.validate().or_else(bad)?;
        self.notices.validate().or_else(bad)?;
        let codes: Vec<&str> = self.categories.iter().map(|c| c.code.as_str()).collect();
        crate::standard::validate(&self.standard, &codes).or_else(bad)?;
        self.calendar.validate()
    }
}

/// The grid containing a point and its owner unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Placement {
    /// Grid id.
    pub grid_id: String,
    /// Grid name.
    pub grid_name: String,
    /// Owner unit of the grid.
    pub owner_unit_id: Option<String>,
}

/// Reference data indexed in memory for the checks every operation needs (device and server
/// alike); rebuilt whenever a new snapshot is loaded.
#[derive(Debug, Default)]
pub struct ReferenceIndex {
    categories: HashMap<String, Category>,
    /// Site id → owner unit.
    site_owners: HashMap<String, Option<String>>,
    units: HashSet<String>,
    campaigns: HashSet<String>,
    grids: Vec<(Grid, (LatLon, LatLon))>,
    /// Site id → area.
    site_areas: HashMap<String, String>,
    /// Unit id → area.
    unit_areas: HashMap<String, String>,
    /// User id → area (the users directory's, for a person's reach on the phone).
    user_areas: HashMap<String, String>,
    /// Sites by id.
    sites: HashMap<String, Site>,
    /// The 测评 standard.
    pub standard: Vec<crate::standard::Indicator>,
    /// The area tree.
    pub areas: crate::area::AreaTree,
    /// The working calendar.
    pub calendar: WorkCalendar,
}

impl ReferenceIndex {
    /// Index a snapshot.
    pub fn new(data: &ReferenceData) -> Self {
        ReferenceIndex {
            categories: data
                .categories
                .iter()
                .map(|c| (c.code.clone(), c.clone()))
                .collect(),
            site_owners: data
                .sites
                .iter()
                .map(|s| (s.id.clone(), s.owner_unit_id.clone()))
                .collect(),
            units: data.units.iter().map(|u| u.id.clone()).collect(),
            campaigns: data.campaigns.iter().map(|c| c.id.clone()).collect(),
            grids: data
                .grids
                .iter()
                .map(|g| (g.clone(), bbox_of(&g.polygon)))
                .collect(),
            site_areas: data
                .sites
                .iter()
                .filter_map(|s| Some((s.id.clone(), s.area_id.clone()?)))
                .collect(),
            unit_areas: data
                .units
                .iter()
                .filter_map(|u| Some((u.id.clone(), u.area_id.clone()?)))
                .collect(),
            user_areas: data
                .users
                .iter()
                .filter_map(|u| Some((u.id.clone(), u.area_id.clone()?)))
                .collect(),
            sites: data
                .sites
                .iter()
                .map(|s| (s.id.clone(), s.clone()))
                .collect(),
            standard: data.standard.clone(),
            areas: crate::area::AreaTree::new(&data.areas),
            calendar: data.calendar.clone(),
        }
    }

    /// A site by id.
    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.get(id)
    }

    /// The area a place belongs to (DESIGN §1, "a case belongs to the area of its place"): the
    /// site's area when the case names a site that has one, else the area of the grid the point
    /// lies in; none outside every area (then only the city office sees the case).
    pub fn area_of_place(&self, site_id: Option<&str>, at: LatLon) -> Option<String> {
        site_id
            .and_then(|s| self.site_areas.get(s))
            .cloned()
            .or_else(|| self.grid_at(at).and_then(|g| g.area_id.clone()))
    }

    /// The area a user is scoped to, as the users directory says; none for the whole city.
    pub fn user_area(&self, user_id: &str) -> Option<&str> {
        self.user_areas.get(user_id).map(String::as_str)
    }

    /// The area a unit answers to; none for a city-wide unit.
    pub fn unit_area(&self, unit_id: &str) -> Option<&str> {
        self.unit_areas.get(unit_id).map(String::as_str)
    }

    /// Every unit that answers to an area in `areas`.
    pub fn units_in(&self, areas: &HashSet<String>) -> HashSet<String> {
        self.unit_areas
            .iter()
            .filter(|(_, a)| areas.contains(*a))
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// One category by code: a malformed code and an unknown one are different errors.
    /// Every category code.
    pub fn category_codes(&self) -> Vec<&str> {
        self.categories.keys().map(String::as_str).collect()
    }

    /// A category by code.
    pub fn category(&self, code: &str) -> Result<&Category> {
        validate_category_code(code)?;
        self.categories
            .get(code)
            .ok_or_else(|| Error::UnknownCategory(code.to_string()))
    }

    /// The owner unit of a site; `not_found` for an unknown site.
    pub fn site_owner(&self, id: &str) -> Result<Option<&str>> {
        self.site_owners
            .get(id)
            .map(|o| o.as_deref())
            .ok_or_else(|| Error::NotFound {
                kind: "site",
                id: id.to_string(),
            })
    }

    /// `not_found` unless the unit exists.
    pub fn check_unit(&self, id: &str) -> Result<()> {
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
    pub fn check_campaign(&self, id: &str) -> Result<()> {
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
    pub fn has_units(&self) -> bool {
        !self.units.is_empty()
    }

    /// True if the city has drawn its grids (then every place in the city is in one).
    pub fn has_grids(&self) -> bool {
        !self.grids.is_empty()
    }

    /// The grid that contains `at`, if any (first by id when grids overlap).
    pub fn locate(&self, at: LatLon) -> Option<Placement> {
        self.grid_at(at).map(|g| Placement {
            grid_id: g.id.clone(),
            grid_name: g.name.clone(),
            owner_unit_id: g.owner_unit_id.clone(),
        })
    }

    fn grid_at(&self, at: LatLon) -> Option<&Grid> {
        self.grids
            .iter()
            .find(|(g, (lo, hi))| {
                (lo.lat..=hi.lat).contains(&at.lat)
                    && (lo.lon..=hi.lon).contains(&at.lon)
                    && geo::point_in_polygon(at, &g.polygon)
            })
            .map(|(g, _)| g)
    }
}

/// The lat/lon box of a ring.
pub fn bbox_of(ring: &[LatLon]) -> (LatLon, LatLon) {
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

impl ReferenceIndex {
    /// Check the reference ids an operation names (category, site, campaign, unit). Cases it
    /// names (a duplicate's original) are checked by whoever holds the cases.
    pub fn check_op(&self, body: &OpBody) -> Result<()> {
        let site_and_campaign = |site: &Option<String>, campaign: &Option<String>| -> Result<()> {
            if let Some(s) = site {
                self.site_owner(s)?;
            }
            if let Some(c) = campaign {
                self.check_campaign(c)?;
            }
            Ok(())
        };
        match body {
            OpBody::Report {
                category,
                site_id,
                campaign_id,
                ..
            } => {
                self.category(category)?;
                site_and_campaign(site_id, campaign_id)
            }
            OpBody::Edit { changes } => {
                if let Some(c) = &changes.category {
                    self.category(c)?;
                }
                site_and_campaign(&changes.site_id, &changes.campaign_id)
            }
            OpBody::Dispatch { unit_id, .. } if !unit_id.trim().is_empty() => {
                self.check_unit(unit_id)
            }
            _ => Ok(()),
        }
    }

    /// The category's default deadline counted from `now_ms` on the working calendar.
    pub fn default_deadline(&self, category: &str, now_ms: i64) -> Result<i64> {
        let cat = self.category(category)?;
        self.calendar.add(now_ms, cat.deadline)
    }

    /// What a client decides for the person on a dispatch, a failed verification or a reopen
    /// that names no deadline: the category's default from now, in working time. A deadline in
    /// the past is refused. Devices and the console both complete operations this way.
    pub fn complete_deadline(
        &self,
        case: Option<&crate::model::Case>,
        body: &mut crate::model::OpBody,
        now_ms: i64,
    ) -> Result<()> {
        use crate::model::OpBody;
        if let OpBody::Dispatch { deadline_ms, .. }
        | OpBody::VerifyFail { deadline_ms, .. }
        | OpBody::Reopen { deadline_ms, .. } = body
        {
            match deadline_ms {
                None => {
                    if let Some(c) = case {
                        *deadline_ms = Some(self.default_deadline(&c.category, now_ms)?);
                    }
                }
                Some(d) if *d <= now_ms => {
                    return Err(Error::InvalidField {
                        field: "deadline",
                        reason: "the deadline is in the past".into(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod bulletin_tests {
    use super::*;

    #[test]
    fn a_bulletin_heading_is_one_short_line() {
        let mut r = ReferenceData::default();
        assert!(r.validate().is_ok(), "the defaults are valid");
        r.bulletin.office = "  ".into();
        assert!(r.validate().is_err());
        r.bulletin.office = "市".repeat(BulletinSettings::MAX_CHARS + 1);
        assert!(r.validate().is_err());
        r.bulletin.office = "某市创城办\n第二行".into();
        assert!(r.validate().is_err());
        r.bulletin.office = "某市创城办".into();
        assert!(r.validate().is_ok());
    }
}
