//! Credentials: argon2id password hashing (bounded concurrency, constant work for unknown
//! users) and bearer tokens (random, shown once, stored as SHA-256).

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::clock::Millis;
use crate::domain::{Error, Result};
use crate::store::TokenKind;

/// Argon2id with OWASP's parameters: 19 MiB, 2 passes, 1 lane.
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
/// Longest password ever hashed, in bytes; longer input is refused before any work.
pub const MAX_PASSWORD_BYTES: usize = 512;

fn argon2() -> Argon2<'static> {
    // The parameters are constants known to be valid; `default()` is the same set.
    let params = Params::new(M_COST, T_COST, P_COST, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes and checks passwords off the async runtime on a fixed set of threads, one per core:
/// at most that many argon2 evaluations (19 MiB each) run at once, whatever the load, and the
/// memory they use is reused by the same few threads instead of being kept by every thread of
/// a growing pool (glibc keeps a freed 19 MiB block per thread arena).
#[derive(Debug)]
pub struct Passwords {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    /// Verified against when the user does not exist, so both cases cost the same.
    dummy_hash: String,
}

type Job = Box<dyn FnOnce() + Send>;

/// The outcome of a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// A fresh hash to store because the stored one used outdated parameters.
    pub rehash: Option<String>,
}

impl Passwords {
    pub fn new() -> Arc<Self> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // on this thread with memory that is freed at once (the hashing threads keep theirs)
        let dummy_hash = hash_with(&mut Vec::new(), "kith dummy password for timing").unwrap_or_default();
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..cores {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new().name(format!("kith-argon2-{i}")).spawn(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // every sender is gone
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Arc::new(Passwords { jobs: std::sync::Mutex::new(tx), dummy_hash })
    }

    /// Runs `f` on a hashing thread and waits for its answer.
    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs
            .lock()
            .map_err(|_| Error::Internal("hashing queue poisoned".into()))?
            .send(job)
            .map_err(|_| Error::Unavailable("password hashing is not running".into()))?;
        rx.await.map_err(|_| Error::Internal("a hashing job was dropped".into()))
    }

    /// An argon2id PHC string for `password`.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Checks `password` against `stored`; with no stored hash a dummy is checked instead and
    /// the answer is no, taking the same time.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verified> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(Verified { ok: false, rehash: None });
        }
        let dummy = self.dummy_hash.clone();
        self.run(move || {
            let real = stored.is_some();
            let hash = stored.unwrap_or(dummy);
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Ok(Verified { ok: false, rehash: None });
            };
            let ok = MEMORY.with_borrow_mut(|memory| verify_with(memory, password.as_bytes(), &parsed)) && real;
            let outdated = parsed.algorithm.as_str() != "argon2id"
                || parsed.params.get_decimal("m").is_none_or(|m| m < M_COST)
                || parsed.params.get_decimal("t").is_none_or(|t| t < T_COST);
            let rehash = if ok && outdated { Some(hash_blocking(&password)?) } else { None };
            Ok(Verified { ok, rehash })
        })
        .await?
    }
}

