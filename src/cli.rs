//! keepalived's command line (under construction).

/// Entry point used by `main`; returns the process exit code.
pub fn main() -> i32 {
    0
}
