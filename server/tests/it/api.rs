//! The HTTP API, called through the router in-process with an injected source address
//! (harness: `support::api`).

mod auth;
mod automation;
mod automation_tls;
mod cidrs;
mod device;
mod devices;
mod http;
mod lifecycle;
mod limits;
mod peers;
mod policy;
mod routes;
mod tokens;
mod user;
mod v2;
