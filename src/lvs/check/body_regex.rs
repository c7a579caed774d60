//! HTTP_GET / SSL_GET `regex`, sans-IO: does the response body match, with keepalived's
//! `regex_min_offset` / `regex_max_offset` limits on where a match may start, in bounded memory.
//!
//! keepalived 2.2.7 feeds the body to PCRE2 in 4 KiB reads with partial matching, keeping a
//! partial match's bytes until the next read (a partial match longer than its buffer is
//! dropped). Here the body goes through a sliding window of [`WINDOW`] bytes: when it is full it
//! is searched and only its last [`KEEP`] bytes stay, so any match up to [`KEEP`] bytes long is
//! found wherever it lies in the body, and a checker never holds more than one window.

use regex::bytes::Regex;

/// Bytes searched at once.
pub const WINDOW: usize = 16 * 1024;
/// Bytes kept from one window to the next: the longest match found across a window boundary
/// (keepalived's own limit is its 4 KiB read buffer).
pub const KEEP: usize = 8 * 1024;
/// Bytes kept before `regex_min_offset` so that `\b` and `^` see the byte before it.
const CONTEXT: u64 = 4;

/// A url's compiled `regex` with its options.
#[derive(Clone, Debug)]
pub struct BodyRegex {
    /// The compiled pattern, or why it could not be compiled (the url then always fails).
    pub regex: Result<Regex, String>,
    /// `regex_no_match`.
    pub no_match: bool,
    /// `regex_min_offset`.
    pub min_offset: u64,
    /// `regex_max_offset` (last start offset, inclusive).
    pub max_offset: Option<u64>,
}

impl PartialEq for BodyRegex {
    fn eq(&self, o: &Self) -> bool {
        let pat = |r: &Result<Regex, String>| match r {
            Ok(r) => Ok(r.as_str().to_string()),
            Err(e) => Err(e.clone()),
        };
        pat(&self.regex) == pat(&o.regex)
            && self.no_match == o.no_match
            && self.min_offset == o.min_offset
            && self.max_offset == o.max_offset
    }
}
impl Eq for BodyRegex {}

/// The regex verdict on a body, once the stream has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegexVerdict {
    /// The url passes (a match, or none with `regex_no_match`).
    Pass,
    /// The url fails: the text says why.
    Fail(String),
}

/// Streams a body through a [`BodyRegex`].
#[derive(Debug)]
pub struct BodyMatcher {
    buf: Vec<u8>,
    /// Body offset of `buf[0]`.
    base: u64,
    /// Some once decided (true: matched).
    matched: Option<bool>,
}

