//! The one typed configuration: flags, each with an `RS_*` environment fallback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Parser};

/// Configuration of the notes API. Each field's doc comment is its `--help` text.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "resource-server",
    version,
    about = "A small notes API secured by rampart (plain HTTP)."
)]
#[command(group(ArgGroup::new("key_source").required(true).multiple(false).args(["jwks_url", "hs_secret_file"])))]
pub struct Config {
    /// URL of the token issuer's JWKS (https; plain http only to a loopback address).
    #[arg(long, env = "RS_JWKS_URL", value_name = "URL")]
    pub jwks_url: Option<String>,
    /// Instead of a JWKS: a file holding the HS256 shared secret (at least 32 bytes; one
    /// trailing newline is ignored).
    #[arg(long, env = "RS_HS_SECRET_FILE", value_name = "FILE")]
    pub hs_secret_file: Option<PathBuf>,
    /// PEM file of the CA certificate(s) to trust for the JWKS instead of the system roots,
    /// e.g. the token server's self-signed `--dev` certificate.
    #[arg(
        long,
        env = "RS_JWKS_CA_FILE",
        value_name = "FILE",
        requires = "jwks_url"
    )]
    pub jwks_ca_file: Option<PathBuf>,
    /// The exact `iss` every token must carry.
    #[arg(long, env = "RS_ISSUER", value_name = "ISS")]
    pub issuer: String,
    /// The audience every token must name in `aud`.
    #[arg(long, env = "RS_AUDIENCE", value_name = "AUD")]
    pub audience: String,
    /// Address to listen on (plain HTTP; port 0 picks a free port).
    #[arg(
        long,
        env = "RS_ADDR",
        value_name = "ADDR",
        default_value = "127.0.0.1:3000"
    )]
    pub addr: SocketAddr,
}

/// Where the token verification keys come from: exactly one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'c> {
    /// A remote JWKS, fetched and kept fresh by [`rampart::RemoteJwks`].
    Jwks(&'c str),
    /// An HS256 shared secret read from this file.
    HsSecretFile(&'c Path),
}

impl Config {
    /// The key source. clap already enforces "exactly one" on the command line; this
    /// repeats the check for configs built in code.
    pub fn key_source(&self) -> anyhow::Result<KeySource<'_>> {
        match (&self.jwks_url, &self.hs_secret_file) {
            (Some(url), None) => Ok(KeySource::Jwks(url)),
            (None, Some(_)) if self.jwks_ca_file.is_some() => {
                bail!("--jwks-ca-file only applies with --jwks-url")
            }
            (None, Some(path)) => Ok(KeySource::HsSecretFile(path)),
            (Some(_), Some(_)) => {
                bail!("--jwks-url and --hs-secret-file are alternatives: set only one")
            }
            (None, None) => bail!(
                "no token keys configured: set --jwks-url (RS_JWKS_URL) or --hs-secret-file (RS_HS_SECRET_FILE)"
            ),
        }
    }
}

/// Reads the shared secret from `path`, without its trailing newline.
pub(crate) fn read_hs_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut secret = std::fs::read(path)
        .with_context(|| format!("cannot read the HS256 secret file {}", path.display()))?;
    let keep = without_trailing_newline(&secret).len();
    secret.truncate(keep);
    Ok(secret)
}

/// Drops one trailing `\n` or `\r\n` (what `echo` and editors add). Only one: the secret
/// may be arbitrary bytes, and further newline bytes would be part of it.
fn without_trailing_newline(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        let base = [
            "resource-server",
            "--issuer",
            "https://issuer.test",
            "--audience",
            "notes",
        ];
        Config::try_parse_from(base.iter().chain(args))
    }

    #[test]
    fn exactly_one_key_source_is_accepted_on_the_command_line() {
        let jwks = parse(&["--jwks-url", "https://issuer.test/jwks.json"]).unwrap();
        assert_eq!(
            jwks.key_source().unwrap(),
            KeySource::Jwks("https://issuer.test/jwks.json")
        );
        let hs = parse(&["--hs-secret-file", "/run/secret"]).unwrap();
        assert_eq!(
            hs.key_source().unwrap(),
            KeySource::HsSecretFile(Path::new("/run/secret"))
        );
        assert!(parse(&[]).is_err(), "neither");
        assert!(
            parse(&[
                "--jwks-url",
                "https://x/jwks",
                "--hs-secret-file",
                "/run/secret"
            ])
            .is_err(),
            "both"
        );
    }

    #[test]
    fn the_listen_address_defaults_to_loopback_port_3000() {
        let config = parse(&["--jwks-url", "https://issuer.test/jwks.json"]).unwrap();
        assert_eq!(config.addr, "127.0.0.1:3000".parse().unwrap());
    }

    #[test]
    fn a_config_built_in_code_needs_exactly_one_key_source() {
        let mut config = parse(&["--jwks-url", "https://issuer.test/jwks.json"]).unwrap();
        config.hs_secret_file = Some("/run/secret".into());
        assert!(
            config
                .key_source()
                .unwrap_err()
                .to_string()
                .contains("only one")
        );
        config.jwks_url = None;
        config.hs_secret_file = None;
        assert!(
            config
                .key_source()
                .unwrap_err()
                .to_string()
                .contains("no token keys")
        );
    }

    #[test]
    fn one_trailing_newline_is_trimmed_from_the_secret() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            ("no newline", b"secret", b"secret"),
            ("unix newline", b"secret\n", b"secret"),
            ("windows newline", b"secret\r\n", b"secret"),
            ("only one newline", b"secret\n\n", b"secret\n"),
            ("inner newline kept", b"sec\nret", b"sec\nret"),
            ("empty", b"", b""),
        ];
        for (name, input, want) in cases {
            assert_eq!(without_trailing_newline(input), *want, "{name}");
        }
    }
}
