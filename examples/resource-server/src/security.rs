//! The token validator, built from the [`Config`] exactly as `run()` builds it.

use anyhow::Context as _;
use rampart::{Algorithm, RemoteJwks, Validator};

use crate::config::{Config, KeySource, read_hs_secret};

/// The realm named in every `WWW-Authenticate` challenge of this API.
pub const REALM: &str = "notes";

/// The validator and, in JWKS mode, the client that fetches its keys (kept so that start-up
/// can prefetch them; the validator does not hand its key source back out).
#[derive(Debug, Clone)]
pub struct Security {
    /// Validates every bearer token; goes into the router state.
    pub validator: Validator,
    /// The JWKS client, when keys come from `--jwks-url`.
    pub jwks: Option<RemoteJwks>,
}

/// Builds the validator from the configuration: issuer, audience, realm and exactly one key
/// source. Nothing is fetched here; see [`RemoteJwks::refresh`] for that. The default
/// policy stays in force, notably `typ: at+jwt` (RFC 9068).
pub fn security_from_config(config: &Config) -> anyhow::Result<Security> {
    let builder = Validator::builder()
        .issuer(&config.issuer)
        .audience(&config.audience)
        .realm(REALM);
    let (builder, jwks) = match config.key_source()? {
        KeySource::Jwks(url) => {
            let mut jwks = RemoteJwks::builder(url);
            if let Some(ca_file) = &config.jwks_ca_file {
                jwks = jwks.ca_file(ca_file);
            }
            let jwks = jwks
                .build()
                .context("invalid --jwks-url or --jwks-ca-file")?;
            (builder.jwks(jwks.clone()), Some(jwks))
        }
        KeySource::HsSecretFile(path) => {
            let secret = read_hs_secret(path)?;
            (builder.hmac(Algorithm::HS256, &secret), None)
        }
    };
    let validator = builder
        .build()
        .context("invalid token validation settings")?;
    Ok(Security { validator, jwks })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
        let path =
            std::env::temp_dir().join(format!("resource-server-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_jwks_ca_file_without_a_certificate_is_refused_at_start() {
        let cases = [
            (
                "no-pem.pem",
                "not a certificate\n",
                "holds no PEM certificate",
            ),
            (
                "bad-base64.pem",
                "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                "is not a PEM certificate file",
            ),
        ];
        for (name, contents, want) in cases {
            let path = temp_file(name, contents);
            let err = RemoteJwks::builder("https://localhost:8443/.well-known/jwks.json")
                .ca_file(&path)
                .build()
                .unwrap_err()
                .to_string();
            std::fs::remove_file(&path).unwrap();
            assert!(err.contains(want), "{name}: {err}");
        }
    }
}
