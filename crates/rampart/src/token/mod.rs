//! JWT validation: algorithms, keys, the claims policy and the [`Validator`].

mod alg;
mod cache;
mod check;
mod claims;
mod error;
mod front;
mod handle;
pub(crate) mod jose;
mod key;
mod policy;
mod validator;

pub use alg::{Algorithm, KeyFamily, UnknownAlgorithm};
pub use cache::CacheConfig;
pub use check::{CheckFuture, TokenCheck};
pub use claims::{Audience, Claims};
pub use error::TokenError;
pub use handle::{KeySetHandle, RevocationList};
pub use key::{KeyError, KeySet, MIN_HMAC_SECRET_LEN, MIN_RSA_BITS, VerifyingKey};
pub use policy::{Policy, Profile, TypPolicy};
pub use validator::{BuildError, ObserveFn, Validator, ValidatorBuilder, Verified};
