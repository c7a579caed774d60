//! keepalived's DBus interface (`enable_dbus`): the bus name `org.keepalived.Vrrp1` (or
//! `dbus_service_name`) on the system bus, the daemon object `/org/keepalived/Vrrp1/Vrrp`
//! (PrintData, PrintStats, PrintStatsClear, ReloadConfig; VrrpStarted, VrrpReloaded,
//! VrrpStopped) and one object per VRRP instance at
//! `/org/keepalived/Vrrp1/Instance/IFACE/VRID/IPv4|IPv6` (SendGarp; Name, State;
//! VrrpStatusChange), as keepalived 2.2.7 offers them.
//!
//! [`objects`] is the pure part (paths, replies, GDBus's errors); this module is the shell: one
//! task on the caller's arbiter owning a zbus connection, reading the method calls, the VRRP
//! transitions and the daemon's reload/stop commands. Nothing exists unless `enable_dbus` is
//! set (no task, no socket).

pub mod objects;

use std::collections::HashMap;

use futures::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot};
use zbus::message::Type as MessageType;
use zbus::zvariant::{StructureBuilder, Value};

use crate::mgmt::dumps::RunningConfig;
use crate::runtime::signals::ControlSignal;
use crate::vrrp::actor::notifier::Transition;
use objects::{Call, Effect, Objects, Property, Reply};

/// What the daemon tells the DBus task.
enum Cmd {
    /// A reload was applied: the objects follow the new configuration, VrrpReloaded is sent.
    Reloaded,
    /// The daemon stops: VrrpStopped is sent, then the connection closes.
    Stop(oneshot::Sender<()>),
}

/// The running DBus interface (dropping it leaves the task running until the daemon exits).
#[derive(Clone)]
pub struct DbusHandle {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl DbusHandle {
    /// A reload was applied (the running snapshot holds its configuration).
    pub fn reloaded(&self) {
        let _ = self.tx.send(Cmd::Reloaded);
    }

    /// Sends VrrpStopped and closes the connection (returns once done, or at once if the
    /// task is gone).
    pub async fn stop(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Stop(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// Where the DBus task takes what it serves.
pub struct Sources {
    /// The running snapshot (configuration and instance actors).
    pub running: RunningConfig,
    /// The root, for the dumps and the reload the methods ask for.
    pub root: actix::Recipient<ControlSignal>,
    /// The VRRP transitions (subscribed before the instances start).
    pub transitions: broadcast::Receiver<Transition>,
}

/// Starts the DBus task on the current arbiter: `service` is the bus name, `namespace` the
/// daemon's network namespace (`-s`: keepalived puts it in every path).
pub fn spawn(service: String, namespace: Option<String>, sources: Sources) -> DbusHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let root = objects::root_path(namespace.as_deref());
    actix::spawn(run(service, root, sources, rx));
    DbusHandle { tx }
}

async fn run(
    service: String,
    root: String,
    mut sources: Sources,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
) {
    let (conn, mut stream) = match connect(&service).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("DBus: {e}; the DBus interface is disabled");
            return answer_until_stopped(cmds).await;
        }
    };
    let mut bus = Bus {
        conn,
        objects: Objects::new(&sources.running.load().config, &root),
        root,
        states: HashMap::new(),
        machine_id: std::fs::read_to_string("/etc/machine-id")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    };
    // Started by a reload (or after the instances moved): their states as they are now.
    bus.states = current_states(&sources).await;
    bus.started().await;
    let mut transitions_open = true;
    loop {
        tokio::select! {
            m = stream.next() => match m {
                Some(Ok(msg)) => bus.message(&msg, &sources).await,
                Some(Err(e)) => tracing::debug!("DBus: unreadable message: {e}"),
                None => {
                    tracing::warn!("DBus: the connection to the system bus closed");
                    break;
                }
            },
            t = sources.transitions.recv(), if transitions_open => match t {
                Ok(t) => bus.transition(&t).await,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("DBus: {n} VRRP transition(s) not signalled (fell behind)")
                }
                Err(broadcast::error::RecvError::Closed) => transitions_open = false,
            },
            c = cmds.recv() => match c {
                Some(Cmd::Reloaded) => bus.reloaded(&sources).await,
                Some(Cmd::Stop(ack)) => {
                    bus.stopped().await;
                    let _ = ack.send(());
                    return;
                }
                None => return,
            },
        }
    }
    // The bus went away: keep answering the daemon.
    answer_until_stopped(cmds).await
}

/// Without a bus: acknowledges the daemon's stop (reloads change nothing) until it comes.
async fn answer_until_stopped(mut cmds: mpsc::UnboundedReceiver<Cmd>) {
    while let Some(c) = cmds.recv().await {
        if let Cmd::Stop(ack) = c {
            let _ = ack.send(());
            return;
        }
    }
}

