//! Password hashing: argon2id with OWASP parameters on a bounded blocking pool, a dummy
//! verification for unknown users, rehash-on-login, and import of bcrypt hashes.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Argon2, Params};
use secrecy::{ExposeSecret, SecretString};

use super::pool::{HashPool, PoolError};

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
    argon2: Arc<Argon2<'static>>,
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
    /// The hashing queue is full; the caller should answer 503 + Retry-After.
    #[error("password hashing is saturated; retry shortly")]
    Busy,
    /// Bad parameters, or the pool stopped.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl From<PoolError> for HashError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => Self::Busy,
            PoolError::Stopped => Self::Failed(e.to_string()),
        }
    }
}

impl Passwords {
    /// Builds the hasher and its dummy hash.
    pub fn new(params: HashParams, pool_size: usize, queue: usize) -> Result<Self, HashError> {
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| HashError::Failed(e.to_string()))?;
        let argon2 = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let dummy = hash_with(&argon2, &random_password()).map_err(HashError::Failed)?;
        Ok(Self {
            params,
            argon2: Arc::new(argon2),
            pool: HashPool::new(pool_size, queue).map_err(|e| HashError::Failed(e.to_string()))?,
            dummy_hash: Arc::from(dummy),
        })
    }

    /// The configured parameters.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes a new password (PHC string).
    pub async fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let argon2 = Arc::clone(&self.argon2);
        let password = password.clone();
        self.blocking(move || {
            hash_with(&argon2, password.expose_secret()).map_err(HashError::Failed)
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
        let exists = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| Arc::clone(&self.dummy_hash), Arc::from);
        let password = password.clone();
        let params = self.params;
        let verification = self
            .blocking(move || verify_hash(password.expose_secret(), &stored, params))
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
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn random_password() -> String {
    let mut bytes = [0u8; 24];
    // Falling back to zeros only weakens a hash nobody can log in with.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies against a stored hash; never panics on a corrupt or foreign hash.
fn verify_hash(password: &str, stored: &str, params: HashParams) -> Verification {
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
        "argon2id" | "argon2i" | "argon2d" => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
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
        let p = Passwords::new(fast(), 2, 8).unwrap();
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
        let p = Passwords::new(fast(), 1, 8).unwrap();
        assert!(
            !p.verify(&SecretString::from("anything"), None)
                .await
                .unwrap()
                .ok
        );
    }

    #[tokio::test]
    async fn old_parameters_and_bcrypt_ask_for_a_rehash() {
        let old = Passwords::new(fast(), 1, 8).unwrap();
        let hash = old.hash(&SecretString::from("password1")).await.unwrap();
        let new = Passwords::new(
            HashParams {
                memory_kib: 2048,
                ..fast()
            },
            1,
            8,
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
