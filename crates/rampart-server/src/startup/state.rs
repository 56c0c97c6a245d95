//! The handlers' shared state, over the opened store: the in-memory mirrors of the
//! store (revocation list, revoked sessions) loaded, the token validators, the login
//! policy, the audit writer and the metrics.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rampart::Validator;

use crate::accounts::Accounts;
use crate::accounts::login::Login;
use crate::accounts::throttle::{LoginRate, Throttle, ThrottlePolicy};
use crate::audit::Audit;
use crate::config::Config;
use crate::keys::Keys;
use crate::state::{AnyAudience, AppState, Denylist, TokenSettings};
use crate::store::{AuditStore, Store, ThrottleStore};

/// Builds the state of a server over `accounts` and `keys`.
pub(super) async fn build(
    config: &Config,
    store: Arc<dyn Store>,
    accounts: Accounts,
    keys: Keys,
) -> anyhow::Result<AppState> {
    let denylist = Arc::new(Denylist::default());
    denylist
        .reload(store.as_ref(), accounts.clock.now())
        .await
        .context("loading the revocation list")?;
    accounts
        .access
        .reload()
        .await
        .context("loading revoked sessions")?;

    let issuer = config.public_url.clone();
    let clock = config.clock.clone();
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let access = accounts.access.clone();
    let base = || {
        let clock = clock.clone();
        let observed = Arc::clone(&metrics);
        Validator::builder()
            .observe(move |outcome| observed.validation(outcome))
            .issuer(&issuer)
            .key_set_handle(keys.handle())
            .revocation_list(Arc::clone(&denylist) as Arc<dyn rampart::token::RevocationList>)
            .realm("rampart")
            .clock(move || clock.now())
    };
    // Sessions, users and their roles as they are now, not as they were when the
    // token was signed.
    let check = Arc::new(access) as Arc<dyn rampart::token::TokenCheck>;
    let validator = base()
        .audience(&issuer)
        .token_check(Arc::clone(&check))
        .build()
        .context("building the validator")?;
    let any_audience = AnyAudience {
        checked: base()
            .insecure_skip_aud()
            .token_check(check)
            .build()
            .context("building the validator")?,
        signed: base()
            .insecure_skip_aud()
            .build()
            .context("building the validator")?,
    };
    // ID tokens as `id_token_hint`: this server's, any audience, `typ: JWT`.
    let id_hints = crate::state::IdHints(
        Validator::builder()
            .issuer(&issuer)
            .key_set_handle(keys.handle())
            .typ(rampart::token::TypPolicy::Exact("JWT".to_owned()))
            .profile(rampart::token::Profile::PlainJwt)
            .insecure_skip_aud()
            .clock({
                let clock = clock.clone();
                move || clock.now()
            })
            .build()
            .context("building the ID-token validator")?,
    );
    let ttl = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let throttle = Throttle::new(
        Arc::clone(&store) as Arc<dyn ThrottleStore>,
        config.clock.clone(),
        ThrottlePolicy::default(),
    );
    let login_rate = LoginRate::new(config.login_rate_per_ip);
    let audit = Audit::batched(
        Arc::clone(&store) as Arc<dyn AuditStore>,
        config.clock.clone(),
    );
    let login = Login::new(
        accounts.clone(),
        throttle.clone(),
        audit.clone(),
        login_rate.clone(),
        Arc::clone(&metrics),
    );
    let state = AppState {
        accounts,
        keys,
        validator,
        any_audience,
        settings: Arc::new(TokenSettings {
            issuer,
            access_ttl: ttl(config.access_token_ttl),
            refresh_ttl: ttl(config.refresh_token_ttl),
            refresh_idle_ttl: ttl(config.refresh_idle_ttl),
            refresh_reuse_grace: ttl(config.refresh_reuse_grace),
            session_idle_ttl: ttl(config.session_idle_ttl),
            session_ttl: ttl(config.session_ttl),
        }),
        denylist,
        throttle,
        login_rate,
        audit,
        metrics: Arc::clone(&metrics),
        login,
        id_hints,
        store,
    };
    Ok(state)
}
