//! keepalived's preprocessing: `include` (globs and brace lists, relative to the including file),
//! `@id` / `@^id` conditional lines, `$NAME=value` parameters (multi-line with a trailing `\`) and
//! their `$NAME` / `${NAME}` expansion, the predefined `${_PWD}` `${_INSTANCE}` `${_RANDOM}`
//! `${_ENV X}` `${_HASH}` `${_BANG}`, and the `~SEQ` / `~SEQx` / `~LST` line generators.
//!
//! The output is a flat list of logical lines, each with the file and line it came from.

use super::diag::{Diagnostics, Location};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why an expansion stopped.
enum Stop {
    /// The whole configuration's budget is spent.
    Overflow,
    /// One line grew past [`MAX_LINE_LEN`].
    TooLong,
    /// A parameter's value uses the parameter itself.
    SelfReference(String),
    /// Parameters nested past [`MAX_EXPANSION_DEPTH`].
    TooDeep,
}

/// A logical line after preprocessing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// Where the line (or the line that generated it) is.
    pub loc: Location,
    /// The text, comments not yet removed.
    pub text: String,
}

/// Options that change preprocessing.
#[derive(Clone, Debug)]
pub struct PreprocessOptions {
    /// The config id matched by `@id` lines (`-i`; default: host name up to the first dot).
    pub config_id: String,
    /// Fail when an include matches nothing (`-e/--all-config`).
    pub all_config: bool,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        Self {
            config_id: default_config_id(),
            all_config: false,
        }
    }
}

/// The host name up to the first `.`, as keepalived uses for `@id` lines by default.
pub fn default_config_id() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    raw.trim().split('.').next().unwrap_or_default().to_string()
}

const MAX_INCLUDE_DEPTH: usize = 32;
const MAX_EXPANSION_DEPTH: usize = 32;
const MAX_LINE_LEN: usize = 1 << 20;
/// Bytes read from files, all includes together (a file including itself twice would
/// otherwise read 2^32 files before the depth limit stops it).
const MAX_INPUT_BYTES: u64 = 64 << 20;
/// Files read, all includes together (the same file included twice counts twice).
const MAX_FILE_READS: usize = 4096;

/// How much a configuration may expand to.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// Logical lines produced.
    lines: usize,
    /// Bytes that parameter and generator expansion may produce for the whole configuration.
    /// Every produced byte is charged, so nested definitions cost linear work, never
    /// exponential.
    bytes: usize,
}

/// keepalived's man-page `~SEQ` example (65,024 instances of 16 lines) needs 1,040,384
/// lines and about 30 MiB. A line becomes a tree node and part of an object, so these also
/// bound what parsing and building may take (about 2 GiB for a million one-line instances).
const LIMITS: Limits = Limits {
    lines: 1_100_000,
    bytes: 64 << 20,
};

/// Reads `path` and everything it includes.
pub fn preprocess(
    path: &Path,
    opts: &PreprocessOptions,
    diags: &mut Diagnostics,
) -> Vec<SourceLine> {
    preprocess_files(path, opts, diags).0
}

/// Like [`preprocess`], also returning every file that was read and every directory an
/// include pattern searched (for change watching).
pub fn preprocess_files(
    path: &Path,
    opts: &PreprocessOptions,
    diags: &mut Diagnostics,
) -> (Vec<SourceLine>, Vec<PathBuf>) {
    let mut pp = Preprocessor::new(opts, diags, LIMITS);
    pp.file(path, None, 0);
    pp.finish()
}

/// Preprocesses in-memory text as if it were the file `name` (used by tests and fuzzing).
pub fn preprocess_str(
    name: &str,
    text: &str,
    opts: &PreprocessOptions,
    diags: &mut Diagnostics,
) -> Vec<SourceLine> {
    preprocess_limited(name, text, opts, diags, LIMITS)
}

fn preprocess_limited(
    name: &str,
    text: &str,
    opts: &PreprocessOptions,
    diags: &mut Diagnostics,
    limits: Limits,
) -> Vec<SourceLine> {
    let mut pp = Preprocessor::new(opts, diags, limits);
    pp.text(Arc::from(name), Path::new(name), text, 0);
    pp.finish().0
}

fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() | 1
}

