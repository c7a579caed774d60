//! Spans for state transitions, and [`Cause`]: the handle that chains them across actors.
//!
//! Every VRRP/sync-group/script/checker/BFD/IPVS transition and every reload gets one INFO span
//! (exported by the OpenTelemetry layer when OTLP is on; logged as span context otherwise).
//! An actor that causes work elsewhere takes [`TransitionSpan::cause`] and puts the [`Cause`] in
//! its message; the receiver passes it to [`TransitionSpan::caused_by`], so e.g.
//! `script.transition` (chk_haproxy GOOD -> BAD) -> `vrrp.priority` (100 -> 80) ->
//! `vrrp.transition` (MASTER -> BACKUP) form one trace in Jaeger.
//!
//! ```
//! use keepalived_rs::telemetry::spans::{transition_span, Cause, TransitionKind};
//! let script = transition_span(TransitionKind::Script, "chk_haproxy")
//!     .from("GOOD").to("BAD").reason("exit_status");
//! let cause: Cause = script.cause(); // send this in the actor message
//! drop(script);
//! let vrrp = transition_span(TransitionKind::Vrrp, "VI_1")
//!     .vrid(51).interface("eth0").from("MASTER").to("BACKUP")
//!     .reason("track_script").priority(80).caused_by(&cause);
//! vrrp.in_scope(|| tracing::info!("VI_1 entering BACKUP STATE"));
//! ```

use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// What changed state. Selects the span name (`<kind>.transition`, `vrrp.priority`, `reload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransitionKind {
    /// A VRRP instance changed state (`vrrp.transition`).
    Vrrp,
    /// A VRRP instance's effective priority changed (`vrrp.priority`).
    VrrpPriority,
    /// A sync group changed state (`sync_group.transition`).
    SyncGroup,
    /// A vrrp_script / track_file / track_process changed result (`script.transition`).
    Script,
    /// A real server's checker changed result (`checker.transition`).
    Checker,
    /// A BFD session changed state (`bfd.transition`).
    Bfd,
    /// IPVS was reprogrammed: real server added/removed, weight changed (`ipvs.transition`).
    Ipvs,
    /// A configuration reload (`reload`).
    Reload,
}

impl TransitionKind {
    /// The `kind` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Vrrp => "vrrp",
            TransitionKind::VrrpPriority => "vrrp_priority",
            TransitionKind::SyncGroup => "sync_group",
            TransitionKind::Script => "script",
            TransitionKind::Checker => "checker",
            TransitionKind::Bfd => "bfd",
            TransitionKind::Ipvs => "ipvs",
            TransitionKind::Reload => "reload",
        }
    }
}

/// The span context of something that caused a transition. Cheap to clone, `Send + Sync`:
/// put it in actor messages. Empty when OpenTelemetry is off (then it costs nothing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cause(Option<SpanContext>);

impl Cause {
    /// No cause.
    pub fn none() -> Cause {
        Cause(None)
    }

    /// The cause represented by `span` (builds its OpenTelemetry context if not yet built).
    pub fn of(span: &tracing::Span) -> Cause {
        let cx = span.context();
        let sc = cx.span().span_context().clone();
        Cause(sc.is_valid().then_some(sc))
    }

    /// The current tracing span as a cause.
    pub fn current() -> Cause {
        Cause::of(&tracing::Span::current())
    }

    /// Whether there is a cause.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// The OpenTelemetry span context.
    pub fn span_context(&self) -> Option<&SpanContext> {
        self.0.as_ref()
    }

    /// Trace id in hex (for log lines and Grafana links).
    pub fn trace_id(&self) -> Option<String> {
        self.0.as_ref().map(|sc| sc.trace_id().to_string())
    }
}

/// An open transition span; it ends when dropped. Builder-style setters record attributes.
#[derive(Debug)]
#[must_use = "the span ends when dropped"]
pub struct TransitionSpan {
    span: tracing::Span,
    has_parent_cause: bool,
}

macro_rules! tspan {
    ($name:literal, $kind:expr, $instance:expr) => {
        tracing::info_span!(
            $name,
            kind = $kind,
            instance = $instance,
            vrid = Empty,
            interface = Empty,
            from = Empty,
            to = Empty,
            reason = Empty,
            priority = Empty,
            otel.status_code = Empty,
            otel.status_description = Empty,
        )
    };
}

/// Opens a transition span of `kind` for `instance` (VRRP instance, sync group, script, checker
/// `vs/rs/CHECKER`, BFD session, virtual server, or the config file for reloads).
pub fn transition_span(kind: TransitionKind, instance: &str) -> TransitionSpan {
    let k = kind.as_str();
    let span = match kind {
        TransitionKind::Vrrp => tspan!("vrrp.transition", k, instance),
        TransitionKind::VrrpPriority => tspan!("vrrp.priority", k, instance),
        TransitionKind::SyncGroup => tspan!("sync_group.transition", k, instance),
        TransitionKind::Script => tspan!("script.transition", k, instance),
        TransitionKind::Checker => tspan!("checker.transition", k, instance),
        TransitionKind::Bfd => tspan!("bfd.transition", k, instance),
        TransitionKind::Ipvs => tspan!("ipvs.transition", k, instance),
        TransitionKind::Reload => tspan!("reload", k, instance),
    };
    TransitionSpan {
        span,
        has_parent_cause: false,
    }
}

impl TransitionSpan {
    /// VRID attribute.
    pub fn vrid(self, vrid: u8) -> Self {
        self.span.record("vrid", i64::from(vrid));
        self
    }

    /// Interface attribute.
    pub fn interface(self, iface: &str) -> Self {
        self.span.record("interface", iface);
        self
    }

    /// Previous state.
    pub fn from(self, from: &str) -> Self {
        self.span.record("from", from);
        self
    }

    /// New state.
    pub fn to(self, to: &str) -> Self {
        self.span.record("to", to);
        self
    }

    /// Why (a short snake_case token: `master_down`, `higher_priority`, `track_script`...).
    pub fn reason(self, reason: &str) -> Self {
        self.span.record("reason", reason);
        self
    }

    /// Priority (effective priority after the transition; weight for real servers).
    pub fn priority(self, priority: i64) -> Self {
        self.span.record("priority", priority);
        self
    }

    /// Makes `cause` the parent of this span (same trace). Call before [`cause`](Self::cause)
    /// or entering the span; a second cause (or a late call) becomes a link instead.
    pub fn caused_by(mut self, cause: &Cause) -> Self {
        let Some(sc) = cause.span_context() else {
            return self;
        };
        if !self.has_parent_cause {
            let parent = opentelemetry::Context::new().with_remote_span_context(sc.clone());
            if self.span.set_parent(parent).is_ok() {
                self.has_parent_cause = true;
                return self;
            }
        }
        self.span.add_link(sc.clone());
        self
    }

    /// Adds `cause` as a link (related, not parent), e.g. each member of a sync group.
    pub fn link(self, cause: &Cause) -> Self {
        if let Some(sc) = cause.span_context() {
            self.span.add_link(sc.clone());
        }
        self
    }

    /// Marks the transition as failed (span status ERROR), e.g. a rejected reload.
    pub fn fail(&self, message: &str) {
        self.span.record("otel.status_code", "ERROR");
        self.span.record("otel.status_description", message);
    }

    /// This span as the cause of what follows.
    pub fn cause(&self) -> Cause {
        Cause::of(&self.span)
    }

    /// The underlying tracing span.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Runs `f` inside the span (its log events become span events).
    pub fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.span.in_scope(f)
    }
}
