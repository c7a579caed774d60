//! Session state machine tests with injected time and randomness.

mod admin;
mod detection;
mod frr_replay;
mod handshake;
mod harness;
mod passive;
mod poll;
mod prop;
mod solo;
mod transitions;
mod tx_rules;
