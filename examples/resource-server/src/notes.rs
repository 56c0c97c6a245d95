//! The notes resource: an in-memory store and its three routes, each guarded by rampart.
//!
//! Both ways of requiring a permission are shown: extractors (`Scoped<NotesRead>`,
//! `HasRole<Admin>`) that make the check the handler's first argument, and a route layer
//! (`validator.require_scopes([...])`) that checks before the handler runs.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::handler::Handler as _;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use rampart::{Auth, HasRole, Scoped, Validator};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;

rampart::scopes!(pub(crate) NotesRead = "notes:read");
rampart::roles!(pub(crate) Admin = "admin");

/// The scope `POST /notes` requires (checked by a route layer).
pub(crate) const NOTES_WRITE: &str = "notes:write";
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Largest request body the notes routes read, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// The notes routes.
pub(crate) fn router(validator: &Validator) -> Router<AppState> {
    Router::new()
        .route(
            "/notes",
            // The layer wraps only the POST handler: GET has its own (different) scope.
            get(list_notes).post(create_note.layer(validator.require_scopes([NOTES_WRITE]))),
        )
        .route("/notes/{id}", delete(delete_note))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// A stored note.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Note {
    /// Assigned by the store, never reused.
    id: u64,
    /// The note's text.
    text: NoteText,
    /// The `sub` of the token that created it.
    author: Option<String>,
}

/// A note's text: 1 to [`MAX_NOTE_CHARS`] characters, not only whitespace. Parsed once,
/// when the request body is read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct NoteText(String);

impl TryFrom<String> for NoteText {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("the note text is empty".to_owned());
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(format!(
                "the note text is longer than {MAX_NOTE_CHARS} characters"
            ));
        }
        Ok(Self(text))
    }
}

/// Body of `POST /notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNote {
    text: NoteText,
}

/// The in-memory store, shared by every request.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoteStore {
    inner: Arc<Mutex<Notes>>,
}

#[derive(Debug, Default)]
struct Notes {
    last_id: u64,
    items: Vec<Note>,
}

impl NoteStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Notes> {
        // A panic while holding the lock cannot leave `Notes` half-updated (every update
        // is a single push or remove), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn list(&self) -> Vec<Note> {
        self.lock().items.clone()
    }

    fn add(&self, text: NoteText, author: Option<String>) -> Note {
        let mut notes = self.lock();
        notes.last_id += 1;
        let note = Note {
            id: notes.last_id,
            text,
            author,
        };
        notes.items.push(note.clone());
        note
    }

    fn remove(&self, id: u64) -> bool {
        let mut notes = self.lock();
        let before = notes.items.len();
        notes.items.retain(|n| n.id != id);
        notes.items.len() != before
    }
}

/// `GET /notes`: every note. Requires scope `notes:read` (the `Scoped` extractor).
async fn list_notes(_token: Scoped<NotesRead>, State(store): State<NoteStore>) -> Json<Vec<Note>> {
    Json(store.list())
}

/// `POST /notes`: adds a note, 201 with it. Requires scope `notes:write` (the route layer
/// in [`router`]; `Auth` here reuses the layer's validation instead of validating again).
async fn create_note(
    auth: Auth,
    State(store): State<NoteStore>,
    body: Result<Json<NewNote>, JsonRejection>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let Json(new) = body?;
    let note = store.add(new.text, auth.subject().map(str::to_owned));
    Ok((StatusCode::CREATED, Json(note)))
}

/// `DELETE /notes/{id}`: 204, or 404 if there is no such note. Requires role `admin` in the
/// token's `roles` claim (the `HasRole` extractor).
async fn delete_note(
    _admin: HasRole<Admin>,
    State(store): State<NoteStore>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    if store.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
