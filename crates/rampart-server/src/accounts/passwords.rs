//! Password hashing: argon2id with OWASP parameters on a bounded blocking pool under a CPU
//! budget, a dummy verification for unknown users, rehash-on-login, and import of bcrypt
//! hashes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::Params;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use secrecy::{ExposeSecret, SecretString};

use super::budget::CpuBudget;
use super::hasher;
use super::pool::{HashPool, PoolError, Refusals, Slot};

/// Shortest accepted password, in bytes (NIST SP 800-63B §5.1.1.2: at least 8).
pub const MIN_PASSWORD_BYTES: usize = 8;
/// Longest accepted password, in bytes (bounds hashing work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashParams {
    /// Memory in KiB (OWASP: 19456).
    pub memory_kib: u32,
    /// Iterations (OWASP: 2).
    pub iterations: u32,
    /// Lanes (OWASP: 1).
    pub parallelism: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than [`MIN_PASSWORD_BYTES`].
    #[error("the password must be at least {MIN_PASSWORD_BYTES} bytes long")]
    TooShort,
    /// Longer than [`MAX_PASSWORD_BYTES`].
    #[error("the password must be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooLong,
    /// On the list of commonly used passwords (NIST SP 800-63B §5.1.1.2).
    #[error("this password is too common; choose another")]
    Common,
    /// The same as the username.
    #[error("the password must not be the username")]
    SameAsUsername,
}

/// Commonly used passwords of 8+ bytes, lower-cased (data/common-passwords.txt).
static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| {
        include_str!("../../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    });

/// Checks a new password: 8–1024 bytes, not a common password (case-insensitive), not
/// the username. No composition rules (NIST SP 800-63B §5.1.1.2).
pub fn check_new_password(
    password: &SecretString,
    username: Option<&str>,
) -> Result<(), PasswordError> {
    let password = password.expose_secret();
    let len = password.len();
    if len < MIN_PASSWORD_BYTES {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(PasswordError::Common);
    }
    if username.is_some_and(|u| u.to_lowercase() == lower) {
        return Err(PasswordError::SameAsUsername);
    }
    Ok(())
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matched.
    pub ok: bool,
    /// The stored hash uses old parameters or another algorithm: store a new one.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords off the async workers, at most `pool_size` at a time.
#[derive(Clone)]
pub struct Passwords {
    params: HashParams,
    argon_params: Arc<Params>,
    /// Argon2 blocks each hashing thread keeps between hashes: those of `argon_params`.
    retain: usize,
    pool: HashPool,
    /// A real hash of a random password: verifying against it costs what a real verify
    /// costs, so an unknown username takes as long as a wrong password.
    dummy_hash: Arc<str>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Hashing could not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// The hashing queue is full or the CPU budget is spent; the caller should answer
    /// 503 + Retry-After ([`Passwords::retry_after`]).
    #[error("password hashing is saturated; retry shortly")]
    Busy,
    /// Bad parameters, or the pool stopped.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<PoolError> for HashError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy | PoolError::OverBudget(_) => Self::Busy,
            PoolError::Stopped => Self::Failed(e.to_string()),
        }
    }
}

impl Passwords {
    /// Builds the hasher and its dummy hash, and starts the pool.
    pub fn new(
        params: HashParams,
        pool_size: usize,
        queue: usize,
        budget: CpuBudget,
    ) -> Result<Self, HashError> {
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        // On this thread with a one-off buffer (retain 0): no thread but the pool's keeps
        // Argon2 memory. Its duration is the budget's first estimate of a job's cost.
        let started = Instant::now();
        let dummy = hash_with(&argon_params, &random_password(), 0).map_err(HashError::Failed)?;
        let typical = started.elapsed();
        Ok(Self {
            params,
            retain: argon_params.block_count(),
            argon_params: Arc::new(argon_params),
            pool: HashPool::new(pool_size, queue, budget, typical)
                .map_err(|e| HashError::Failed(e.to_string()))?,
            dummy_hash: Arc::from(dummy),
        })
    }

    /// The configured parameters.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let params = Arc::clone(&self.argon_params);
        let retain = self.retain;
        let password = password.clone();
        self.blocking(move || {
            hash_with(&params, password.expose_secret(), retain).map_err(HashError::Failed)
        })
        .await?
    }

    /// Verifies `password` against `stored` (or against the dummy hash when the user does
    /// not exist, so both paths cost the same). Accepts argon2 PHC and bcrypt hashes.
    pub async fn verify(
        &self,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let slot = self.reserve()?;
        self.verify_in(slot, password, stored).await
    }

    /// Reserves room for one verification on the hashing pool, or refuses at once
    /// ([`HashError::Busy`]) when its queue is full or its CPU budget spent. Taken before
    /// the lookups a login needs, so that a refused login costs none of them.
    pub fn reserve(&self) -> Result<Slot, HashError> {
        Ok(self.pool.reserve()?)
    }

    /// [`Self::verify`] in a place reserved earlier.
    pub async fn verify_in(
        &self,
        slot: Slot,
        password: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let password = password.clone();
        let params = self.params;
        let retain = self.retain;
        let verification = slot
            .run(move || verify_hash(password.expose_secret(), &stored, params, retain))
            .await?;
        Ok(Verification {
            ok: verification.ok && exists,
            ..verification
        })
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        Ok(self.pool.run(work).await?)
    }

    /// Jobs waiting or running on the hashing pool (for metrics).
    pub fn queue_depth(&self) -> usize {
        self.pool.queued()
    }

    /// Hashing jobs refused at once so far, by reason (for metrics).
    pub fn refusals(&self) -> Refusals {
        self.pool.refusals()
    }

    /// How long until the CPU budget admits a hashing job again (zero: now, or no budget).
    pub fn budget_wait(&self) -> Duration {
        self.pool.budget_wait()
    }

    /// The `Retry-After` for a [`HashError::Busy`] caller: until the CPU budget's debt
    /// drains back to its burst allowance, rounded up to whole seconds, at least 1 s (a
    /// full queue empties within about that).
    pub fn retry_after(&self) -> Duration {
        whole_seconds_at_least_one(self.pool.budget_wait())
    }
}

