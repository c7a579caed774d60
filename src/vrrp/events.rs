//! Inputs and outputs of the VRRP state machine ([`super::fsm::Instance::handle`]).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::packet::Advertisement;

/// Instance state (keepalived's INIT/BACKUP/MASTER/FAULT/STOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Before `Startup`.
    Initialize,
    /// Listening for the master; Master_Down_Timer running.
    Backup,
    /// Owning the virtual addresses and advertising.
    Master,
    /// A tracker or the interface failed.
    Fault,
    /// Shut down.
    Stop,
}

impl State {
    /// The word notify scripts and FIFOs use (`INIT` for Initialize).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }

    /// keepalived's numeric state (JSON dumps, SNMP): 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT,
    /// 98 STOP.
    pub fn number(self) -> u8 {
        match self {
            State::Initialize => 0,
            State::Backup => 1,
            State::Master => 2,
            State::Fault => 3,
            State::Stop => 98,
        }
    }
}

/// The timers an instance may have armed (at most one deadline each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Backup: Master_Down_Timer.
    MasterDown,
    /// Master: Adver_Timer.
    Advert,
    /// Backup: end of the `preempt_delay` window.
    PreemptDelay,
    /// Master: second GARP burst (`garp_master_delay`).
    GarpDelay,
    /// Master: periodic GARP refresh (`garp_master_refresh`).
    GarpRefresh,
    /// Master: delayed GARP burst after a lower priority advert (`garp_lower_prio_delay`).
    LowerPrioGarp,
}

impl Timer {
    /// Every timer, in index order.
    pub const ALL: [Timer; 6] = [
        Timer::MasterDown,
        Timer::Advert,
        Timer::PreemptDelay,
        Timer::GarpDelay,
        Timer::GarpRefresh,
        Timer::LowerPrioGarp,
    ];

    /// Dense index (position in [`Timer::ALL`]).
    pub fn index(self) -> usize {
        match self {
            Timer::MasterDown => 0,
            Timer::Advert => 1,
            Timer::PreemptDelay => 2,
            Timer::GarpDelay => 3,
            Timer::GarpRefresh => 4,
            Timer::LowerPrioGarp => 5,
        }
    }
}

/// Why the instance is (or would be) in FAULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultReason {
    /// A weight-0 tracker failed (script, file, process, BFD, track_interface...).
    TrackFailed,
    /// The instance's own interface is down.
    InterfaceDown,
    /// Another member of the instance's `vrrp_sync_group` is in FAULT.
    SyncGroup,
    /// The configuration cannot run (keepalived's config fault, e.g. `unicast_fault_no_peer`
    /// without peers): FAULT for as long as this configuration stays.
    Config,
}

/// An advertisement that passed decode and [`super::validate::validate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// IP source (the sender's primary address).
    pub from: IpAddr,
    /// Advertised priority.
    pub priority: u8,
    /// Advertised interval (v3 Max Advertise Interval; v2 Adver Int, equal to ours).
    pub max_advert_int: Duration,
}

impl ReceivedAdvert {
    /// From a decoded packet and its IP source.
    pub fn from_packet(from: IpAddr, adv: &Advertisement) -> Self {
        ReceivedAdvert {
            from,
            priority: adv.priority(),
            max_advert_int: adv.advert_interval(),
        }
    }
}

/// Something that happened to the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Start (from Initialize or Stop).
    Startup,
    /// A valid advertisement for our VRID.
    AdvertReceived(ReceivedAdvert),
    /// A timer the instance armed has reached its deadline.
    TimerExpired(Timer),
    /// Stop the instance (SIGTERM, instance removed on reload).
    Shutdown,
    /// The aggregate fault condition became true (edge).
    FaultRaised(FaultReason),
    /// The aggregate fault condition became false (edge).
    FaultCleared,
    /// New effective priority from tracking (see `crate::track::priority::effective_priority`).
    PriorityChanged(u8),
    /// Start as MASTER at once: the previous incarnation of this instance (before a
    /// supervised restart or a reload) was MASTER and its addresses are still installed.
    /// From Initialize only; otherwise ignored.
    Resume,
    /// The instance's `vrrp_sync_group` moves its members to MASTER (every member wants
    /// MASTER, or one of them became MASTER). Only a BACKUP instance acts on it.
    SyncMaster,
    /// The instance's `vrrp_sync_group` moves its members to BACKUP (one of them left MASTER
    /// for BACKUP). Only a MASTER instance acts on it.
    SyncBackup,
}

