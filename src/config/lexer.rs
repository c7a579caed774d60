//! Splits one logical line of keepalived.conf into tokens.
//!
//! keepalived's rules: `#` and `!` start a comment anywhere outside quotes; `"` and `'` quote,
//! and a quoted part joins the word it touches (`abcd" efg h "ij` is one word); inside quotes the
//! shell-like escapes `\n \t \r \a \b \E \f \v \nnn \xXX \cC` apply and `\C` is a literal C;
//! `{` and `}` outside quotes are tokens of their own even when they touch a word.

use serde::Serialize;

/// One token of a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Token {
    /// A word; `quoted` is true when any part of it was quoted.
    Word { text: String, quoted: bool },
    /// `{`
    Open,
    /// `}`
    Close,
}

impl Token {
    /// The word's text, or the brace itself.
    pub fn text(&self) -> &str {
        match self {
            Token::Word { text, .. } => text,
            Token::Open => "{",
            Token::Close => "}",
        }
    }
}

/// A lexing problem (the caller adds the location).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A `"` or `'` was opened and never closed on the line.
    #[error("unterminated quoted string (missing closing {0})")]
    UnterminatedQuote(char),
}

/// Returns the line with any comment removed (quotes respected).
pub fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' | '!' => return &line[..i],
                _ => {}
            },
        }
    }
    line
}

/// Splits `line` (comments allowed) into tokens.
pub fn tokenize(line: &str) -> Result<Vec<Token>, LexError> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    let mut cur = String::new();
    let mut cur_quoted = false;
    let mut in_word = false;

    fn flush(out: &mut Vec<Token>, cur: &mut String, quoted: &mut bool, in_word: &mut bool) {
        if *in_word {
            out.push(Token::Word {
                text: std::mem::take(cur),
                quoted: *quoted,
            });
        }
        *quoted = false;
        *in_word = false;
    }

    while let Some(c) = chars.next() {
        match c {
            '#' | '!' => break,
            '{' | '}' => {
                flush(&mut out, &mut cur, &mut cur_quoted, &mut in_word);
                out.push(if c == '{' { Token::Open } else { Token::Close });
            }
            '"' | '\'' => {
                in_word = true;
                cur_quoted = true;
                let mut closed = false;
                while let Some(q) = chars.next() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    if q == '\\' {
                        unescape(&mut chars, &mut cur);
                    } else {
                        cur.push(q);
                    }
                }
                if !closed {
                    return Err(LexError::UnterminatedQuote(c));
                }
            }
            c if c.is_whitespace() => flush(&mut out, &mut cur, &mut cur_quoted, &mut in_word),
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    flush(&mut out, &mut cur, &mut cur_quoted, &mut in_word);
    Ok(out)
}

/// keepalived's escape processing of a word read with `alloc_strvec_quoted_escaped` (e.g.
/// `regex`): there backslashes are escapes outside quotes too, so an unquoted word gets it here
/// (quoted parts already had it in [`tokenize`]).
pub fn unescape_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            unescape(&mut chars, &mut out);
        } else {
            out.push(c);
        }
    }
    out
}

/// Handles the character(s) after a backslash inside quotes.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    let Some(c) = chars.next() else {
        out.push('\\');
        return;
    };
    match c {
        'a' => out.push('\x07'),
        'b' => out.push('\x08'),
        'E' => out.push('\x1b'),
        'f' => out.push('\x0c'),
        'n' => out.push('\n'),
        'r' => out.push('\r'),
        't' => out.push('\t'),
        'v' => out.push('\x0b'),
        'x' => {
            let mut v: u32 = 0;
            let mut n = 0;
            while n < 2 {
                match chars.peek().and_then(|d| d.to_digit(16)) {
                    Some(d) => {
                        v = v * 16 + d;
                        chars.next();
                        n += 1;
                    }
                    None => break,
                }
            }
            if n == 0 {
                out.push('x');
            } else if let Some(ch) = char::from_u32(v) {
                out.push(ch);
            }
        }
        'c' => {
            if let Some(k) = chars.next() {
                let v = (k.to_ascii_uppercase() as u32) ^ 0x40;
                if let Some(ch) = char::from_u32(v) {
                    out.push(ch);
                }
            }
        }
        '0'..='7' => {
            let mut v: u32 = c.to_digit(8).unwrap_or(0);
            let mut n = 1;
            while n < 3 {
                match chars.peek().and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        chars.next();
                        n += 1;
                    }
                    None => break,
                }
            }
            if let Some(ch) = char::from_u32(v & 0xff) {
                out.push(ch);
            }
        }
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        tokenize(line)
            .unwrap()
            .iter()
            .map(|t| t.text().to_string())
            .collect()
    }

    #[test]
    fn comments_anywhere() {
        assert_eq!(words("priority 100 # the priority"), ["priority", "100"]);
        assert_eq!(words("priority 100 ! old style"), ["priority", "100"]);
        assert_eq!(words("! whole line"), Vec::<String>::new());
        assert_eq!(strip_comment("a \"#x\" # c"), "a \"#x\" ");
    }

    #[test]
    fn quotes_join_and_keep_spaces() {
        assert_eq!(
            words(r#"script "/bin/check arg""#),
            ["script", "/bin/check arg"]
        );
        assert_eq!(words(r#"abcd" efg h jkl "mnop"#), ["abcd efg h jkl mnop"]);
        assert_eq!(words("x 'a # b'"), ["x", "a # b"]);
        assert_eq!(words(r#"x "a\tb\x41\101\"""#), ["x", "a\tbAA\""]);
    }

    #[test]
    fn braces_are_tokens() {
        assert_eq!(words("vrrp_instance VI_1{"), ["vrrp_instance", "VI_1", "{"]);
        assert_eq!(words("group { a b }"), ["group", "{", "a", "b", "}"]);
        assert_eq!(words(r#"x "{""#), ["x", "{"]);
        assert!(matches!(
            tokenize(r#"x "{""#).unwrap()[1],
            Token::Word { .. }
        ));
    }

    #[test]
    fn unterminated() {
        assert_eq!(
            tokenize("script \"abc"),
            Err(LexError::UnterminatedQuote('"'))
        );
    }
}
