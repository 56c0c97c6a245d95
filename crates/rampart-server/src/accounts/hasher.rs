//! Argon2 on one reusable memory buffer per hashing thread.
//!
//! `argon2`'s `PasswordHasher`/`PasswordVerifier` allocate a fresh `m_cost` KiB block
//! vector for every call. With glibc the first one is mmap'd, and freeing it raises the
//! allocator's dynamic mmap threshold to that size, so every later vector comes from a
//! malloc arena and stays resident after `free`: under load 7–8 of them (177 MiB peak RSS
//! at 19 MiB each) where the pool needs one per thread. Here each thread that hashes keeps
//! one buffer sized for the configured parameters and hashes into it with
//! [`Argon2::hash_password_into_with_memory`], so peak hashing memory is
//! `pool size × m_cost` whatever the allocator.
//!
//! The PHC strings are exactly those of the stock traits (tests below check both ways).
//! Argon2's first pass overwrites every block, so what a previous hash left in the buffer
//! never reaches the next one.

use std::cell::RefCell;

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

thread_local! {
    /// This thread's Argon2 memory, kept between hashes.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes `password` with argon2id v19, `params` and `salt` into a PHC string, using at
/// most `retain` blocks of this thread's kept memory (see [`verify`]).
pub fn hash(
    params: &Params,
    password: &[u8],
    salt: &SaltString,
    retain: usize,
) -> Result<String, password_hash::Error> {
    let salt = salt.as_salt();
    let output = compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params,
        password,
        salt,
        params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
        retain,
    )?;
    // The same fields, in the same order, as `PasswordHasher::hash_password`.
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)?,
        salt: Some(salt),
        hash: Some(output),
    }
    .to_string())
}

/// Recomputes an argon2 (id, i or d; v16 or v19) PHC hash with its own salt and
/// parameters and compares in constant time. A hash that needs more than `retain` blocks
/// (older or imported parameters above the configured ones) gets a one-off buffer, freed
/// afterwards, so one such account cannot pin its size on every thread.
pub fn verify(password: &[u8], stored: &PasswordHash<'_>, retain: usize) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    compute(
        algorithm,
        version,
        &params,
        password,
        salt,
        expected.len(),
        retain,
    )
    // `Output`'s `==` is constant-time (`subtle`), as in `PasswordVerifier`.
    .is_ok_and(|computed| computed == expected)
}

fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    password: &[u8],
    salt: Salt<'_>,
    output_len: usize,
    retain: usize,
) -> Result<Output, password_hash::Error> {
    // As the stock hasher: the salt's B64 text is decoded to the bytes Argon2 mixes in.
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let argon2 = Argon2::new(algorithm, version, params.clone());
    Output::init_with(output_len, |out| {
        with_memory(params.block_count(), retain, |memory| {
            argon2.hash_password_into_with_memory(password, salt, out, memory)
        })
        .map_err(Into::into)
    })
}

/// Runs `f` over `needed` blocks: a prefix of this thread's buffer, grown once to
/// `retain` blocks, or a one-off buffer when `needed > retain`.
fn with_memory<R>(needed: usize, retain: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    if needed > retain {
        return f(&mut vec![Block::default(); needed]);
    }
    MEMORY.with(|cell| {
        let mut memory = cell.borrow_mut();
        if memory.len() < retain {
            // Straight to the full size: growing step by step would free smaller buffers
            // into the arena, the retention this module exists to avoid.
            *memory = Vec::new();
            *memory = vec![Block::default(); retain];
        }
        f(&mut memory[..needed])
    })
}

