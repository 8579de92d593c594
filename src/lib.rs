//! driftwatch: continuous AWS posture auditing.
//!
//! Data flows one way: [`collect`] (AWS → typed records) → [`store`]
//! (snapshots in PostgreSQL) → [`evaluate`] (rules → findings) and [`drift`]
//! (snapshot diff → drift events) → [`alert`] (PagerDuty, webhooks) and
//! [`report`] (the daily compliance report). [`scan`] runs that pipeline; [`cli`] is
//! the command-line edge. See ARCHITECTURE.md.

pub mod alert;
pub mod cli;
pub mod clock;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod drift;
pub mod evaluate;
pub mod events;
pub mod frameworks;
pub mod http;
pub mod metrics;
pub mod model;
pub mod report;
pub mod retry;
pub mod scan;
pub mod schedule;
pub mod store;
pub mod waive;
