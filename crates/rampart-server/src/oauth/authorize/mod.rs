//! The authorization endpoint (RFC 6749 §4.1): the request's rules first
//! ([`request`]); the handler, the login and consent pages build on them.

pub mod request;
