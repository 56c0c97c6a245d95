//! The `rampart` command line. Every verb goes through the same `Accounts`/`Keys` code
//! as the HTTP handlers.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret as _, SecretString};

use crate::accounts::ClientSpec;
use crate::audit::{Event, Kind};
use crate::config::{Config, Settings};
use crate::startup::{Application, core, open_store};
use crate::store::{AuthMethod, Profile};

/// Rampart: an OAuth2 token server.
#[derive(Debug, Parser)]
#[command(name = "rampart", version, about)]
pub struct Cli {
    /// TOML configuration file (keys as the long flags, with underscores)
    #[arg(long, env = "RAMPART_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Log format: auto (human-readable on a terminal, JSON otherwise), json or text
    #[arg(
        long,
        env = "RAMPART_LOG_FORMAT",
        global = true,
        default_value = "auto"
    )]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Development mode: generate a self-signed certificate for localhost in the data dir.
        #[arg(long)]
        dev: bool,
    },
    /// Run database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage scopes (what roles map to and clients may be granted).
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Manage roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password comes from RAMPART_PASSWORD or a prompt.
    Create {
        /// The username (1–64 letters, digits and . _ - @ +; case-insensitive).
        name: String,
        /// A role the user holds (repeat for several; create roles with `rampart role create`).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Display name (OpenID Connect `name`)
        #[arg(long = "display-name")]
        display_name: Option<String>,
        /// Email address (OpenID Connect `email`)
        #[arg(long)]
        email: Option<String>,
        /// The email is known to belong to the user
        #[arg(long, requires = "email")]
        email_verified: bool,
    },
    /// Set a user's password (ends their sessions); from RAMPART_PASSWORD or a prompt.
    Passwd {
        /// The username.
        name: String,
    },
    /// Disable a user (ends their sessions).
    Disable {
        /// The username.
        name: String,
    },
    /// Import users with existing bcrypt/argon2 hashes from CSV (username,password_hash,roles)
    /// or JSON lines; all-or-nothing per batch of 500, rejected rows reported.
    Import {
        /// The CSV (.csv) or JSON-lines file.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Create or update a scope (RFC 6749 §3.3 syntax, e.g. `notes:read`).
    Create {
        /// The scope's name.
        name: String,
        /// What the scope lets a token do (shown in the admin API).
        #[arg(long, default_value = "")]
        description: String,
        /// Granted when a login asks for no scope (never allowed for `admin`).
        #[arg(long)]
        default: bool,
    },
    /// List every scope.
    List,
    /// Delete a scope; roles lose it. Refused while a client may be granted it.
    Delete {
        /// The scope's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role mapping to scopes (create them first with `rampart scope create`).
    Create {
        /// The role's name.
        name: String,
        /// A scope the role holds (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// What the role is for.
        #[arg(long, default_value = "")]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client; a confidential client's secret is printed once.
    Create {
        /// A name for people (1–200 printable characters); the client_id is generated.
        name: String,
        /// A grant type it may use: password, refresh_token or client_credentials (repeat).
        #[arg(long = "grant", required = true)]
        grants: Vec<String>,
        /// A scope it may be granted (repeat; each must exist).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A public client (no secret; cannot use client_credentials).
        #[arg(long)]
        public: bool,
        /// The `aud` of its access tokens [default: the public URL]
        #[arg(long)]
        audience: Option<String>,
        /// A redirect URI for sign-in, matched exactly (repeat; https, http on
        /// 127.0.0.1/[::1] with any port, or com.example.app:/path)
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where logout may return the browser, matched exactly (repeat)
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// The operator's own app: users are not asked for consent
        #[arg(long)]
        first_party: bool,
        /// client_secret_basic or client_secret_post (confidential), none (public)
        /// [default: client_secret_basic, or none with --public]
        #[arg(long, value_parser = auth_method)]
        auth_method: Option<AuthMethod>,
        /// Its access-token lifetime in seconds (60–86400) [default: the server's
        /// --access-token-ttl]
        #[arg(long)]
        access_lifetime: Option<u32>,
        /// Its refresh-token (session) lifetime in seconds (60–31536000) [default: the
        /// server's --refresh-token-ttl]
        #[arg(long)]
        refresh_lifetime: Option<u32>,
        /// Signing out of the browser (the end-session endpoint) also revokes the token
        /// sessions this client got through it
        #[arg(long)]
        logout_revokes_tokens: bool,
    },
}

fn auth_method(name: &str) -> Result<AuthMethod, String> {
    AuthMethod::parse(name).ok_or_else(|| {
        let names: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their state.
    List,
    /// Publish a new key now; it signs after the rotation delay.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration and print the effective values (secrets redacted).
    Check,
}

/// The settings every verb takes as a flag; the others (listeners, TLS, lifetimes,
/// hashing, …) are the server's, shown only under `serve`, though a verb still reads them
/// from the environment and the configuration file (and accepts them as flags).
const SHARED_SETTINGS: [&str; 2] = ["data_dir", "database_url"];

/// The command line: [`Cli`] with the server's settings hidden from every help but
/// that of `serve`, where they are listed after its own options.
///
/// clap shows a global argument in every subcommand's help, and cannot change an
/// argument of a built command (its index would break), so the settings are hidden
/// before clap builds the command, and `serve`'s help lists them from a rendering of
/// [`Settings`] alone.
pub fn command() -> clap::Command {
    use clap::{Args as _, CommandFactory as _};
    let settings = Settings::augment_args(clap::Command::new("settings"));
    let server_only: Vec<clap::Id> = settings
        .get_arguments()
        .map(|a| a.get_id().clone())
        .filter(|id| !SHARED_SETTINGS.contains(&id.as_str()))
        .collect();
    let mut listing = server_only
        .iter()
        .fold(
            clap::Command::new("settings").help_template("{options}"),
            |listing, id| match settings.get_arguments().find(|a| a.get_id() == id) {
                Some(arg) => listing.arg(arg.clone().global(false)),
                None => listing,
            },
        )
        .disable_help_flag(true);
    let listed = listing.render_long_help().to_string();
    let cmd = server_only
        .iter()
        .fold(Cli::command(), |cmd, id| cmd.mut_arg(id, |a| a.hide(true)));
    cmd.mut_subcommand("serve", |serve| {
        serve
            .after_help("Server settings (listeners, TLS, token lifetimes, hashing, database pool, …): rampart serve --help")
            .after_long_help(format!(
            "Server settings (each also an environment variable or a key of the --config file; \
             every other command reads them too):\n{listed}"
        ))
    })
}

/// Audit events from the CLI carry the actor `cli`.
async fn cli_audit(accounts: &crate::accounts::Accounts, event: Event) {
    accounts.audit_now().record(event.actor("cli")).await;
}

fn config(cli: &Cli, dev: bool) -> anyhow::Result<Config> {
    let file = match &cli.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    Config::resolve(cli.settings.clone().or(file), dev)
}

fn read_password() -> anyhow::Result<SecretString> {
    if let Ok(p) = std::env::var("RAMPART_PASSWORD")
        && !p.is_empty()
    {
        return Ok(SecretString::from(p));
    }
    let first = rpassword::prompt_password("Password: ")
        .context("reading the password (set RAMPART_PASSWORD when not on a terminal)")?;
    let second = rpassword::prompt_password("Repeat: ").context("reading the password")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(SecretString::from(first))
}

/// Runs a parsed command line.
#[allow(clippy::print_stdout)]
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { dev } => {
            let config = config(&cli, *dev)?;
            let app = Application::build(config).await?;
            app.run_until_stopped().await
        }
        Command::Migrate => {
            open_store(&config(&cli, false)?).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::User(cmd) => {
            let (accounts, _) = core(&config(&cli, false)?).await?;
            match cmd {
                UserCommand::Create {
                    name,
                    roles,
                    display_name,
                    email,
                    email_verified,
                } => {
                    let roles = if roles.is_empty() {
                        vec!["user".to_owned()]
                    } else {
                        roles.clone()
                    };
                    let user = accounts
                        .create_user(
                            name,
                            &read_password()?,
                            &roles,
                            &Profile {
                                name: display_name.clone(),
                                email: email.clone(),
                                email_verified: *email_verified,
                            },
                        )
                        .await?;
                    cli_audit(&accounts, Event::new(Kind::AdminChange).subject(user.id).details(
                        serde_json::json!({"action": "user.create", "after": {"username": user.username, "roles": user.roles,
                            "name": user.profile.name, "email": user.profile.email, "email_verified": user.profile.email_verified}}),
                    ))
                    .await;
                    println!("created user {} ({})", user.username, user.id);
                }
                UserCommand::Passwd { name } => {
                    let user = accounts.find_user(name).await?;
                    accounts.set_password(user.id, &read_password()?).await?;
                    cli_audit(
                        &accounts,
                        Event::new(Kind::PasswordChanged)
                            .subject(user.id)
                            .reason("cli"),
                    )
                    .await;
                    println!(
                        "password changed for {}; their sessions were ended",
                        user.username
                    );
                }
                UserCommand::Import { file } => {
                    let text = std::fs::read_to_string(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let csv = file
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
                    let (rows, mut unparsable) = crate::accounts::import::parse(&text, csv);
                    let total = rows.len();
                    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                        indicatif::ProgressBar::new(total as u64)
                    } else {
                        indicatif::ProgressBar::hidden()
                    };
                    let report = crate::accounts::import::import(&accounts, rows, |done| {
                        bar.set_position(done as u64);
                    })
                    .await?;
                    bar.finish_and_clear();
                    cli_audit(&accounts, Event::new(Kind::AdminChange).subject(file.display()).details(serde_json::json!({
                        "action": "user.import", "imported": report.imported, "rejected": report.rejected.len() + unparsable.len(),
                    })))
                    .await;
                    unparsable.extend(report.rejected);
                    unparsable.sort_by_key(|r| r.line);
                    for r in &unparsable {
                        println!("line {}: {}", r.line, r.reason);
                    }
                    println!(
                        "imported {} users; {} rows rejected; {} rows skipped with their batch",
                        report.imported,
                        unparsable.len(),
                        report.skipped
                    );
                    if !unparsable.is_empty() {
                        anyhow::bail!("some rows were not imported (see above)");
                    }
                }
                UserCommand::Disable { name } => {
                    let user = accounts.find_user(name).await?;
                    accounts.set_disabled(user.id, true).await?;
                    cli_audit(&accounts, Event::new(Kind::AdminChange).subject(user.id).details(
                        serde_json::json!({"action": "user.update", "after": {"disabled": true}}),
                    ))
                    .await;
                    println!("disabled {}", user.username);
                }
            }
            Ok(())
        }
        Command::Scope(cmd) => {
            let (accounts, _) = core(&config(&cli, false)?).await?;
            match cmd {
                ScopeCommand::Create {
                    name,
                    description,
                    default,
                } => {
                    let scope = accounts.put_scope(name, description, *default).await?;
                    cli_audit(&accounts, Event::new(Kind::AdminChange).subject(&scope.name).details(
                        serde_json::json!({"action": "scope.put", "after": {"name": scope.name, "description": scope.description, "default": scope.is_default}}),
                    ))
                    .await;
                    println!(
                        "scope {}{}",
                        scope.name,
                        if scope.is_default { " (default)" } else { "" }
                    );
                }
                ScopeCommand::List => {
                    for scope in accounts.scopes().await? {
                        println!(
                            "{}{}  {}",
                            scope.name,
                            if scope.is_default { " (default)" } else { "" },
                            scope.description
                        );
                    }
                }
                ScopeCommand::Delete { name } => {
                    accounts.delete_scope(name).await?;
                    cli_audit(
                        &accounts,
                        Event::new(Kind::AdminChange)
                            .subject(name)
                            .details(serde_json::json!({"action": "scope.delete"})),
                    )
                    .await;
                    println!("deleted scope {name}");
                }
            }
            Ok(())
        }
        Command::Role(RoleCommand::Create {
            name,
            scopes,
            description,
        }) => {
            let (accounts, _) = core(&config(&cli, false)?).await?;
            let role = accounts.create_role(name, description, scopes).await?;
            cli_audit(&accounts, Event::new(Kind::AdminChange).subject(&role.name).details(
                serde_json::json!({"action": "role.create", "after": {"name": role.name, "scopes": role.scopes}}),
            ))
            .await;
            println!("created role {} → {}", role.name, role.scopes.join(" "));
            Ok(())
        }
        Command::Client(ClientCommand::Create {
            name,
            grants,
            scopes,
            public,
            audience,
            redirect_uris,
            post_logout_redirect_uris,
            first_party,
            auth_method,
            access_lifetime,
            refresh_lifetime,
            logout_revokes_tokens,
        }) => {
            let (accounts, _) = core(&config(&cli, false)?).await?;
            let created = accounts
                .create_client(ClientSpec {
                    name: name.clone(),
                    confidential: !public,
                    grants: grants.clone(),
                    scopes: scopes.clone(),
                    audience: audience.clone(),
                    redirect_uris: redirect_uris.clone(),
                    post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                    first_party: *first_party,
                    auth_method: *auth_method,
                    access_token_ttl: *access_lifetime,
                    refresh_token_ttl: *refresh_lifetime,
                    logout_revokes_tokens: *logout_revokes_tokens,
                })
                .await?;
            let c = &created.client;
            cli_audit(&accounts, Event::new(Kind::AdminChange).subject(&c.id).details(serde_json::json!({
                "action": "client.create",
                "after": {"client_id": c.id, "name": c.name, "confidential": c.confidential, "grants": c.grants, "scopes": c.scopes, "audience": c.audience,
                          "redirect_uris": c.redirect_uris, "post_logout_redirect_uris": c.post_logout_redirect_uris, "first_party": c.first_party,
                          "token_endpoint_auth_method": c.auth_method.as_str(), "access_token_ttl": c.access_token_ttl, "refresh_token_ttl": c.refresh_token_ttl,
                          "logout_revokes_tokens": c.logout_revokes_tokens},
            })))
            .await;
            println!("client_id: {}", created.client.id);
            if let Some(secret) = created.secret {
                println!(
                    "client_secret: {}\n(shown only this once)",
                    secret.expose_secret()
                );
            }
            Ok(())
        }
        Command::Keys(cmd) => {
            let (accounts, keys) = core(&config(&cli, false)?).await?;
            match cmd {
                KeysCommand::List => {
                    for key in keys.list().await? {
                        println!(
                            "{}  {}  activates_at={}  retired_at={}  publish_until={}",
                            key.kid,
                            key.alg,
                            key.activates_at,
                            key.retired_at
                                .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                            key.publish_until
                                .map_or_else(|| "-".to_owned(), |t| t.to_string()),
                        );
                    }
                }
                KeysCommand::Rotate => {
                    let (kid, at) = keys.rotate().await?;
                    cli_audit(
                        &accounts,
                        Event::new(Kind::KeyRotated)
                            .subject(&kid)
                            .details(serde_json::json!({"activates_at": at})),
                    )
                    .await;
                    println!("published key {kid}; it signs from {at} (unix time)");
                }
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Check) => {
            let config = config(&cli, false)?;
            crate::startup::validate(&config)?;
            print!("{}", config.describe());
            println!("# configuration OK");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn help(path: &[&str]) -> String {
        let mut cmd = command();
        cmd.build();
        let mut current = &mut cmd;
        for name in path {
            current = current.find_subcommand_mut(name).unwrap();
        }
        current.render_long_help().to_string()
    }

    #[test]
    fn the_server_settings_are_shown_under_serve_only() {
        let cases: [(&[&str], bool); 5] = [
            (&[], false),
            (&["serve"], true),
            (&["user", "create"], false),
            (&["scope", "list"], false),
            (&["keys", "rotate"], false),
        ];
        for (path, shown) in cases {
            let text = help(path);
            assert_eq!(text.contains("--https-addr"), shown, "{path:?}:\n{text}");
            assert_eq!(text.contains("--argon2-memory-kib"), shown, "{path:?}");
            assert!(
                text.contains("--data-dir"),
                "{path:?}: shared settings stay"
            );
        }
    }

    #[test]
    fn a_hidden_server_setting_still_works_as_a_flag_on_a_verb() {
        use clap::FromArgMatches as _;
        let matches = command()
            .try_get_matches_from(["rampart", "keys", "rotate", "--signing-alg", "EdDSA"])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(cli.settings.signing_alg.as_deref(), Some("EdDSA"));
    }

    #[test]
    fn every_argument_of_every_command_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.get_help().is_none() && !["help", "version"].contains(&id) {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&command(), "rampart", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");
    }
}