struct Preprocessor<'a> {
    opts: &'a PreprocessOptions,
    params: HashMap<String, String>,
    out: Vec<SourceLine>,
    diags: &'a mut Diagnostics,
    rng: u64,
    limits: Limits,
    /// Set once the configuration expanded past its [`Limits`]: nothing more is produced
    /// (reported once) and the output is dropped.
    overflow: bool,
    /// Bytes expansion may still produce (see [`Limits::bytes`]).
    budget: usize,
    /// Parameters being expanded, innermost last (a name met again refers to itself).
    active: Vec<String>,
    /// The current source line's expansion failed (reported once per source line).
    line_failed: bool,
    /// Files read.
    files: Vec<PathBuf>,
    /// Directories searched by include patterns (a new matching file there is a change).
    include_dirs: Vec<PathBuf>,
    /// Files read so far (see [`MAX_FILE_READS`]).
    reads: usize,
    /// Bytes read so far (see [`MAX_INPUT_BYTES`]).
    input_bytes: u64,
}

impl<'a> Preprocessor<'a> {
    fn new(opts: &'a PreprocessOptions, diags: &'a mut Diagnostics, limits: Limits) -> Self {
        Self {
            opts,
            params: HashMap::new(),
            out: Vec::new(),
            diags,
            rng: seed(),
            limits,
            overflow: false,
            budget: limits.bytes,
            active: Vec::new(),
            line_failed: false,
            files: Vec::new(),
            include_dirs: Vec::new(),
            reads: 0,
            input_bytes: 0,
        }
    }

    /// Stops all further output, with one located error.
    fn overflowed(&mut self, loc: &Location) {
        if !self.overflow {
            self.overflow = true;
            let Limits { lines, bytes } = self.limits;
            self.diags.error(
                loc,
                format!(
                    "configuration expands to more than {lines} lines or {bytes} bytes \
                     (nested generators or parameters?)"
                ),
            );
        }
    }

    /// The logical lines, none when the expansion overflowed (they would be a truncated,
    /// meaningless configuration; the error is reported).
    fn finish(mut self) -> (Vec<SourceLine>, Vec<PathBuf>) {
        if self.overflow {
            self.out = Vec::new();
        }
        self.files.extend(self.include_dirs);
        (self.out, self.files)
    }

    /// Stops all further output with one located error (an input too big to read).
    fn refuse(&mut self, loc: &Location, msg: String) {
        if !self.overflow {
            self.overflow = true;
            self.diags.error(loc, msg);
        }
    }