impl Default for BodyMatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl BodyMatcher {
    /// A matcher at the start of a body.
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            base: 0,
            matched: None,
        }
    }

    /// Feeds body bytes.
    pub fn feed(&mut self, re: &BodyRegex, mut data: &[u8]) {
        let Ok(regex) = &re.regex else { return };
        while self.matched.is_none() && !data.is_empty() {
            let room = WINDOW.saturating_sub(self.buf.len()).max(1);
            let take = room.min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
            // Before the minimum offset only a little context is worth keeping.
            let keep_from = re.min_offset.saturating_sub(CONTEXT);
            if self.base + (self.buf.len() as u64) <= keep_from {
                self.base += self.buf.len() as u64;
                self.buf.clear();
                continue;
            }
            if self.base < keep_from {
                let drop = (keep_from - self.base) as usize;
                self.buf.drain(..drop);
                self.base = keep_from;
            }
            if self.buf.len() >= WINDOW {
                self.search(regex, re, false);
                if self.matched.is_none() {
                    let drop = self.buf.len() - (KEEP + 1);
                    self.buf.drain(..drop);
                    self.base += drop as u64;
                }
            }
        }
    }

    /// Searches the current window; `last` when the body has ended.
    fn search(&mut self, regex: &Regex, re: &BodyRegex, last: bool) {
        // A window that does not start the body keeps its first byte as context only.
        let mut start = usize::from(self.base > 0);
        if re.min_offset > self.base {
            start = start.max((re.min_offset - self.base) as usize);
        }
        if start > self.buf.len() {
            return;
        }
        if let Some(max) = re.max_offset {
            if self.base + start as u64 > max {
                self.matched = Some(false);
                return;
            }
        }
        let Some(m) = regex.find_at(&self.buf, start) else {
            return;
        };
        if re
            .max_offset
            .is_some_and(|max| self.base + m.start() as u64 > max)
        {
            // The leftmost match starts too late: no other can start in range.
            self.matched = Some(false);
            return;
        }
        // A match that reaches the window's end may only be an artefact of the cut (`$`, a
        // greedy loop): it is looked at again with more of the body.
        if last || m.end() < self.buf.len() {
            self.matched = Some(true);
        }
    }

    /// Ends the body: the verdict.
    pub fn finish(mut self, re: &BodyRegex) -> RegexVerdict {
        let regex = match &re.regex {
            Ok(r) => r,
            Err(e) => return RegexVerdict::Fail(format!("regex cannot be compiled: {e}")),
        };
        if self.matched.is_none() {
            self.search(regex, re, true);
        }
        let matched = self.matched.unwrap_or(false);
        if matched == re.no_match {
            RegexVerdict::Fail(if matched {
                format!("body matches regex '{}' (regex_no_match)", regex.as_str())
            } else {
                format!("body does not match regex '{}'", regex.as_str())
            })
        } else {
            RegexVerdict::Pass
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> BodyRegex {
        BodyRegex {
            regex: Ok(Regex::new(p).unwrap()),
            no_match: false,
            min_offset: 0,
            max_offset: None,
        }
    }

    fn verdict(r: &BodyRegex, chunks: &[&[u8]]) -> RegexVerdict {
        let mut m = BodyMatcher::new();
        for c in chunks {
            m.feed(r, c);
        }
        m.finish(r)
    }

    fn passes(r: &BodyRegex, body: &[u8]) -> bool {
        verdict(r, &[body]) == RegexVerdict::Pass
    }

    #[test]
    fn match_and_no_match() {
        let mut r = re("status: (ok|fine)");
        assert!(passes(&r, b"<html>status: ok</html>"));
        assert!(!passes(&r, b"<html>status: down</html>"));
        assert!(!passes(&r, b""));
        r.no_match = true;
        assert!(!passes(&r, b"<html>status: ok</html>"));
        assert!(passes(&r, b"<html>status: down</html>"));
    }

    #[test]
    fn split_anywhere_gives_the_same_verdict() {
        let r = re("needle[0-9]+end");
        let body = b"aaaa needle42end bbbb";
        for cut in 0..=body.len() {
            assert_eq!(
                verdict(&r, &[&body[..cut], &body[cut..]]),
                RegexVerdict::Pass,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn found_deep_in_a_large_body_and_across_windows() {
        let r = re("NEEDLE-[a-z]{3}");
        for pos in [0, 100, WINDOW - 5, WINDOW, 3 * WINDOW + 7, 10 * WINDOW - 3] {
            let mut body = vec![b'x'; 10 * WINDOW + 100];
            body[pos..pos + 10].copy_from_slice(b"NEEDLE-abc");
            // Fed in uneven reads as a socket gives them.
            let chunks: Vec<&[u8]> = body.chunks(1500).collect();
            assert_eq!(verdict(&r, &chunks), RegexVerdict::Pass, "needle at {pos}");
        }
        let body = vec![b'x'; 10 * WINDOW];
        assert!(!passes(&r, &body));
    }

    #[test]
    fn memory_stays_bounded() {
        let r = re("never-there");
        let mut m = BodyMatcher::new();
        let chunk = vec![b'y'; 4096];
        for _ in 0..1000 {
            m.feed(&r, &chunk);
            assert!(m.buf.len() <= WINDOW, "{}", m.buf.len());
        }
    }

    #[test]
    fn window_cut_is_not_a_match() {
        // `x$` matches at the end of a window but not of the body.
        let r = re("x$");
        let mut body = vec![b'x'; WINDOW];
        body.extend_from_slice(b"yyyy");
        assert!(!passes(&r, &body));
        body.push(b'x');
        assert!(passes(&r, &body));
        // `^` does not match at the start of a later window.
        let r = re("^abc");
        let mut body = vec![b'.'; WINDOW - (KEEP + 1)];
        body.extend_from_slice(b"abc");
        body.extend_from_slice(&vec![b'.'; 2 * WINDOW]);
        assert!(!passes(&r, &body));
    }

    #[test]
    fn offsets_limit_where_a_match_starts() {
        // "ok" at offset 10.
        let body = b"0123456789ok-------------";
        let mut r = re("ok");
        r.min_offset = 10;
        assert!(passes(&r, body));
        r.min_offset = 11;
        assert!(!passes(&r, body));
        r.min_offset = 0;
        r.max_offset = Some(10);
        assert!(passes(&r, body));
        r.max_offset = Some(9);
        assert!(!passes(&r, body));
        // A match may run past the maximum offset; only its start counts.
        let mut r = re("ok-+");
        r.max_offset = Some(10);
        assert!(passes(&r, body));
        // \b sees the byte before the minimum offset.
        let mut r = re(r"\bok");
        r.min_offset = 10;
        assert!(!passes(&r, body));
        let mut r2 = re(r"\bok");
        r2.min_offset = 10;
        assert!(passes(&r2, b"012345678 ok"));
        // Far offsets: skipped without buffering.
        let mut r = re("target");
        r.min_offset = 5 * WINDOW as u64;
        let mut body = vec![b'z'; 6 * WINDOW];
        body[WINDOW..WINDOW + 6].copy_from_slice(b"target");
        assert!(!passes(&r, &body));
        body[5 * WINDOW + 1..5 * WINDOW + 7].copy_from_slice(b"target");
        assert!(passes(&r, &body));
    }

    #[test]
    fn uncompilable_regex_always_fails() {
        let r = BodyRegex {
            regex: Err("look-around is not supported".into()),
            no_match: true,
            min_offset: 0,
            max_offset: None,
        };
        assert!(
            matches!(verdict(&r, &[b"anything"]), RegexVerdict::Fail(m) if m.contains("look-around"))
        );
    }
}
