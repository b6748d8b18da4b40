//! The daemon loop (`run_daemon`, what `up --daemon` runs) against the in-process server.

mod cycles;
mod push;
