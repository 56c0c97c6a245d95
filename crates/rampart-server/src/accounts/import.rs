//! `rampart user import FILE`: users with their existing password hashes, from a FastAPI
//! (passlib/pwdlib) or any other app.
//!
//! Formats: CSV with a header `username,password_hash,roles` (roles separated by spaces
//! or `;`), or JSON lines `{"username", "password_hash", "roles": [...]}` (chosen by the
//! `.csv` extension, else by the first non-blank character: `{` means JSON lines). Either
//! may also carry the profile: `name`, `email`, `email_verified` (`true`/`false`), checked
//! as in the admin API.
//! Hashes: bcrypt (`$2a$`, `$2b$`, `$2y$`) and argon2 PHC strings (`$argon2id$`,
//! `$argon2i$`); each imported user is rehashed to the server's argon2id parameters at
//! their first successful login.
//!
//! Batches of [`BATCH`] rows are all-or-nothing: a batch with any rejected row (bad
//! username, unknown hash format, unknown role, a username that exists already or twice
//! in the file) is not imported, and every rejected row is reported with its line number.

use std::collections::{BTreeSet, HashSet};

use argon2::password_hash::PasswordHash;
use serde::Deserialize;
use uuid::Uuid;

use super::{Accounts, Username};
use crate::store::{Profile, User};

/// Rows per all-or-nothing batch.
pub const BATCH: usize = 500;

/// One row as read from the file.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub username: String,
    pub password_hash: String,
    #[serde(default, deserialize_with = "roles")]
    pub roles: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
}

fn roles<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Roles {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Roles::deserialize(d)? {
        Roles::List(list) => list,
        Roles::Text(text) => text
            .split([' ', ';', ','])
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// A rejected row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line number in the file.
    pub line: usize,
    pub reason: String,
}

/// The outcome of an import.
#[derive(Debug, Default)]
pub struct Report {
    pub imported: usize,
    /// Rows not imported because their batch had a rejected row.
    pub skipped: usize,
    pub rejected: Vec<Rejected>,
}

/// Parses the file into rows with their line numbers; unparsable lines are rejected.
pub fn parse(text: &str, csv_hint: bool) -> (Vec<(usize, Row)>, Vec<Rejected>) {
    let json = !csv_hint && text.trim_start().starts_with('{');
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    if json {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Row>(line) {
                Ok(row) => rows.push((i + 1, row)),
                Err(e) => rejected.push(Rejected {
                    line: i + 1,
                    reason: format!("not a JSON object with username, password_hash, roles: {e}"),
                }),
            }
        }
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        for (i, record) in reader.deserialize::<Row>().enumerate() {
            // Line 1 is the header.
            let line = i + 2;
            match record {
                Ok(row) => rows.push((line, row)),
                Err(e) => rejected.push(Rejected {
                    line,
                    reason: format!("bad CSV row: {e}"),
                }),
            }
        }
    }
    (rows, rejected)
}

/// Why a hash is not importable, if it is not.
pub fn check_hash(hash: &str) -> Result<(), &'static str> {
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        let ok = hash.len() == 60
            && hash[4..6].chars().all(|c| c.is_ascii_digit())
            && hash.as_bytes()[6] == b'$'
            && hash[7..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/');
        return if ok {
            Ok(())
        } else {
            Err("malformed bcrypt hash")
        };
    }
    if hash.starts_with("$argon2id$")
        || hash.starts_with("$argon2i$")
        || hash.starts_with("$argon2d$")
    {
        return PasswordHash::new(hash)
            .map(|_| ())
            .map_err(|_| "malformed argon2 PHC string");
    }
    Err("unsupported hash format (bcrypt $2a$/$2b$/$2y$ or argon2 PHC only)")
}

