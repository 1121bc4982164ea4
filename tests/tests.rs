//! omnidial's integration tests: one binary, a module per area. Every test
//! runs the real binary against a sandbox on an ephemeral 127.0.0.1 port
//! and checks counts and order, never speed.

mod util;

mod cases;
mod cli;
mod controls;
mod crash;
mod faults;
mod lifecycle;
mod resume;
mod run;
mod safety;
mod validate;
