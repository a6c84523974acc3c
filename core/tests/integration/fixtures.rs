//! Test data: a small city and photo bytes.

use xuncha_core::store::{PhotoInput, ReferenceData};
use xuncha_core::{Location, Session, Store};

/// A small city: two classes, four categories, two units, three sites, two grids, users.
pub const CITY_JSON: &str = r#"{
  "classes": [
    {"code": "01", "name": "市容环境", "name_en": "City appearance"},
    {"code": "05", "name": "街面秩序", "name_en": "Street order"}
  ],
  "categories": [
    {"code": "0101", "name": "暴露垃圾/乱倒垃圾", "deadline": "4h", "deduction": 0.2},
    {"code": "0103", "name": "积存垃圾渣土/卫生死角", "deadline": "2d"},
    {"code": "0501", "name": "占道经营/流动摊贩", "deadline": "1h", "urgent": true},
    {"code": "0503", "name": "机动车乱停放", "deadline": "1h"}
  ],
  "units": [
    {"id": "u1", "name": "城关街道办事处", "kind": "street_office"},
    {"id": "u2", "name": "环卫公司", "kind": "sanitation"}
  ],
  "sites": [
    {"id": "s-market", "name": "东门农贸市场", "kind": "农贸市场", "lat": 30.2500, "lon": 120.1500, "owner_unit_id": "u1"},
    {"id": "s-alley", "name": "后街小巷", "kind": "背街小巷", "lat": 30.2510, "lon": 120.1500, "owner_unit_id": "u2"},
    {"id": "s-far", "name": "火车站广场", "kind": "车站", "lat": 30.3000, "lon": 120.2000}
  ],
  "grids": [
    {"id": "g1", "name": "城关一格", "owner_unit_id": "u1",
     "polygon": [{"lat": 30.245, "lon": 120.145}, {"lat": 30.245, "lon": 120.155}, {"lat": 30.2505, "lon": 120.155}, {"lat": 30.2505, "lon": 120.145}]},
    {"id": "g2", "name": "城关二格", "owner_unit_id": "u2",
     "polygon": [{"lat": 30.2505, "lon": 120.145}, {"lat": 30.2505, "lon": 120.155}, {"lat": 30.256, "lon": 120.155}, {"lat": 30.256, "lon": 120.145}]}
  ],
  "users": [
    {"id": "inspector1", "name": "巡查员一", "role": "inspector"},
    {"id": "supervisor1", "name": "督查员一", "role": "supervisor"},
    {"id": "unit1", "name": "街道办小王", "role": "unit_staff", "unit_id": "u1"}
  ],
  "campaigns": [{"id": "c1", "name": "农贸市场专项整治", "starts_on": "2026-11-01", "ends_on": "2026-12-31"}]
}"#;

/// The city as typed data.
pub fn city() -> ReferenceData {
    ReferenceData::from_json(CITY_JSON).expect("fixture city is valid")
}

/// A real JPEG, distinct per `seed`, of about `len` bytes.
pub fn jpeg(seed: u64, len: usize) -> Vec<u8> {
    xuncha_core::store::photo_format::sample_jpeg(seed, len)
}

/// A photo input from JPEG bytes.
pub fn photo(seed: u64) -> PhotoInput {
    PhotoInput::bytes(jpeg(seed, 4096))
}

/// A point inside grid g1, near the market.
pub fn market() -> Location {
    Location {
        lat: 30.2498,
        lon: 120.1501,
        accuracy_m: Some(8.0),
        address: "东门农贸市场北门".into(),
    }
}

/// A fresh store with the city loaded and `user` signed in.
pub fn store_as(dir: &std::path::Path, user: &str, role: &str, unit: Option<&str>) -> Store {
    let store = Store::open(dir).expect("open store");
    store.load_reference(&city()).expect("load city");
    store
        .set_session(&Session::new(user, role, unit).expect("session"))
        .expect("sign in");
    store
}

/// Switch the signed-in user of a store.
pub fn sign_in(store: &Store, user: &str, role: &str, unit: Option<&str>) {
    store
        .set_session(&Session::new(user, role, unit).expect("session"))
        .expect("sign in");
}
