//! TEMPORARY: a `Kernel` that drives `ip(8)`, used only until the netlink owner is merged.
//! It will be deleted; nothing else may depend on it.

use super::kernel::{InterfaceInfo, Kernel, VirtualSet};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::net::IpAddr;
use tokio::process::Command;

/// `ip`-command kernel.
pub struct IpKernel;

async fn ip(args: Vec<String>) -> anyhow::Result<String> {
    let out = Command::new("ip").args(&args).output().await?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        // Idempotence: adding an existing address / removing a missing one is fine.
        if err.contains("File exists") || err.contains("Cannot assign requested address") {
            return Ok(String::new());
        }
        anyhow::bail!("ip {}: {}", args.join(" "), err.trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Kernel for IpKernel {
    fn interface(&self, name: &str) -> BoxFuture<'static, anyhow::Result<InterfaceInfo>> {
        let name = name.to_string();
        async move {
            let idx = std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))?.trim().parse::<u32>()?;
            let oper = std::fs::read_to_string(format!("/sys/class/net/{name}/operstate")).unwrap_or_default();
            let out = ip(vec!["-o".into(), "addr".into(), "show".into(), "dev".into(), name.clone()]).await?;
            let mut info = InterfaceInfo { ifindex: idx, up: oper.trim() != "down", ..Default::default() };
            for line in out.lines() {
                let w: Vec<&str> = line.split_whitespace().collect();
                if let Some(pos) = w.iter().position(|x| *x == "inet" || *x == "inet6") {
                    if let Some(a) = w.get(pos + 1).and_then(|a| a.split('/').next()).and_then(|a| a.parse::<IpAddr>().ok()) {
                        match a {
                            IpAddr::V4(_) if !line.contains(" secondary") => info.ipv4.insert(0, a),
                            IpAddr::V4(_) => info.ipv4.push(a),
                            IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => info.ipv6_link_local = Some(v6),
                            IpAddr::V6(_) => {}
                        }
                    }
                }
            }
            Ok(info)
        }
        .boxed()
    }

    fn add(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
        async move {
            for a in &set.addresses {
                let dev = a.dev.clone().unwrap_or_else(|| set.ifname.clone());
                let mut args = vec!["addr".into(), "add".into(), a.addr.to_string(), "dev".into(), dev];
                if let Some(l) = &a.label {
                    args.extend(["label".into(), l.clone()]);
                }
                if a.addr.addr().is_ipv6() {
                    args.push("nodad".into());
                }
                ip(args).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn remove(&self, set: VirtualSet) -> BoxFuture<'static, anyhow::Result<()>> {
        async move {
            for a in &set.addresses {
                let dev = a.dev.clone().unwrap_or_else(|| set.ifname.clone());
                ip(vec!["addr".into(), "del".into(), a.addr.to_string(), "dev".into(), dev]).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn gratuitous(&self, _set: VirtualSet, _count: u32, _interval: std::time::Duration) -> BoxFuture<'static, anyhow::Result<()>> {
        async { Ok(()) }.boxed()
    }
}
