//! First start: the built-in first-party client and the bootstrap administrator.

use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{AccountError, Accounts, FIRST_PARTY_CLIENT, Username};
use crate::store::{AuthMethod, Client, ClientChange, StoreError};

/// The first-party client's built-in redirect: Swagger UI's authorization-code flow.
pub fn docs_redirect(public_url: &str) -> String {
    format!(
        "{}/docs/oauth2-redirect.html",
        public_url.trim_end_matches('/')
    )
}

/// What the first-party client's grants and redirects must include for Swagger UI's
/// authorization-code flow at `public_url`; `None` when they already do. A docs redirect
/// of another public URL (a changed `public_url`) is replaced, other redirects kept. Pure.
pub fn docs_sign_in(client: &Client, public_url: &str) -> Option<ClientChange> {
    let wanted = docs_redirect(public_url);
    let has_grant = client.grants.iter().any(|g| g == "authorization_code");
    let has_redirect = client.redirect_uris.contains(&wanted);
    if has_grant && has_redirect {
        return None;
    }
    let mut grants = client.grants.clone();
    if !has_grant {
        grants.push("authorization_code".to_owned());
    }
    let mut redirect_uris: Vec<String> = client
        .redirect_uris
        .iter()
        .filter(|r| !r.ends_with("/docs/oauth2-redirect.html"))
        .cloned()
        .collect();
    redirect_uris.push(wanted);
    Some(ClientChange {
        grants: Some(grants),
        redirect_uris: Some(redirect_uris),
        ..ClientChange::default()
    })
}

/// Creates (or enables/disables per config) the first-party public client, and keeps
/// Swagger UI's sign-in redirect for `public_url` registered on it.
pub async fn first_party_client(
    accounts: &Accounts,
    enabled: bool,
    public_url: &str,
) -> Result<(), StoreError> {
    match accounts.store.client(FIRST_PARTY_CLIENT).await? {
        Some(client) => {
            let mut change = docs_sign_in(&client, public_url).unwrap_or_default();
            if client.disabled == enabled {
                change.disabled = Some(!enabled);
            }
            if change == ClientChange::default() {
                return Ok(());
            }
            accounts
                .store
                .update_client(FIRST_PARTY_CLIENT, &change)
                .await
        }
        None => {
            let client = Client {
                id: FIRST_PARTY_CLIENT.to_owned(),
                name: "First-party public client".to_owned(),
                confidential: false,
                secret_hash: None,
                grants: vec![
                    "password".into(),
                    "refresh_token".into(),
                    "authorization_code".into(),
                ],
                scopes: vec![
                    "profile".into(),
                    "admin".into(),
                    "openid".into(),
                    "email".into(),
                    "offline_access".into(),
                ],
                audience: None,
                disabled: !enabled,
                created_at: accounts.clock.now(),
                redirect_uris: vec![docs_redirect(public_url)],
                post_logout_redirect_uris: Vec::new(),
                first_party: true,
                auth_method: AuthMethod::None,
                access_token_ttl: None,
                refresh_token_ttl: None,
                logout_revokes_tokens: false,
            };
            match accounts.store.create_client(&client).await {
                // Another instance created it at the same moment.
                Err(StoreError::Conflict) => Ok(()),
                other => other,
            }
        }
    }
}

/// Creates user `admin` with role `admin` when no administrator exists. The password is
/// `RAMPART_BOOTSTRAP_ADMIN_PASSWORD`, or random and returned so the caller prints it once.
pub async fn admin(
    accounts: &Accounts,
    password: Option<&SecretString>,
) -> Result<Option<SecretString>, AccountError> {
    if accounts.store.count_users_with_role("admin").await? > 0 {
        return Ok(None);
    }
    let name = Username::parse("admin")?;
    if accounts
        .store
        .user_by_username(name.as_str())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) => {
            // The operator chose it: the same rules as any other password.
            crate::accounts::passwords::check_new_password(p, Some("admin"))?;
            (p.clone(), false)
        }
        None => (SecretString::from(crate::secret::random_token(18)), true),
    };
    let hash = accounts.passwords.hash(&password).await?;
    match accounts
        .create_user_with_hash(&name, hash, &["admin".to_owned()])
        .await
    {
        Ok(_) => Ok(generated.then_some(password)),
        Err(AccountError::Conflict(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Prints the generated bootstrap password once, to stderr.
#[allow(clippy::print_stderr)]
pub fn announce(password: &SecretString) {
    eprintln!(
        "\n  Created the bootstrap administrator.\n    username: admin\n    password: {}\n  It is shown only this once: store it now. Lost it? Set a new one with\n    rampart user passwd admin\n",
        password.expose_secret()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_party(grants: &[&str], redirects: &[&str]) -> Client {
        Client {
            id: FIRST_PARTY_CLIENT.to_owned(),
            name: "First-party public client".to_owned(),
            confidential: false,
            secret_hash: None,
            grants: grants.iter().map(|g| (*g).to_owned()).collect(),
            scopes: vec![],
            audience: None,
            disabled: false,
            created_at: 0,
            redirect_uris: redirects.iter().map(|r| (*r).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            first_party: true,
            auth_method: AuthMethod::None,
            access_token_ttl: None,
            refresh_token_ttl: None,
            logout_revokes_tokens: false,
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn the_docs_redirect_follows_the_public_url() {
        let url = "https://id.example";
        let docs = "https://id.example/docs/oauth2-redirect.html";
        let old_docs = "https://localhost:8443/docs/oauth2-redirect.html";
        let app = "https://app.example/cb";
        let code = ["password", "refresh_token", "authorization_code"];
        let cases: Vec<(&str, Client, Option<(Vec<&str>, Vec<&str>)>)> = vec![
            ("already set", first_party(&code, &[docs]), None),
            (
                "an installation from before sign-in",
                first_party(&["password", "refresh_token"], &[]),
                Some((code.to_vec(), vec![docs])),
            ),
            (
                "the public URL changed",
                first_party(&code, &[app, old_docs]),
                Some((code.to_vec(), vec![app, docs])),
            ),
        ];
        for (name, client, expected) in cases {
            let got = docs_sign_in(&client, url).map(|c| {
                (
                    c.grants.unwrap_or_default(),
                    c.redirect_uris.unwrap_or_default(),
                )
            });
            let expected = expected.map(|(g, r)| {
                (
                    g.into_iter().map(str::to_owned).collect::<Vec<_>>(),
                    r.into_iter().map(str::to_owned).collect::<Vec<_>>(),
                )
            });
            assert_eq!(got, expected, "{name}");
        }
    }
}
