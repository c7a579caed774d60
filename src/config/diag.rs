//! Located diagnostics: every problem in a configuration is reported as `FILE:LINE: message`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where a value came from: the file (the included file's own path) and its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// Path of the file, as the user named it (relative paths are kept relative).
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
}

impl Location {
    /// A location in `file` at `line`.
    pub fn new(file: &Arc<str>, line: u32) -> Self {
        Self {
            file: file.clone(),
            line,
        }
    }

    /// A location for values that did not come from any file (defaults, command line).
    pub fn builtin() -> Self {
        Self {
            file: Arc::from("<builtin>"),
            line: 0,
        }
    }

    /// A location for a file as a whole (line 0 prints as the file only).
    pub fn file(path: &Path) -> Self {
        Self {
            file: Arc::from(path.display().to_string()),
            line: 0,
        }
    }
}

impl Default for Location {
    fn default() -> Self {
        Self::builtin()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}", self.file, self.line)
        }
    }
}

/// How serious a diagnostic is: errors make `-t` fail and a reload be rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration can still be used (keepalived would also run it).
    Warning,
    /// The configuration is invalid.
    Error,
}

/// One located problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where.
    pub location: Location,
    /// What is wrong, in plain words.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{}: {}: {}", self.location, sev, self.message)
    }
}

/// An ordered collection of diagnostics gathered while loading one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    /// `--strict`: keepalived's recoveries become errors.
    #[serde(skip)]
    strict: bool,
    /// The recovery of the enclosing object for a bad value (see [`Diagnostics::with_recovery`]).
    #[serde(skip)]
    recovery: Option<String>,
}

/// What keepalived 2.2.7 does with a bad value when no enclosing object says otherwise.
pub const IGNORE_KEYWORD: &str = "ignoring the keyword";

/// The text of a recovery diagnostic: `<problem>: <recovery>, as keepalived does`.
pub fn recovery_message(problem: &str, recovery: &str, strict: bool) -> String {
    if strict {
        format!("{problem}: keepalived would recover by {recovery} (refused by --strict)")
    } else {
        format!("{problem}: {recovery}, as keepalived does")
    }
}

impl Diagnostics {
    /// Records an error at `loc`.
    pub fn error(&mut self, loc: &Location, message: impl Into<String>) {
        self.push(Severity::Error, loc, message.into());
    }

    /// Records a warning at `loc`.
    pub fn warning(&mut self, loc: &Location, message: impl Into<String>) {
        self.push(Severity::Warning, loc, message.into());
    }

    /// A diagnostics collector whose recoveries are errors when `strict` (`--strict`).
    pub fn with_strict(strict: bool) -> Self {
        Self {
            strict,
            ..Self::default()
        }
    }

    /// keepalived 2.2.7 logs `problem` and carries on with `recovery`: a warning saying so, or
    /// an error under `--strict`.
    pub fn recover(&mut self, loc: &Location, problem: impl AsRef<str>, recovery: impl AsRef<str>) {
        let sev = if self.strict {
            Severity::Error
        } else {
            Severity::Warning
        };
        let msg = recovery_message(problem.as_ref(), recovery.as_ref(), self.strict);
        self.push(sev, loc, msg);
    }

    /// A recovery whose message already says what keepalived does (e.g. "..., ignored, as
    /// keepalived 2.2.7 does"): a warning, or an error under `--strict`.
    pub fn recovery_note(&mut self, loc: &Location, message: impl Into<String>) {
        if self.strict {
            let m = format!("{} (refused by --strict)", message.into());
            self.push(Severity::Error, loc, m);
        } else {
            self.push(Severity::Warning, loc, message.into());
        }
    }

    /// A bad value: recovered as the enclosing object says (see [`Self::with_recovery`]),
    /// by default by ignoring the keyword, as keepalived does.
    pub fn bad_value(&mut self, loc: &Location, problem: impl AsRef<str>) {
        let rec = self
            .recovery
            .clone()
            .unwrap_or_else(|| IGNORE_KEYWORD.to_string());
        self.recover(loc, problem, rec);
    }

    /// Runs `f` with bad values recovered by `recovery` (e.g. "skipping this address" while
    /// one address is parsed, "using 100" while a priority is).
    pub fn with_recovery<R>(&mut self, recovery: &str, f: impl FnOnce(&mut Self) -> R) -> R {
        let prev = self.recovery.replace(recovery.to_string());
        let r = f(self);
        self.recovery = prev;
        r
    }

    fn push(&mut self, severity: Severity, loc: &Location, message: String) {
        // Bound memory on hostile input (e.g. a generator producing millions of bad lines).
        const MAX: usize = 10_000;
        if self.items.len() < MAX {
            self.items.push(Diagnostic {
                severity,
                location: loc.clone(),
                message,
            });
        }
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .count()
    }

    /// All diagnostics in the order they were found.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.severity == Severity::Error)
    }

    /// The diagnostics ordered by file and line (stable for equal locations).
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut v: Vec<&Diagnostic> = self.items.iter().collect();
        v.sort_by(|a, b| a.location.cmp(&b.location));
        v
    }

    /// Warning and error messages as `LINE: severity: message` (for tests).
    pub fn lines(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|d| {
                let sev = match d.severity {
                    Severity::Warning => "warning",
                    Severity::Error => "error",
                };
                format!("{}: {sev}: {}", d.location.line, d.message)
            })
            .collect()
    }

    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
