//! Cross-module tests: golden captures, codec properties, validation, state machine.

mod golden;
mod packet;