/// Blocks this thread keeps (tests).
#[cfg(test)]
fn kept_blocks() -> usize {
    MEMORY.with(|cell| cell.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::rand_core::OsRng;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn params(m: u32, t: u32, p: u32, output: Option<usize>) -> Params {
        Params::new(m, t, p, output).unwrap()
    }

    fn stock(algorithm: Algorithm, version: Version, params: &Params) -> Argon2<'static> {
        Argon2::new(algorithm, version, params.clone())
    }

    #[test]
    fn a_new_hash_is_the_stock_hash_byte_for_byte_even_in_a_used_buffer() {
        let p = params(1024, 2, 1, None);
        let retain = p.block_count();
        for (password, salt) in [
            ("correct horse", SaltString::generate(&mut OsRng)),
            ("battery staple", SaltString::generate(&mut OsRng)),
            // After a smaller hash left other data in the buffer's prefix.
            (
                "correct horse",
                SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap(),
            ),
        ] {
            let ours = hash(&p, password.as_bytes(), &salt, retain).unwrap();
            let theirs = stock(Algorithm::Argon2id, Version::V0x13, &p)
                .hash_password(password.as_bytes(), &salt)
                .unwrap()
                .to_string();
            assert_eq!(ours, theirs);
            assert!(ours.starts_with("$argon2id$v=19$m=1024,t=2,p=1$"));
            let _ = hash(&params(64, 1, 1, None), b"x", &salt, retain).unwrap();
        }
    }

    #[test]
    fn our_hashes_pass_the_stock_verifier_and_stock_hashes_pass_ours() {
        let p = params(1024, 1, 1, None);
        let retain = p.block_count();
        let salt = SaltString::generate(&mut OsRng);
        let ours = hash(&p, b"correct horse", &salt, retain).unwrap();
        let ours = PasswordHash::new(&ours).unwrap();
        let verifier = Argon2::default();
        assert!(verifier.verify_password(b"correct horse", &ours).is_ok());
        assert!(verifier.verify_password(b"wrong horse", &ours).is_err());

        let theirs = stock(Algorithm::Argon2id, Version::V0x13, &p)
            .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let theirs = PasswordHash::new(&theirs).unwrap();
        assert!(verify(b"correct horse", &theirs, retain));
        assert!(!verify(b"wrong horse", &theirs, retain));
    }

    #[test]
    fn foreign_variants_versions_and_sizes_verify_like_the_stock_verifier() {
        let retain = params(256, 1, 1, None).block_count();
        let cases = [
            (
                "argon2id v19, smaller",
                Algorithm::Argon2id,
                Version::V0x13,
                params(128, 1, 1, None),
            ),
            (
                "argon2id v19, larger than kept",
                Algorithm::Argon2id,
                Version::V0x13,
                params(1024, 2, 1, None),
            ),
            (
                "argon2id, 4 lanes",
                Algorithm::Argon2id,
                Version::V0x13,
                params(256, 1, 4, None),
            ),
            (
                "argon2id, 64-byte output",
                Algorithm::Argon2id,
                Version::V0x13,
                params(256, 1, 1, Some(64)),
            ),
            (
                "argon2i v19",
                Algorithm::Argon2i,
                Version::V0x13,
                params(256, 3, 1, None),
            ),
            (
                "argon2d v16",
                Algorithm::Argon2d,
                Version::V0x10,
                params(256, 2, 1, None),
            ),
            (
                "argon2id v16",
                Algorithm::Argon2id,
                Version::V0x10,
                params(256, 2, 2, None),
            ),
        ];
        for (name, algorithm, version, p) in cases {
            let phc = stock(algorithm, version, &p)
                .hash_password(b"hunter42!", &SaltString::generate(&mut OsRng))
                .unwrap()
                .to_string();
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(verify(b"hunter42!", &parsed, retain), "{name}: {phc}");
            assert!(!verify(b"hunter43!", &parsed, retain), "{name}: {phc}");
        }
        assert_eq!(
            kept_blocks(),
            retain,
            "larger hashes did not grow the kept buffer"
        );
    }

    #[test]
    fn a_hash_without_salt_or_output_never_verifies() {
        let p = params(64, 1, 1, None);
        let salt = SaltString::generate(&mut OsRng);
        let phc = stock(Algorithm::Argon2id, Version::V0x13, &p)
            .hash_password(b"password", &salt)
            .unwrap();
        let no_output = PasswordHash {
            hash: None,
            ..phc.clone()
        };
        let no_salt = PasswordHash { salt: None, ..phc };
        assert!(!verify(b"password", &no_output, 64));
        assert!(!verify(b"password", &no_salt, 64));
    }
}