fn whole_seconds_at_least_one(wait: Duration) -> Duration {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Duration::from_secs(secs.max(1))
}

fn hash_with(params: &Params, password: &str, retain: usize) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher::hash(params, password.as_bytes(), &salt, retain).map_err(|e| e.to_string())
}

fn random_password() -> String {
    let mut bytes = [0u8; 24];
    // Falling back to zeros only weakens a hash nobody can log in with.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies against a stored hash; never panics on a corrupt or foreign hash.
fn verify_hash(password: &str, stored: &str, params: HashParams, retain: usize) -> Verification {
    if stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$") {
        // bcrypt (passlib/pwdlib imports); always upgraded to argon2id on success.
        let ok = bcrypt::verify(password, stored).unwrap_or(false);
        return Verification {
            ok,
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verification {
            ok: false,
            needs_rehash: false,
        };
    };
    let ok = match parsed.algorithm.as_str() {
        "argon2id" | "argon2i" | "argon2d" => hasher::verify(password.as_bytes(), &parsed, retain),
        _ => false,
    };
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == params.memory_kib
                && p.t_cost() == params.iterations
                && p.p_cost() == params.parallelism
        });
    Verification {
        ok,
        needs_rehash: !current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> HashParams {
        HashParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Passwords::new(fast(), 2, 8, CpuBudget::UNLIMITED).unwrap();
        let hash = p.hash(&SecretString::from("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let ok = p
            .verify(&SecretString::from("correct horse"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verification {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(
            !p.verify(&SecretString::from("wrong horse"), Some(&hash))
                .await
                .unwrap()
                .ok
        );
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let p = Passwords::new(fast(), 1, 8, CpuBudget::UNLIMITED).unwrap();
        assert!(
            !p.verify(&SecretString::from("anything"), None)
                .await
                .unwrap()
                .ok
        );
    }

    #[tokio::test]
    async fn old_parameters_and_bcrypt_ask_for_a_rehash() {
        let old = Passwords::new(fast(), 1, 8, CpuBudget::UNLIMITED).unwrap();
        let hash = old.hash(&SecretString::from("password1")).await.unwrap();
        let new = Passwords::new(
            HashParams {
                memory_kib: 2048,
                ..fast()
            },
            1,
            8,
            CpuBudget::UNLIMITED,
        )
        .unwrap();
        assert_eq!(
            new.verify(&SecretString::from("password1"), Some(&hash))
                .await
                .unwrap(),
            Verification {
                ok: true,
                needs_rehash: true
            }
        );
        let bcrypt_hash = bcrypt::hash("password1", 4).unwrap();
        assert_eq!(
            new.verify(&SecretString::from("password1"), Some(&bcrypt_hash))
                .await
                .unwrap(),
            Verification {
                ok: true,
                needs_rehash: true
            }
        );
        assert!(
            !new.verify(&SecretString::from("password2"), Some(&bcrypt_hash))
                .await
                .unwrap()
                .ok
        );
        assert!(
            !new.verify(&SecretString::from("password1"), Some("garbage"))
                .await
                .unwrap()
                .ok
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        for (wait_ms, secs) in [(0, 1), (1, 1), (1000, 1), (1001, 2), (2500, 3)] {
            assert_eq!(
                whole_seconds_at_least_one(Duration::from_millis(wait_ms)),
                Duration::from_secs(secs),
                "{wait_ms} ms"
            );
        }
        let p = Passwords::new(fast(), 1, 8, CpuBudget::UNLIMITED).unwrap();
        assert_eq!(
            p.retry_after(),
            Duration::from_secs(1),
            "no budget, no debt"
        );
    }

    /// This process's peak resident memory (VmHWM), in KiB.
    #[cfg(target_os = "linux")]
    fn peak_rss_kib() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/self/status")
    }

    /// 100 verifications with the default (19 MiB) parameters, 100 at once through a
    /// pool of 2: the peak must stay near 2 × m_cost above the start, whatever glibc's
    /// malloc retains. VmHWM is per process, hence `#[ignore]`: the next test runs it
    /// alone in a fresh process.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    #[ignore = "measures the whole process's peak memory; run alone"]
    async fn peak_memory_measurement() {
        const POOL: usize = 2;
        let params = HashParams::default();
        let m_cost = u64::from(params.memory_kib);
        let start = peak_rss_kib();
        let p = Passwords::new(params, POOL, 128, CpuBudget::UNLIMITED).unwrap();
        let stored = p.hash(&SecretString::from("correct horse")).await.unwrap();
        let ready = peak_rss_kib();
        let verifications = (0..100).map(|i| {
            let p = p.clone();
            let stored = stored.clone();
            async move {
                p.verify(&SecretString::from(format!("guess {i}")), Some(&stored))
                    .await
                    .unwrap()
            }
        });
        let results = futures_util::future::join_all(verifications).await;
        assert!(results.iter().all(|v| !v.ok));
        let end = peak_rss_kib();
        println!(
            "VmHWM: start {start} KiB, after setup {ready} KiB, after 100 verifications {end} KiB; \
             growth {} KiB = {:.2} × m_cost (pool {POOL}, m_cost {m_cost} KiB)",
            end - start,
            (end - start) as f64 / m_cost as f64,
        );
        assert!(
            end - start < 3 * m_cost,
            "peak grew by {} KiB, over 3 × m_cost",
            end - start
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_memory_stays_near_pool_size_times_m_cost() {
        let name = "accounts::passwords::tests::peak_memory_measurement";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                name,
                "--nocapture",
                "--test-threads=1",
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "the measurement ran: {stdout}");
        let line = stdout
            .lines()
            .find_map(|l| l.find("VmHWM").map(|at| &l[at..]));
        println!("{}", line.unwrap_or_default());
    }

    #[test]
    fn length_rules() {
        assert_eq!(
            check_new_password(&SecretString::from("short"), None),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            check_new_password(&SecretString::from("x".repeat(1025)), None),
            Err(PasswordError::TooLong)
        );
        assert!(check_new_password(&SecretString::from("long enough"), None).is_ok());
    }

    #[test]
    fn common_passwords_and_the_username_are_refused() {
        let check =
            |p: &str, u: Option<&str>| check_new_password(&SecretString::from(p.to_owned()), u);
        for common in [
            "password",
            "PASSWORD",
            "12345678",
            "iloveyou",
            "Trustno1",
            "qwertyuiop",
        ] {
            assert_eq!(check(common, None), Err(PasswordError::Common), "{common}");
        }
        assert_eq!(
            check("Alice-in-Wonderland", Some("alice-in-wonderland")),
            Err(PasswordError::SameAsUsername)
        );
        assert!(check("violet kettle marching", Some("alice")).is_ok());
    }
}
