//! driftwatch: continuous AWS posture auditing.
//!
//! Data flows one way: [`collect`] (AWS → typed records) → [`store`]
//! (snapshots in PostgreSQL) → [`evaluate`] (rules → findings) and [`drift`]
//! (snapshot diff → drift events). [`scan`] runs that pipeline; [`cli`] is
//! the command-line edge. See ARCHITECTURE.md.

pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod drift;
pub mod evaluate;
pub mod http;
pub mod metrics;
pub mod model;
pub mod scan;
pub mod store;
