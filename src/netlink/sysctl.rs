//! The per-interface sysctls keepalived sets for VMAC interfaces (written under `/proc/sys`,
//! which always refers to the network namespace of the calling thread).
//!
//! - on the vmac: `arp_ignore=1` (do not answer ARP for the parent's addresses),
//!   `accept_local=1` (hear the other routers' adverts sent from our own VMAC),
//!   `rp_filter=0` (receive while the vmac has no address), `promote_secondaries=1`.
//! - on the parent: `arp_ignore=1`, `arp_filter=1` (the parent must not answer for the VIPs);
//!   the previous values are kept and restored when the last vmac on that parent goes.

use std::io;
use std::path::PathBuf;

fn conf_path(family: &str, ifname: &str, key: &str) -> io::Result<PathBuf> {
    if ifname.is_empty() || ifname.contains('/') || ifname == "." || ifname == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad ifname {ifname:?}"),
        ));
    }
    Ok(PathBuf::from(format!(
        "/proc/sys/net/{family}/conf/{ifname}/{key}"
    )))
}

/// Read `/proc/sys/net/{family}/conf/{ifname}/{key}` (trimmed).
pub fn read(family: &str, ifname: &str, key: &str) -> io::Result<String> {
    Ok(std::fs::read_to_string(conf_path(family, ifname, key)?)?
        .trim()
        .to_string())
}

/// Write `/proc/sys/net/{family}/conf/{ifname}/{key}`.
pub fn write(family: &str, ifname: &str, key: &str, value: &str) -> io::Result<()> {
    std::fs::write(conf_path(family, ifname, key)?, value)
}

/// The parent's values before we changed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedParent {
    pub arp_ignore: String,
    pub arp_filter: String,
}

/// Settings on the vmac interface itself.
pub fn apply_vmac(vmac: &str) -> io::Result<()> {
    write("ipv4", vmac, "arp_ignore", "1")?;
    write("ipv4", vmac, "accept_local", "1")?;
    write("ipv4", vmac, "rp_filter", "0")?;
    write("ipv4", vmac, "promote_secondaries", "1")
}

/// Settings on the parent; returns what to restore later.
pub fn apply_parent(parent: &str) -> io::Result<SavedParent> {
    let saved = SavedParent {
        arp_ignore: read("ipv4", parent, "arp_ignore")?,
        arp_filter: read("ipv4", parent, "arp_filter")?,
    };
    write("ipv4", parent, "arp_ignore", "1")?;
    write("ipv4", parent, "arp_filter", "1")?;
    Ok(saved)
}

pub fn restore_parent(parent: &str, saved: &SavedParent) -> io::Result<()> {
    write("ipv4", parent, "arp_ignore", &saved.arp_ignore)?;
    write("ipv4", parent, "arp_filter", &saved.arp_filter)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rejects_path_tricks() {
        assert!(super::read("ipv4", "../../x", "y").is_err());
        assert!(super::read("ipv4", "..", "y").is_err());
        assert!(super::read("ipv4", "", "y").is_err());
    }
}
