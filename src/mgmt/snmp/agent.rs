//! The AgentX subagent task: connects to the master agent (`snmp_socket`), opens a session,
//! registers the enabled MIB subtrees, answers Get/GetNext/GetBulk from the latest snapshot
//! and sends the VRRP notifications. It reconnects with backoff when the master goes away.
//!
//! It runs only when a MIB is enabled (no task, no socket otherwise). It never blocks an
//! actor: the snapshot comes from an async source (the root's dump gathering, bounded by its
//! own timeouts) at most once per [`REFRESH`]; notifications arrive through a bounded channel
//! that the VRRP side fills with `try_send` (a full channel drops the notification, logged).

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::agentx::{self, CloseReason, Header, Message, Oid, Pdu, SearchRange, Value, VarBind};
use super::mib::{self, Enabled, KaState, MibSnapshot, MibView};

/// The default master agent address (net-snmp's and keepalived's).
pub const DEFAULT_SOCKET: &str = "unix:/var/agentx/master";
/// A snapshot younger than this answers requests.
pub const REFRESH: Duration = Duration::from_secs(1);
/// How long the master has to answer our Open/Register/Ping.
const ANSWER: Duration = Duration::from_secs(5);
/// Ping interval (keepalived asks net-snmp for 120 s).
const PING: Duration = Duration::from_secs(120);
/// Reconnection backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Queued notifications.
pub const TRAP_QUEUE: usize = 64;

/// sysUpTime.0.
const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// snmpTrapOID.0.
const SNMP_TRAP_OID: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

/// Where the master agent listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A unix stream socket.
    Unix(String),
    /// TCP `host:port`.
    Tcp(String),
}

/// Parses net-snmp's AgentX address forms: `unix:/path`, `/path`, `tcp:host:port`,
/// `tcp:port`, `host:port`. `udp:` is refused (AgentX needs a stream).
pub fn parse_address(s: &str) -> Result<Address, String> {
    let s = s.trim();
    if let Some(p) = s.strip_prefix("unix:") {
        return Ok(Address::Unix(p.to_string()));
    }
    if s.starts_with('/') {
        return Ok(Address::Unix(s.to_string()));
    }
    if s.starts_with("udp:") || s.starts_with("udp6:") {
        return Err(format!(
            "{s}: AgentX needs a stream transport (unix or tcp)"
        ));
    }
    let rest = s
        .strip_prefix("tcp:")
        .or_else(|| s.strip_prefix("tcp6:"))
        .unwrap_or(s);
    if rest.is_empty() {
        return Err("empty AgentX address".into());
    }
    if rest.parse::<u16>().is_ok() {
        return Ok(Address::Tcp(format!("localhost:{rest}")));
    }
    if rest.contains(':') {
        return Ok(Address::Tcp(rest.to_string()));
    }
    Err(format!(
        "{s}: not an AgentX address (unix:/path or tcp:host:port)"
    ))
}

/// A VRRP event that becomes notifications.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// A `vrrp_sync_group` (else a VRRP instance).
    pub group: bool,
    /// Instance or group name.
    pub name: String,
    /// The new state (keepalived's numbering; 5 stop).
    pub state: i32,
}

/// Where snapshots come from.
pub type SnapshotFuture = Pin<Box<dyn Future<Output = Option<MibSnapshot>>>>;
/// A snapshot source (the root's gathering in the daemon; a fixed value in tests).
pub type SnapshotSource = Box<dyn Fn() -> SnapshotFuture>;

/// What the subagent serves.
pub struct AgentConfig {
    /// Master agent address.
    pub address: Address,
    /// Enabled MIBs.
    pub enabled: Enabled,
    /// Send notifications (`enable_traps`).
    pub traps: bool,
}

