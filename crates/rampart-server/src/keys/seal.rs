//! Private signing keys are encrypted at rest with AES-256-GCM under a master key.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};

/// Why the master key could not be loaded or a key not unsealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// RAMPART_MASTER_KEY or the key file is not 32 bytes of base64.
    #[error("the master key must be 32 bytes, base64 encoded")]
    BadMasterKey,
    /// Reading or creating the key file failed.
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The ciphertext does not decrypt under this master key.
    #[error("a stored signing key cannot be decrypted: wrong master key or corrupted data")]
    Unseal,
    /// Encryption failed.
    #[error("encryption failed")]
    Seal,
}

/// The master key.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    /// From `RAMPART_MASTER_KEY` (if given) or `<data_dir>/master.key`, created with mode
    /// 0600 on first start.
    pub fn load(from_env: Option<&SecretString>, data_dir: &Path) -> Result<Self, SealError> {
        if let Some(secret) = from_env {
            return Self::from_base64(secret.expose_secret());
        }
        let path = data_dir.join("master.key");
        let io = |source| SealError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SealError::Seal)?;
                match crate::private_file::create_new(&path, STANDARD.encode(bytes).as_bytes()) {
                    Ok(()) => Self::from_bytes(&bytes),
                    // Another process created it first: its key is the one.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let text = std::fs::read_to_string(&path).map_err(io)?;
                        Self::from_base64(text.trim())
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn from_base64(text: &str) -> Result<Self, SealError> {
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| SealError::BadMasterKey)?;
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::BadMasterKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadMasterKey)?;
        Ok(Self {
            key: LessSafeKey::new(key),
        })
    }

    /// Encrypts `plain`, bound to `context` (the kid and algorithm) as associated data.
    /// Output: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SealError::Seal)?;
        let mut buf = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    /// Decrypts what [`Sealer::seal`] produced with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError::Unseal);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unseal)?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| SealError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_master_key_and_context() {
        let dir = tempfile::tempdir().unwrap();
        let a = Sealer::load(None, dir.path()).unwrap();
        let sealed = a.seal("kid1/ES256", b"private").unwrap();
        assert_eq!(
            Sealer::load(None, dir.path())
                .unwrap()
                .open("kid1/ES256", &sealed)
                .unwrap(),
            b"private"
        );
        assert!(a.open("kid2/ES256", &sealed).is_err());
        let other = Sealer::load(
            Some(&SecretString::from(STANDARD.encode([7u8; 32]))),
            dir.path(),
        )
        .unwrap();
        assert!(other.open("kid1/ES256", &sealed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(Sealer::load(Some(&SecretString::from("short")), dir.path()).is_err());
    }
}
