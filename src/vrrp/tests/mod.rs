//! Cross-module tests: golden captures, codec properties, validation, state machine.

mod fsm;
mod fsm_props;
mod golden;
mod packet;
mod params;
mod sync;
mod validate;
