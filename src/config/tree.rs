//! Builds the nested block tree from preprocessed lines: `keyword args... { children }`.
//!
//! The tree knows nothing about keywords; the typed model is built from it in [`super::from_tree`].

use super::diag::{Diagnostics, Location};
use super::lexer::{tokenize, Token};
use super::preprocess::SourceLine;
use serde::Serialize;

/// One argument word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arg {
    /// The word, quotes removed.
    pub text: String,
    /// Whether the word was (partly) quoted.
    pub quoted: bool,
}

/// A statement: a keyword with its arguments and, for blocks, its children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Where the keyword is.
    pub loc: Location,
    /// The first word.
    pub keyword: String,
    /// The remaining words on the line.
    pub args: Vec<Arg>,
    /// `Some` for a block (`keyword ... { ... }`).
    pub children: Option<Vec<Node>>,
}

impl Node {
    /// The argument texts.
    pub fn arg_texts(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|a| a.text.as_str())
    }

    /// The n-th argument.
    pub fn arg(&self, n: usize) -> Option<&str> {
        self.args.get(n).map(|a| a.text.as_str())
    }

    /// The children of a block (empty for a leaf).
    pub fn children(&self) -> &[Node] {
        self.children.as_deref().unwrap_or(&[])
    }

    /// All words inside a block, flattened (for list blocks such as `group { VI_1 VI_2 }`).
    pub fn flat_words(&self) -> Vec<(Location, String)> {
        let mut out = Vec::new();
        for c in self.children() {
            out.push((c.loc.clone(), c.keyword.clone()));
            for a in &c.args {
                out.push((c.loc.clone(), a.text.clone()));
            }
        }
        out
    }
}

/// Parses lines into top-level nodes; brace problems are reported in `diags`.
pub fn build_tree(lines: &[SourceLine], diags: &mut Diagnostics) -> Vec<Node> {
    build_tree_limited(lines, diags, MAX_NESTING)
}

/// Blocks nested deeper than this are refused (one located error, the tree stops there):
/// keepalived's deepest real block is 4 levels (`virtual_server` / `real_server` / checker /
/// `url`); a line of millions of `{` would otherwise hold millions of open nodes.
pub const MAX_NESTING: usize = 64;