/// The instances' states now, asked of their actors (an actor that does not answer within a
/// second stays INIT until its next transition).
async fn current_states(sources: &Sources) -> HashMap<String, u32> {
    let running = sources.running.load_full();
    let asks = running.vrrp.iter().filter_map(|(spec, addr)| {
        let addr = addr.clone()?;
        let name = spec.instance.name.clone();
        Some(async move {
            let ask = addr.send(crate::vrrp::actor::instance::GetStatus::default());
            match tokio::time::timeout(std::time::Duration::from_secs(1), ask).await {
                Ok(Ok(Some(s))) => Some((name, u32::from(s.state.number()))),
                _ => None,
            }
        })
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The system bus connection with `service` requested as keepalived requests it (no flags:
/// queued behind another owner, never replacing it).
async fn connect(service: &str) -> Result<(zbus::Connection, zbus::MessageStream), String> {
    let name = zbus::names::WellKnownName::try_from(service)
        .map_err(|e| format!("invalid dbus_service_name {service:?}: {e}"))?;
    let conn = zbus::connection::Builder::system()
        .map_err(|e| format!("no system bus address: {e}"))?
        .build()
        .await
        .map_err(|e| format!("cannot connect to the system bus: {e}"))?;
    // Read calls from before the name is ours (none may be lost).
    let stream = zbus::MessageStream::from(&conn);
    // RequestName with no flags (GLib's G_BUS_NAME_OWNER_FLAGS_NONE): 1 primary owner,
    // 2 queued, 3 exists, 4 already owner.
    let reply = conn
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "RequestName",
            &(name.as_str(), 0u32),
        )
        .await
        .map_err(|e| format!("cannot own the name {service}: {e}"))?;
    match reply.body().deserialize::<u32>() {
        Ok(1 | 4) => tracing::info!("Acquired the name {service} on the system bus"),
        Ok(r) => tracing::warn!(
            "DBus: the name {service} is owned by another process (RequestName {r}): queued"
        ),
        Err(e) => return Err(format!("cannot own the name {service}: {e}")),
    }
    Ok((conn, stream))
}

struct Bus {
    conn: zbus::Connection,
    root: String,
    objects: Objects,
    /// keepalived's state number of each instance seen moving (absent: still INIT).
    states: HashMap<String, u32>,
    machine_id: String,
}

impl Bus {
    async fn signal<B>(&self, path: &str, iface: &str, name: &str, body: &B)
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let r = self
            .conn
            .emit_signal(None::<zbus::names::BusName<'_>>, path, iface, name, body)
            .await;
        if let Err(e) = r {
            tracing::info!("Emitting DBus signal {iface}.{name} on {path} failed: {e}");
        }
    }

    /// keepalived's on_bus_acquired: VrrpStarted (only with instances), then every instance's
    /// state.
    async fn started(&self) {
        if self.objects.instances.is_empty() {
            return;
        }
        self.signal(
            &self.objects.vrrp_path,
            objects::VRRP_IFACE,
            "VrrpStarted",
            &(),
        )
        .await;
        for o in &self.objects.instances {
            let s = self.states.get(&o.name).copied().unwrap_or(0);
            self.signal(&o.path, objects::INSTANCE_IFACE, "VrrpStatusChange", &s)
                .await;
        }
    }

    async fn transition(&mut self, t: &Transition) {
        if t.group {
            return;
        }
        let n = u32::from(t.state.number());
        self.states.insert(t.name.clone(), n);
        if let Some(o) = self.objects.instance_named(&t.name) {
            self.signal(&o.path, objects::INSTANCE_IFACE, "VrrpStatusChange", &n)
                .await;
        }
    }

    async fn reloaded(&mut self, sources: &Sources) {
        self.objects = Objects::new(&sources.running.load().config, &self.root);
        self.states = objects::kept_states(&self.states, &self.objects);
        self.signal(
            &self.objects.vrrp_path,
            objects::VRRP_IFACE,
            "VrrpReloaded",
            &(),
        )
        .await;
    }

    async fn stopped(&self) {
        self.signal(
            &self.objects.vrrp_path,
            objects::VRRP_IFACE,
            "VrrpStopped",
            &(),
        )
        .await;
    }

    async fn message(&self, msg: &zbus::Message, sources: &Sources) {
        let header = msg.header();
        if header.message_type() != MessageType::MethodCall {
            return;
        }
        let (Some(path), Some(member)) = (header.path(), header.member()) else {
            return;
        };
        let body = msg.body();
        let signature = body.signature().to_string_no_parens();
        let args = match signature.as_str() {
            "s" => body.deserialize::<String>().map(|a| vec![a]),
            "ss" => body
                .deserialize::<(String, String)>()
                .map(|(a, b)| vec![a, b]),
            "ssv" => body
                .deserialize::<(String, String, Value<'_>)>()
                .map(|(a, b, _)| vec![a, b]),
            _ => Ok(Vec::new()),
        }
        .unwrap_or_default();
        let call = Call {
            path: path.as_str(),
            interface: header.interface().map(|i| i.as_str()),
            member: member.as_str(),
            signature: &signature,
            args,
        };
        let (reply, effect) = self.objects.dispatch(&call, &self.states, &self.machine_id);
        if let Err(e) = self.reply(&header, reply).await {
            tracing::debug!(
                "DBus: reply to {}.{member} failed: {e}",
                call.interface.unwrap_or("-")
            );
        }
        if let Some(e) = effect {
            act(e, sources);
        }
    }

    async fn reply(&self, header: &zbus::message::Header<'_>, reply: Reply) -> zbus::Result<()> {
        let c = &self.conn;
        match reply {
            Reply::Empty => c.reply(header, &()).await,
            Reply::Text(t) => c.reply(header, &t).await,
            Reply::Property(p) => c.reply(header, &property_value(p)?).await,
            Reply::All(all) => {
                // In introspection order (Name, State), as GDBus answers.
                let mut map: std::collections::BTreeMap<&str, Value<'static>> =
                    std::collections::BTreeMap::new();
                for (n, p) in all {
                    map.insert(n, property_value(p)?);
                }
                c.reply(header, &map).await
            }
            Reply::Error(name, text) => c.reply_error(header, name, &text).await,
        }
    }
}

/// A property as keepalived sends it: `Name` as the structure `(s)`, `State` as `(us)`.
fn property_value(p: Property) -> zbus::Result<Value<'static>> {
    let s = match p {
        Property::Name(n) => StructureBuilder::new().add_field(n).build(),
        Property::State(n, name) => StructureBuilder::new()
            .add_field(n)
            .add_field(name.to_string())
            .build(),
    };
    Ok(Value::from(s?))
}

/// What a method asks of the daemon, logged as keepalived logs it.
fn act(effect: Effect, sources: &Sources) {
    match effect {
        Effect::DumpData => {
            tracing::info!("Printing VRRP data on DBus request");
            sources.root.do_send(ControlSignal::DumpData);
        }
        Effect::DumpStats => {
            tracing::info!("Printing VRRP stats on DBus request");
            sources.root.do_send(ControlSignal::DumpStats);
        }
        Effect::StatsClear => {
            tracing::info!("Printing and clearing VRRP stats on DBus request");
            sources.root.do_send(ControlSignal::StatsClear);
        }
        Effect::Reload => {
            tracing::info!("Reloading the configuration on DBus request");
            sources.root.do_send(ControlSignal::Reload);
        }
        Effect::SendGarp(name) => {
            let running = sources.running.load();
            let target = running
                .vrrp
                .iter()
                .find(|(spec, _)| spec.instance.name == name)
                .and_then(|(_, addr)| addr.clone());
            match target {
                Some(a) => a.do_send(crate::vrrp::actor::instance::SendGarp),
                None => tracing::info!("DBus SendGarp: instance {name} is not running"),
            }
        }
    }
}

/// Starts the DBus task for a bus name (armed once the root exists).
pub type Starter = Box<dyn Fn(String) -> DbusHandle + Send>;

/// Where the daemon keeps its DBus interface: started when a configuration (the first, or a
/// reload) sets `enable_dbus`, told of each reload, stopped when a reload clears it (as
/// keepalived's dbus_start / dbus_reload / dbus_stop).
#[derive(Default)]
pub struct DbusSlot {
    inner: std::sync::Mutex<SlotInner>,
}

#[derive(Default)]
struct SlotInner {
    handle: Option<DbusHandle>,
    starter: Option<Starter>,
}

impl DbusSlot {
    /// How to start the task (without it, `enable_dbus` starts nothing: no VRRP here).
    pub fn arm(&self, starter: Starter) {
        if let Ok(mut i) = self.inner.lock() {
            i.starter = Some(starter);
        }
    }

    /// A configuration is running (`reload`: not the daemon's first).
    pub fn follow(&self, settings: &crate::config::model::DbusSettings, reload: bool) {
        let Ok(mut i) = self.inner.lock() else {
            return;
        };
        match (settings.enabled, i.handle.take()) {
            (true, Some(h)) => {
                if reload {
                    h.reloaded();
                }
                i.handle = Some(h);
            }
            (true, None) => {
                let service = settings
                    .service_name
                    .clone()
                    .unwrap_or_else(|| objects::DEFAULT_SERVICE.to_string());
                i.handle = i.starter.as_ref().map(|s| s(service));
            }
            (false, Some(h)) => {
                actix::spawn(async move { h.stop().await });
            }
            (false, None) => {}
        }
    }

    /// The running interface, taken for the daemon's stop.
    pub fn take(&self) -> Option<DbusHandle> {
        self.inner.lock().ok().and_then(|mut i| i.handle.take())
    }
}