thread_local! {
    /// Argon2's working memory (19 MiB), kept by each hashing thread and reused for every
    /// evaluation instead of being allocated and freed each time.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Stored hashes asking for more memory than this are not evaluated (they are not Kith's).
const MAX_BLOCKS: usize = 256 * 1024;

/// `memory` with room for `blocks` blocks (grown, never shrunk).
fn blocks(memory: &mut Vec<argon2::Block>, blocks: usize) -> &mut [argon2::Block] {
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    &mut memory[..blocks]
}

/// Checks `password` against a PHC string using the caller's working memory.
fn verify_with(memory: &mut Vec<argon2::Block>, password: &[u8], parsed: &PasswordHash<'_>) -> bool {
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) =
        (Algorithm::try_from(parsed.algorithm), Params::try_from(parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    if params.block_count() > MAX_BLOCKS {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else { return false };
    let mut out = vec![0u8; expected.len()];
    let count = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(password, salt, &mut out, blocks(memory, count)).is_err() {
        return false;
    }
    // `Output` compares in constant time
    argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// A new argon2id PHC string, computed in this thread's reusable working memory.
fn hash_blocking(password: &str) -> Result<String> {
    MEMORY.with_borrow_mut(|memory| hash_with(memory, password))
}

fn hash_with(memory: &mut Vec<argon2::Block>, password: &str) -> Result<String> {
    let failed = |e: &dyn std::fmt::Display| Error::Internal(format!("hashing failed: {e}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| failed(&e))?;
    let argon = argon2();
    let params = argon.params().clone();
    let mut out = [0u8; 32];
    argon
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, blocks(memory, params.block_count()))
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e: argon2::password_hash::Error| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(argon2::password_hash::Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// `n` random bytes, base64url without padding.
pub fn random_string(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // The OS random source failing is not recoverable; fall back to an all-zero secret is
    // unacceptable, so refuse loudly.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system's random source failed: {e}");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

const API_PREFIX: &str = "kith_t_";
const SESSION_PREFIX: &str = "kith_s_";

/// A new bearer token of the given kind (256 random bits).
pub fn new_token(kind: TokenKind) -> String {
    let prefix = match kind {
        TokenKind::Api => API_PREFIX,
        TokenKind::Session => SESSION_PREFIX,
    };
    format!("{prefix}{}", random_string(32))
}

/// Which table a presented token belongs to, by its prefix.
pub fn token_kind(token: &str) -> Option<TokenKind> {
    if token.starts_with(API_PREFIX) {
        Some(TokenKind::Api)
    } else if token.starts_with(SESSION_PREFIX) {
        Some(TokenKind::Session)
    } else {
        None
    }
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex of some bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A strong generated password (for the first administrator and `admin create`).
pub fn generate_password() -> String {
    random_string(18)
}

/// Attempts per key (a client address, a user): a token bucket per key (`burst` at once, then
/// `per_minute`), kept in this process's memory. A successful login gives its token back, so an
/// office behind one address is not slowed down by its own people, only by failures.
#[derive(Debug)]
pub struct RateLimiter<K> {
    burst: f64,
    per_ms: f64,
    buckets: std::sync::Mutex<std::collections::HashMap<K, (f64, Millis)>>,
}

/// Login attempts (and OIDC starts) per client address.
pub type AddressLimiter = RateLimiter<std::net::IpAddr>;

/// More keys than this and full buckets are forgotten.
const MAX_TRACKED_ADDRESSES: usize = 100_000;

impl<K: std::hash::Hash + Eq + Copy> RateLimiter<K> {
    pub fn new(burst: u32, per_minute: u32) -> Self {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_ms: f64::from(per_minute.max(1)) / 60_000.0,
            buckets: Default::default(),
        }
    }

    /// Takes one attempt for `addr`, or answers the milliseconds until one is free.
    pub fn take(&self, addr: K, now: Millis) -> Result<()> {
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_TRACKED_ADDRESSES {
            let (burst, per_ms) = (self.burst, self.per_ms);
            map.retain(|_, (tokens, at)| *tokens + (now - *at) as f64 * per_ms < burst);
        }
        let (tokens, at) = map.entry(addr).or_insert((self.burst, now));
        let available = (*tokens + (now - *at).max(0) as f64 * self.per_ms).min(self.burst);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            Ok(())
        } else {
            *tokens = available;
            Err(Error::RateLimited(((1.0 - available) / self.per_ms).ceil() as i64))
        }
    }

    /// Gives back the attempt a successful login took.
    pub fn give_back(&self, addr: K) {
        let mut map = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((tokens, _)) = map.get_mut(&addr) {
            *tokens = (*tokens + 1.0).min(self.burst);
        }
    }
}

/// Hides the password part of a `scheme://user:password@host/...` URL.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let p = Passwords::new();
        let h = p.hash("correct horse battery".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p.verify("correct horse battery".into(), Some(h.clone())).await.expect("v").ok);
        assert!(!p.verify("correct horse batteryX".into(), Some(h.clone())).await.expect("v").ok);
        // pass-the-hash: the stored string is not the password
        assert!(!p.verify(h.clone(), Some(h)).await.expect("v").ok);
        // unknown user: a dummy is checked, the answer is no
        assert!(!p.verify("kith dummy password for timing".into(), None).await.expect("v").ok);
    }

    #[tokio::test]
    async fn outdated_hashes_are_replaced_on_login() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8192, 1, 1, None).expect("params"));
        let old =
            weak.hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng)).expect("hash").to_string();
        let v = Passwords::new().verify("correct horse battery".into(), Some(old)).await.expect("v");
        assert!(v.ok);
        assert!(v.rehash.is_some_and(|h| h.contains("m=19456,t=2")));
    }

    #[test]
    fn tokens_are_long_random_and_typed() {
        let a = new_token(TokenKind::Api);
        let b = new_token(TokenKind::Api);
        assert_ne!(a, b);
        assert!(a.len() >= 7 + 43);
        assert_eq!(token_kind(&a), Some(TokenKind::Api));
        assert_eq!(token_kind(&new_token(TokenKind::Session)), Some(TokenKind::Session));
        assert_eq!(token_hash("x").len(), 64);
    }

    /// RELIABILITY S1: 10,000 session ids, 256 random bits each, no collision, and not made
    /// from anything about the user (the generator takes no input).
    #[test]
    fn session_ids_are_256_random_bits_without_collisions() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| new_token(TokenKind::Session)).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let body = id.strip_prefix("kith_s_").expect("prefix");
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).expect("base64url");
            assert_eq!(bytes.len(), 32);
        }
        // every bit position takes both values across the sample (no stuck bits)
        let mut ones = [0u32; 256];
        for id in &ids {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&id[7..]).expect("base64url");
            for (i, b) in bytes.iter().enumerate() {
                for bit in 0..8 {
                    ones[i * 8 + bit] += u32::from((b >> bit) & 1);
                }
            }
        }
        assert!(ones.iter().all(|n| (4_000..6_000).contains(n)), "bit frequencies {ones:?}");
    }

    #[test]
    fn address_limiter_allows_a_burst_then_the_rate_and_gives_back_successes() {
        let limiter = AddressLimiter::new(3, 6); // one every 10 s after the burst
        let ip: std::net::IpAddr = [192, 0, 2, 1].into();
        let other: std::net::IpAddr = [192, 0, 2, 2].into();
        for _ in 0..3 {
            assert!(limiter.take(ip, 0).is_ok());
        }
        match limiter.take(ip, 0) {
            Err(Error::RateLimited(ms)) => assert_eq!(ms, 10_000),
            other => panic!("expected a wait, got {other:?}"),
        }
        assert!(limiter.take(other, 0).is_ok(), "addresses are counted apart");
        assert!(limiter.take(ip, 9_999).is_err());
        assert!(limiter.take(ip, 10_000).is_ok());
        limiter.give_back(ip);
        assert!(limiter.take(ip, 10_000).is_ok(), "a success gives its attempt back");
        assert!(limiter.take(ip, 10_000).is_err());
    }
}