/// The notifications for one transition (keepalived's vrrpInstanceStateChange when
/// KEEPALIVED-MIB is enabled; VRRP-MIB vrrpTrapNewMaster on MASTER for a RFC 2787 instance).
/// Each is the varbind list after sysUpTime.0.
pub fn notifications(t: &Transition, snap: &MibSnapshot, on: Enabled) -> Vec<Vec<VarBind>> {
    let mut out = Vec::new();
    if t.group {
        // vrrpSyncGroupStateChange: objects named without a group index, as keepalived.
        if on.keepalived {
            let g = [mib::KA_VRRP, &[1, 1]].concat();
            out.push(vec![
                VarBind::new(
                    Oid::new(SNMP_TRAP_OID),
                    Value::Oid(Oid([mib::KA_VRRP, &[10, 0, 1]].concat())),
                ),
                VarBind::new(Oid([&g[..], &[2]].concat()), Value::string(&t.name)),
                VarBind::new(Oid([&g[..], &[3]].concat()), Value::Integer(t.state)),
                VarBind::new(
                    Oid([mib::KA_GLOBAL, &[2, 0]].concat()),
                    Value::string(&snap.router_id),
                ),
            ]);
        }
        return out;
    }
    let row = snap.instances.iter().find(|r| r.name == t.name);
    if on.keepalived {
        let inst = [mib::KA_VRRP, &[3, 1]].concat();
        let initial = row.map(|r| r.initial_state.ka()).unwrap_or(0);
        out.push(vec![
            VarBind::new(
                Oid::new(SNMP_TRAP_OID),
                Value::Oid(Oid([mib::KA_VRRP, &[10, 0, 2]].concat())),
            ),
            // keepalived names these objects without an instance index.
            VarBind::new(Oid([&inst[..], &[2]].concat()), Value::string(&t.name)),
            VarBind::new(Oid([&inst[..], &[4]].concat()), Value::Integer(t.state)),
            VarBind::new(Oid([&inst[..], &[5]].concat()), Value::Integer(initial)),
            VarBind::new(
                Oid([mib::KA_GLOBAL, &[2, 0]].concat()),
                Value::string(&snap.router_id),
            ),
        ]);
    }
    if on.rfcv2 && t.state == KaState::Master.ka() {
        if let Some(r) = row.filter(|r| r.version == 2 && !r.ipv6 && !r.vips.is_empty()) {
            out.push(vec![
                VarBind::new(
                    Oid::new(SNMP_TRAP_OID),
                    Value::Oid(Oid([mib::VRRP_MIB, &[0, 1]].concat())),
                ),
                VarBind::new(
                    Oid([mib::VRRP_MIB, &[1, 3, 1, 7, r.ifindex, u32::from(r.vrid)]].concat()),
                    Value::IpAddress(r.primary_ip),
                ),
            ]);
        }
    }
    out
}

/// The handle the VRRP side sends transitions through.
#[derive(Clone, Debug)]
pub struct TrapSender(mpsc::Sender<Transition>);

impl TrapSender {
    /// Queues a transition; never waits (a full queue drops it, logged).
    pub fn send(&self, t: Transition) {
        if let Err(e) = self.0.try_send(t) {
            tracing::warn!("SNMP notification dropped: {e}");
        }
    }
}

/// Starts the subagent as a local task of the current (actix) arbiter: it only awaits, so it
/// never holds the thread; the returned sender queues notifications (None when traps are off).
pub fn spawn(cfg: AgentConfig, source: SnapshotSource) -> Option<TrapSender> {
    let (tx, rx) = mpsc::channel(TRAP_QUEUE);
    let traps = cfg.traps;
    actix::spawn(run(cfg, source, rx));
    traps.then_some(TrapSender(tx))
}

/// Forwards the VRRP notifier's transitions to the subagent as notifications (on the current
/// arbiter, until the notifier is gone).
pub fn forward(
    tx: TrapSender,
    mut rx: tokio::sync::broadcast::Receiver<crate::vrrp::actor::notifier::Transition>,
) {
    use crate::vrrp::events::State;
    use tokio::sync::broadcast::error::RecvError;
    actix::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(t) => tx.send(Transition {
                    group: t.group,
                    name: t.name,
                    // keepalived's numbering, but KEEPALIVED-MIB's stop is 5 (the dumps' 98).
                    state: match t.state {
                        State::Stop => 5,
                        s => i32::from(s.number()),
                    },
                }),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!("SNMP: {n} VRRP transition(s) not notified (fell behind)")
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
}

trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

async fn connect(a: &Address) -> std::io::Result<Box<dyn Stream>> {
    Ok(match a {
        Address::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
        Address::Tcp(h) => Box::new(tokio::net::TcpStream::connect(h.as_str()).await?),
    })
}

/// The snapshot cache.
struct Cache {
    source: SnapshotSource,
    enabled: Enabled,
    snap: MibSnapshot,
    view: MibView,
    at: Option<Instant>,
}

impl Cache {
    async fn fresh(&mut self) {
        if self.at.is_some_and(|t| t.elapsed() < REFRESH) {
            return;
        }
        if let Some(s) = (self.source)().await {
            self.view = MibView::build(&s, self.enabled);
            self.snap = s;
        }
        self.at = Some(Instant::now());
    }
}

async fn run(cfg: AgentConfig, source: SnapshotSource, mut traps: mpsc::Receiver<Transition>) {
    let started = Instant::now();
    let mut cache = Cache {
        source,
        enabled: cfg.enabled,
        snap: MibSnapshot::default(),
        view: MibView::default(),
        at: None,
    };
    let mut backoff = BACKOFF_MIN;
    let mut logged_down = false;
    loop {
        match connect(&cfg.address).await {
            Ok(s) => {
                tracing::info!("SNMP: connected to the AgentX master at {:?}", cfg.address);
                logged_down = false;
                match session(s, &cfg, &mut cache, &mut traps, started).await {
                    Ok(()) => tracing::warn!("SNMP: the AgentX master closed the session"),
                    Err(e) => tracing::warn!("SNMP: AgentX session ended: {e}"),
                }
                backoff = BACKOFF_MIN;
            }
            Err(e) => {
                if !logged_down {
                    tracing::warn!(
                        "SNMP: cannot connect to the AgentX master at {:?}: {e} (retrying)",
                        cfg.address
                    );
                    logged_down = true;
                }
            }
        }
        // Notifications queued while disconnected are dropped (as net-snmp drops them).
        while traps.try_recv().is_ok() {}
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Decode(#[from] agentx::DecodeError),
    #[error("{0}")]
    Refused(String),
    #[error("timed out waiting for the master")]
    Timeout,
}

struct Conn {
    s: Box<dyn Stream>,
    buf: Vec<u8>,
    session_id: u32,
    packet_id: u32,
}

impl Conn {
    async fn send(&mut self, transaction_id: u32, packet_id: u32, pdu: Pdu) -> std::io::Result<()> {
        let m = Message {
            header: Header {
                flags: 0,
                session_id: self.session_id,
                transaction_id,
                packet_id,
            },
            context: None,
            pdu,
        };
        self.s.write_all(&agentx::encode(&m)).await
    }

    async fn request(&mut self, pdu: Pdu) -> std::io::Result<u32> {
        self.packet_id = self.packet_id.wrapping_add(1);
        let id = self.packet_id;
        self.send(0, id, pdu).await?;
        Ok(id)
    }

    /// The next whole PDU (None at end of stream).
    async fn recv(&mut self) -> Result<Option<Message>, SessionError> {
        loop {
            if let Some(n) = agentx::pdu_len(&self.buf)? {
                if self.buf.len() >= n {
                    let m = agentx::decode(&self.buf[..n]);
                    self.buf.drain(..n);
                    return Ok(Some(m?));
                }
            }
            let mut chunk = [0u8; 4096];
            let got = self.s.read(&mut chunk).await?;
            if got == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
    }

    /// Waits for the Response to `packet_id` (answering nothing else meanwhile: used only
    /// while opening the session).
    async fn response(&mut self, packet_id: u32) -> Result<(u32, u16), SessionError> {
        let wait = async {
            loop {
                match self.recv().await? {
                    None => return Err(SessionError::Refused("connection closed".into())),
                    Some(m) => {
                        if let Pdu::Response { error, .. } = m.pdu {
                            if m.header.packet_id == packet_id {
                                return Ok((m.header.session_id, error));
                            }
                        }
                    }
                }
            }
        };
        tokio::time::timeout(ANSWER, wait)
            .await
            .map_err(|_| SessionError::Timeout)?
    }
}

fn uptime(started: Instant) -> u32 {
    (started.elapsed().as_millis() / 10).min(u128::from(u32::MAX)) as u32
}

async fn session(
    s: Box<dyn Stream>,
    cfg: &AgentConfig,
    cache: &mut Cache,
    traps: &mut mpsc::Receiver<Transition>,
    started: Instant,
) -> Result<(), SessionError> {
    let mut c = Conn {
        s,
        buf: Vec::new(),
        session_id: 0,
        packet_id: 0,
    };
    let id = c
        .request(Pdu::Open {
            timeout: 0,
            id: Oid::new(mib::KEEPALIVED),
            descr: b"keepalived-rs".to_vec(),
        })
        .await?;
    let (sid, err) = c.response(id).await?;
    if err != agentx::error::NONE {
        return Err(SessionError::Refused(format!("Open refused (error {err})")));
    }
    c.session_id = sid;
    for region in mib::regions(cfg.enabled) {
        let id = c
            .request(Pdu::Register {
                timeout: 0,
                priority: 127,
                range_subid: 0,
                subtree: region.clone(),
                upper_bound: None,
            })
            .await?;
        let (_, err) = c.response(id).await?;
        if err != agentx::error::NONE {
            tracing::warn!("SNMP: the master refused to register {region} (error {err})");
        }
    }
    tracing::info!("SNMP: AgentX session {sid} open");
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    loop {
        tokio::select! {
            m = c.recv() => {
                let Some(m) = m? else { return Ok(()) };
                if !answer(&mut c, m, cache, started).await? {
                    return Ok(());
                }
            }
            Some(t) = traps.recv(), if cfg.traps => {
                // A stopping instance may be gone from the new snapshot: the previous one
                // still describes it.
                let prev = cache.snap.clone();
                cache.at = None;
                cache.fresh().await;
                let known = t.group || cache.snap.instances.iter().any(|r| r.name == t.name);
                let snap = if known { &cache.snap } else { &prev };
                for vbs in notifications(&t, snap, cfg.enabled) {
                    let mut all = vec![VarBind::new(
                        Oid::new(SYS_UPTIME),
                        Value::TimeTicks(uptime(started)),
                    )];
                    all.extend(vbs);
                    c.request(Pdu::Notify(all)).await?;
                }
            }
            _ = ping.tick() => {
                c.request(Pdu::Ping).await?;
            }
        }
    }
}

/// Answers one PDU from the master; false when the session is over.
async fn answer(
    c: &mut Conn,
    m: Message,
    cache: &mut Cache,
    started: Instant,
) -> Result<bool, SessionError> {
    let h = m.header;
    let reply = |varbinds: Vec<VarBind>, error: u16, index: u16| Pdu::Response {
        sys_uptime: uptime(started),
        error,
        index,
        varbinds,
    };
    if m.context.is_some() {
        let pdu = reply(Vec::new(), agentx::error::UNSUPPORTED_CONTEXT, 0);
        c.send(h.transaction_id, h.packet_id, pdu).await?;
        return Ok(true);
    }
    let pdu = match m.pdu {
        Pdu::Get(rs) => {
            cache.fresh().await;
            reply(rs.iter().map(|r| cache.view.get(&r.start)).collect(), 0, 0)
        }
        Pdu::GetNext(rs) => {
            cache.fresh().await;
            reply(rs.iter().map(|r| cache.view.get_next(r)).collect(), 0, 0)
        }
        Pdu::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            cache.fresh().await;
            let vbs = cache.view.get_bulk(non_repeaters, max_repetitions, &ranges);
            reply(vbs, 0, 0)
        }
        // Everything is read-only.
        Pdu::TestSet(_) => reply(Vec::new(), agentx::error::NOT_WRITABLE, 1),
        Pdu::CommitSet | Pdu::UndoSet => reply(Vec::new(), agentx::error::PROCESSING_ERROR, 0),
        Pdu::CleanupSet | Pdu::Response { .. } => return Ok(true),
        Pdu::Close { reason } => {
            tracing::info!("SNMP: the master closed the session ({reason:?})");
            return Ok(false);
        }
        other => {
            tracing::debug!("SNMP: unexpected AgentX PDU type {}", other.type_code());
            reply(Vec::new(), agentx::error::PARSE_ERROR, 0)
        }
    };
    c.send(h.transaction_id, h.packet_id, pdu).await?;
    Ok(true)
}

/// Closes politely (used by tests of the session code).
pub fn close_pdu() -> Pdu {
    Pdu::Close {
        reason: CloseReason::Shutdown,
    }
}

/// A GetNext range for `oid` (tests).
pub fn next_range(oid: &[u32]) -> SearchRange {
    SearchRange {
        start: Oid::new(oid),
        include: false,
        end: Oid::null(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_net_snmp_writes_them() {
        assert_eq!(
            parse_address(DEFAULT_SOCKET),
            Ok(Address::Unix("/var/agentx/master".into()))
        );
        assert_eq!(
            parse_address("/run/agentx"),
            Ok(Address::Unix("/run/agentx".into()))
        );
        assert_eq!(
            parse_address("tcp:127.0.0.1:705"),
            Ok(Address::Tcp("127.0.0.1:705".into()))
        );
        assert_eq!(
            parse_address("tcp:705"),
            Ok(Address::Tcp("localhost:705".into()))
        );
        assert_eq!(
            parse_address("localhost:705"),
            Ok(Address::Tcp("localhost:705".into()))
        );
        assert!(parse_address("udp:161").is_err());
        assert!(parse_address("nonsense").is_err());
    }

    fn snap() -> MibSnapshot {
        use super::super::mib::fixtures::{addr, row};
        use super::super::mib::{AddrRow, InstanceRow};
        MibSnapshot {
            version: "v".into(),
            router_id: "r1".into(),
            traps: true,
            net_namespace: String::new(),
            instances: vec![InstanceRow {
                wanted_state: KaState::Master,
                ifindex: 4,
                hw_addr: vec![],
                mcast: None,
                up_cs: 0,
                vips: vec![AddrRow {
                    ifindex: 4,
                    ..addr("10.0.0.100")
                }],
                evips: vec![],
                counters: Default::default(),
                notify_exec: false,
                scripts: vec![],
                ..row("VI_1", 51, KaState::Master)
            }],
            global: Default::default(),
            groups: vec![],
            scripts: vec![],
        }
    }

    #[test]
    fn master_transition_gives_keepalived_and_rfc_notifications() {
        let on = Enabled {
            keepalived: true,
            rfcv2: true,
            rfcv3: false,
        };
        let t = Transition {
            group: false,
            name: "VI_1".into(),
            state: 2,
        };
        let n = notifications(&t, &snap(), on);
        assert_eq!(n.len(), 2);
        assert_eq!(
            n[0][0].value,
            Value::Oid(Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 2]))
        );
        assert_eq!(n[0][1].value, Value::string("VI_1"));
        assert_eq!(n[0][2].value, Value::Integer(2));
        assert_eq!(n[0][3].value, Value::Integer(1), "initial state BACKUP");
        assert_eq!(n[0][4].value, Value::string("r1"));
        assert_eq!(
            n[1][0].value,
            Value::Oid(Oid::new(&[1, 3, 6, 1, 2, 1, 68, 0, 1]))
        );
        assert_eq!(
            n[1][1].name,
            Oid::new(&[1, 3, 6, 1, 2, 1, 68, 1, 3, 1, 7, 4, 51])
        );
        // BACKUP: the keepalived notification only.
        let b = Transition {
            group: false,
            name: "VI_1".into(),
            state: 1,
        };
        assert_eq!(notifications(&b, &snap(), on).len(), 1);
        // Only the RFC MIB: no keepalived notification.
        let rfc = Enabled {
            rfcv2: true,
            ..Enabled::default()
        };
        assert_eq!(notifications(&b, &snap(), rfc).len(), 0);
        // A sync group: vrrpSyncGroupStateChange only.
        let g = Transition {
            group: true,
            name: "G1".into(),
            state: 2,
        };
        let n = notifications(&g, &snap(), on);
        assert_eq!(n.len(), 1);
        assert_eq!(
            n[0][0].value,
            Value::Oid(Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 10, 0, 1]))
        );
        assert_eq!(n[0][1].value, Value::string("G1"));
    }

    /// A scripted master on a socket pair: Open, Register, then a GetNext answered from the
    /// snapshot, then Close ends the session.
    #[tokio::test]
    async fn session_opens_registers_and_answers() {
        let (ours, mut master) = tokio::io::duplex(1 << 16);
        let cfg = AgentConfig {
            address: Address::Unix(String::new()),
            enabled: Enabled {
                keepalived: true,
                rfcv2: false,
                rfcv3: false,
            },
            traps: false,
        };
        let source: SnapshotSource = Box::new(|| Box::pin(async { Some(snap()) }));
        let mut cache = Cache {
            source,
            enabled: cfg.enabled,
            snap: MibSnapshot::default(),
            view: MibView::default(),
            at: None,
        };
        let (_tx, mut rx) = mpsc::channel(1);
        let agent = async move {
            session(Box::new(ours), &cfg, &mut cache, &mut rx, Instant::now())
                .await
                .map_err(|e| e.to_string())
        };
        let script = async move {
            let mut buf = Vec::new();
            let mut read_pdu = async |m: &mut tokio::io::DuplexStream| -> Message {
                loop {
                    if let Ok(Some(n)) = agentx::pdu_len(&buf) {
                        if buf.len() >= n {
                            let msg = agentx::decode(&buf[..n]).unwrap();
                            buf.drain(..n);
                            return msg;
                        }
                    }
                    let mut c = [0u8; 1024];
                    let got = m.read(&mut c).await.unwrap();
                    assert!(got > 0, "agent closed");
                    buf.extend_from_slice(&c[..got]);
                }
            };
            let respond = |h: Header, sid: u32, vbs: Vec<VarBind>| {
                agentx::encode(&Message {
                    header: Header {
                        session_id: sid,
                        ..h
                    },
                    context: None,
                    pdu: Pdu::Response {
                        sys_uptime: 0,
                        error: 0,
                        index: 0,
                        varbinds: vbs,
                    },
                })
            };
            let open = read_pdu(&mut master).await;
            assert!(matches!(open.pdu, Pdu::Open { .. }));
            master
                .write_all(&respond(open.header, 42, vec![]))
                .await
                .unwrap();
            for want in [mib::KA_GLOBAL, mib::KA_VRRP] {
                let reg = read_pdu(&mut master).await;
                assert_eq!(reg.header.session_id, 42);
                match reg.pdu {
                    Pdu::Register { subtree, .. } => assert_eq!(subtree, Oid::new(want)),
                    other => panic!("{other:?}"),
                }
                master
                    .write_all(&respond(reg.header, 42, vec![]))
                    .await
                    .unwrap();
            }
            let get = Message {
                header: Header {
                    flags: 0,
                    session_id: 42,
                    transaction_id: 7,
                    packet_id: 8,
                },
                context: None,
                pdu: Pdu::GetNext(vec![next_range(&[
                    1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 2,
                ])]),
            };
            master.write_all(&agentx::encode(&get)).await.unwrap();
            let r = read_pdu(&mut master).await;
            assert_eq!((r.header.transaction_id, r.header.packet_id), (7, 8));
            match r.pdu {
                Pdu::Response { varbinds, .. } => {
                    assert_eq!(varbinds[0].value, Value::string("VI_1"));
                }
                other => panic!("{other:?}"),
            }
            let close = Message {
                header: get.header,
                context: None,
                pdu: close_pdu(),
            };
            master.write_all(&agentx::encode(&close)).await.unwrap();
        };
        let (r, ()) = tokio::join!(agent, script);
        assert_eq!(r, Ok(()));
    }
}
