//! The demo city: the taxonomy of DOMAIN.md (29 categories under 7 classes, with their default
//! deadlines), 9 units, 40 sites on a 4×2 grid of cells, a campaign, and the demo users. Its
//! areas: 示范市 with two districts, 西湖区 (the two western columns of cells) and 上城区 (the
//! two eastern), each with two streets (one per column); the three street offices answer to
//! their streets, the bureaus are city-wide; `supervisor2` supervises 西湖区.

use xuncha_core::area::Area;
use xuncha_core::calendar::DeadlineSpec;
use xuncha_core::geo::LatLon;
use xuncha_core::reference::{
    BulletinSettings, Campaign, Category, CategoryClass, Grid, ReferenceData, Site, Unit, User,
};
use xuncha_core::workflow::Role;

/// Password of every demo user.
pub const DEMO_PASSWORD: &str = "demo";

/// The taxonomy of DOMAIN.md: (code, name, deadline, first response, urgent).
pub const TAXONOMY: &[(&str, &str, &str, Option<&str>, bool)] = &[
    ("0101", "暴露垃圾/乱倒垃圾", "4h", None, false),
    ("0102", "垃圾满溢", "2h", None, false),
    ("0103", "积存垃圾渣土/卫生死角", "2d", None, false),
    ("0104", "道路不洁/路面污染", "2h", None, false),
    ("0105", "乱堆乱放", "4h", None, false),
    ("0106", "私搭乱建", "20d", Some("4h"), false),
    ("0201", "乱贴乱画/非法小广告(牛皮癣)", "1d", None, false),
    ("0202", "违规户外广告/招牌破损", "3d", None, false),
    ("0203", "公益广告缺失/破损", "5d", None, false),
    ("0301", "工地围挡缺损", "1d", None, false),
    ("0302", "工地扬尘/裸土未覆盖", "4h", None, false),
    ("0303", "道路遗撒", "2h", None, false),
    ("0304", "施工占道", "1d", None, false),
    ("0401", "井盖缺失/破损", "1d", Some("1h"), true),
    ("0402", "道路积水/下水道堵塞", "4h", None, false),
    ("0403", "缆线乱拉/飞线充电", "3d", None, false),
    ("0501", "占道经营/流动摊贩", "1h", None, false),
    ("0502", "店外经营", "2h", None, false),
    ("0503", "机动车乱停放", "1h", None, false),
    ("0504", "非机动车/共享单车乱停放", "1h", None, false),
    ("0505", "露天烧烤/油烟", "2h", None, false),
    ("0601", "路灯故障", "2d", None, false),
    ("0602", "公交站台破损/不洁", "2d", None, false),
    ("0603", "人行道/盲道破损或被占", "5d", None, false),
    ("0604", "垃圾桶/果皮箱破损缺失", "2d", None, false),
    ("0605", "绿地脏乱/植被缺损", "5d", Some("4h"), false),
    ("0701", "核心价值观/公益宣传不足", "5d", None, false),
    (
        "0702",
        "市场规范缺失(公平秤/投诉点/亮证)",
        "3d",
        None,
        false,
    ),
    ("0703", "消防通道占用", "2h", None, false),
];

