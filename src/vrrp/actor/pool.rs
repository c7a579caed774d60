//! One VRRP socket per (interface, family, source address), shared by all the instances that
//! use it, with received packets dispatched by VRID — as keepalived does, so N instances on
//! an interface cost N deliveries per advert, not N².
//!
//! All VRRP instance actors live on the VRRP arbiter (one thread), so the pool is thread-local.

use super::socket::{Received, RecvMeta, SocketConfig, VrrpSocket};
use actix::Recipient;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

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
    /// `auth_type AH` (IP protocol 51) rather than VRRP (112).
    pub ah: bool,
}

/// A backup's "the same advert again" filter, shared by the socket's receive loop and the
/// instance actor (same thread).
///
/// A backup hears its master's advert every interval, and all it does with one that is
/// byte-for-byte the previous one (same source, destination and TTL) is push its down timer.
/// The instance arms the filter with such an advert after the core said exactly that; the
/// loop then only records the arrival time of identical packets instead of messaging the
/// actor. Before the instance handles anything else, it feeds the last recorded arrival to
/// its core with that arrival's time ([`Refresh::take`]) — the core is a pure function of
/// (state, event, time), so the outcome is the one the skipped packets would have had.
/// Anything else the instance handles disarms it.
#[derive(Default)]
pub struct Refresh {
    pattern: RefCell<Option<Pattern>>,
    last: Cell<Option<Instant>>,
    hits: Cell<u64>,
}

/// The advert a [`Refresh`] filter matches; an empty `bytes` means disarmed (the buffer is
/// kept for the next arming).
struct Pattern {
    src: IpAddr,
    dst: Option<IpAddr>,
    ttl: Option<u8>,
    bytes: Vec<u8>,
}

impl Refresh {
    /// Arms the filter with a received advert.
    pub fn arm(&self, rx: &Received) {
        let mut p = self.pattern.borrow_mut();
        match p.as_mut() {
            Some(p) => {
                (p.src, p.dst, p.ttl) = (rx.src, rx.dst, rx.ttl);
                p.bytes.clear();
                p.bytes.extend_from_slice(&rx.payload);
            }
            None => {
                *p = Some(Pattern {
                    src: rx.src,
                    dst: rx.dst,
                    ttl: rx.ttl,
                    bytes: rx.payload.clone(),
                })
            }
        }
    }

    /// Disarms it (keeps what was recorded for [`Refresh::take`]).
    pub fn disarm(&self) {
        if let Some(p) = self.pattern.borrow_mut().as_mut() {
            p.bytes.clear();
        }
    }

    /// Whether an arrival matches; records it if so.
    fn hit(&self, meta: &RecvMeta, payload: &[u8], now: Instant) -> bool {
        let matched = matches!(self.pattern.borrow().as_ref(),
            Some(p) if !p.bytes.is_empty()
                && p.src == meta.src && p.dst == meta.dst && p.ttl == meta.ttl
                && p.bytes.as_slice() == payload);
        if matched {
            self.last.set(Some(now));
            self.hits.set(self.hits.get() + 1);
        }
        matched
    }

    /// The last filtered arrival since the previous call and how many there were.
    pub fn take(&self) -> (Option<Instant>, u64) {
        (self.last.take(), self.hits.replace(0))
    }
}

struct Entry {
    recipient: Recipient<Packet>,
    refresh: Rc<Refresh>,
}

type Table = Rc<RefCell<HashMap<u8, Entry>>>;

struct Shared {
    sock: Rc<VrrpSocket>,
    table: Table,
    groups: Vec<IpAddr>,
    task: tokio::task::JoinHandle<()>,
}

thread_local! {
    static POOL: RefCell<HashMap<SocketKey, Shared>> = RefCell::new(HashMap::new());
    static UNKNOWN_VRID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The daemon's metrics when they are served (the first registration that has them).
    static METRICS: RefCell<Option<std::sync::Arc<crate::telemetry::Metrics>>> = const { RefCell::new(None) };
}

