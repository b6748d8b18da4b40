//! `wiremesh-cli`: what the two wiremesh binaries show a person, and how they ask.
//!
//! What it is: the admin commands' arguments, shared by both binaries ([`args`]), terminal
//! colour ([`style`]), the one-line error report with advice ([`advice`]), questions for
//! what the flags left out ([`prompt`]), and the text listings both binaries print ([`listing`]: the CIDR tree, the peer table, associations; [`policy`]: rules, plans, enforcement, explanations, and building a rule from `add-rule`'s flags; [`routes`]: offers and the route listing), a device's configuration as a QR code ([`qr`]: on the terminal and as PNG), and what both say about devices ([`devices`]).
//!
//! What it is not: it holds no network rules (they are `wiremesh-shared`'s) and does no IO
//! besides the terminal. Only the binaries depend on it; the server and client libraries
//! never do, so they stay free of colours and prompts.

pub mod advice;
pub mod args;
pub mod devices;
pub mod listing;
pub mod policy;
pub mod prompt;
pub mod qr;
pub mod routes;
pub mod style;

pub use prompt::{cancelled, Prompter, UsageError};
pub use style::Style;
