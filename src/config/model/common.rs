//! Types shared by several blocks: locations of keywords, scripts, users, tracker references.

use crate::config::diag::Location;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where each keyword of an object was given (keyword -> its last location).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Spans(pub BTreeMap<String, Location>);

impl Spans {
    /// Records that `keyword` was given at `loc`.
    pub fn set(&mut self, keyword: &str, loc: &Location) {
        self.0.insert(keyword.to_string(), loc.clone());
    }

    /// Where `keyword` was given, if it was.
    pub fn get(&self, keyword: &str) -> Option<&Location> {
        self.0.get(keyword)
    }
}

/// A user (and optional group) a script runs as: `user [:][group]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptUser {
    /// User name or uid.
    pub user: String,
    /// Group name or gid.
    pub group: Option<String>,
    /// `:group` form: also set supplementary groups.
    pub supplementary: bool,
}

/// A script to run: keepalived's `"path arg 'arg with space'" [user [group]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptSpec {
    /// The command line exactly as configured.
    pub command: String,
    /// The command line split into program and arguments (keepalived's splitting rules).
    pub argv: Vec<String>,
    /// Run as this user instead of the default script user.
    pub user: Option<ScriptUser>,
    /// Where it was configured.
    pub loc: Location,
}

/// A reference to a tracker from an instance or group: `NAME [weight W [reverse]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackRef {
    /// Name of the script, interface, file, process or BFD instance.
    pub name: String,
    /// Weight override (None: the tracker's own weight).
    pub weight: Option<i32>,
    /// `reverse`: the weight applies the other way round.
    pub reverse: bool,
    /// `noreverse` given explicitly (track_script only).
    pub noreverse: bool,
    /// Where.
    pub loc: Location,
}

/// Splits a command line as keepalived does: unquoted whitespace separates words, single or
/// double quotes group, backslash escapes the next character.
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                    in_word = true;
                }
                c if c.is_whitespace() => {
                    if in_word {
                        out.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn splits_like_keepalived() {
        assert_eq!(
            split_command("/bin/x a 'b c' \"d e\" f\\ g"),
            ["/bin/x", "a", "b c", "d e", "f g"]
        );
        assert_eq!(split_command("  "), Vec::<String>::new());
    }
}
