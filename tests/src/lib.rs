//! Shared pieces of Xuncha's cross-crate tests, crash harness and benchmarks: a demo city built
//! from the taxonomy in DOMAIN.md, deterministic photo bytes, and a tiny seeded RNG (so a failing
//! run can be replayed from its printed seed).

#![forbid(unsafe_code)]

pub mod city_year;
pub mod light_phone;
pub mod rounds;

use uuid::Uuid;
use xuncha_core::model::{ActionInput, Case};
use xuncha_core::store::PhotoInput;
use xuncha_core::workflow::Action;
use xuncha_core::{Location, OpBody};

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

/// A reference to a photo by hash only (no bytes): what load runs name in their operations.
pub fn photo_ref(
    rng: &mut Rng,
    kind: xuncha_core::model::PhotoKind,
) -> xuncha_core::model::PhotoRef {
    xuncha_core::model::PhotoRef {
        sha256: xuncha_core::store::sha256_hex(&rng.next_u64().to_le_bytes()),
        kind,
        mime: "image/jpeg".into(),
        size: 2_000_000,
        captured_at_ms: None,
        location: None,
    }
}

/// A real JPEG, distinct per seed, about `len` bytes long ([`xuncha_core::store::photo_format::sample_jpeg`]).
pub fn jpeg_bytes(seed: u64, len: usize) -> Vec<u8> {
    xuncha_core::store::photo_format::sample_jpeg(seed.wrapping_add(0x51_7CC1_B727_220A), len)
}

pub use xuncha_server::demo::city::{TAXONOMY, demo_city};

/// A random point inside the demo city.
pub fn random_location(rng: &mut Rng) -> Location {
    Location {
        lat: 30.25 + rng.range(0, 20_000) as f64 / 1_000_000.0,
        lon: 120.15 + rng.range(0, 40_000) as f64 / 1_000_000.0,
        accuracy_m: Some(rng.range(3, 30) as f64),
        address: "演示市某街道".into(),
    }
}

/// The body of `action` on `case` as a person would fill it in (reasons, a unit, a later
/// deadline, a duplicate target from `others`), with the photos it needs. None for actions this
/// builder does not make (`report`, `edit`, `check_site`, `recheck`) or a duplicate mark with no other case to point at.
pub fn body_for(
    action: Action,
    case: &Case,
    others: &[Uuid],
    rng: &mut Rng,
) -> Option<(OpBody, Vec<PhotoInput>)> {
    let mut input = ActionInput::default();
    match action {
        Action::Report | Action::Edit | Action::CheckSite | Action::Recheck => return None,
        Action::Comment => input.text = "现场补充说明".into(),
        Action::Rectify => input.text = "已整改".into(),
        Action::MarkDuplicate => {
            input.duplicate_of = Some(*others.iter().find(|id| **id != case.id)?);
        }
        Action::Dispatch => {
            // Two street offices of 西湖区 and one of 上城区 (the demo city's districts).
            input.unit_id = Some(["u1", "u2", "u9"][rng.range(0, 3) as usize].into());
        }
        Action::RequestExtension => {
            input.text = "测试理由".into();
            input.until_ms = case.deadline_ms.map(|d| d + 3 * 86_400_000);
        }
        Action::Reject
        | Action::RequestReturn
        | Action::RefuseReturn
        | Action::RefuseExtension
        | Action::VerifyFail
        | Action::Reopen
        | Action::Park
        | Action::Urge
        | Action::Escalate => input.text = "测试理由".into(),
        Action::Register
        | Action::Acknowledge
        | Action::GrantReturn
        | Action::GrantExtension
        | Action::VerifyPass => {}
    }
    // Photos: an after-photo to rectify; an on-site photo with a check (an inspector needs one).
    let photos = match action {
        Action::Rectify | Action::VerifyPass | Action::VerifyFail => {
            vec![PhotoInput::bytes(jpeg_bytes(rng.next_u64(), 3_000))]
        }
        _ => vec![],
    };
    Some((OpBody::for_action(action, input).ok()?, photos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_city_is_valid() {
        let c = demo_city();
        assert!(c.validate().is_ok());
        assert_eq!(c.categories.len(), 29);
        assert_eq!((c.units.len(), c.sites.len()), (9, 40));
        // A 测评 standard of 30 indicators over six site types, every failure a known category.
        assert_eq!(c.standard.len(), 30);
        let types: std::collections::BTreeSet<&str> = c
            .standard
            .iter()
            .flat_map(|i| i.site_types.iter().map(String::as_str))
            .collect();
        assert_eq!(types.len(), 6);
        // Two districts of two streets each under the city; every cell in a street.
        let tree = xuncha_core::area::AreaTree::new(&c.areas);
        assert_eq!(tree.children("city").len(), 2);
        assert!(c.grids.iter().all(|g| {
            g.area_id
                .as_deref()
                .is_some_and(|a| tree.depth(a) == Some(2))
        }));
    }

    #[test]
    fn jpeg_bytes_are_sized_whole_and_distinct() {
        let b = jpeg_bytes(3, 5000);
        assert_eq!(b.len(), 5000);
        assert_eq!(
            xuncha_core::store::inspect_image(&b).map(|i| i.mime),
            Ok("image/jpeg")
        );
        assert_ne!(jpeg_bytes(1, 100), jpeg_bytes(2, 100));
    }
}
