//! Hybrid logical clock (Kulkarni et al.): timestamps that follow wall time when it behaves and
//! stay strictly increasing when it does not (a phone whose clock jumps back three days, two ops in
//! the same millisecond, a device that has seen a later server time). Sans I/O: the caller passes
//! the physical time in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp: wall-clock milliseconds, a counter for events in the same millisecond, and the
/// node that made it (so timestamps of different devices never tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (logical: never below the last seen).
    pub wall_ms: u64,
    /// Orders events within one `wall_ms`.
    pub counter: u32,
    /// The device's node id.
    pub node: u64,
}

impl Hlc {
    /// The largest wall time the 12-hex-digit encoding holds (in the year 10889): clocks
    /// saturate here instead of wrapping.
    pub const MAX_WALL_MS: u64 = (1 << 48) - 1;

    /// Fixed-width hex text that sorts like the timestamp itself.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(38);
        push_hex(&mut out, self.wall_ms, 12);
        out.push('-');
        push_hex(&mut out, u64::from(self.counter), 8);
        out.push('-');
        push_hex(&mut out, self.node, 16);
        out
    }
}

/// Append the low `digits` hex digits of `v`, zero-padded (hot: every op and case row has HLCs).
fn push_hex(out: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(char::from(HEX[((v >> (i * 4)) & 0xF) as usize]));
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// Error for text that is not an encoded [`Hlc`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed HLC timestamp")]
pub struct HlcParseError;

impl FromStr for Hlc {
    type Err = HlcParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('-');
        let (Some(w), Some(c), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HlcParseError);
        };
        // Exactly the widths `encode` writes, lowercase hex only: a stamp that does not fit is
        // refused, never cut or wrapped.
        let hex = |part: &str, width: usize| {
            if part.len() == width && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                u64::from_str_radix(part, 16).map_err(|_| HlcParseError)
            } else {
                Err(HlcParseError)
            }
        };
        Ok(Hlc {
            wall_ms: hex(w, 12)?,
            counter: u32::try_from(hex(c, 8)?).map_err(|_| HlcParseError)?,
            node: hex(n, 16)?,
        })
    }
}

#[cfg(feature = "openapi")]
crate::openapi::text_schema!(
    Hlc,
    "hybrid logical clock: wall-clock ms, counter and node in hex",
    "^[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{16}$",
    "0193a0c0f000-00000000-00000000deadbeef"
);

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The clock state of one node. Persist `last` with every write so a restart keeps monotonicity.
#[derive(Debug, Clone)]
pub struct HlcClock {
    node: u64,
    last: Hlc,
}

impl HlcClock {
    /// A clock for `node` that has already issued (or seen) `last`.
    pub fn new(node: u64, last: Hlc) -> Self {
        HlcClock { node, last }
    }

    /// The latest timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A new timestamp for a local event at physical time `now_ms`, greater than any before.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let now_ms = now_ms.min(Hlc::MAX_WALL_MS);
        let (wall_ms, counter) = if now_ms > self.last.wall_ms {
            (now_ms, 0)
        } else {
            bump(self.last.wall_ms, self.last.counter)
        };
        self.last = Hlc {
            wall_ms,
            counter,
            node: self.node,
        };
        self.last
    }

    /// Take in a timestamp from elsewhere (a pulled event, the server's time), so that every
    /// later local timestamp orders after it.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Hlc {
        let now_ms = now_ms.min(Hlc::MAX_WALL_MS);
        let remote = Hlc {
            wall_ms: remote.wall_ms.min(Hlc::MAX_WALL_MS),
            ..remote
        };
        let max_wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        let (wall_ms, counter) = if max_wall == self.last.wall_ms && max_wall == remote.wall_ms {
            bump(max_wall, self.last.counter.max(remote.counter))
        } else if max_wall == self.last.wall_ms {
            bump(max_wall, self.last.counter)
        } else if max_wall == remote.wall_ms {
            bump(max_wall, remote.counter)
        } else {
            (max_wall, 0)
        };
        self.last = Hlc {
            wall_ms,
            counter,
            node: self.node,
        };
        self.last
    }
}