/// Imports rows in all-or-nothing batches; `progress` is called after each batch with
/// the number of rows handled so far.
pub async fn import(
    accounts: &Accounts,
    rows: Vec<(usize, Row)>,
    mut progress: impl FnMut(usize),
) -> Result<Report, crate::store::StoreError> {
    let known_roles: BTreeSet<String> = accounts
        .store
        .list_roles()
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let mut report = Report::default();
    let mut seen = HashSet::new();
    let mut done = 0;
    for batch in rows.chunks(BATCH) {
        let mut users = Vec::with_capacity(batch.len());
        let mut batch_rejected = Vec::new();
        for (line, row) in batch {
            let reject = |reason: String| Rejected {
                line: *line,
                reason,
            };
            let username = match Username::parse(&row.username) {
                Ok(u) => u,
                Err(e) => {
                    batch_rejected.push(reject(e.to_string()));
                    continue;
                }
            };
            if let Err(why) = check_hash(&row.password_hash) {
                batch_rejected.push(reject(why.to_owned()));
                continue;
            }
            let profile = Profile {
                name: row.name.clone().filter(|n| !n.is_empty()),
                email: row.email.clone().filter(|e| !e.is_empty()),
                email_verified: row.email_verified.unwrap_or(false),
            };
            let profile = match super::profile::check_profile(&profile) {
                Ok(p) => p,
                Err(e) => {
                    batch_rejected.push(reject(e.to_string()));
                    continue;
                }
            };
            if let Some(role) = row.roles.iter().find(|r| !known_roles.contains(*r)) {
                batch_rejected.push(reject(format!("unknown role {role:?}")));
                continue;
            }
            if !seen.insert(username.as_str().to_owned()) {
                batch_rejected.push(reject(format!("{username} appears twice in the file")));
                continue;
            }
            if accounts
                .store
                .user_by_username(username.as_str())
                .await?
                .is_some()
            {
                batch_rejected.push(reject(format!("{username} exists already")));
                continue;
            }
            let now = accounts.clock.now();
            let mut roles = if row.roles.is_empty() {
                vec!["user".to_owned()]
            } else {
                row.roles.clone()
            };
            roles.sort();
            roles.dedup();
            users.push(User {
                id: Uuid::new_v4(),
                username: username.as_str().to_owned(),
                password_hash: row.password_hash.clone(),
                disabled: false,
                created_at: now,
                updated_at: now,
                password_changed_at: now,
                tokens_valid_after: 0,
                roles,
                profile,
            });
        }
        if batch_rejected.is_empty() {
            match accounts.store.create_users(&users).await {
                Ok(()) => report.imported += users.len(),
                Err(crate::store::StoreError::Conflict) => {
                    report.skipped += batch.len();
                    report.rejected.push(Rejected {
                        line: batch[0].0,
                        reason:
                            "a username in this batch was created concurrently; batch not imported"
                                .into(),
                    });
                }
                Err(e) => return Err(e),
            }
        } else {
            report.skipped += batch.len() - batch_rejected.len();
            report.rejected.extend(batch_rejected);
        }
        done += batch.len();
        progress(done);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_formats() {
        let bcrypt = bcrypt::hash("pw", 4).unwrap();
        assert_eq!(check_hash(&bcrypt), Ok(()));
        assert_eq!(check_hash(&bcrypt.replacen("$2b$", "$2y$", 1)), Ok(()));
        assert!(check_hash("$2b$04$short").is_err());
        assert_eq!(
            check_hash(
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
            ),
            Ok(())
        );
        assert!(check_hash("$pbkdf2-sha256$29000$abc$def").is_err());
        assert!(check_hash("plaintext").is_err());
    }

    #[test]
    fn csv_and_json_lines_parse_with_line_numbers() {
        let (rows, bad) = parse(
            "username,password_hash,roles\nalice,$2b$x,user admin\nbob,$2b$y,\n",
            true,
        );
        assert!(bad.is_empty());
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.roles, ["user", "admin"]);
        assert!(rows[1].1.roles.is_empty());
        let (rows, bad) = parse(
            "{\"username\":\"a\",\"password_hash\":\"h\",\"roles\":[\"user\"]}\n\nnot json\n",
            false,
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(
            bad,
            [Rejected {
                line: 3,
                reason: bad[0].reason.clone()
            }]
        );
    }
}