/// Why a transition happened: the `reason` attribute of telemetry spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup (to Backup, or Master for the address owner).
    Startup,
    /// Master_Down_Timer expired: no advert from a master.
    MasterDownTimer,
    /// Master_Down_Timer (set to Skew_Time) expired after the master sent priority 0.
    Priority0Received,
    /// Took over from a lower priority master whose adverts we discarded (preemption).
    PreemptedLowerPriorityMaster,
    /// Master heard a higher priority advert.
    HigherPriorityAdvert,
    /// Master heard an equal priority advert from a higher primary address.
    EqualPriorityHigherAddress,
    /// A weight-0 tracker failed.
    TrackFailed,
    /// Own interface went down.
    InterfaceDown,
    /// Fault condition cleared.
    FaultCleared,
    /// Shut down.
    Shutdown,
    /// Resumed MASTER after a restart or reload.
    Resume,
    /// Moved by its `vrrp_sync_group` (another member changed state first).
    SyncGroup,
    /// Its configuration cannot run (keepalived's config fault).
    ConfigFault,
}

impl Reason {
    /// Stable snake_case word for logs, spans and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::MasterDownTimer => "master_down_timer",
            Reason::Priority0Received => "priority_0_received",
            Reason::PreemptedLowerPriorityMaster => "preempted_lower_priority_master",
            Reason::HigherPriorityAdvert => "higher_priority_advert",
            Reason::EqualPriorityHigherAddress => "equal_priority_higher_address",
            Reason::TrackFailed => "track_failed",
            Reason::InterfaceDown => "interface_down",
            Reason::FaultCleared => "fault_cleared",
            Reason::Shutdown => "shutdown",
            Reason::Resume => "resume",
            Reason::SyncGroup => "sync_group",
            Reason::ConfigFault => "config_fault",
        }
    }
}

impl From<FaultReason> for Reason {
    fn from(r: FaultReason) -> Self {
        match r {
            FaultReason::TrackFailed => Reason::TrackFailed,
            FaultReason::InterfaceDown => Reason::InterfaceDown,
            FaultReason::SyncGroup => Reason::SyncGroup,
            FaultReason::Config => Reason::ConfigFault,
        }
    }
}

/// A state change record (one telemetry span / log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Previous state.
    pub from: State,
    /// New state.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// Effective priority at the time.
    pub priority: u8,
}

impl Transition {
    /// The log line of this transition for instance `name`, with the words of its span:
    /// `VRRP_Instance(VI_1) BACKUP -> MASTER (master_down_timer), priority 100`.
    pub fn describe(&self, name: &str) -> String {
        format!(
            "VRRP_Instance({name}) {} -> {} ({}), priority {}",
            self.from.as_str(),
            self.to.as_str(),
            self.reason.as_str(),
            self.priority
        )
    }
}

/// What the actor must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Record a state change (comes first in the list of the event that caused it).
    Transition(Transition),
    /// Send one advertisement with this priority (0 when stopping) and our own interval.
    SendAdvert {
        /// Priority field to send.
        priority: u8,
    },
    /// Arm (or re-arm) `timer` to fire at `at`; deliver `Event::TimerExpired(timer)` then.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// Deadline.
        at: Instant,
    },
    /// Disarm `timer`.
    CancelTimer {
        /// Which timer.
        timer: Timer,
    },
    /// Add the VIPs, eVIPs, virtual routes and rules (and accept-mode rules).
    AddVips,
    /// Remove them.
    RemoveVips,
    /// Send `count` gratuitous ARPs (IPv4) / unsolicited NAs (IPv6) per address.
    SendGratuitous {
        /// Messages per address.
        count: u32,
    },
    /// Run notify scripts / write the FIFO for `state`.
    Notify {
        /// New state.
        state: State,
    },
    /// Master heard a lower priority advert (`notify_master_rx_lower_pri`, FIFO
    /// `MASTER_RX_LOWER_PRI`).
    NotifyMasterRxLowerPri,
}
