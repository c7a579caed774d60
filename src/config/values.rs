//! Typed value parsing with located errors: numbers in range, booleans, timers, addresses,
//! prefixes, scripts and users. Each function reports its own problem and returns `None`.
//! A missing value is an error (keepalived exits on it); a bad value is a recovery
//! ([`Diagnostics::bad_value`]): keepalived logs it and ignores the keyword, or does what the
//! enclosing object says ([`Diagnostics::with_recovery`]).

use super::diag::{Diagnostics, Location};
use super::model::{split_command, InitialState, ScriptSpec, ScriptUser};
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

/// Why a number was refused, in keepalived's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadNumber {
    /// Not a number at all.
    Invalid,
    /// A number followed by other text (`100,comment`): keepalived's `strtoul` reads the
    /// leading number, and uses it where the keyword tolerates the junk.
    Trailing(i128),
    /// A number outside the keyword's range.
    OutOfRange(i128),
}

/// Reads an integer as keepalived's `read_int`/`read_unsigned` do (pure).
pub fn read_number(s: &str, min: i128, max: i128) -> Result<i128, BadNumber> {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return Err(BadNumber::Invalid);
    }
    let mut v: i128 = 0;
    for b in digits[..end].bytes() {
        v = v.saturating_mul(10).saturating_add(i128::from(b - b'0'));
    }
    if neg {
        v = -v;
    }
    if end < digits.len() {
        Err(BadNumber::Trailing(v))
    } else if v < min || v > max {
        Err(BadNumber::OutOfRange(v))
    } else {
        Ok(v)
    }
}

fn number_problem(
    what: &str,
    s: &str,
    bad: &BadNumber,
    min: impl std::fmt::Display,
    max: impl std::fmt::Display,
) -> String {
    match bad {
        BadNumber::OutOfRange(_) => format!("{what} {s} is out of range {min}..{max}"),
        _ => format!("{what}: '{s}' is not a valid number"),
    }
}

fn to_t<T: TryFrom<i128>>(v: i128) -> Option<T> {
    T::try_from(v).ok()
}

/// An integer in `min..=max`; a bad value is recovered (see [`Diagnostics::bad_value`]).
pub fn int_in<T>(
    loc: &Location,
    what: &str,
    s: &str,
    min: T,
    max: T,
    d: &mut Diagnostics,
) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display + TryFrom<i128> + Into<i128>,
{
    match read_number(s, min.into(), max.into()) {
        Ok(v) => to_t(v),
        Err(bad) => {
            d.bad_value(loc, number_problem(what, s, &bad, min, max));
            None
        }
    }
}

/// Like [`int_in`] for keywords keepalived reads tolerantly (`ignore_error`): a number in
/// range followed by other text (`100,comment`) is used, with a warning.
pub fn int_lenient<T>(
    loc: &Location,
    what: &str,
    s: &str,
    min: T,
    max: T,
    d: &mut Diagnostics,
) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display + TryFrom<i128> + Into<i128>,
{
    match read_number(s, min.into(), max.into()) {
        Err(BadNumber::Trailing(v)) if v >= min.into() && v <= max.into() => {
            d.recover(
                loc,
                format!("{what}: '{s}' is not a valid number"),
                format!("using {v}"),
            );
            to_t(v)
        }
        // Anything else reads as strictly as `int_in`.
        _ => int_in(loc, what, s, min, max, d),
    }
}

/// The first argument of `n` read tolerantly (see [`int_lenient`]).
pub fn int_arg_lenient<T>(n: &Node, min: T, max: T, d: &mut Diagnostics) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display + TryFrom<i128> + Into<i128>,
{
    let s = arg(n, 0, d)?;
    int_lenient(&n.loc, &n.keyword, s, min, max, d)
}

/// The first argument of `n` as an integer in `min..=max`.
pub fn int_arg<T>(n: &Node, min: T, max: T, d: &mut Diagnostics) -> Option<T>
where
    T: FromStr + PartialOrd + Copy + std::fmt::Display + TryFrom<i128> + Into<i128>,
{
    let s = arg(n, 0, d)?;
    int_in(&n.loc, &n.keyword, s, min, max, d)
}