    fn file(&mut self, path: &Path, from: Option<&Location>, depth: usize) {
        use std::io::Read;
        let name: Arc<str> = Arc::from(path.display().to_string());
        if !self.files.iter().any(|f| f == path) {
            self.files.push(path.to_path_buf());
        }
        let loc = from.cloned().unwrap_or_else(|| Location::file(path));
        self.reads += 1;
        if self.reads > MAX_FILE_READS {
            return self.refuse(
                &loc,
                format!(
                    "more than {MAX_FILE_READS} files read through includes \
                     (a file including itself?): not read: {}",
                    path.display()
                ),
            );
        }
        let left = MAX_INPUT_BYTES.saturating_sub(self.input_bytes);
        let too_big = |path: &Path| {
            format!(
                "{}: the configuration's files add up to more than {} MiB: not read",
                path.display(),
                MAX_INPUT_BYTES >> 20
            )
        };
        // A regular file's size is known: one too big is not read at all.
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > left) {
            return self.refuse(&loc, too_big(path));
        }
        let mut bytes = Vec::new();
        // `take` bounds what is read whatever the file is (a sparse file, a FIFO, /dev/zero).
        let read = std::fs::File::open(path).and_then(|f| f.take(left + 1).read_to_end(&mut bytes));
        if let Err(e) = read {
            self.diags
                .error(&loc, format!("cannot read {}: {e}", path.display()));
            return;
        }
        self.input_bytes += bytes.len() as u64;
        if bytes.len() as u64 > left {
            return self.refuse(&loc, too_big(path));
        }
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                self.diags.warning(
                    &Location::file(path),
                    "file is not valid UTF-8; invalid bytes replaced",
                );
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        self.text(name, path, &text, depth);
    }

    fn text(&mut self, name: Arc<str>, path: &Path, text: &str, depth: usize) {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            if self.overflow {
                return;
            }
            let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let loc = Location::new(&name, lineno);
            if lines[i].len() > MAX_LINE_LEN {
                self.diags.error(
                    &loc,
                    format!("line longer than {MAX_LINE_LEN} bytes: ignored"),
                );
                i += 1;
                continue;
            }
            let raw = super::lexer::strip_comment(lines[i]).trim();
            i += 1;
            if raw.is_empty() {
                continue;
            }
            // Includes are recognised before conditionals and parameters, as keepalived does.
            if let Some(rest) = include_target(raw) {
                self.include(&dir, rest, &loc, depth);
                continue;
            }
            let Some(line) = self.conditional(raw) else {
                continue;
            };
            if let Some((pname, first)) = param_definition(line) {
                let mut value = first.to_string();
                // Multi-line definition: each line ending in `\` continues it.
                while value.ends_with('\\') {
                    value.pop();
                    match lines.get(i) {
                        Some(next) => {
                            value.push('\n');
                            value.push_str(super::lexer::strip_comment(next).trim());
                            i += 1;
                        }
                        None => {
                            self.diags.error(
                                &loc,
                                format!("parameter ${pname} continues past the end of the file"),
                            );
                            break;
                        }
                    }
                }
                self.params.insert(pname.to_string(), value);
                continue;
            }
            let line = line.to_string();
            self.line_failed = false;
            self.logical(&loc, &dir, &line, 0);
        }
    }

    /// Applies `@id` / `@^id`; returns the rest of the line when it is kept.
    fn conditional<'l>(&self, line: &'l str) -> Option<&'l str> {
        let Some(rest) = line.strip_prefix('@') else {
            return Some(line);
        };
        let (negate, rest) = match rest.strip_prefix('^') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let id = &rest[..end];
        let matched = id == self.opts.config_id;
        if matched != negate {
            Some(rest[end..].trim_start())
        } else {
            None
        }
    }

    /// Expands parameters and generators of one logical line and emits the result.
    fn logical(&mut self, loc: &Location, dir: &Path, line: &str, depth: usize) {
        if self.overflow || self.line_failed {
            return;
        }
        if depth > MAX_EXPANSION_DEPTH {
            self.line_failed = true;
            self.diags.error(
                loc,
                "parameter or generator expansion nested too deeply (recursive definition?)",
            );
            return;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("~SEQ") || trimmed.starts_with("~LST") {
            self.generator(loc, dir, trimmed, depth);
            return;
        }
        let Some(expanded) = self.expand(loc, dir, line) else {
            return;
        };
        if expanded.contains('\n') {
            // A multi-line parameter: every produced line is processed again
            // (it may hold conditionals, generators or more parameters).
            for part in expanded.split('\n') {
                let part = super::lexer::strip_comment(part).trim();
                if part.is_empty() {
                    continue;
                }
                let Some(part) = self.conditional(part) else {
                    continue;
                };
                if let Some((pname, value)) = param_definition(part) {
                    self.params.insert(pname.to_string(), value.to_string());
                    continue;
                }
                let part = part.to_string();
                self.logical(loc, dir, &part, depth + 1);
            }
            return;
        }
        if expanded.trim_start().starts_with('~') && expanded != line {
            self.logical(loc, dir, &expanded, depth + 1);
            return;
        }
        if self.out.len() >= self.limits.lines {
            self.overflowed(loc);
            return;
        }
        let text = expanded.trim();
        let Some(left) = self.budget.checked_sub(text.len()) else {
            self.overflowed(loc);
            return;
        };
        self.budget = left;
        self.out.push(SourceLine {
            loc: loc.clone(),
            text: text.to_string(),
        });
    }

    /// `~SEQ(var, [start,] [step,] end) rest`, `~SEQx(...)`, `~LST(var, v1, v2, ...) rest`.
    fn generator(&mut self, loc: &Location, dir: &Path, line: &str, depth: usize) {
        let hex = line.starts_with("~SEQx");
        let is_seq = line.starts_with("~SEQ");
        let open = if hex { 5 } else { 4 };
        let Some(body_start) = line[open..].strip_prefix('(').map(|_| open + 1) else {
            self.diags.error(
                loc,
                format!("generator {}: expected '(' after the name", &line[..open]),
            );
            return;
        };
        let Some(close_rel) = find_matching_paren(&line[body_start..]) else {
            self.diags
                .error(loc, format!("{}: missing ')'", &line[..open]));
            return;
        };
        let Some(header) = self.expand(loc, dir, &line[body_start..body_start + close_rel]) else {
            return;
        };
        let rest = line[body_start + close_rel + 1..].to_string();
        let args = split_args(&header);
        let Some(var) = args.first().map(|s| s.trim().to_string()) else {
            self.diags.error(loc, "generator: missing variable name");
            return;
        };
        if is_seq {
            if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.diags
                    .error(loc, format!("~SEQ: invalid variable name '{var}'"));
                return;
            }
            let nums: Result<Vec<i64>, _> =
                args[1..].iter().map(|a| parse_int(a.trim(), hex)).collect();
            let Ok(nums) = nums else {
                self.diags.error(
                    loc,
                    format!("~SEQ({header}): start, step and end must be integers"),
                );
                return;
            };
            let (start, step, end) = match nums.as_slice() {
                [end] => (1, 1, *end),
                // keepalived: with the step omitted it counts down when end < start.
                [start, end] => (*start, if end < start { -1 } else { 1 }, *end),
                [start, step, end] => (*start, *step, *end),
                _ => {
                    self.diags.error(
                        loc,
                        format!("~SEQ({header}): expected 1 to 3 numbers after the variable"),
                    );
                    return;
                }
            };
            if step == 0
                || (step > 0 && start > end && nums.len() == 3)
                || (step < 0 && start < end)
            {
                self.diags.error(
                    loc,
                    format!("~SEQ({header}): step {step} never reaches {end}"),
                );
                return;
            }
            let count = (end - start) / step + 1;
            let max = self.limits.lines;
            if count > max as i64 {
                self.diags.error(
                    loc,
                    format!("~SEQ({header}) generates {count} lines, more than {max}"),
                );
                return;
            }
            let mut v = start;
            while (step > 0 && v <= end) || (step < 0 && v >= end) {
                let val = if hex { format!("{v:x}") } else { v.to_string() };
                self.params.insert(var.clone(), val);
                self.logical(loc, dir, &rest, depth + 1);
                if self.overflow {
                    return;
                }
                v += step;
            }
        } else {
            // ~LST(var, v1, v2 ...) or ~LST({a,b}, {1,2}, {3,4}).
            if var.starts_with('{') {
                let names = split_args(var.trim_matches(|c| c == '{' || c == '}'));
                for tuple in &args[1..] {
                    let vals = split_args(tuple.trim().trim_matches(|c| c == '{' || c == '}'));
                    if vals.len() != names.len() {
                        self.diags.error(
                            loc,
                            format!("~LST: value list {} does not match {}", tuple.trim(), var),
                        );
                        return;
                    }
                    for (n, val) in names.iter().zip(vals.iter()) {
                        self.params
                            .insert(n.trim().to_string(), val.trim().to_string());
                    }
                    self.logical(loc, dir, &rest, depth + 1);
                }
            } else {
                if var.is_empty() || args.len() < 2 {
                    self.diags
                        .error(loc, "~LST: expected a variable and at least one value");
                    return;
                }
                for val in &args[1..] {
                    self.params.insert(var.clone(), val.trim().to_string());
                    self.logical(loc, dir, &rest, depth + 1);
                }
            }
        }
    }

    /// Replaces `$NAME` and `${NAME}` (recursively); undefined names are left verbatim.
    /// `None` when the line cannot be expanded (already reported).
    fn expand(&mut self, loc: &Location, dir: &Path, line: &str) -> Option<String> {
        if !line.contains('$') {
            return Some(line.to_string());
        }
        let mut out = String::with_capacity(line.len());
        match self.expand_into(loc, dir, line, &mut out) {
            Ok(()) => Some(out),
            Err(Stop::Overflow) => {
                self.overflowed(loc);
                None
            }
            Err(stop) => {
                let what = match stop {
                    Stop::SelfReference(name) => format!("parameter ${name} refers to itself"),
                    Stop::TooLong => format!("line expands to more than {MAX_LINE_LEN} bytes"),
                    _ => "parameters nested too deeply".to_string(),
                };
                if !self.line_failed {
                    self.line_failed = true;
                    self.diags.error(loc, what);
                }
                None
            }
        }
    }

    /// Appends `text` to `out`, charged to the budget.
    fn emit(&mut self, out: &mut String, text: &str) -> Result<(), Stop> {
        if out.len() + text.len() > MAX_LINE_LEN {
            return Err(Stop::TooLong);
        }
        self.budget = self.budget.checked_sub(text.len()).ok_or(Stop::Overflow)?;
        out.push_str(text);
        Ok(())
    }

    /// Expands the value of parameter `name` into `out`.
    fn expand_param(
        &mut self,
        loc: &Location,
        dir: &Path,
        name: &str,
        value: &str,
        out: &mut String,
    ) -> Result<(), Stop> {
        if self.active.iter().any(|a| a == name) {
            return Err(Stop::SelfReference(name.to_string()));
        }
        if self.active.len() >= MAX_EXPANSION_DEPTH {
            return Err(Stop::TooDeep);
        }
        self.active.push(name.to_string());
        let r = self.expand_into(loc, dir, value, out);
        self.active.pop();
        r
    }

    fn expand_into(
        &mut self,
        loc: &Location,
        dir: &Path,
        line: &str,
        out: &mut String,
    ) -> Result<(), Stop> {
        let mut rest = line;
        while let Some(pos) = rest.find('$') {
            self.emit(out, &rest[..pos])?;
            let after = &rest[pos + 1..];
            // ${NAME args}
            if let Some(braced) = after.strip_prefix('{') {
                let Some(close) = braced.find('}') else {
                    self.emit(out, "$")?;
                    rest = after;
                    continue;
                };
                let inner = braced[..close].trim();
                match self.lookup(loc, dir, inner) {
                    Some(v) => {
                        let name = inner.split_whitespace().next().unwrap_or_default();
                        self.expand_param(loc, dir, name, &v, out)?;
                    }
                    None => self.emit(out, &rest[pos..pos + 3 + close])?,
                }
                rest = &braced[close + 1..];
                continue;
            }
            // $NAME
            let name_len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let name = &after[..name_len];
            if name_len == 0 || name.as_bytes()[0].is_ascii_digit() {
                self.emit(out, "$")?;
                rest = after;
                continue;
            }
            match self.params.get(name).cloned() {
                Some(v) => self.expand_param(loc, dir, name, &v, out)?,
                // keepalived leaves an undefined `$NAME` as it is, silently: `$` is legal in
                // script command lines.
                None => self.emit(out, &rest[pos..pos + 1 + name_len])?,
            }
            rest = &after[name_len..];
        }
        self.emit(out, rest)
    }

    fn lookup(&mut self, loc: &Location, dir: &Path, inner: &str) -> Option<String> {
        let mut parts = inner.split_whitespace();
        let name = parts.next()?;
        match name {
            "_PWD" => Some(
                std::fs::canonicalize(dir)
                    .unwrap_or_else(|_| dir.to_path_buf())
                    .display()
                    .to_string(),
            ),
            "_INSTANCE" => Some(self.opts.config_id.clone()),
            "_HASH" => Some("\"#\"".into()),
            "_BANG" => Some("\"!\"".into()),
            "_ENV" => {
                let var = parts.next()?;
                Some(std::env::var(var).unwrap_or_default())
            }
            "_RANDOM" => {
                let min: i64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
                let max: i64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(32767);
                if max < min {
                    self.diags
                        .error(loc, format!("${{_RANDOM {min} {max}}}: max is below min"));
                    return Some(min.to_string());
                }
                // xorshift64*: good enough for spreading timers, not for security.
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
                let span = (max - min) as u64 + 1;
                Some((min + (r % span) as i64).to_string())
            }
            _ => self.params.get(name).cloned(),
        }
    }

    fn include(&mut self, dir: &Path, pattern: &str, loc: &Location, depth: usize) {
        if depth >= MAX_INCLUDE_DEPTH {
            return self.refuse(
                loc,
                format!("include nested more than {MAX_INCLUDE_DEPTH} deep (include loop?)"),
            );
        }
        let pattern = pattern.trim().trim_matches('"');
        if pattern.is_empty() {
            self.diags.error(loc, "include: missing file name");
            return;
        }
        let mut files: Vec<PathBuf> = Vec::new();
        for alt in expand_braces(pattern) {
            let full = if Path::new(&alt).is_absolute() {
                PathBuf::from(&alt)
            } else {
                dir.join(&alt)
            };
            let full_s = full.display().to_string();
            // A glob is listed (after the files) for watching its directory: matching files
            // appearing and leaving.
            if glob_dir(&full).is_some() && !self.include_dirs.contains(&full) {
                self.include_dirs.push(full.clone());
            }
            match glob::glob(&full_s) {
                Ok(paths) => {
                    let mut found: Vec<PathBuf> = paths
                        .filter_map(Result::ok)
                        .filter(|p| p.is_file())
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => self
                    .diags
                    .error(loc, format!("include {alt}: bad pattern: {e}")),
            }
        }
        if files.is_empty() {
            let msg = format!("include {pattern}: no file matches");
            if self.opts.all_config {
                self.diags.error(loc, msg);
            } else {
                self.diags.warning(loc, msg);
            }
            return;
        }
        for f in files {
            self.file(&f, Some(loc), depth + 1);
        }
    }
}

