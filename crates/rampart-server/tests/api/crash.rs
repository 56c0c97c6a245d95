//! A crash under write load loses nothing that was acknowledged: `rampart serve` is killed
//! with SIGKILL while refresh grants stream in, and the restarted server holds every
//! refresh token it answered with, in order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{StatusCode, header};

use crate::helpers::{ADMIN_PW, ClientAuth, TestApp, form_body, tokens};

/// Sessions rotated at once: enough to keep the writer's groups full.
const SESSIONS: usize = 16;
/// Acknowledged rotations before the kill.
const ACKNOWLEDGED: usize = 300;

/// Rotates `first` again and again on the process at `url` until a request fails (the
/// process is gone); returns the tokens it was answered with, `first` included.
async fn rotate_until_refused(
    client: reqwest::Client,
    url: String,
    first: String,
    acknowledged: Arc<AtomicUsize>,
) -> Vec<String> {
    let mut chain = vec![first];
    loop {
        let current = chain.last().unwrap().clone();
        let body = form_body(&[("grant_type", "refresh_token"), ("refresh_token", &current)]);
        let sent = client
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        let Ok(response) = sent else { return chain };
        let status = response.status();
        // A body cut off by the kill is no acknowledgement.
        let Ok(text) = response.text().await else {
            return chain;
        };
        assert_eq!(
            status,
            StatusCode::OK,
            "a refresh under load failed: {text}"
        );
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        chain.push(answer["refresh_token"].as_str().unwrap().to_owned());
        acknowledged.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn every_acknowledged_refresh_survives_a_sigkill_under_write_load() {
    let app = TestApp::spawn().await;
    let mut firsts = Vec::new();
    for _ in 0..SESSIONS {
        firsts.push(
            app.login("admin", ADMIN_PW, None)
                .await
                .refresh_token
                .unwrap(),
        );
    }
    app.stop().await.unwrap().unwrap();
    let mut server = app.serve_process().await;

    let (client, url) = (reqwest::Client::new(), server.url("/oauth/token"));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = firsts
        .into_iter()
        .map(|first| {
            tokio::spawn(rotate_until_refused(
                client.clone(),
                url.clone(),
                first,
                Arc::clone(&acknowledged),
            ))
        })
        .collect();
    let started = Instant::now();
    while acknowledged.load(Ordering::Relaxed) < ACKNOWLEDGED {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the load did not get going"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // In the middle of the load: every session has a request in flight.
    server.kill();
    let mut chains = Vec::new();
    for worker in workers {
        chains.push(worker.await.unwrap());
    }

    let restarted = app.restarted().await;
    let store = &restarted.state.store;
    let mut checked = 0;
    for chain in &chains {
        let (last, earlier) = chain.split_last().unwrap();
        // Every token answered before the last was rotated: its successor was stored.
        for token in earlier {
            let row = store
                .refresh_by_hash(&rampart_server::secret::digest(token))
                .await
                .unwrap()
                .expect("an acknowledged refresh token is in the database");
            assert!(row.used_at.is_some(), "an acknowledged rotation was lost");
            checked += 1;
        }
        let row = store
            .refresh_by_hash(&rampart_server::secret::digest(last))
            .await
            .unwrap()
            .expect("the last acknowledged refresh token is in the database");
        // Current, unless the rotation in flight at the kill committed unanswered; a
        // current one still works after the restart.
        if row.used_at.is_none() {
            tokens(restarted.refresh(last, None, ClientAuth::FirstParty).await).await;
        }
        checked += 1;
    }
    assert!(checked >= ACKNOWLEDGED, "{checked} tokens checked");
}
