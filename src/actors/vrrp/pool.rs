//! One VRRP socket per (interface, family, source address), shared by all the instances that
//! use it, with received packets dispatched by VRID — as keepalived does, so N instances on
//! an interface cost N deliveries per advert, not N².
//!
//! All VRRP instance actors live on the VRRP arbiter (one thread), so the pool is thread-local.

use super::socket::{Received, SocketConfig, VrrpSocket};
use actix::Recipient;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

/// A received packet for one instance.
#[derive(actix::Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Packet(pub Received);

/// Which socket: interface, family, bound source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SocketKey {
    /// Interface name.
    pub ifname: String,
    /// IPv6 or not.
    pub v6: bool,
    /// Bound source address, if any.
    pub src: Option<IpAddr>,
}

type Table = Rc<RefCell<HashMap<u8, Recipient<Packet>>>>;

struct Shared {
    sock: Rc<VrrpSocket>,
    table: Table,
    groups: Vec<IpAddr>,
    task: tokio::task::JoinHandle<()>,
}

thread_local! {
    static POOL: RefCell<HashMap<SocketKey, Shared>> = RefCell::new(HashMap::new());
    static UNKNOWN_VRID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Packets received for a VRID no instance on that socket has.
pub fn unknown_vrid_count() -> u64 {
    UNKNOWN_VRID.with(|c| c.get())
}

/// A registration; dropping it removes the instance from the dispatch table and closes the
/// socket when no instance uses it any more.
pub struct Registration {
    key: SocketKey,
    vrid: u8,
    /// The shared socket, for sending.
    pub sock: Rc<VrrpSocket>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            let empty = match p.get(&self.key) {
                Some(s) => {
                    s.table.borrow_mut().remove(&self.vrid);
                    s.table.borrow().is_empty()
                }
                None => false,
            };
            if empty {
                if let Some(s) = p.remove(&self.key) {
                    s.task.abort();
                }
            }
        });
    }
}

/// Registers `vrid` on the socket for `cfg` (opening it and starting its receive loop if
/// needed). Fails if the VRID is already registered on that socket.
pub fn register(
    key: SocketKey,
    cfg: &SocketConfig,
    vrid: u8,
    recipient: Recipient<Packet>,
) -> std::io::Result<Registration> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if !p.contains_key(&key) {
            let sock = Rc::new(VrrpSocket::open(cfg, key.v6)?);
            let table: Table = Rc::new(RefCell::new(HashMap::new()));
            let (s2, t2) = (sock.clone(), table.clone());
            // The loop outlives any one instance: it runs on the arbiter until the last
            // registration on this socket is dropped.
            let task = actix_rt::spawn(async move {
                loop {
                    match s2.recv().await {
                        Ok(rx) => {
                            // VRID is the second byte of both v2 and v3 headers.
                            let vrid = rx.payload.get(1).copied();
                            // Sent while borrowed: do_send never re-enters the table.
                            let table = t2.borrow();
                            match vrid.and_then(|v| table.get(&v)) {
                                Some(r) => r.do_send(Packet(rx)),
                                None => UNKNOWN_VRID.with(|c| c.set(c.get() + 1)),
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {}
                        Err(e) => {
                            tracing::warn!("VRRP socket receive error: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            p.insert(
                key.clone(),
                Shared {
                    sock,
                    table,
                    groups: Vec::new(),
                    task,
                },
            );
        }
        let shared = p
            .get_mut(&key)
            .ok_or_else(|| std::io::Error::other("socket pool entry vanished"))?;
        if let Some(g) = cfg.group {
            if !shared.groups.contains(&g) {
                shared.sock.join(g, cfg.ifindex)?;
                shared.groups.push(g);
            }
        }
        let mut t = shared.table.borrow_mut();
        if t.contains_key(&vrid) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("VRID {vrid} already used on {}", key.ifname),
            ));
        }
        t.insert(vrid, recipient);
        Ok(Registration {
            key,
            vrid,
            sock: shared.sock.clone(),
        })
    })
}
