//! Test support shared by the areas of this binary.

pub mod admin;
pub mod cli;
pub mod testnet;