/// Counts a packet no instance on `ifname` could take: process-wide (stats dump) and, when
/// metrics are served, in `keepalived_vrrp_rx_dropped_unmatched_total{intf,reason}`.
fn unmatched(ifname: &str, reason: crate::telemetry::RxDrop) {
    crate::telemetry::metrics::count_vrrp_unmatched(reason);
    METRICS.with(|m| {
        if let Some(m) = m.borrow().as_ref() {
            m.vrrp_rx_drop_unmatched(ifname, reason);
        }
    });
}

/// Gives the pool of this thread the daemon's served metrics.
pub fn set_metrics(m: std::sync::Arc<crate::telemetry::Metrics>) {
    METRICS.with(|x| {
        x.borrow_mut().get_or_insert(m);
    });
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

/// Two arrivals closer than this are one burst (many instances' adverts sent together).
const BURST_GAP: Duration = Duration::from_millis(1);
/// Inside a burst, the receive loop lets the rest of it queue up this long before it reads
/// again: a backup of 250 instances wakes a few times per advert interval instead of 250
/// times. The deferral shifts no timer (the kernel's receive time is used) and delays the
/// reaction to an advert by about a millisecond at most.
const COALESCE: Duration = Duration::from_millis(1);

/// Reads the socket for as long as any instance is registered on it, handing each advert
/// to the instance of its VRID.
async fn receive_loop(sock: Rc<VrrpSocket>, table: Table, ifname: String) {
    let mut buf = vec![0u8; 2048];
    let mut last: Option<Instant> = None;
    let mut rx = None;
    loop {
        let receiver = match rx.take() {
            Some(r) => r,
            None => match sock.receiver() {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("VRRP socket registration: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (mut first, mut latest) = (None, None);
        let r = receiver
            .recv_all(&mut buf, |r, buf| {
                // Malformed IP headers are dropped here (nothing to attribute them to).
                let Ok(meta) = r else {
                    unmatched(&ifname, crate::telemetry::RxDrop::IpHeader);
                    return;
                };
                first.get_or_insert(meta.at);
                latest = Some(meta.at);
                dispatch(&table, &meta, buf, &ifname);
            })
            .await;
        match r {
            Ok(n) => {
                let close = matches!((last, first), (Some(l), Some(f))
                    if f.saturating_duration_since(l) < BURST_GAP);
                last = latest.or(last);
                if n > 1 || close {
                    // Out of the runtime's epoll set while the burst queues up (registered,
                    // every arrival would wake the thread).
                    drop(receiver);
                    tokio::time::sleep(COALESCE).await;
                } else {
                    rx = Some(receiver);
                }
            }
            Err(e) => {
                tracing::warn!("VRRP socket receive error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Hands one received message to the instance of its VRID (or only notes its arrival, see
/// [`Refresh`]).
fn dispatch(table: &Table, meta: &RecvMeta, buf: &[u8], ifname: &str) {
    let payload = buf.get(meta.start..meta.end).unwrap_or_default();
    let vrid = meta.vrid;
    // Sent while borrowed: do_send never re-enters the table.
    let table = table.borrow();
    match vrid.and_then(|v| table.get(&v)) {
        Some(e) => {
            if !e.refresh.hit(meta, payload, meta.at) {
                e.recipient.do_send(Packet(meta.to_received(buf)));
            }
        }
        None => {
            UNKNOWN_VRID.with(|c| c.set(c.get() + 1));
            // Too short to carry a VRID (an empty VRRP packet), or a VRID nobody here has.
            unmatched(
                ifname,
                if vrid.is_none() {
                    crate::telemetry::RxDrop::Length
                } else {
                    crate::telemetry::RxDrop::Vrid
                },
            );
        }
    }
}

/// Registers `vrid` on the socket for `cfg` (opening it and starting its receive loop if
/// needed). Fails if the VRID is already registered on that socket.
pub fn register(
    key: SocketKey,
    cfg: &SocketConfig,
    vrid: u8,
    recipient: Recipient<Packet>,
    refresh: Rc<Refresh>,
) -> std::io::Result<Registration> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if !p.contains_key(&key) {
            let sock = Rc::new(VrrpSocket::open(cfg, key.v6)?);
            let table: Table = Rc::new(RefCell::new(HashMap::new()));
            let (s2, t2) = (sock.clone(), table.clone());
            // The loop outlives any one instance: it runs on the arbiter until the last
            // registration on this socket is dropped.
            let task = actix_rt::spawn(receive_loop(s2, t2, key.ifname.clone()));
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
        t.insert(vrid, Entry { recipient, refresh });
        Ok(Registration {
            key,
            vrid,
            sock: shared.sock.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(payload: &[u8], ttl: u8) -> (Received, RecvMeta) {
        let src: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([10, 0, 0, 1]));
        let dst: IpAddr = IpAddr::from([224, 0, 0, 18]);
        let r = Received {
            src,
            dst: Some(dst),
            ttl: Some(ttl),
            payload: payload.to_vec(),
            at: Instant::now(),
        };
        let m = RecvMeta {
            src,
            dst: Some(dst),
            ttl: Some(ttl),
            vrid: payload.get(1).copied(),
            start: 0,
            end: payload.len(),
            at: Instant::now(),
        };
        (r, m)
    }

    /// Issue #19: packets for an unknown VRID and empty VRRP packets were counted nowhere.
    #[test]
    fn packets_no_instance_takes_are_counted_by_reason() {
        use crate::telemetry::metrics::{vrrp_unmatched_drops, Format};
        use crate::telemetry::RxDrop;
        let get = |r: RxDrop| vrrp_unmatched_drops()[r as usize].1;
        let metrics = std::sync::Arc::new(crate::telemetry::Metrics::new());
        set_metrics(metrics.clone());
        let table: Table = Rc::new(RefCell::new(HashMap::new()));
        let (len0, vrid0) = (get(RxDrop::Length), get(RxDrop::Vrid));
        let (_, m) = rx(&[], 255);
        dispatch(&table, &m, &[], "eth9");
        let (r, m) = rx(&[0x31, 7, 100, 1, 0, 10, 0xab, 0xcd, 10, 1, 1, 7], 255);
        dispatch(&table, &m, &r.payload, "eth9");
        assert!(get(RxDrop::Length) > len0);
        assert!(get(RxDrop::Vrid) > vrid0);
        let t = metrics.encode(Format::Text);
        for reason in ["length", "vrid"] {
            assert!(
                t.contains(&format!(
                    "keepalived_vrrp_rx_dropped_unmatched_total{{intf=\"eth9\",reason=\"{reason}\"}} 1"
                )),
                "{t}"
            );
        }
    }

    #[test]
    fn refresh_filters_only_identical_adverts_while_armed() {
        let f = Refresh::default();
        let t0 = Instant::now();
        let (r, m) = rx(&[0x31, 7, 100, 1, 0, 10, 0xab, 0xcd, 10, 1, 1, 7], 255);
        // Not armed: nothing is filtered.
        assert!(!f.hit(&m, &r.payload, t0));
        f.arm(&r);
        assert!(f.hit(&m, &r.payload, t0 + Duration::from_millis(100)));
        assert!(f.hit(&m, &r.payload, t0 + Duration::from_millis(200)));
        // Any difference goes to the actor: another byte, another TTL, another source.
        let mut other = r.payload.clone();
        other[2] = 99;
        assert!(!f.hit(&m, &other, t0));
        let (_, m254) = rx(&r.payload, 254);
        assert!(!f.hit(&m254, &r.payload, t0));
        let m_src = RecvMeta {
            src: IpAddr::from([10, 0, 0, 2]),
            ..m
        };
        assert!(!f.hit(&m_src, &r.payload, t0));
        // The last arrival and the count, once.
        assert_eq!(f.take(), (Some(t0 + Duration::from_millis(200)), 2));
        assert_eq!(f.take(), (None, 0));
        // Disarmed: the next identical advert goes to the actor again.
        f.disarm();
        assert!(!f.hit(&m, &r.payload, t0));
        f.arm(&r);
        assert!(f.hit(&m, &r.payload, t0));
    }
}
