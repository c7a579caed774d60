//! The firewall owner: one task holds the nf_tables netlink socket and the
//! [`FirewallState`]; instances send it typed messages and never wait for it (the VIPs are
//! installed in parallel, as keepalived adds the drop rule just before the addresses).

use super::model::{FirewallConfig, FirewallState, FwAddr, LinkKey};
use super::nft::{read_acks, Batch, Replies, NETLINK_NETFILTER};
use netlink_sys::{AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the owner is asked to do.
#[derive(Debug)]
pub enum FirewallMsg {
    /// An instance became MASTER: drop traffic to and from these VIPs.
    Add(Vec<FwAddr>),
    /// An instance left MASTER.
    Remove(Vec<FwAddr>),
    /// Exit: delete the tables, then answer.
    Shutdown(oneshot::Sender<()>),
}

/// The owner's address (cheap to clone).
#[derive(Clone, Debug)]
pub struct FirewallHandle {
    tx: mpsc::UnboundedSender<FirewallMsg>,
}

impl FirewallHandle {
    /// Asks for the VIPs to be dropped (does not wait).
    pub fn add(&self, addrs: Vec<FwAddr>) {
        let _ = self.tx.send(FirewallMsg::Add(addrs));
    }

    /// Asks for the VIPs not to be dropped any more (does not wait).
    pub fn remove(&self, addrs: Vec<FwAddr>) {
        let _ = self.tx.send(FirewallMsg::Remove(addrs));
    }

    /// Deletes the tables and waits (bounded) until that is done.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(FirewallMsg::Shutdown(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(3), rx).await;
        }
    }
}

/// Starts the owner on the current runtime.
pub fn spawn(cfg: FirewallConfig) -> FirewallHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(run(FirewallState::new(cfg), rx));
    FirewallHandle { tx }
}

struct Link {
    socket: TokioSocket,
}

impl Link {
    fn open() -> std::io::Result<Link> {
        let mut socket = TokioSocket::new(NETLINK_NETFILTER)?;
        socket.socket_mut().bind_auto()?;
        let _ = socket.socket_ref().set_ext_ack(true);
        Ok(Link { socket })
    }

    /// Sends a batch and waits for the ACK of its last message.
    async fn send(&mut self, b: Batch) -> Result<(), String> {
        let (bytes, first, last) = b.finish();
        let kernel = SocketAddr::new(0, 0);
        self.socket
            .send_to(&bytes, &kernel)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut error = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let (datagram, _) = tokio::time::timeout_at(deadline, self.socket.recv_from_full())
                .await
                .map_err(|_| "no answer from nf_tables within 2 s".to_string())?
                .map_err(|e| format!("receive: {e}"))?;
            if read_acks(&datagram, first, last, &mut error) == Replies::Done {
                break;
            }
        }
        match error {
            Some(e) => Err(std::io::Error::from_raw_os_error(e).to_string()),
            None => Ok(()),
        }
    }
}

/// The index of interface `name` in our namespace (sysfs), remembered so that a removal
/// after the interface went (a vmac deleted) still finds its element.
fn resolve(addrs: Vec<FwAddr>, cache: &mut HashMap<String, u32>, refresh: bool) -> Vec<FwAddr> {
    addrs
        .into_iter()
        .map(|mut a| {
            if let Some(LinkKey::IndexOf(dev)) = &a.link {
                let read = || {
                    std::fs::read_to_string(format!("/sys/class/net/{dev}/ifindex"))
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok())
                };
                let index = match cache.get(dev) {
                    Some(i) if !refresh => Some(*i),
                    _ => read().or_else(|| cache.get(dev).copied()),
                };
                if let Some(i) = index {
                    cache.insert(dev.clone(), i);
                    a.link = Some(LinkKey::Index(i));
                }
            }
            a
        })
        .collect()
}

async fn run(mut state: FirewallState, mut rx: mpsc::UnboundedReceiver<FirewallMsg>) {
    let mut link: Option<Link> = None;
    let mut ifindex: HashMap<String, u32> = HashMap::new();
    let mut warned_ll = false;
    // Start from something other than 0/1 so a stray reply is unlikely to match.
    let mut seq = std::process::id().wrapping_mul(7919);
    while let Some(msg) = rx.recv().await {
        let (batch, what, done) = match msg {
            FirewallMsg::Add(addrs) => {
                let addrs = resolve(addrs, &mut ifindex, true);
                let (b, skipped) = state.add(&addrs, seq);
                if !skipped.is_empty() && !warned_ll {
                    warned_ll = true;
                    tracing::warn!(
                        "firewall: IPv6 link-local VIPs {skipped:?} are not firewalled: their interface has no index"
                    );
                }
                (b, "adding VIPs to", None)
            }
            FirewallMsg::Remove(addrs) => {
                let addrs = resolve(addrs, &mut ifindex, false);
                (state.remove(&addrs, seq), "removing VIPs from", None)
            }
            FirewallMsg::Shutdown(done) => (state.teardown(seq), "deleting", Some(done)),
        };
        if let Some(b) = batch {
            seq = seq.wrapping_add(b.len() as u32 + 2);
            let table = state.config().table.clone();
            // The socket is opened at the first change (never when nothing is firewalled).
            if link.is_none() {
                match Link::open() {
                    Ok(l) => link = Some(l),
                    Err(e) => {
                        tracing::error!("firewall: cannot open the nf_tables netlink socket: {e}")
                    }
                }
            }
            let sent = match link.as_mut() {
                Some(l) => l.send(b).await,
                None => Err("no nf_tables netlink socket".to_string()),
            };
            if let Err(e) = sent {
                tracing::error!("firewall: {what} nftables table {table} failed: {e}");
                if done.is_none() {
                    // The kernel may not hold what we think (a table deleted behind our
                    // back): rebuild everything claimed now, else at the next change.
                    state.mark_dirty();
                    if let (Some(b), Some(l)) = (state.resync(seq), link.as_mut()) {
                        seq = seq.wrapping_add(b.len() as u32 + 2);
                        match l.send(b).await {
                            Ok(()) => tracing::info!("firewall: nftables table {table} rebuilt"),
                            Err(e) => {
                                tracing::error!(
                                    "firewall: rebuilding nftables table {table} failed: {e}"
                                );
                                state.mark_dirty();
                            }
                        }
                    }
                }
            }
        }
        if let Some(d) = done {
            let _ = d.send(());
            return;
        }
    }
}
