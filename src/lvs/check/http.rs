//! HTTP_GET / SSL_GET / genhash core, sans-IO: the request keepalived sends and an incremental
//! response parser that yields the status code and the MD5 digest of the body exactly as
//! keepalived computes it (every byte after the header's blank line, up to end of stream).

use super::body_regex::{BodyMatcher, BodyRegex, RegexVerdict};
use md5::{Digest, Md5};
use std::sync::Arc;

/// keepalived's `http_protocol`: 1.0 (default), 1.0C (adds `Connection: close`), 1.1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpProtocol {
    /// `GET path HTTP/1.0`.
    #[default]
    V10,
    /// HTTP/1.0 with `Connection: close`.
    V10Close,
    /// `GET path HTTP/1.1` with `Connection: close`.
    V11,
}

impl HttpProtocol {
    /// Parses keepalived's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "1.0" => Some(Self::V10),
            "1.0C" | "1.0c" => Some(Self::V10Close),
            "1.1" => Some(Self::V11),
            _ => None,
        }
    }
}

/// Builds the request keepalived's checker and genhash send.
pub fn request(path: &str, host: &str, proto: HttpProtocol) -> Vec<u8> {
    let version = if proto == HttpProtocol::V11 {
        "1.1"
    } else {
        "1.0"
    };
    let mut r =
        format!("GET {path} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nHost: {host}\r\n");
    if proto != HttpProtocol::V10 {
        r.push_str("Connection: close\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// What went wrong with a response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The status line is not `HTTP/x.y NNN ...`.
    #[error("malformed status line")]
    BadStatusLine,
    /// Headers larger than the limit.
    #[error("response headers larger than {0} bytes")]
    HeadersTooLarge(usize),
    /// The stream ended before the headers did.
    #[error("connection closed before the end of the headers")]
    Truncated,
}

/// Incremental response parser.
#[derive(Debug)]
pub struct ResponseParser {
    head: Vec<u8>,
    status: Option<u16>,
    in_body: bool,
    body_len: u64,
    md5: Md5,
    max_head: usize,
    regex: Option<(Arc<BodyRegex>, BodyMatcher)>,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

/// The outcome once the stream has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Lower-case hex MD5 of the body bytes.
    pub digest: String,
    /// Body length in bytes.
    pub body_len: u64,
    /// The `regex` verdict, when the url has one.
    pub regex: Option<RegexVerdict>,
}

impl ResponseParser {
    /// A parser with a 64 KiB header limit.
    pub fn new() -> Self {
        Self {
            head: Vec::new(),
            status: None,
            in_body: false,
            body_len: 0,
            md5: Md5::new(),
            max_head: 64 * 1024,
            regex: None,
        }
    }

    /// A parser that also matches the body against a url's `regex`.
    pub fn with_regex(regex: Option<Arc<BodyRegex>>) -> Self {
        Self {
            regex: regex.map(|r| (r, BodyMatcher::new())),
            ..Self::new()
        }
    }

    /// The status code, once the status line has arrived.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Feeds received bytes.
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), HttpError> {
        if !self.in_body {
            let start = self.head.len().saturating_sub(3);
            self.head.extend_from_slice(data);
            if self.status.is_none() {
                if let Some(eol) = find(&self.head, b"\r\n").or_else(|| find(&self.head, b"\n")) {
                    self.status = Some(parse_status(&self.head[..eol])?);
                }
            }
            let end = find(&self.head[start..], b"\r\n\r\n")
                .map(|p| start + p + 4)
                .or_else(|| find(&self.head[start..], b"\n\n").map(|p| start + p + 2));
            match end {
                Some(e) => {
                    self.in_body = true;
                    let rest = self.head.split_off(e);
                    data = &[];
                    self.body(&rest);
                }
                None if self.head.len() > self.max_head => {
                    return Err(HttpError::HeadersTooLarge(self.max_head))
                }
                None => return Ok(()),
            }
        }
        self.body(data);
        Ok(())
    }

    fn body(&mut self, data: &[u8]) {
        self.body_len += data.len() as u64;
        self.md5.update(data);
        if let Some((re, m)) = &mut self.regex {
            m.feed(re, data);
        }
    }

    /// Ends the stream and returns the result.
    pub fn finish(self) -> Result<Response, HttpError> {
        let status = self.status.ok_or(HttpError::Truncated)?;
        if !self.in_body {
            return Err(HttpError::Truncated);
        }
        let digest = self
            .md5
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Response {
            status,
            digest,
            body_len: self.body_len,
            regex: self.regex.map(|(re, m)| m.finish(&re)),
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_status(line: &[u8]) -> Result<u16, HttpError> {
    let line = std::str::from_utf8(line).map_err(|_| HttpError::BadStatusLine)?;
    let mut parts = line.split_whitespace();
    let proto = parts.next().ok_or(HttpError::BadStatusLine)?;
    if !proto.starts_with("HTTP/") {
        return Err(HttpError::BadStatusLine);
    }
    let code = parts.next().ok_or(HttpError::BadStatusLine)?;
    match code.parse::<u16>() {
        Ok(c) if (100..=999).contains(&c) && code.len() == 3 => Ok(c),
        _ => Err(HttpError::BadStatusLine),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Result<Response, HttpError> {
        let mut p = ResponseParser::new();
        for c in chunks {
            p.feed(c)?;
        }
        p.finish()
    }

    #[test]
    fn request_matches_keepalived() {
        assert_eq!(
            request("/index.html", "10.0.0.1:80", HttpProtocol::V10),
            b"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:80\r\n\r\n"
        );
        assert!(String::from_utf8(request("/", "h", HttpProtocol::V11))
            .unwrap()
            .contains("Connection: close"));
    }

    #[test]
    fn digest_of_body_split_anywhere() {
        let resp = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello world\n";
        // md5("hello world\n")
        let want = "6f5902ac237024bdd0c176cb93063dc4";
        for split in 1..resp.len() {
            let r = parse_chunks(&[&resp[..split], &resp[split..]]).unwrap();
            assert_eq!(r.status, 200);
            assert_eq!(r.digest, want, "split at {split}");
            assert_eq!(r.body_len, 12);
        }
    }

    #[test]
    fn bad_inputs() {
        assert_eq!(
            parse_chunks(&[b"garbage\r\n\r\n"]),
            Err(HttpError::BadStatusLine)
        );
        assert_eq!(
            parse_chunks(&[b"HTTP/1.0 200 OK\r\nX: y"]),
            Err(HttpError::Truncated)
        );
        assert_eq!(parse_chunks(&[b""]), Err(HttpError::Truncated));
        let big = vec![b'a'; 70 * 1024];
        assert!(matches!(
            parse_chunks(&[b"HTTP/1.0 200 OK\r\n", &big]),
            Err(HttpError::HeadersTooLarge(_))
        ));
        assert_eq!(
            parse_chunks(&[b"HTTP/1.1 404 Not Found\r\n\r\n"])
                .unwrap()
                .status,
            404
        );
    }
}
