//! Sweeps: one config run once per combination of varied settings and seed, and the
//! statistics that say how sure a comparison between those runs is.
//!
//! The engine knows nothing of sweeps: each point is an ordinary run (its own run
//! directory, resumable) started by the CLI's `mavuno sweep`. This module holds what is
//! pure and testable: expanding the grid ([`grid`]), reading a finished run's metrics
//! ([`collect`]), paired statistics ([`paired`]) and the result files ([`table`]).

pub mod arms;
pub mod collect;
pub mod grid;
pub mod paired;
pub mod table;
