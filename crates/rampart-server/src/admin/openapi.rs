//! The admin API's part of the OpenAPI document (its handlers are private to `admin`,
//! so the list lives here).

use utoipa::OpenApi;

use super::{audit, clients, consents, roles, sessions, users};

/// The `/admin/*` operations; merged into `crate::openapi::document`.
#[derive(OpenApi)]
#[openapi(paths(
    users::list,
    users::create,
    users::get_one,
    users::update,
    users::delete,
    roles::list,
    roles::create,
    roles::set_scopes,
    roles::delete,
    roles::list_scopes,
    roles::put_scope,
    clients::list,
    clients::create,
    clients::get_one,
    clients::update,
    clients::delete,
    sessions::list,
    sessions::revoke,
    sessions::end_all,
    consents::list,
    consents::revoke,
    audit::list,
))]
pub(crate) struct AdminApi;
