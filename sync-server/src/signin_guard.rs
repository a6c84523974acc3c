//! What keeps password sign-in from being abused, for phones and the console alike:
//!
//! - password hashing (argon2, ~19 MiB each) runs at most [`SignInLimits::hashing_at_once`] at a
//!   time; a caller waits up to [`SignInLimits::hashing_wait`] for a turn, then gets 503 with
//!   `Retry-After` — never more memory;
//! - failures are counted per account and per client address; past a few free ones each further
//!   attempt must wait a growing delay, and many failures lock the key for a while (429 with
//!   `Retry-After`); a success clears the account's count;
//! - every refusal is logged (user id, address, reason; never a password) and counted.
//!
//! The counters live in memory, bounded in size: a flood of made-up names cannot grow them
//! without limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::http::StatusCode;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ApiError;

/// Settings of sign-in abuse protection (defaults in [`Default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Password checks running at once.
    pub hashing_at_once: usize,
    /// How long a sign-in waits for its turn before 503.
    pub hashing_wait: Duration,
    /// Failures an account may have in a window before delays start.
    pub account_free_failures: u32,
    /// Failures one client address may have in a window before delays start (many phones
    /// share an address behind a carrier's NAT, so this is higher).
    pub address_free_failures: u32,
    /// The first delay; it doubles with each further failure, up to `max_delay`.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// Failures (beyond the free ones) after which the key is locked for `lockout`.
    pub lockout_after: u32,
    /// How long a lockout lasts; failures older than this are forgotten too.
    pub lockout: Duration,
    /// Most keys tracked (accounts plus addresses).
    pub max_tracked: usize,
}

impl Default for SignInLimits {
    fn default() -> Self {
        SignInLimits {
            hashing_at_once: 2,
            hashing_wait: Duration::from_secs(3),
            account_free_failures: 5,
            address_free_failures: 30,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            lockout_after: 10,
            lockout: Duration::from_secs(15 * 60),
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_ms: i64,
    blocked_until_ms: i64,
}

/// The guard, shared by every sign-in path.
pub struct SignInGuard {
    limits: SignInLimits,
    hashing: Semaphore,
    failures: Mutex<HashMap<Key, Failures>>,
    /// Argon2's working memory, one block array per hashing slot, allocated once and reused:
    /// freed and re-allocated per check, 19 MiB arrays end up held by the allocator's
    /// per-thread arenas and are never given back.
    memory: Mutex<Vec<Vec<Block>>>,
}

/// Largest argon2 memory cost accepted from a stored hash (KiB): a hash written with absurd
/// parameters must not cost the server gigabytes.
const MAX_MEMORY_KIB: usize = 256 * 1024;

/// Why a sign-in was stopped before its password was checked.
pub struct Throttled {
    /// Seconds to wait.
    pub retry_after_s: u64,
    /// The account (not the address) is locked.
    pub locked: bool,
}

impl SignInGuard {
    /// A guard with these settings.
    pub fn new(limits: SignInLimits) -> Arc<Self> {
        Arc::new(SignInGuard {
            limits,
            hashing: Semaphore::new(limits.hashing_at_once.max(1)),
            failures: Mutex::new(HashMap::new()),
            memory: Mutex::new(Vec::new()),
        })
    }

    /// Check `password` against a stored argon2 PHC string with pooled working memory. Blocking
    /// (run it on the blocking pool while holding a [`Self::hashing_turn`]). False for a wrong
    /// password and for a malformed hash.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        let ok = verify_with(&mut memory, password.as_bytes(), phc);
        let mut pool = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < self.limits.hashing_at_once.max(1) {
            pool.push(memory);
        }
        ok
    }

    /// The settings.
    pub fn limits(&self) -> &SignInLimits {
        &self.limits
    }

    /// Is a sign-in for `user` from `addr` allowed to try now?
    pub fn check(&self, user: &str, addr: Option<IpAddr>, now_ms: i64) -> Result<(), Throttled> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut worst: Option<Throttled> = None;
        for (key, free) in self.keys(user, addr) {
            let Some(f) = map.get(&key) else { continue };
            if f.blocked_until_ms > now_ms {
                let wait = ((f.blocked_until_ms - now_ms) as u64).div_ceil(1000);
                if worst.as_ref().is_none_or(|w| w.retry_after_s < wait) {
                    worst = Some(Throttled {
                        retry_after_s: wait,
                        locked: f.count >= free + self.limits.lockout_after,
                    });
                }
            }
        }
        worst.map_or(Ok(()), Err)
    }

    fn keys(&self, user: &str, addr: Option<IpAddr>) -> Vec<(Key, u32)> {
        let mut keys = vec![(
            Key::Account(user.to_lowercase()),
            self.limits.account_free_failures,
        )];
        if let Some(a) = addr {
            keys.push((Key::Address(a), self.limits.address_free_failures));
        }
        keys
    }