/// The directory a glob pattern's file names are matched in: the pattern's parent when only
/// its last component has wildcards (`conf.d/*.conf`), None for a plain file name or a
/// pattern with wildcards in its directories (not watched).
fn glob_dir(pattern: &Path) -> Option<PathBuf> {
    let magic = |s: &std::ffi::OsStr| s.to_string_lossy().contains(['*', '?', '[']);
    let name = pattern.file_name()?;
    let dir = pattern.parent()?;
    (magic(name) && !magic(dir.as_os_str())).then(|| dir.to_path_buf())
}

/// Recognises `include FILE` and keepalived's checked variants.
fn include_target(line: &str) -> Option<&str> {
    let mut it = line.splitn(2, char::is_whitespace);
    let kw = it.next()?;
    match kw {
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea" => {
            Some(it.next().unwrap_or(""))
        }
        _ => None,
    }
}

/// Recognises `$NAME=value` (no space before `=`).
fn param_definition(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    if name.is_empty()
        || name.as_bytes()[0].is_ascii_digit()
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    Some((name, rest[eq + 1..].trim()))
}

fn find_matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits on commas that are not inside `{}`.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Generator bounds are decimal (a `0x` prefix allows hex); `~SEQx` only prints in hex.
fn parse_int(s: &str, _hex_output: bool) -> Result<i64, std::num::ParseIntError> {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16),
        None => s.parse(),
    }
}

