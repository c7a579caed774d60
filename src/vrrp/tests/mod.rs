//! Cross-module tests: golden captures, codec properties, validation, state machine.

mod fsm;
mod golden;
mod packet;
mod validate;