/// Next (wall, counter) after the given one; a full counter carries into the wall time.
fn bump(wall_ms: u64, counter: u32) -> (u64, u32) {
    match counter.checked_add(1) {
        Some(c) => (wall_ms, c),
        None if wall_ms < Hlc::MAX_WALL_MS => (wall_ms + 1, 0),
        // The end of the encodable range: stay there rather than wrap to zero.
        None => (wall_ms, counter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: u64 = 86_400_000;

    #[test]
    fn encode_parse_round_trip_and_sort() {
        let a = Hlc {
            wall_ms: 1_732_000_000_000,
            counter: 7,
            node: 0xdead_beef,
        };
        assert_eq!(a.encode().parse::<Hlc>(), Ok(a));
        let b = Hlc { counter: 8, ..a };
        assert!(a.encode() < b.encode());
        assert!("zz".parse::<Hlc>().is_err());
        assert!("1-2-3-4".parse::<Hlc>().is_err());
        // Thirteen digits of wall time, short fields, uppercase or signs: refused, not cut.
        for bad in [
            "1000000000000-00000000-0000000000000001",
            "19000000000-00000000-0000000000000001",
            "0193a0000000-0000000-0000000000000001",
            "0193A0000000-00000000-0000000000000001",
            "+193a0000000-00000000-0000000000000001",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad}");
        }
    }

    #[test]
    fn clock_jumping_back_three_days_stays_monotonic() {
        let mut c = HlcClock::new(1, Hlc::default());
        let now = 1_800_000_000_000;
        let a = c.tick(now);
        let b = c.tick(now - 3 * DAY);
        let d = c.tick(now - 3 * DAY + 1);
        assert!(a < b && b < d);
        assert_eq!(b.wall_ms, a.wall_ms);
        // Once physical time passes the logical one again, it follows wall time.
        let e = c.tick(now + 5);
        assert_eq!((e.wall_ms, e.counter), (now + 5, 0));
    }

    #[test]
    fn observe_orders_after_remote() {
        let mut c = HlcClock::new(1, Hlc::default());
        let remote = Hlc {
            wall_ms: 2_000,
            counter: 4,
            node: 9,
        };
        let seen = c.observe(remote, 1_000);
        assert!(seen > remote);
        assert!(c.tick(1_000) > seen);
    }

    #[test]
    fn clock_saturates_at_the_end_of_the_encoding() {
        let mut c = HlcClock::new(1, Hlc::default());
        let far = c.observe(
            Hlc {
                wall_ms: u64::MAX,
                counter: 0,
                node: 2,
            },
            5,
        );
        assert_eq!(far.wall_ms, Hlc::MAX_WALL_MS);
        assert_eq!(far.encode().parse::<Hlc>(), Ok(far));
        assert!(c.tick(u64::MAX) >= far);
    }

    #[test]
    fn counter_overflow_carries() {
        let mut c = HlcClock::new(
            1,
            Hlc {
                wall_ms: 10,
                counter: u32::MAX,
                node: 1,
            },
        );
        let n = c.tick(5);
        assert_eq!((n.wall_ms, n.counter), (11, 0));
    }

    proptest! {
        /// Whatever the physical clock does (jumps back and forth by days), and whatever
        /// remote timestamps arrive, every issued timestamp is greater than the previous one.
        #[test]
        fn monotonic_under_any_clock(steps in prop::collection::vec(
            (any::<bool>(), -4i64 * DAY as i64..4 * DAY as i64, 0u32..3), 1..200)
        ) {
            let mut c = HlcClock::new(42, Hlc::default());
            let mut phys: i64 = 1_800_000_000_000;
            let mut prev = Hlc::default();
            for (remote, jump, cnt) in steps {
                phys += jump;
                let now = phys as u64;
                let next = if remote {
                    c.observe(Hlc { wall_ms: now.saturating_add_signed(jump / 2), counter: cnt, node: 7 }, now)
                } else {
                    c.tick(now)
                };
                prop_assert!(next > prev);
                prev = next;
            }
        }
    }
}
