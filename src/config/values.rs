//! Typed value parsing with located errors: numbers in range, booleans, timers, addresses,
//! prefixes, scripts and users. Each function reports its own problem and returns `None`.

use super::diag::{Diagnostics, Location};
use super::model::{split_command, ScriptSpec, ScriptUser};
use super::tree::Node;
use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

/// The argument at `idx`, or an error saying the keyword needs a value.
pub fn arg<'n>(n: &'n Node, idx: usize, d: &mut Diagnostics) -> Option<&'n str> {
    match n.arg(idx) {
        Some(a) => Some(a),
        None => {
            d.error(&n.loc, format!("'{}' needs a value", n.keyword));
            None
        }
    }
}

/// An integer in `min..=max`.
pub fn int_in<T>(
    loc: &Location,
    what: &str,
    s: &str,
    min: T,
    max: T,
    d: &mut Diagnostics,
) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display,
{
    match s.parse::<T>() {
        Ok(v) if v >= min && v <= max => Some(v),
        Ok(v) => {
            d.error(loc, format!("{what}: {v} is out of range {min}..{max}"));
            None
        }
        Err(_) => {
            // Distinguish "too big" from "not a number" for a clearer message.
            if !s.is_empty()
                && s.trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                d.error(loc, format!("{what}: {s} is out of range {min}..{max}"));
            } else {
                d.error(loc, format!("{what}: '{s}' is not a valid number"));
            }
            None
        }
    }
}

/// The first argument of `n` as an integer in `min..=max`.
pub fn int_arg<T>(n: &Node, min: T, max: T, d: &mut Diagnostics) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display,
{
    let s = arg(n, 0, d)?;
    int_in(&n.loc, &n.keyword, s, min, max, d)
}

/// keepalived's `<BOOL>`: on|off|true|false|yes|no; a bare keyword means true.
pub fn bool_arg(n: &Node, d: &mut Diagnostics) -> Option<bool> {
    match n.arg(0) {
        None => Some(true),
        Some(s) => parse_bool(s).or_else(|| {
            d.error(
                &n.loc,
                format!(
                    "{}: '{s}' is not a boolean (use on/off, true/false, yes/no)",
                    n.keyword
                ),
            );
            None
        }),
    }
}

/// Parses keepalived's boolean words.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A timer in seconds with a fractional part (µs resolution), within `min..=max` seconds.
pub fn secs_in(
    loc: &Location,
    what: &str,
    s: &str,
    min: f64,
    max: f64,
    d: &mut Diagnostics,
) -> Option<Duration> {
    let v: f64 = match s.parse() {
        Ok(v) if f64::is_finite(v) => v,
        _ => {
            d.error(
                loc,
                format!("{what}: '{s}' is not a valid number of seconds"),
            );
            return None;
        }
    };
    if v < min || v > max {
        d.error(
            loc,
            format!("{what}: {s} is out of range {min}..{max} seconds"),
        );
        return None;
    }
    Some(Duration::from_micros((v * 1e6).round() as u64))
}

/// The first argument of `n` as seconds in `min..=max`.
pub fn secs_arg(n: &Node, min: f64, max: f64, d: &mut Diagnostics) -> Option<Duration> {
    let s = arg(n, 0, d)?;
    secs_in(&n.loc, &n.keyword, s, min, max, d)
}

/// The first argument of `n` as milliseconds (fraction allowed) in `min..=max` ms.
pub fn millis_arg(n: &Node, min: f64, max: f64, d: &mut Diagnostics) -> Option<Duration> {
    let s = arg(n, 0, d)?;
    let v: f64 = match s.parse() {
        Ok(v) if f64::is_finite(v) => v,
        _ => {
            d.error(
                &n.loc,
                format!("{}: '{s}' is not a valid number of milliseconds", n.keyword),
            );
            return None;
        }
    };
    if v < min || v > max {
        d.error(
            &n.loc,
            format!("{}: {s} is out of range {min}..{max} ms", n.keyword),
        );
        return None;
    }
    Some(Duration::from_micros((v * 1e3).round() as u64))
}

/// An IP address.
pub fn ip(loc: &Location, what: &str, s: &str, d: &mut Diagnostics) -> Option<IpAddr> {
    match s.parse::<IpAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            d.error(loc, format!("{what}: '{s}' is not a valid IP address"));
            None
        }
    }
}

