//! The background task of a running server: what other instances and the CLI change in
//! the store reaches this one (signing keys, revocations, sessions, user changes), and
//! what only grows is pruned (audit retention, throttle rows, idle rate-limit state).

use std::time::Duration;

use crate::state::AppState;

/// Reloads signing keys and the revocation list periodically (rotations and revocations
/// made by the CLI or another instance).
pub(super) fn spawn(state: AppState, audit_retention: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::keys::RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Purge at the first tick, then hourly.
        let mut last_purge = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            tick.tick().await;
            state.login_rate.forget_idle();
            if last_purge.elapsed() >= Duration::from_secs(3600) {
                last_purge = std::time::Instant::now();
                state.audit.purge(audit_retention).await;
                match state.throttle.purge().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged expired login-throttle rows"),
                    Err(e) => tracing::warn!(error = %e, "purging login-throttle rows failed"),
                }
                match state.accounts.purge_codes().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged expired authorization codes"),
                    Err(e) => tracing::warn!(error = %e, "purging authorization codes failed"),
                }
                match state.accounts.purge_browser_sessions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "purged ended browser sessions"),
                    Err(e) => tracing::warn!(error = %e, "purging browser sessions failed"),
                }
            }
            state.metrics.key_reload();
            if let Err(e) = state.keys.reload().await {
                tracing::warn!(error = %e, "reloading signing keys failed; keeping the current ones");
            }
            if let Err(e) = state
                .denylist
                .reload(state.store.as_ref(), state.accounts.clock.now())
                .await
            {
                tracing::warn!(error = %e, "reloading the revocation list failed");
            }
            if let Err(e) = state.accounts.access.reload().await {
                tracing::warn!(error = %e, "reloading revoked sessions and user changes failed");
            }
        }
    })
}
