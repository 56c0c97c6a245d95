//! The Rampart token server as a library; `main.rs` is a thin CLI over it, and the
//! black-box tests build [`startup::Application`] directly.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod error;
pub mod health;
pub mod keys;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod private_file;
pub mod secret;
pub mod serve;
pub mod startup;
pub mod state;
pub mod store;
pub mod tls;

pub use config::Config;
pub use startup::Application;