/// The first argument of `n` as an IP address.
pub fn ip_arg(n: &Node, d: &mut Diagnostics) -> Option<IpAddr> {
    let s = arg(n, 0, d)?;
    ip(&n.loc, &n.keyword, s, d)
}

/// `ADDR[/PREFIX]` with a host prefix by default.
pub fn prefix(loc: &Location, what: &str, s: &str, d: &mut Diagnostics) -> Option<IpNet> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = match a.parse::<IpAddr>() {
        Ok(a) => a,
        Err(_) => {
            d.error(loc, format!("{what}: '{s}' is not a valid IP address"));
            return None;
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(l) if l <= max => l,
            _ => {
                d.error(loc, format!("{what}: prefix length '/{p}' in '{s}' is invalid (0..{max} for this address)"));
                return None;
            }
        },
    };
    IpNet::new(addr, len).ok().or_else(|| {
        d.error(loc, format!("{what}: '{s}' is not a valid prefix"));
        None
    })
}

/// A port number 0..65535.
pub fn port(loc: &Location, what: &str, s: &str, d: &mut Diagnostics) -> Option<u16> {
    int_in::<u32>(loc, what, s, 0, 65535, d).map(|v| v as u16)
}

/// `user [:][group]` starting at argument `idx` (None when absent).
pub fn script_user(n: &Node, idx: usize) -> Option<ScriptUser> {
    let user = n.arg(idx)?.to_string();
    let (group, supplementary) = match n.arg(idx + 1) {
        Some(g) => match g.strip_prefix(':') {
            Some(rest) if !rest.is_empty() => (Some(rest.to_string()), true),
            Some(_) => (n.arg(idx + 2).map(str::to_string), true),
            None => (Some(g.to_string()), false),
        },
        None => (None, false),
    };
    Some(ScriptUser {
        user,
        group,
        supplementary,
    })
}

/// `"command args" [user [group]]`: the command is the first argument.
pub fn script(n: &Node, d: &mut Diagnostics) -> Option<ScriptSpec> {
    let cmd = arg(n, 0, d)?.to_string();
    let argv = split_command(&cmd);
    if argv.is_empty() {
        d.error(&n.loc, format!("{}: empty command", n.keyword));
        return None;
    }
    Some(ScriptSpec {
        command: cmd,
        argv,
        user: script_user(n, 1),
        loc: n.loc.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Location {
        Location::builtin()
    }

    #[test]
    fn ranges() {
        let mut d = Diagnostics::default();
        assert_eq!(
            int_in::<u8>(&loc(), "virtual_router_id", "51", 1, 255, &mut d),
            Some(51)
        );
        assert_eq!(
            int_in::<u8>(&loc(), "virtual_router_id", "300", 1, 255, &mut d),
            None
        );
        assert!(d.iter().last().unwrap().message.contains("out of range"));
        assert_eq!(
            int_in::<u8>(&loc(), "priority", "abc", 1, 255, &mut d),
            None
        );
        assert!(d
            .iter()
            .last()
            .unwrap()
            .message
            .contains("not a valid number"));
    }

    #[test]
    fn timers() {
        let mut d = Diagnostics::default();
        assert_eq!(
            secs_in(&loc(), "advert_int", "0.03", 0.0, 255.0, &mut d),
            Some(Duration::from_millis(30))
        );
        assert_eq!(secs_in(&loc(), "delay_loop", "-1", 0.0, 1e6, &mut d), None);
        assert_eq!(secs_in(&loc(), "delay_loop", "nan", 0.0, 1e6, &mut d), None);
    }

    #[test]
    fn prefixes() {
        let mut d = Diagnostics::default();
        assert_eq!(
            prefix(&loc(), "x", "10.0.0.1", &mut d).unwrap().to_string(),
            "10.0.0.1/32"
        );
        assert_eq!(
            prefix(&loc(), "x", "10.0.0.1/24", &mut d)
                .unwrap()
                .to_string(),
            "10.0.0.1/24"
        );
        assert_eq!(
            prefix(&loc(), "x", "fd00::1", &mut d).unwrap().to_string(),
            "fd00::1/128"
        );
        assert!(prefix(&loc(), "x", "10.0.0.1/33", &mut d).is_none());
        assert!(prefix(&loc(), "x", "10.0.0.256", &mut d).is_none());
        assert_eq!(d.error_count(), 2);
    }
}
