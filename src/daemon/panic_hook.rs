//! The daemon's panic hook: a panic is logged at once (message, location, thread), and its
//! backtrace, when `RUST_BACKTRACE` asks for one, is resolved and printed on a thread of its
//! own (resolved before it takes the stderr lock, which the log writers share). The default hook resolves symbols on the panicking thread: a panic inside one VRRP
//! instance would stall every instance of the VRRP thread (their adverts included) for as
//! long as reading the debug info takes (150 ms measured on a debug build).

use std::backtrace::{Backtrace, BacktraceStatus};

/// Installs the hook (process-wide; the previous hook is dropped).
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-string panic payload>".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_string();
        tracing::error!(thread = %thread, location = %at, "panic: {msg}");
        // Capturing is a stack walk; resolving the frames is what is slow.
        let bt = Backtrace::capture();
        if bt.status() == BacktraceStatus::Captured {
            let spawned = std::thread::Builder::new()
                .name("panic-backtrace".into())
                .spawn(move || {
                    // Resolve before taking the stderr lock: logging threads must not wait.
                    let text = format!("panic in thread '{thread}' at {at}: {msg}\n{bt}");
                    eprintln!("{text}");
                });
            if spawned.is_err() {
                tracing::error!("cannot print the backtrace");
            }
        }
    }));
}