/// A demo city: the full taxonomy, 8 units, 40 sites on a 4×2 grid of cells, users.
pub fn demo_city() -> ReferenceData {
    let classes = [
        ("01", "市容环境", "City appearance"),
        ("02", "宣传广告", "Advertising"),
        ("03", "施工管理", "Construction"),
        ("04", "突发事件", "Emergencies"),
        ("05", "街面秩序", "Street order"),
        ("06", "公共设施", "Public facilities"),
        ("07", "文明创建专项", "Civility campaign"),
    ];
    let units: Vec<Unit> = [
        "城关街道办事处",
        "东城街道办事处",
        "环卫集团",
        "市政设施管理处",
        "交警大队",
        "市场监管所",
        "住建局",
        "园林绿化中心",
        "湖滨街道办事处",
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| Unit {
        id: format!("u{}", i + 1),
        name: (*n).to_string(),
        kind: String::new(),
        area_id: STREET_OFFICES
            .iter()
            .find(|(u, _)| *u == format!("u{}", i + 1))
            .map(|(_, a)| (*a).to_string()),
    })
    .collect();
    let area = |id: &str, name: &str, en: &str, parent: Option<&str>| Area {
        id: id.into(),
        name: name.into(),
        name_en: en.into(),
        parent_id: parent.map(Into::into),
    };
    let areas = vec![
        area("city", "示范市", "Demo City", None),
        area("d1", "西湖区", "Xihu District", Some("city")),
        area("d2", "上城区", "Shangcheng District", Some("city")),
        area("d1-s1", "城关街道", "Chengguan Street", Some("d1")),
        area("d1-s2", "东城街道", "Dongcheng Street", Some("d1")),
        area("d2-s1", "湖滨街道", "Hubin Street", Some("d2")),
        area("d2-s2", "清波街道", "Qingbo Street", Some("d2")),
    ];
    let site_kinds = ["农贸市场", "背街小巷", "主次干道", "老旧小区", "公交站台"];
    let (lat0, lon0) = (30.25, 120.15);
    let mut grids = Vec::new();
    for row in 0..2 {
        for col in 0..4 {
            let i = row * 4 + col;
            let (la, lo) = (lat0 + row as f64 * 0.01, lon0 + col as f64 * 0.01);
            grids.push(Grid {
                id: format!("g{}", i + 1),
                name: format!("第{}网格", i + 1),
                owner_unit_id: Some(grid_owner(i)),
                area_id: Some(street_of_column(col)),
                polygon: vec![
                    LatLon { lat: la, lon: lo },
                    LatLon {
                        lat: la,
                        lon: lo + 0.01,
                    },
                    LatLon {
                        lat: la + 0.01,
                        lon: lo + 0.01,
                    },
                    LatLon {
                        lat: la + 0.01,
                        lon: lo,
                    },
                ],
            });
        }
    }
    let sites = (0..40)
        .map(|i| {
            let g = i % 8;
            let (row, col) = (g / 4, g % 4);
            Site {
                id: format!("s{}", i + 1),
                name: format!("{}{}号", site_kinds[i % 5], i + 1),
                kind: site_kinds[i % 5].to_string(),
                lat: lat0 + row as f64 * 0.01 + 0.001 + (i / 8) as f64 * 0.0015,
                lon: lon0 + col as f64 * 0.01 + 0.002 + (i / 8) as f64 * 0.001,
                address: String::new(),
                owner_unit_id: Some(grid_owner(g)),
                area_id: Some(street_of_column(col)),
            }
        })
        .collect();
    let user = |id: &str, name: &str, role: Role, unit: Option<&str>| User {
        id: id.into(),
        name: name.into(),
        role,
        unit_id: unit.map(str::to_string),
        area_id: None,
    };
    ReferenceData {
        areas,
        classes: classes
            .iter()
            .map(|(c, n, e)| CategoryClass {
                code: (*c).into(),
                name: (*n).into(),
                name_en: (*e).into(),
            })
            .collect(),
        categories: TAXONOMY
            .iter()
            .map(|(code, name, deadline, first, urgent)| Category {
                code: (*code).into(),
                name: (*name).into(),
                name_en: String::new(),
                deadline: deadline.parse().unwrap_or(DeadlineSpec::Days(1)),
                first_response: first.and_then(|f| f.parse().ok()),
                urgent: *urgent,
                deduction: 0.2,
                // 督办 by the server: an urgent case 4 working hours late, any other two
                // working days late, and again after each further stretch.
                escalate_after: Some(if *urgent {
                    DeadlineSpec::Hours(4)
                } else {
                    DeadlineSpec::Days(2)
                }),
            })
            .collect(),
        units,
        sites,
        grids,
        users: vec![
            user("inspector1", "巡查员张三", Role::Inspector, None),
            User {
                area_id: Some("d1".into()),
                ..user("inspector2", "西湖区巡查员李四", Role::Inspector, None)
            },
            user("supervisor1", "督查员王五", Role::Supervisor, None),
            User {
                area_id: Some("d1".into()),
                ..user("supervisor2", "西湖区督查员赵六", Role::Supervisor, None)
            },
            user("unit1", "城关街道小赵", Role::UnitStaff, Some("u1")),
            user("unit2", "东城街道小钱", Role::UnitStaff, Some("u2")),
            user("admin", "系统管理员", Role::Admin, None),
        ],
        campaigns: vec![Campaign {
            id: "c1".into(),
            name: "农贸市场专项整治".into(),
            starts_on: Some("2026-11-01".into()),
            ends_on: Some("2026-12-31".into()),
        }],
        calendar: Default::default(),
        scoring: Default::default(),
        notices: Default::default(),
        standard: super::standard::demo_standard(),
        bulletin: BulletinSettings {
            office: "示范市创建全国文明城市工作指挥部办公室".into(),
            title: "创文督查通报".into(),
        },
    }
}

/// The street offices and the streets they answer to (the other units are city-wide).
const STREET_OFFICES: &[(&str, &str)] = &[("u1", "d1-s1"), ("u2", "d1-s2"), ("u9", "d2-s1")];

/// The street a column of cells lies in: 西湖区's two streets west, 上城区's east.
fn street_of_column(col: usize) -> String {
    ["d1-s1", "d1-s2", "d2-s1", "d2-s2"][col.min(3)].to_string()
}

/// The unit that owns cell `i` (0-based, row by row): unit i+1, except the cell of 湖滨街道's
/// second row, which its street office owns.
fn grid_owner(i: usize) -> String {
    match i {
        6 => "u9".into(),
        _ => format!("u{}", i + 1),
    }
}
