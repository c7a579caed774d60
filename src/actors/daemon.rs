//! The daemon entry point: load the configuration, start the actor tree, run until stopped.

use crate::cli::{exit, Args};

/// Runs the daemon in the foreground until SIGTERM/SIGINT.
pub fn run(args: Args) -> i32 {
    let loaded = crate::config::load(&args.use_file, &args.load_options(true));
    for d in loaded.diagnostics.iter() {
        eprintln!("{d}");
    }
    if loaded.diagnostics.has_errors() {
        eprintln!(
            "{}: configuration has errors, not starting",
            args.use_file.display()
        );
        return exit::CONFIG;
    }
    eprintln!("daemon mode is not implemented yet");
    exit::FATAL
}
