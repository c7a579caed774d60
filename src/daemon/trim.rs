//! Gives memory back to the system: bursts (a failover's VIP additions and gratuitous ARPs
//! for hundreds of instances, a reload's parse) leave free heap that glibc keeps; a trim
//! every half minute returns it (a few hundred KiB with 250 instances, microseconds of work).

use std::time::Duration;

/// How often the heap is trimmed.
pub const PERIOD: Duration = Duration::from_secs(30);

/// Trims the heap every [`PERIOD`] (inside a tokio runtime); a no-op off glibc.
pub fn start() {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; start-up has just allocated what it keeps.
        tick.tick().await;
        loop {
            tick.tick().await;
            trim();
        }
    });
}

/// Returns free heap pages to the system.
pub fn trim() {
    crate::sys::process::malloc_trim();
}