    /// Wait for a turn to hash a password; 503 with `Retry-After` if none comes in time.
    pub async fn hashing_turn(&self) -> Result<SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.limits.hashing_wait, self.hashing.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(busy()),
        }
    }

    /// A wrong password (or unknown user) for `user` from `addr`.
    pub fn failed(&self, user: &str, addr: Option<IpAddr>, now_ms: i64) {
        let lockout_ms = self.limits.lockout.as_millis() as i64;
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= self.limits.max_tracked {
            map.retain(|_, f| f.blocked_until_ms > now_ms || now_ms - f.last_ms < lockout_ms);
            if map.len() >= self.limits.max_tracked {
                // Still full of live keys: forget the oldest half rather than grow.
                let mut ages: Vec<i64> = map.values().map(|f| f.last_ms).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                map.retain(|_, f| f.last_ms > cut);
            }
        }
        for (key, free) in self.keys(user, addr) {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                last_ms: now_ms,
                blocked_until_ms: 0,
            });
            if now_ms - f.last_ms >= lockout_ms {
                f.count = 0;
            }
            f.count += 1;
            f.last_ms = now_ms;
            if f.count >= free + self.limits.lockout_after {
                f.blocked_until_ms = now_ms + lockout_ms;
            } else if f.count > free {
                let doublings = (f.count - free - 1).min(20);
                let delay = self
                    .limits
                    .first_delay
                    .saturating_mul(1 << doublings)
                    .min(self.limits.max_delay);
                f.blocked_until_ms = now_ms + delay.as_millis() as i64;
            }
        }
    }

    /// A correct password: the account's failures are forgotten (the address's are not: one
    /// good account does not excuse guessing at others).
    pub fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Key::Account(user.to_lowercase()));
    }

    /// Keys tracked now (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }
}

fn verify_with(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_MEMORY_KIB {
        return false;
    }
    memory.resize(blocks, Block::default());
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password,
        salt,
        &mut out,
        &mut memory[..blocks],
    );
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// 503: every password check slot is taken.
pub fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "signin_busy",
        "登录人数过多，请稍后重试",
        "too many sign-ins at once; retry shortly",
    )
    .retry_after(1)
}

impl Throttled {
    /// 429 with `Retry-After`.
    pub fn into_error(self) -> ApiError {
        let (code, zh, en) = if self.locked {
            (
                "signin_locked",
                format!(
                    "登录失败次数过多，已暂时锁定，请 {} 分钟后再试",
                    self.retry_after_s.div_ceil(60)
                ),
                format!(
                    "too many failed sign-ins: locked, try again in {} min",
                    self.retry_after_s.div_ceil(60)
                ),
            )
        } else {
            (
                "signin_throttled",
                format!("登录失败次数过多，请 {} 秒后再试", self.retry_after_s),
                format!(
                    "too many failed sign-ins: wait {} s before trying again",
                    self.retry_after_s
                ),
            )
        };
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, code, zh, en).retry_after(self.retry_after_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock_and_a_success_clears_the_account() {
        let g = SignInGuard::new(SignInLimits::default());
        let ip: IpAddr = "10.0.0.1".parse().expect("ip");
        let mut now = 1_000_000;
        for _ in 0..5 {
            assert!(g.check("zhang3", Some(ip), now).is_ok());
            g.failed("zhang3", Some(ip), now);
        }
        // Free failures used: the next one waits a second, then two, then four.
        assert!(g.check("zhang3", Some(ip), now).is_ok());
        g.failed("zhang3", Some(ip), now);
        let w1 = g
            .check("Zhang3", Some(ip), now)
            .err()
            .map(|t| t.retry_after_s);
        assert_eq!(w1, Some(1));
        now += 1_000;
        g.failed("zhang3", Some(ip), now);
        assert_eq!(
            g.check("zhang3", None, now).err().map(|t| t.retry_after_s),
            Some(2)
        );
        for _ in 0..10 {
            now += 60_000;
            g.failed("zhang3", Some(ip), now);
        }
        let t = g.check("zhang3", None, now).expect_err("locked");
        assert!(t.locked && t.retry_after_s > 60);
        // Another account from another address is not touched.
        assert!(
            g.check("li4", Some("10.0.0.2".parse().expect("ip")), now)
                .is_ok()
        );
        g.succeeded("zhang3");
        assert!(g.check("zhang3", None, now).is_ok());
    }

    #[test]
    fn pooled_verification_agrees_with_argon2() {
        let g = SignInGuard::new(SignInLimits::default());
        let phc = crate::auth::hash_password("正确的密码").expect("hash");
        assert!(g.verify("正确的密码", &phc));
        assert!(!g.verify("wrong", &phc));
        assert!(!g.verify("正确的密码", "not a hash"));
        assert!(crate::auth::verify_password("正确的密码", &phc));
    }

    #[test]
    fn a_flood_of_names_stays_bounded() {
        let g = SignInGuard::new(SignInLimits {
            max_tracked: 1_000,
            ..SignInLimits::default()
        });
        for i in 0..10_000 {
            g.failed(&format!("nobody{i}"), None, 1_000 + i);
        }
        assert!(g.tracked() <= 1_000);
    }
}