/// csh-style brace expansion: `a{b,c}d` -> `abd`, `acd` (nested groups allowed).
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let Some(open) = pattern.find('{') else {
        return vec![pattern.to_string()];
    };
    let mut depth = 0usize;
    let mut close = None;
    for (i, c) in pattern[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return vec![pattern.to_string()];
    };
    let (pre, inner, post) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let mut out = Vec::new();
    for alt in split_args(inner) {
        for tail in expand_braces(&format!("{alt}{post}")) {
            out.push(format!("{pre}{tail}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(d: &Diagnostics) -> Vec<String> {
        d.errors().map(|e| e.to_string()).collect()
    }

    #[test]
    fn a_file_including_itself_twice_is_one_located_error() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("self.conf");
        let line = format!("include {}\n", f.display());
        std::fs::write(&f, format!("{line}{line}")).unwrap();
        let mut diags = Diagnostics::default();
        let t = std::time::Instant::now();
        let (out, files) = preprocess_files(&f, &PreprocessOptions::default(), &mut diags);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            t.elapsed()
        );
        assert!(out.is_empty());
        assert_eq!(files, std::slice::from_ref(&f), "each file listed once");
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(&format!("{}:1:", f.display()))
                && e[0].contains("nested more than 32"),
            "{e:?}"
        );
    }

    #[test]
    fn a_wide_include_fan_out_stops_at_the_read_limit() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            d.path().join("a.conf"),
            d.path().join("b.conf"),
            d.path().join("c.conf"),
        );
        std::fs::write(&a, format!("include {}\n", b.display()).repeat(100)).unwrap();
        std::fs::write(&b, format!("include {}\n", c.display()).repeat(100)).unwrap();
        std::fs::write(&c, "global_defs {\n}\n").unwrap();
        let mut diags = Diagnostics::default();
        let out = preprocess(&a, &PreprocessOptions::default(), &mut diags);
        assert!(out.is_empty());
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with(&format!("{}:", b.display()))
                && e[0].contains("more than 4096 files read"),
            "{e:?}"
        );
    }

    #[test]
    fn a_huge_sparse_file_is_refused_without_reading_it_all() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("k.conf");
        let big = d.path().join("big.conf");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        std::fs::write(
            &main,
            format!("global_defs {{\n}}\ninclude {}\n", big.display()),
        )
        .unwrap();
        let mut diags = Diagnostics::default();
        let out = preprocess(&main, &PreprocessOptions::default(), &mut diags);
        assert!(out.is_empty());
        let e = errors(&diags);
        assert!(
            e.iter()
                .any(|e| e.starts_with(&format!("{}:3:", main.display()))
                    && e.contains("more than 64 MiB")),
            "{e:?}"
        );
    }

    #[test]
    fn an_overlong_line_is_a_located_error() {
        let text = format!("global_defs {{\n}}\n{}\n", "{".repeat(MAX_LINE_LEN + 1));
        let mut diags = Diagnostics::default();
        let out = preprocess_str("t.conf", &text, &PreprocessOptions::default(), &mut diags);
        assert_eq!(out.len(), 2);
        let e = errors(&diags);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("t.conf:3:") && e[0].contains("line longer than"),
            "{e:?}"
        );
    }

    fn all(d: &Diagnostics) -> String {
        d.iter().map(|x| format!("{x}\n")).collect()
    }

    fn run(text: &str, id: &str) -> (Vec<String>, Diagnostics) {
        let mut d = Diagnostics::default();
        let opts = PreprocessOptions {
            config_id: id.into(),
            all_config: false,
        };
        let lines = preprocess_str("t.conf", text, &opts, &mut d);
        (lines.into_iter().map(|l| l.text).collect(), d)
    }

    #[test]
    fn include_glob_directories_are_listed_for_watching() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::create_dir_all(dir.join("empty.d")).unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "x\n").unwrap();
        std::fs::write(dir.join("one.conf"), "y\n").unwrap();
        let main = dir.join("k.conf");
        std::fs::write(
            &main,
            "include conf.d/*.conf\ninclude empty.d/*.conf\ninclude one.conf\n",
        )
        .unwrap();
        let mut diags = Diagnostics::default();
        let opts = PreprocessOptions::default();
        let (_, files) = preprocess_files(&main, &opts, &mut diags);
        // The files read, then the globs (even one matching nothing yet).
        assert_eq!(
            files,
            [
                main.clone(),
                dir.join("conf.d/a.conf"),
                dir.join("one.conf"),
                dir.join("conf.d/*.conf"),
                dir.join("empty.d/*.conf"),
            ]
        );
        assert_eq!(glob_dir(Path::new("/e/*/x.conf")), None);
        assert_eq!(glob_dir(Path::new("/e/x.conf")), None);
        assert_eq!(glob_dir(Path::new("/e/x?.conf")), Some(PathBuf::from("/e")));
    }

    #[test]
    fn conditionals() {
        let (l, _) = run(
            "@high priority 150\n@low priority 50\n@^high weight 1\nx",
            "high",
        );
        assert_eq!(l, ["priority 150", "x"]);
        let (l, _) = run("@high priority 150\n@^high weight 1", "low");
        assert_eq!(l, ["weight 1"]);
    }

    #[test]
    fn parameters() {
        let (l, d) = run(
            "$PRIO=150\npriority $PRIO\npriority ${PRIO}0\n$X=${PRIO}\nv $X",
            "h",
        );
        assert_eq!(l, ["priority 150", "priority 1500", "v 150"]);
        assert!(d.is_empty());
        let (l, d) = run("v $NOPE ${NOPE2}", "h");
        assert_eq!(l, ["v $NOPE ${NOPE2}"]);
        assert!(d.is_empty());
        let (l, _) = run("~SEQ(i,3,1) a $i", "h");
        assert_eq!(l, ["a 3", "a 2", "a 1"]);
    }

    #[test]
    fn multi_line_parameter() {
        let (l, _) = run(
            "$INST=\\\nvrrp_instance VI_${i} {\\\n virtual_router_id ${i}\\\n}\n~SEQ(i,1,2) $INST",
            "h",
        );
        assert_eq!(
            l,
            [
                "vrrp_instance VI_1 {",
                "virtual_router_id 1",
                "}",
                "vrrp_instance VI_2 {",
                "virtual_router_id 2",
                "}"
            ]
        );
    }

    #[test]
    fn generators() {
        let (l, _) = run("~SEQ(i,3) a $i", "h");
        assert_eq!(l, ["a 1", "a 2", "a 3"]);
        let (l, _) = run("~SEQ(i,10,5,20) a $i", "h");
        assert_eq!(l, ["a 10", "a 15", "a 20"]);
        let (l, _) = run("~SEQx(i,9,11) a $i", "h");
        assert_eq!(l, ["a 9", "a a", "a b"]);
        let (l, _) = run("~LST(x,eth0,eth1) dev $x", "h");
        assert_eq!(l, ["dev eth0", "dev eth1"]);
        let (l, _) = run("~LST({a,b},{1,2},{3,4}) $a-$b", "h");
        assert_eq!(l, ["1-2", "3-4"]);
        let (l, _) = run("~SEQ(i,1,2) ~SEQ(j,1,2) $i.$j", "h");
        assert_eq!(l, ["1.1", "1.2", "2.1", "2.2"]);
        let (_, d) = run("~SEQ(i,a,b) x", "h");
        assert!(d.has_errors());
        let (_, d) = run("~SEQ(i,1 x", "h");
        assert!(d.has_errors());
    }

    #[test]
    fn predefined() {
        let (l, _) = run("a ${_INSTANCE}", "node1");
        assert_eq!(l, ["a node1"]);
        let (l, _) = run("a ${_RANDOM 5 5}", "h");
        assert_eq!(l, ["a 5"]);
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("{x,y{1,2}}"), ["x", "y1", "y2"]);
        assert_eq!(expand_braces("plain"), ["plain"]);
    }

    #[test]
    fn recursive_parameter_is_bounded() {
        let (_, d) = run("$A=$A$A\nx $A", "h");
        assert!(d.has_errors());
        assert!(all(&d).contains("$A refers to itself"), "{}", all(&d));
    }

    /// Found by the keyword-soup property test (it ran for hours): a parameter that
    /// generates itself used to recurse 2^32 times.
    #[test]
    fn self_generating_parameter_is_refused_at_once() {
        let t = std::time::Instant::now();
        let (l, d) = run("$A= ~LST(x,a,b) $A y\n$A\nz", "h");
        assert!(
            all(&d).contains("t.conf:2: error: parameter $A refers to itself"),
            "{}",
            all(&d)
        );
        assert_eq!(l, ["z"]);
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }

    fn run_limited(text: &str, lines: usize, bytes: usize) -> (Vec<String>, Diagnostics) {
        let mut d = Diagnostics::default();
        let opts = PreprocessOptions {
            config_id: "h".into(),
            all_config: false,
        };
        let out = preprocess_limited("t.conf", text, &opts, &mut d, Limits { lines, bytes });
        (out.into_iter().map(|l| l.text).collect(), d)
    }

    #[test]
    fn exponential_parameters_and_generators_stop_at_the_limits() {
        // Billion laughs: 2^30 copies of a 64-byte word, no parameter refers to itself.
        let mut text = format!("$P0={}\n", "w".repeat(64));
        for i in 1..=30 {
            text.push_str(&format!("$P{i}=$P{} $P{}\n", i - 1, i - 1));
        }
        text.push_str("x $P30\n");
        let (l, d) = run(&text, "h");
        assert!(
            all(&d).contains("t.conf:32: error: line expands to more than"),
            "{}",
            all(&d)
        );
        assert!(l.is_empty());
        let (_, d) = run_limited(&text, 1000, 10_000);
        assert!(
            all(&d).contains("expands to more than 1000 lines"),
            "{}",
            all(&d)
        );
        // Nested generators multiply lines: 10^9 of them. Stopped at the line limit, with
        // nothing kept of the truncated expansion.
        let mut gen = "before\n".to_string();
        for v in 'a'..='i' {
            gen.push_str(&format!("~SEQ({v},1,10) "));
        }
        gen.push_str("line $a\nafter\n");
        let (l, d) = run_limited(&gen, 1000, 1 << 20);
        assert_eq!(d.error_count(), 1, "{}", all(&d));
        assert!(all(&d).contains("t.conf:2: error: configuration expands to more than 1000 lines"));
        assert!(l.is_empty());
        // Same with ~LST, which used to ignore the overflow; here the bytes run out first.
        let lst = "~LST(a,1,2) ".repeat(20) + &"w".repeat(200) + "\n";
        let (l, d) = run_limited(&lst, 1_000_000, 100_000);
        assert_eq!(d.error_count(), 1, "{}", all(&d));
        assert!(l.is_empty());
        // Deeper than generators may nest: one error, at once.
        let lst = "~LST(a,1,2) ".repeat(40) + "w\n";
        let (_, d) = run(&lst, "h");
        assert_eq!(d.error_count(), 1, "{}", all(&d));
        assert!(all(&d).contains("nested too deeply"));
        // Within the limits the same mechanism changes nothing; one line fewer is refused.
        let text = "~LST(a,1,2) ~LST(b,x,y) $a$b\n";
        let (l, d) = run_limited(text, 4, 1000);
        assert_eq!(l, ["1x", "1y", "2x", "2y"], "{}", all(&d));
        assert!(d.is_empty());
        let (l, _) = run_limited(text, 3, 1000);
        assert!(l.is_empty());
    }

    #[test]
    fn parameters_used_twice_in_a_line_are_not_self_references() {
        let (l, d) = run("$A=1\n$B=$A$A\nv $B $B ${B}", "h");
        assert_eq!(l, ["v 11 11 11"]);
        assert!(d.is_empty(), "{}", all(&d));
    }
}
