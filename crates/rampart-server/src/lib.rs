//! The Rampart token server as a library; `main.rs` is a thin CLI over it, and the
//! black-box tests build [`app::Application`] directly.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod docs;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod private_file;
pub mod secret;
pub mod serve;
pub mod state;
pub mod store;
pub mod tls;

pub use app::Application;
pub use config::Config;
