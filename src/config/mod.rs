//! keepalived.conf: preprocessing, grammar, typed model, validation.
//!
//! Pipeline: [`preprocess`] (includes, `@id`, `$PARAM`, `~SEQ`) -> [`tree`] (blocks) ->
//! [`from_tree`] (typed [`model`], defaults applied) -> [`validate`] (cross references, ranges).
#![forbid(unsafe_code)]

pub mod diag;
pub mod diff;
pub mod from_tree;
pub mod keywords;
pub mod lexer;
pub mod model;
pub mod preprocess;
pub mod tree;
pub mod validate;
pub mod values;

#[cfg(test)]
mod recovery_tests;

pub use diag::{Diagnostic, Diagnostics, Location, Severity};
pub use model::Config;

use std::path::Path;

/// Options for loading a configuration.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Preprocessing options (`-i`, `-e`).
    pub preprocess: preprocess::PreprocessOptions,
    /// Warn about interfaces missing on this host.
    pub check_host_interfaces: bool,
    /// `--strict`: where keepalived logs a problem and recovers, refuse instead.
    pub strict: bool,
}

/// A parsed configuration with everything that was found wrong with it.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The model (usable only when `diagnostics.has_errors()` is false).
    pub config: Config,
    /// Errors and warnings, located.
    pub diagnostics: Diagnostics,
    /// Every file read, then the include globs (`DIR/*.conf`: the watcher watches DIR for
    /// matching files appearing and leaving).
    pub files: Vec<std::path::PathBuf>,
}

impl Loaded {}

/// Reads, preprocesses, parses and validates `path`. Never panics on any input.
pub fn load(path: &Path, opts: &LoadOptions) -> Loaded {
    let mut d = Diagnostics::with_strict(opts.strict);
    let (lines, files) = preprocess::preprocess_files(path, &opts.preprocess, &mut d);
    let mut l = finish(lines, opts, d);
    l.files = files;
    l
}

/// Same as [`load`] on in-memory text named `name` (includes resolve relative to `name`).
pub fn load_str(name: &str, text: &str, opts: &LoadOptions) -> Loaded {
    let mut d = Diagnostics::with_strict(opts.strict);
    let lines = preprocess::preprocess_str(name, text, &opts.preprocess, &mut d);
    finish(lines, opts, d)
}

fn finish(lines: Vec<preprocess::SourceLine>, opts: &LoadOptions, mut d: Diagnostics) -> Loaded {
    let tree = tree::build_tree(&lines, &mut d);
    // Peak memory on a big generated file: the lines go before the objects are built, the
    // tree once they are.
    drop(lines);
    let mut config = from_tree::build_config(&tree, &mut d);
    drop(tree);
    validate::validate(&mut config, &mut d);
    if opts.check_host_interfaces {
        validate::check_interfaces(&config, &validate::host_has_interface, &mut d);
    }
    Loaded {
        config,
        diagnostics: d,
        files: Vec::new(),
    }
}
