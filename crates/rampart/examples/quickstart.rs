// An axum API secured by the Rampart token server of `serve --dev`.
// Run from the repository root: cargo run -p rampart --example quickstart
use axum::{Router, extract::FromRef, routing::get};
use rampart::{Auth, RemoteJwks, Scoped, Validator};

rampart::scopes!(NotesRead = "notes:read");

#[derive(Clone, FromRef)]
struct AppState {
    validator: Validator,
}

async fn whoami(auth: Option<Auth>) -> String {
    auth.and_then(|a| a.standard().sub.clone())
        .unwrap_or_else(|| "anonymous".into())
}

async fn notes(token: Scoped<NotesRead>) -> String {
    format!("notes of {}", token.subject().unwrap_or_default())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let jwks = RemoteJwks::builder("https://localhost:8443/.well-known/jwks.json")
        .ca_file("rampart-data/dev-cert.pem") // serve --dev's self-signed certificate
        .build()?;
    let validator = Validator::builder()
        .issuer("https://localhost:8443")
        .audience("https://localhost:8443")
        .jwks(jwks)
        .build()?;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/notes", get(notes))
        .with_state(AppState { validator });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on http://127.0.0.1:3001");
    axum::serve(listener, app).await?;
    Ok(())
}