// Long by design: one pass over the lines with one explicit stack; opening, closing, keyword
// lines and one-line blocks share that stack and read best together (tests in this file).
fn build_tree_limited(
    lines: &[SourceLine],
    diags: &mut Diagnostics,
    max_nesting: usize,
) -> Vec<Node> {
    // Stack of open blocks: (node, index path) — we keep owned nodes and attach on close.
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Vec<Node> = Vec::new();

    fn current<'a>(root: &'a mut Vec<Node>, stack: &'a mut [Node]) -> &'a mut Vec<Node> {
        match stack.last_mut() {
            Some(n) => n.children.get_or_insert_with(Vec::new),
            None => root,
        }
    }

    for line in lines {
        let tokens = match tokenize(&line.text) {
            Ok(t) => t,
            Err(e) => {
                diags.error(&line.loc, e.to_string());
                continue;
            }
        };
        if line
            .text
            .contains(['\u{201c}', '\u{201d}', '\u{2018}', '\u{2019}'])
        {
            diags.warning(
                &line.loc,
                "typographic quote (“ ” ‘ ’) is not a quote for keepalived and stays part of the word; use \" or '",
            );
        }
        if line.text.contains(['\u{3000}', '\u{a0}']) {
            diags.warning(
                &line.loc,
                "non-ASCII space (full-width or no-break space) inside a line",
            );
        }
        let mut stmt: Vec<Arg> = Vec::new();
        let finish = |stmt: &mut Vec<Arg>, root: &mut Vec<Node>, stack: &mut Vec<Node>| {
            if stmt.is_empty() {
                return;
            }
            let mut words = std::mem::take(stmt).into_iter();
            if let Some(first) = words.next() {
                let node = Node {
                    loc: line.loc.clone(),
                    keyword: first.text,
                    args: words.collect(),
                    children: None,
                };
                current(root, stack).push(node);
            }
        };
        for tok in tokens {
            match tok {
                Token::Word { text, quoted } => stmt.push(Arg { text, quoted }),
                Token::Open => {
                    if stack.len() >= max_nesting {
                        diags.error(
                            &line.loc,
                            format!("blocks nested more than {max_nesting} deep: the rest of the configuration is not read"),
                        );
                        return root;
                    }
                    if stmt.is_empty() {
                        // `{` on a line of its own opens a block for the previous statement.
                        let level = current(&mut root, &mut stack);
                        match level.pop() {
                            Some(prev) if prev.children.is_none() => stack.push(prev),
                            other => {
                                if let Some(p) = other {
                                    level.push(p);
                                }
                                diags.error(&line.loc, "unexpected '{' with no keyword before it");
                                // Open an anonymous block so the matching '}' balances.
                                stack.push(Node {
                                    loc: line.loc.clone(),
                                    keyword: String::new(),
                                    args: Vec::new(),
                                    children: None,
                                });
                            }
                        }
                    } else {
                        let mut words = std::mem::take(&mut stmt).into_iter();
                        if let Some(first) = words.next() {
                            stack.push(Node {
                                loc: line.loc.clone(),
                                keyword: first.text,
                                args: words.collect(),
                                children: None,
                            });
                        }
                    }
                    if let Some(top) = stack.last_mut() {
                        top.children.get_or_insert_with(Vec::new);
                    }
                }
                Token::Close => {
                    finish(&mut stmt, &mut root, &mut stack);
                    match stack.pop() {
                        Some(done) => {
                            if !done.keyword.is_empty() {
                                current(&mut root, &mut stack).push(done);
                            }
                        }
                        None => diags.error(
                            &line.loc,
                            "unbalanced '}' with no open block (extra closing brace)",
                        ),
                    }
                }
            }
        }
        finish(&mut stmt, &mut root, &mut stack);
    }
    while let Some(open) = stack.pop() {
        let what = if open.keyword.is_empty() {
            "block".to_string()
        } else {
            format!("'{}' block", open.keyword)
        };
        diags.error(
            &open.loc,
            format!("missing closing brace '}}' for the {what} opened here"),
        );
        if !open.keyword.is_empty() {
            current(&mut root, &mut stack).push(open);
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::preprocess::{preprocess_str, PreprocessOptions};

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut d = Diagnostics::default();
        let lines = preprocess_str("t.conf", text, &PreprocessOptions::default(), &mut d);
        let t = build_tree(&lines, &mut d);
        (t, d)
    }

    #[test]
    fn nesting_is_bounded_with_one_located_error() {
        let text = format!("a {}\n", "{".repeat(200_000));
        let mut d = Diagnostics::default();
        let lines = preprocess_str("t.conf", &text, &Default::default(), &mut d);
        let _ = build_tree(&lines, &mut d);
        let errs: Vec<String> = d.errors().map(|e| e.to_string()).collect();
        assert!(
            errs.iter()
                .any(|e| e.starts_with("t.conf:1:") && e.contains("nested more than 64 deep")),
            "{errs:?}"
        );
        assert!(
            errs.len() <= MAX_NESTING + 1,
            "bounded, not one per brace: {}",
            errs.len()
        );
    }

    #[test]
    fn nested_blocks() {
        let (t, d) = tree("vrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress {\n    10.0.0.1/24 dev eth0\n  }\n}\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].keyword, "vrrp_instance");
        assert_eq!(t[0].arg(0), Some("VI_1"));
        let c = t[0].children();
        assert_eq!(c[0].keyword, "state");
        assert_eq!(c[1].children()[0].keyword, "10.0.0.1/24");
        assert_eq!(c[1].children()[0].loc.line, 4);
    }

    #[test]
    fn brace_on_own_line_and_one_line_blocks() {
        let (t, d) = tree("vrrp_sync_group G\n{\n group { VI_1 VI_2 }\n}\n");
        assert!(d.is_empty(), "{d:?}");
        let g = &t[0].children()[0];
        let words: Vec<String> = g.flat_words().into_iter().map(|(_, w)| w).collect();
        assert_eq!(words, ["VI_1", "VI_2"]);
    }

    #[test]
    fn unbalanced() {
        let (_, d) = tree("a {\n b 1\n");
        assert_eq!(d.errors().next().unwrap().location.line, 1);
        assert!(d
            .errors()
            .next()
            .unwrap()
            .message
            .contains("missing closing brace"));
        let (_, d) = tree("a {\n}\n}\n");
        assert_eq!(d.errors().next().unwrap().location.line, 3);
    }

    /// Issue #19: keepalived breaks a line only at its braces (lib/parser.c `read_line`: the
    /// text before a `{`/`}`, the brace, the rest), so `script "/x" interval 7` stays one
    /// statement; the `script` keyword takes the first word and ignores the rest, with a
    /// located warning (it used to become the script's user, silently).
    #[test]
    fn one_line_block_splits_at_braces_only_and_the_script_keeps_its_default_user() {
        let text = "vrrp_script chk { script \"/x\" interval 7 }\n";
        let (t, d) = tree(text);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.len(), 1);
        assert_eq!(
            (t[0].keyword.as_str(), t[0].arg(0)),
            ("vrrp_script", Some("chk"))
        );
        let c = t[0].children();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].keyword, "script");
        assert_eq!(
            c[0].arg_texts().collect::<Vec<_>>(),
            ["/x", "interval", "7"]
        );

        let loaded = crate::config::load_str("t.conf", text, &Default::default());
        let s = &loaded.config.vrrp_scripts[0];
        let script = s.script.as_ref().expect("script");
        assert_eq!(script.argv, ["/x"]);
        assert_eq!(script.user, None, "'interval 7' is not a user");
        assert_eq!(s.user, None);
        assert_eq!(s.interval, std::time::Duration::from_secs(1));
        let w: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}", d.location.file, d.location.line, d.message))
            .collect();
        assert!(
            w.iter().any(|m| m.starts_with("t.conf:1:")
                && m.contains("'interval 7' after the script is ignored")),
            "{w:?}"
        );
        assert!(!loaded.diagnostics.has_errors(), "{w:?}");
    }
}