/// keepalived's `<BOOL>`: on|off|true|false|yes|no; a bare keyword means true.
pub fn bool_arg(n: &Node, d: &mut Diagnostics) -> Option<bool> {
    match n.arg(0) {
        None => Some(true),
        Some(s) => parse_bool(s).or_else(|| {
            d.bad_value(
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
            d.bad_value(
                loc,
                format!("{what}: '{s}' is not a valid number of seconds"),
            );
            return None;
        }
    };
    if v < min || v > max {
        d.bad_value(
            loc,
            format!("{what} {s} is out of range {min}..{max} seconds"),
        );
        return None;
    }
    Some(Duration::from_micros((v * 1e6).round() as u64))
}

/// keepalived's `state`: exactly `MASTER` or `BACKUP`; anything else is BACKUP with a warning.
pub fn initial_state(loc: &Location, s: &str, d: &mut Diagnostics) -> InitialState {
    match s {
        "MASTER" => InitialState::Master,
        "BACKUP" => InitialState::Backup,
        other => {
            d.recover(
                loc,
                format!("state: '{other}' is not MASTER or BACKUP"),
                "using BACKUP",
            );
            InitialState::Backup
        }
    }
}

/// keepalived's completion of an advertisement interval (pure): VRRPv2 carries whole seconds
/// (rounded half up, at least 1 s), VRRPv3 centiseconds up to 40.95 s (rounded half up, at least
/// 10 ms). Returns the interval used and, when it differs from `given`, the problem.
pub fn advert_interval(given: Duration, v3: bool) -> (Duration, Option<String>) {
    let us = given.as_micros();
    let shown = given.as_secs_f64();
    let (unit, max) = if v3 {
        (10_000u128, 4095 * 10_000u128)
    } else {
        (1_000_000u128, 255 * 1_000_000u128)
    };
    if us > max {
        let t = Duration::from_micros(max as u64);
        return (
            t,
            Some(format!(
                "{shown} s is above {} s, the most VRRP version {} carries",
                t.as_secs_f64(),
                if v3 { 3 } else { 2 }
            )),
        );
    }
    if us.is_multiple_of(unit) && us > 0 {
        return (given, None);
    }
    let rounded = ((us + unit / 2) / unit * unit).max(unit);
    let why = if v3 {
        "is not a multiple of 10 ms (VRRP version 3)"
    } else {
        "is not a whole number of seconds (VRRP version 2)"
    };
    (
        Duration::from_micros(rounded as u64),
        Some(format!("{shown} s {why}")),
    )
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
            d.bad_value(
                &n.loc,
                format!("{}: '{s}' is not a valid number of milliseconds", n.keyword),
            );
            return None;
        }
    };
    if v < min || v > max {
        d.bad_value(
            &n.loc,
            format!("{} {s} is out of range {min}..{max} ms", n.keyword),
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
            d.bad_value(loc, format!("{what}: '{s}' is not a valid IP address"));
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
            d.bad_value(loc, format!("{what}: '{s}' is not a valid IP address"));
            return None;
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match p {
        None => max,
        Some(p) => match p.parse::<u8>() {
            Ok(l) if l <= max => l,
            // keepalived: "Invalid address prefix len 33 ... - using 32".
            Ok(l) => {
                d.recover(
                    loc,
                    format!("{what}: prefix length /{l} in '{s}' is too long"),
                    format!("using /{max}"),
                );
                max
            }
            _ => {
                d.bad_value(loc, format!("{what}: prefix length '/{p}' in '{s}' is invalid (0..{max} for this address)"));
                return None;
            }
        },
    };
    IpNet::new(addr, len).ok().or_else(|| {
        d.bad_value(loc, format!("{what}: '{s}' is not a valid prefix"));
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
        d.bad_value(&n.loc, format!("{}: empty command", n.keyword));
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
    fn numbers_read_like_keepalived() {
        assert_eq!(read_number("100", 1, 255), Ok(100));
        assert_eq!(read_number(" 100", 1, 255), Ok(100));
        assert_eq!(read_number("100,x", 1, 255), Err(BadNumber::Trailing(100)));
        assert_eq!(read_number("0", 1, 255), Err(BadNumber::OutOfRange(0)));
        assert_eq!(read_number("-3", -5, 5), Ok(-3));
        assert_eq!(read_number("abc", 1, 255), Err(BadNumber::Invalid));
        assert_eq!(read_number("", 1, 255), Err(BadNumber::Invalid));
        assert_eq!(
            read_number("99999999999999999999999999999999999999999999", 0, 10),
            Err(BadNumber::OutOfRange(i128::MAX))
        );
    }

    #[test]
    fn advert_intervals_complete_like_keepalived() {
        let ms = Duration::from_millis;
        assert_eq!(advert_interval(ms(1000), false), (ms(1000), None));
        assert_eq!(advert_interval(ms(100), false).0, ms(1000));
        assert_eq!(advert_interval(ms(400), false).0, ms(1000));
        assert_eq!(advert_interval(ms(1500), false).0, ms(2000));
        assert_eq!(advert_interval(ms(2499), false).0, ms(2000));
        assert_eq!(advert_interval(ms(30), true), (ms(30), None));
        assert_eq!(advert_interval(ms(15), true).0, ms(20));
        assert_eq!(advert_interval(ms(1), true).0, ms(10));
        assert_eq!(advert_interval(ms(50_000), true).0, ms(40_950));
        assert!(advert_interval(ms(100), false).1.is_some());
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
        assert_eq!(
            prefix(&loc(), "x", "10.0.0.1/33", &mut d).map(|p| p.to_string()),
            Some("10.0.0.1/32".to_string())
        );
        assert!(prefix(&loc(), "x", "10.0.0.256", &mut d).is_none());
        // A bad address is a recovery (keepalived skips it), not an error.
        assert_eq!((d.error_count(), d.warning_count()), (0, 2));
    }
}
