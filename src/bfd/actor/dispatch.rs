//! Demultiplexing of received control packets to sessions (RFC 5880 §6.3, RFC 5881 §3):
//! by Your Discriminator when it is non-zero, otherwise by (source address, destination
//! address) — then by source address alone for sessions without a configured `source_ip`.
//!
//! One [`RxSocket`] per (family, port) is shared by all the sessions of that family; it is
//! opened by the first session that registers and closed with the last one. Every session
//! actor lives on the BFD arbiter (one thread), so the table is thread-local: the sockets
//! belong to the network namespace of that thread.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use actix::{Message, Recipient};

use super::socket::{Datagram, RxSocket};
use crate::bfd::packet::ControlPacket;
use crate::telemetry::metrics::{count_bfd_drop, BfdDrop};

/// A decoded control packet for one session, with its reception metadata.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct RxPacket {
    /// The packet (passed the §6.8.6 packet-local checks).
    pub packet: ControlPacket,
    /// Sender address and port.
    pub src: SocketAddr,
    /// Destination address, when reported.
    pub dst: Option<IpAddr>,
    /// TTL / hop limit, when reported.
    pub ttl: Option<u8>,
    /// Local port (3784 single hop, 4784 multihop).
    pub port: u16,
}

/// Which sessions a packet with Your Discriminator 0 may belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// Local BFD port.
    pub port: u16,
    /// Neighbour address.
    pub peer: IpAddr,
    /// Configured local address (`source_ip`), if any.
    pub local: Option<IpAddr>,
}

/// Counters of packets no session took (thread-local to the BFD arbiter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DispatchStats {
    /// Datagrams received on the shared sockets.
    pub received: u64,
    /// Failed [`ControlPacket::decode`].
    pub malformed: u64,
    /// No session with that discriminator / address.
    pub no_session: u64,
}

type Table = Rc<RefCell<Sessions>>;

#[derive(Default)]
struct Sessions {
    by_discr: HashMap<u32, Recipient<RxPacket>>,
    by_peer: HashMap<PeerKey, u32>,
}

struct Listener {
    users: usize,
    task: tokio::task::JoinHandle<()>,
}

thread_local! {
    static TABLE: Table = Rc::new(RefCell::new(Sessions::default()));
    static LISTENERS: RefCell<HashMap<(bool, u16), Listener>> = RefCell::new(HashMap::new());
    static STATS: Cell<DispatchStats> = Cell::new(DispatchStats::default());
}

/// The counters of this thread's dispatcher.
pub fn stats() -> DispatchStats {
    STATS.with(|s| s.get())
}

fn bump(f: impl FnOnce(&mut DispatchStats)) {
    STATS.with(|s| {
        let mut v = s.get();
        f(&mut v);
        s.set(v);
    });
}

/// A session's place in the table; dropping it unregisters the session and closes the
/// socket when no session of that family and port is left.
#[derive(Debug)]
pub struct Registration {
    discr: u32,
    key: PeerKey,
}

impl Registration {
    /// The registered discriminator.
    pub fn discr(&self) -> u32 {
        self.discr
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        TABLE.with(|t| {
            let mut t = t.borrow_mut();
            t.by_discr.remove(&self.discr);
            if t.by_peer.get(&self.key) == Some(&self.discr) {
                t.by_peer.remove(&self.key);
            }
        });
        let lkey = (self.key.peer.is_ipv6(), self.key.port);
        LISTENERS.with(|l| {
            let mut l = l.borrow_mut();
            let last = match l.get_mut(&lkey) {
                Some(x) => {
                    x.users -= 1;
                    x.users == 0
                }
                None => false,
            };
            if last {
                if let Some(x) = l.remove(&lkey) {
                    x.task.abort();
                }
            }
        });
    }
}

/// Registers a session: packets for `discr`, or with Your Discriminator 0 from `key`, go to
/// `recipient`. Opens the receive socket of the family and port if needed (must run inside
/// the arbiter's runtime). Fails if another session already uses `discr` or `key`, or the
/// socket cannot be opened.
pub fn register(
    discr: u32,
    key: PeerKey,
    recipient: Recipient<RxPacket>,
) -> io::Result<Registration> {
    TABLE.with(|t| {
        let t = t.borrow();
        if t.by_discr.contains_key(&discr) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("discriminator {discr} already registered"),
            ));
        }
        if t.by_peer.contains_key(&key) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "a session with neighbor {}{} already exists",
                    key.peer,
                    key.local.map(|l| format!(" from {l}")).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    })?;
    let lkey = (key.peer.is_ipv6(), key.port);
    LISTENERS.with(|l| -> io::Result<()> {
        let mut l = l.borrow_mut();
        if let Some(x) = l.get_mut(&lkey) {
            x.users += 1;
            return Ok(());
        }
        let sock = RxSocket::open(lkey.0, lkey.1)?;
        let table = TABLE.with(Rc::clone);
        let task = actix_rt::spawn(receive_loop(sock, table));
        l.insert(lkey, Listener { users: 1, task });
        Ok(())
    })?;
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        t.by_discr.insert(discr, recipient);
        t.by_peer.insert(key, discr);
    });
    Ok(Registration { discr, key })
}

async fn receive_loop(sock: RxSocket, table: Table) {
    loop {
        match sock.recv().await {
            Ok(d) => deliver(&table, d),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                bump(|s| s.malformed += 1);
                count_bfd_drop(BfdDrop::Malformed);
            }
            Err(e) => {
                tracing::warn!("BFD socket (port {}) receive error: {e}", sock.port());
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

fn deliver(table: &Table, d: Datagram) {
    bump(|s| s.received += 1);
    let packet = match ControlPacket::decode(&d.payload) {
        Ok(p) => p,
        Err(e) => {
            bump(|s| s.malformed += 1);
            count_bfd_drop(BfdDrop::Malformed);
            tracing::debug!("BFD: discarding packet from {}: {e}", d.src);
            return;
        }
    };
    let target = {
        let t = table.borrow();
        let discr = if packet.your_discr != 0 {
            Some(packet.your_discr)
        } else {
            let key = |local| PeerKey {
                port: d.port,
                peer: d.src.ip(),
                local,
            };
            d.dst
                .and_then(|dst| t.by_peer.get(&key(Some(dst))))
                .or_else(|| t.by_peer.get(&key(None)))
                .copied()
        };
        discr.and_then(|x| t.by_discr.get(&x).cloned())
    };
    match target {
        Some(r) => r.do_send(RxPacket {
            packet,
            src: d.src,
            dst: d.dst,
            ttl: d.ttl,
            port: d.port,
        }),
        None => {
            bump(|s| s.no_session += 1);
            count_bfd_drop(BfdDrop::NoSession);
            tracing::debug!(
                "BFD: no session for packet from {} (your discriminator {})",
                d.src,
                packet.your_discr
            );
        }
    }
}
