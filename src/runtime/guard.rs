//! Catching panics at the handler boundary.
//!
//! Wrap the body of every handler (and `started`) of a supervised actor in [`guarded`]: a
//! panic is logged with the actor's name and message, the actor is stopped, and its supervisor
//! restarts it (see [`spawn_child`](super::spawn_child)). The handler itself returns normally,
//! so the rest of the arbiter is not disturbed and the sender gets a reply (`None`).

use std::panic::{catch_unwind, AssertUnwindSafe};

use actix::prelude::*;

use crate::runtime::supervise::{panic_message, with_current};

/// Runs `body` with the actor and its context, catching a panic. On panic: logs
/// (`tracing::error!` with actor name and message), records it for the supervisor's
/// crash event, stops the actor (so the supervisor restarts it) and returns `None`.
///
/// ```ignore
/// impl Handler<Tick> for Instance {
///     type Result = Option<State>;
///     fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) -> Option<State> {
///         guarded(self, ctx, |this, ctx| this.on_tick(msg, ctx))
///     }
/// }
/// ```
pub fn guarded<A, R>(
    act: &mut A,
    ctx: &mut Context<A>,
    body: impl FnOnce(&mut A, &mut Context<A>) -> R,
) -> Option<R>
where
    A: Actor<Context = Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(|| body(act, ctx))) {
        Ok(r) => Some(r),
        Err(payload) => {
            let msg = panic_message(payload.as_ref());
            let name = with_current(|c| {
                let Some(c) = c else {
                    return std::any::type_name::<A>().to_owned();
                };
                *c.last_panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg.clone());
                c.name.to_string()
            });
            tracing::error!(actor = %name, panic = %msg, "actor handler panicked; stopping it for restart");
            ctx.stop();
            None
        }
    }
}
