//! First start: the built-in first-party client and the bootstrap administrator.

use secrecy::{ExposeSecret, SecretString};

use crate::accounts::{AccountError, Accounts, FIRST_PARTY_CLIENT, Username};
use crate::store::{AuthMethod, Client, ClientChange, StoreError};

/// Creates (or enables/disables per config) the first-party public client.
pub async fn first_party_client(accounts: &Accounts, enabled: bool) -> Result<(), StoreError> {
    match accounts.store.client(FIRST_PARTY_CLIENT).await? {
        Some(client) if client.disabled == enabled => {
            let change = ClientChange {
                disabled: Some(!enabled),
                ..ClientChange::default()
            };
            accounts
                .store
                .update_client(FIRST_PARTY_CLIENT, &change)
                .await
        }
        Some(_) => Ok(()),
        None => {
            let client = Client {
                id: FIRST_PARTY_CLIENT.to_owned(),
                name: "First-party public client".to_owned(),
                confidential: false,
                secret_hash: None,
                grants: vec!["password".into(), "refresh_token".into()],
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
                redirect_uris: Vec::new(),
                post_logout_redirect_uris: Vec::new(),
                first_party: true,
                auth_method: AuthMethod::None,
                access_token_ttl: None,
                refresh_token_ttl: None,
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
