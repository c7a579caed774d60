//! LVS notify-FIFO lines (keepalived `check/ipwrapper.c` `notify_fifo_vs`/`notify_fifo_rs`):
//! `VS [192.168.201.15]:tcp:80 UP` and `RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN`.
//!
//! keepalived writes `strlen + 1` bytes, so each LVS line is followed by a NUL byte (VRRP lines
//! are not); readers written for keepalived expect it, and [`with_terminator`] reproduces it.

/// `VS <vs> UP|DOWN`.
pub fn vs_line(vs: &str, up: bool) -> String {
    format!("VS {vs} {}", if up { "UP" } else { "DOWN" })
}

/// `RS <rs> <vs> UP|DOWN`.
pub fn rs_line(rs: &str, vs: &str, up: bool) -> String {
    format!("RS {rs} {vs} {}", if up { "UP" } else { "DOWN" })
}

/// The bytes keepalived writes for a line: the line, `\n`, and a NUL.
pub fn with_terminator(line: &str) -> String {
    format!("{line}\n\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalived_format() {
        assert_eq!(
            vs_line("[192.168.201.15]:tcp:80", true),
            "VS [192.168.201.15]:tcp:80 UP"
        );
        assert_eq!(
            rs_line("[1.2.3.4]:tcp:80", "[192.168.201.15]:tcp:80", false),
            "RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN"
        );
        assert_eq!(with_terminator("VS FWM 5 UP"), "VS FWM 5 UP\n\0");
    }
}
