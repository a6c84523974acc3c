//! Shared pieces of Xuncha's cross-crate tests, crash harness and benchmarks: a demo city built
//! from the taxonomy in DOMAIN.md, deterministic photo bytes, and a tiny seeded RNG (so a failing
//! run can be replayed from its printed seed).

#![forbid(unsafe_code)]

use xuncha_core::Location;
use xuncha_core::calendar::DeadlineSpec;
use xuncha_core::geo::LatLon;
use xuncha_core::store::{
    Campaign, Category, CategoryClass, Grid, ReferenceData, Site, Unit, User,
};
use xuncha_core::workflow::Role;

/// xorshift64*: small, seedable, good enough to pick test inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (0 is remapped).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// A seed from the clock, for runs that print it.
    pub fn seed_from_time() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi` (hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo).max(1)
    }
}

/// Bytes with a JPEG signature and end marker, distinct per seed, `len` bytes long.
pub fn jpeg_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len.max(16));
    out.extend_from_slice(&[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ]);
    let mut rng = Rng::new(seed.wrapping_add(0x51_7CC1_B727_220A));
    while out.len() + 8 + 2 <= len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    while out.len() + 2 < len {
        out.push(0x5A);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

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
    ]
    .iter()
    .enumerate()
    .map(|(i, n)| Unit {
        id: format!("u{}", i + 1),
        name: (*n).to_string(),
        kind: String::new(),
    })
    .collect();
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
                owner_unit_id: Some(format!("u{}", i + 1)),
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
                owner_unit_id: Some(format!("u{}", g + 1)),
            }
        })
        .collect();
    let user = |id: &str, role: Role, unit: Option<&str>| User {
        id: id.into(),
        name: id.into(),
        role,
        unit_id: unit.map(str::to_string),
    };
    ReferenceData {
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
            })
            .collect(),
        units,
        sites,
        grids,
        users: vec![
            user("inspector1", Role::Inspector, None),
            user("inspector2", Role::Inspector, None),
            user("supervisor1", Role::Supervisor, None),
            user("unit1", Role::UnitStaff, Some("u1")),
            user("unit2", Role::UnitStaff, Some("u2")),
            user("admin", Role::Admin, None),
        ],
        campaigns: vec![Campaign {
            id: "c1".into(),
            name: "农贸市场专项整治".into(),
            starts_on: Some("2026-11-01".into()),
            ends_on: Some("2026-12-31".into()),
        }],
        calendar: Default::default(),
    }
}

/// A random point inside the demo city.
pub fn random_location(rng: &mut Rng) -> Location {
    Location {
        lat: 30.25 + rng.range(0, 20_000) as f64 / 1_000_000.0,
        lon: 120.15 + rng.range(0, 40_000) as f64 / 1_000_000.0,
        accuracy_m: Some(rng.range(3, 30) as f64),
        address: "演示市某街道".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_city_is_valid() {
        let c = demo_city();
        assert!(c.validate().is_ok());
        assert_eq!(c.categories.len(), 29);
        assert_eq!((c.units.len(), c.sites.len()), (8, 40));
    }

    #[test]
    fn jpeg_bytes_are_sized_and_signed() {
        let b = jpeg_bytes(3, 1000);
        assert_eq!(b.len(), 1000);
        assert_eq!(xuncha_core::store::sniff_image_type(&b), Some("image/jpeg"));
        assert_ne!(jpeg_bytes(1, 100), jpeg_bytes(2, 100));
    }
}
