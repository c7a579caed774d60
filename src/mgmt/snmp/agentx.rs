//! The AgentX protocol (RFC 2741) as a pure codec: PDU headers, object identifiers, octet
//! strings, search ranges and varbinds, for the PDUs a subagent sends (Open, Close, Register,
//! Notify, Ping, Response) and receives (Response, Get, GetNext, GetBulk, the Set family).
//!
//! We always encode in network byte order (flag `NETWORK_BYTE_ORDER` set) and decode either
//! order, as RFC 2741 section 6.1 requires of a receiver.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::Ipv4Addr;

/// The AgentX version this codec speaks.
pub const VERSION: u8 = 1;
/// Size of the fixed PDU header.
pub const HEADER_LEN: usize = 20;
/// A PDU larger than this is refused (net-snmp's own limit is far smaller in practice).
pub const MAX_PAYLOAD: u32 = 1 << 20;

/// `h.flags` bits.
pub mod flags {
    /// `INSTANCE_REGISTRATION`.
    pub const INSTANCE_REGISTRATION: u8 = 0x01;
    /// `NEW_INDEX`.
    pub const NEW_INDEX: u8 = 0x02;
    /// `ANY_INDEX`.
    pub const ANY_INDEX: u8 = 0x04;
    /// `NON_DEFAULT_CONTEXT`.
    pub const NON_DEFAULT_CONTEXT: u8 = 0x08;
    /// `NETWORK_BYTE_ORDER`.
    pub const NETWORK_BYTE_ORDER: u8 = 0x10;
}

/// Response `res.error` values used here (RFC 2741 section 6.2.16).
pub mod error {
    /// No error.
    pub const NONE: u16 = 0;
    /// SNMP genErr.
    pub const GEN_ERR: u16 = 5;
    /// SNMP notWritable.
    pub const NOT_WRITABLE: u16 = 17;
    /// openFailed.
    pub const OPEN_FAILED: u16 = 256;
    /// notOpen.
    pub const NOT_OPEN: u16 = 257;
    /// unsupportedContext.
    pub const UNSUPPORTED_CONTEXT: u16 = 262;
    /// duplicateRegistration.
    pub const DUPLICATE_REGISTRATION: u16 = 263;
    /// parseError.
    pub const PARSE_ERROR: u16 = 266;
    /// processingError.
    pub const PROCESSING_ERROR: u16 = 268;
}

/// Close reasons (RFC 2741 section 6.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseReason {
    /// reasonOther.
    Other = 1,
    /// reasonParseError.
    ParseError = 2,
    /// reasonProtocolError.
    ProtocolError = 3,
    /// reasonTimeouts.
    Timeouts = 4,
    /// reasonShutdown.
    Shutdown = 5,
    /// reasonByManager.
    ByManager = 6,
}

impl CloseReason {
    fn from_u8(v: u8) -> Result<Self, DecodeError> {
        Ok(match v {
            1 => Self::Other,
            2 => Self::ParseError,
            3 => Self::ProtocolError,
            4 => Self::Timeouts,
            5 => Self::Shutdown,
            6 => Self::ByManager,
            _ => return Err(DecodeError::BadValue("close reason", u32::from(v))),
        })
    }
}

/// Why bytes are not a valid PDU.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the layout needs.
    #[error("truncated AgentX PDU")]
    Truncated,
    /// `h.version` is not 1.
    #[error("unsupported AgentX version {0}")]
    Version(u8),
    /// A PDU type this codec does not know.
    #[error("unknown AgentX PDU type {0}")]
    UnknownType(u8),
    /// `h.payload_length` beyond [`MAX_PAYLOAD`] or not a multiple of 4.
    #[error("bad AgentX payload length {0}")]
    PayloadLength(u32),
    /// A field value out of its range.
    #[error("bad {0} {1}")]
    BadValue(&'static str, u32),
}

/// An object identifier.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub Vec<u32>);

impl Oid {
    /// `1.3.6.1....` from a slice.
    pub fn new(s: &[u32]) -> Self {
        Oid(s.to_vec())
    }
    /// The null OID (zero subidentifiers).
    pub fn null() -> Self {
        Oid(Vec::new())
    }
    /// Is it the null OID?
    pub fn is_null(&self) -> bool {
        self.0.is_empty()
    }
    /// This OID followed by `more`.
    pub fn child(&self, more: &[u32]) -> Self {
        let mut v = self.0.clone();
        v.extend_from_slice(more);
        Oid(v)
    }
    /// Does this OID start with `prefix`?
    pub fn starts_with(&self, prefix: &Oid) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

/// A varbind's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// INTEGER (type 2).
    Integer(i32),
    /// OCTET STRING (type 4).
    OctetString(Vec<u8>),
    /// NULL (type 5).
    Null,
    /// OBJECT IDENTIFIER (type 6).
    Oid(Oid),
    /// IpAddress (type 64).
    IpAddress(Ipv4Addr),
    /// Counter32 (type 65).
    Counter32(u32),
    /// Gauge32 (type 66).
    Gauge32(u32),
    /// TimeTicks (type 67).
    TimeTicks(u32),
    /// Opaque (type 68).
    Opaque(Vec<u8>),
    /// Counter64 (type 70).
    Counter64(u64),
    /// noSuchObject (type 128).
    NoSuchObject,
    /// noSuchInstance (type 129).
    NoSuchInstance,
    /// endOfMibView (type 130).
    EndOfMibView,
}

impl Value {
    /// An OCTET STRING from text.
    pub fn string(s: impl AsRef<str>) -> Self {
        Value::OctetString(s.as_ref().as_bytes().to_vec())
    }
    fn type_code(&self) -> u16 {
        match self {
            Value::Integer(_) => 2,
            Value::OctetString(_) => 4,
            Value::Null => 5,
            Value::Oid(_) => 6,
            Value::IpAddress(_) => 64,
            Value::Counter32(_) => 65,
            Value::Gauge32(_) => 66,
            Value::TimeTicks(_) => 67,
            Value::Opaque(_) => 68,
            Value::Counter64(_) => 70,
            Value::NoSuchObject => 128,
            Value::NoSuchInstance => 129,
            Value::EndOfMibView => 130,
        }
    }
}

/// A name and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarBind {
    /// The name.
    pub name: Oid,
    /// The value.
    pub value: Value,
}

impl VarBind {
    /// A varbind.
    pub fn new(name: Oid, value: Value) -> Self {
        VarBind { name, value }
    }
}

/// A search range of a Get/GetNext/GetBulk (RFC 2741 section 5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchRange {
    /// The start (`include`: the start itself may be returned).
    pub start: Oid,
    /// `start`'s include flag.
    pub include: bool,
    /// The end, exclusive; null for no bound.
    pub end: Oid,
}

/// The fixed header fields that identify a PDU within a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// `h.flags` (decode: as received; encode: NETWORK_BYTE_ORDER is always added).
    pub flags: u8,
    /// `h.sessionID`.
    pub session_id: u32,
    /// `h.transactionID`.
    pub transaction_id: u32,
    /// `h.packetID`.
    pub packet_id: u32,
}

/// A PDU body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pdu {
    /// agentx-Open-PDU.
    Open {
        /// Default timeout (seconds, 0: the master's default).
        timeout: u8,
        /// The subagent's identifier (may be null).
        id: Oid,
        /// A description.
        descr: Vec<u8>,
    },
    /// agentx-Close-PDU.
    Close {
        /// Why.
        reason: CloseReason,
    },
    /// agentx-Register-PDU.
    Register {
        /// Timeout for this region (0: the session's).
        timeout: u8,
        /// Priority (lower wins; 127 is the usual default).
        priority: u8,
        /// `r.range_subid` (0: no range).
        range_subid: u8,
        /// The subtree.
        subtree: Oid,
        /// `r.upper_bound` (only with a range).
        upper_bound: Option<u32>,
    },
    /// agentx-Unregister-PDU.
    Unregister {
        /// Priority.
        priority: u8,
        /// The subtree.
        subtree: Oid,
    },
    /// agentx-Get-PDU.
    Get(Vec<SearchRange>),
    /// agentx-GetNext-PDU.
    GetNext(Vec<SearchRange>),
    /// agentx-GetBulk-PDU.
    GetBulk {
        /// `non_repeaters`.
        non_repeaters: u16,
        /// `max_repetitions`.
        max_repetitions: u16,
        /// The ranges.
        ranges: Vec<SearchRange>,
    },
    /// agentx-TestSet-PDU (varbinds).
    TestSet(Vec<VarBind>),
    /// agentx-CommitSet-PDU.
    CommitSet,
    /// agentx-UndoSet-PDU.
    UndoSet,
    /// agentx-CleanupSet-PDU.
    CleanupSet,
    /// agentx-Notify-PDU.
    Notify(Vec<VarBind>),
    /// agentx-Ping-PDU.
    Ping,
    /// agentx-Response-PDU.
    Response {
        /// `res.sysUpTime`.
        sys_uptime: u32,
        /// `res.error`.
        error: u16,
        /// `res.index`.
        index: u16,
        /// The varbinds.
        varbinds: Vec<VarBind>,
    },
}

impl Pdu {
    /// The `h.type` code.
    pub fn type_code(&self) -> u8 {
        match self {
            Pdu::Open { .. } => 1,
            Pdu::Close { .. } => 2,
            Pdu::Register { .. } => 3,
            Pdu::Unregister { .. } => 4,
            Pdu::Get(_) => 5,
            Pdu::GetNext(_) => 6,
            Pdu::GetBulk { .. } => 7,
            Pdu::TestSet(_) => 8,
            Pdu::CommitSet => 9,
            Pdu::UndoSet => 10,
            Pdu::CleanupSet => 11,
            Pdu::Notify(_) => 12,
            Pdu::Ping => 13,
            Pdu::Response { .. } => 18,
        }
    }
}

/// A whole PDU: header fields, optional context, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Header fields.
    pub header: Header,
    /// The non-default context, if any.
    pub context: Option<Vec<u8>>,
    /// The body.
    pub pdu: Pdu,
}

// ---------------------------------------------------------------- encoding (network order)

struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn oid(&mut self, o: &Oid, include: bool) {
        // The internet prefix 1.3.6.1.N (N < 256) is compressed into `prefix`.
        let s = &o.0;
        let (prefix, rest) = if s.len() >= 5 && s[..4] == [1, 3, 6, 1] && s[4] > 0 && s[4] < 256 {
            (s[4] as u8, &s[5..])
        } else {
            (0, &s[..])
        };
        // An OID has at most 128 subidentifiers (RFC 2741 section 5.1); longer ones are cut.
        let rest = &rest[..rest.len().min(128)];
        self.u8(rest.len() as u8);
        self.u8(prefix);
        self.u8(u8::from(include));
        self.u8(0);
        for &x in rest {
            self.u32(x);
        }
    }
    fn octets(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }
    fn varbind(&mut self, vb: &VarBind) {
        self.u16(vb.value.type_code());
        self.u16(0);
        self.oid(&vb.name, false);
        match &vb.value {
            Value::Integer(v) => self.u32(*v as u32),
            Value::OctetString(b) | Value::Opaque(b) => self.octets(b),
            Value::Oid(o) => self.oid(o, false),
            Value::IpAddress(a) => self.octets(&a.octets()),
            Value::Counter32(v) | Value::Gauge32(v) | Value::TimeTicks(v) => self.u32(*v),
            Value::Counter64(v) => self.u64(*v),
            Value::Null | Value::NoSuchObject | Value::NoSuchInstance | Value::EndOfMibView => {}
        }
    }
    fn range(&mut self, r: &SearchRange) {
        self.oid(&r.start, r.include);
        self.oid(&r.end, false);
    }
}

/// Encodes a message in network byte order.
pub fn encode(m: &Message) -> Vec<u8> {
    let mut b = Enc(Vec::with_capacity(64));
    let mut flags = m.header.flags | flags::NETWORK_BYTE_ORDER;
    if m.context.is_some() {
        flags |= flags::NON_DEFAULT_CONTEXT;
    } else {
        flags &= !flags::NON_DEFAULT_CONTEXT;
    }
    b.u8(VERSION);
    b.u8(m.pdu.type_code());
    b.u8(flags);
    b.u8(0);
    b.u32(m.header.session_id);
    b.u32(m.header.transaction_id);
    b.u32(m.header.packet_id);
    b.u32(0); // payload length, patched below
              // Context only where RFC 2741 allows one.
    let takes_context = !matches!(
        m.pdu,
        Pdu::Open { .. }
            | Pdu::Close { .. }
            | Pdu::Response { .. }
            | Pdu::TestSet(_)
            | Pdu::CommitSet
            | Pdu::UndoSet
            | Pdu::CleanupSet
    );
    if let (Some(c), true) = (&m.context, takes_context) {
        b.octets(c);
    }
    match &m.pdu {
        Pdu::Open { timeout, id, descr } => {
            b.u8(*timeout);
            b.u8(0);
            b.u16(0);
            b.oid(id, false);
            b.octets(descr);
        }
        Pdu::Close { reason } => {
            b.u8(*reason as u8);
            b.u8(0);
            b.u16(0);
        }
        Pdu::Register {
            timeout,
            priority,
            range_subid,
            subtree,
            upper_bound,
        } => {
            b.u8(*timeout);
            b.u8(*priority);
            b.u8(*range_subid);
            b.u8(0);
            b.oid(subtree, false);
            if *range_subid != 0 {
                b.u32(upper_bound.unwrap_or(0));
            }
        }
        Pdu::Unregister { priority, subtree } => {
            b.u8(0);
            b.u8(*priority);
            b.u8(0);
            b.u8(0);
            b.oid(subtree, false);
        }
        Pdu::Get(rs) | Pdu::GetNext(rs) => rs.iter().for_each(|r| b.range(r)),
        Pdu::GetBulk {
            non_repeaters,
            max_repetitions,
            ranges,
        } => {
            b.u16(*non_repeaters);
            b.u16(*max_repetitions);
            ranges.iter().for_each(|r| b.range(r));
        }
        Pdu::TestSet(vbs) | Pdu::Notify(vbs) => vbs.iter().for_each(|v| b.varbind(v)),
        Pdu::CommitSet | Pdu::UndoSet | Pdu::CleanupSet | Pdu::Ping => {}
        Pdu::Response {
            sys_uptime,
            error,
            index,
            varbinds,
        } => {
            b.u32(*sys_uptime);
            b.u16(*error);
            b.u16(*index);
            varbinds.iter().for_each(|v| b.varbind(v));
        }
    }
    let len = (b.0.len() - HEADER_LEN) as u32;
    b.0[16..20].copy_from_slice(&len.to_be_bytes());
    b.0
}

// ---------------------------------------------------------------- decoding (either order)

struct Dec<'a> {
    b: &'a [u8],
    at: usize,
    big: bool,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).ok_or(DecodeError::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(DecodeError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?.try_into().map_err(|_| DecodeError::Truncated)
    }
    /// An `N`-byte unsigned number in the PDU's byte order (the header's NETWORK_BYTE_ORDER
    /// flag).
    fn uint<const N: usize>(&mut self) -> Result<u64, DecodeError> {
        let b: [u8; N] = self.bytes()?;
        let push = |acc: u64, x: &u8| (acc << 8) | u64::from(*x);
        Ok(if self.big {
            b.iter().fold(0, push)
        } else {
            b.iter().rev().fold(0, push)
        })
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        // Two bytes always fit.
        Ok(self.uint::<2>()? as u16)
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        // Four bytes always fit.
        Ok(self.uint::<4>()? as u32)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        self.uint::<8>()
    }
    /// An OID and its include flag.
    fn oid(&mut self) -> Result<(Oid, bool), DecodeError> {
        let n = self.u8()?;
        let prefix = self.u8()?;
        let include = self.u8()? != 0;
        self.u8()?;
        if n > 128 {
            return Err(DecodeError::BadValue("n_subid", u32::from(n)));
        }
        let mut v = Vec::with_capacity(n as usize + 5);
        if prefix != 0 {
            v.extend_from_slice(&[1, 3, 6, 1, u32::from(prefix)]);
        }
        for _ in 0..n {
            v.push(self.u32()?);
        }
        Ok((Oid(v), include))
    }
    fn octets(&mut self) -> Result<Vec<u8>, DecodeError> {
        let n = self.u32()? as usize;
        let padded = n.checked_add(3).ok_or(DecodeError::Truncated)? & !3;
        let s = self.take(padded)?;
        Ok(s[..n].to_vec())
    }
    fn varbind(&mut self) -> Result<VarBind, DecodeError> {
        let t = self.u16()?;
        self.u16()?;
        let (name, _) = self.oid()?;
        let value = match t {
            2 => Value::Integer(self.u32()? as i32),
            4 => Value::OctetString(self.octets()?),
            5 => Value::Null,
            6 => Value::Oid(self.oid()?.0),
            64 => {
                let o = self.octets()?;
                let a: [u8; 4] = o
                    .as_slice()
                    .try_into()
                    .map_err(|_| DecodeError::BadValue("IpAddress length", o.len() as u32))?;
                Value::IpAddress(Ipv4Addr::from(a))
            }
            65 => Value::Counter32(self.u32()?),
            66 => Value::Gauge32(self.u32()?),
            67 => Value::TimeTicks(self.u32()?),
            68 => Value::Opaque(self.octets()?),
            70 => Value::Counter64(self.u64()?),
            128 => Value::NoSuchObject,
            129 => Value::NoSuchInstance,
            130 => Value::EndOfMibView,
            _ => return Err(DecodeError::BadValue("varbind type", u32::from(t))),
        };
        Ok(VarBind { name, value })
    }
    fn range(&mut self) -> Result<SearchRange, DecodeError> {
        let (start, include) = self.oid()?;
        let (end, _) = self.oid()?;
        Ok(SearchRange {
            start,
            include,
            end,
        })
    }
    fn ranges(&mut self) -> Result<Vec<SearchRange>, DecodeError> {
        let mut v = Vec::new();
        while !self.done() {
            v.push(self.range()?);
        }
        Ok(v)
    }
    fn varbinds(&mut self) -> Result<Vec<VarBind>, DecodeError> {
        let mut v = Vec::new();
        while !self.done() {
            v.push(self.varbind()?);
        }
        Ok(v)
    }
}

/// The length of the whole PDU starting at `b` (header + payload), once its header is there.
pub fn pdu_len(b: &[u8]) -> Result<Option<usize>, DecodeError> {
    if b.len() < HEADER_LEN {
        return Ok(None);
    }
    if b[0] != VERSION {
        return Err(DecodeError::Version(b[0]));
    }
    let raw: [u8; 4] = [b[16], b[17], b[18], b[19]];
    let len = if b[2] & flags::NETWORK_BYTE_ORDER != 0 {
        u32::from_be_bytes(raw)
    } else {
        u32::from_le_bytes(raw)
    };
    if len > MAX_PAYLOAD || !len.is_multiple_of(4) {
        return Err(DecodeError::PayloadLength(len));
    }
    Ok(Some(HEADER_LEN + len as usize))
}

/// Decodes one whole PDU (exactly `pdu_len` bytes).
pub fn decode(b: &[u8]) -> Result<Message, DecodeError> {
    let total = pdu_len(b)?.ok_or(DecodeError::Truncated)?;
    if b.len() < total {
        return Err(DecodeError::Truncated);
    }
    let f = b[2];
    let big = f & flags::NETWORK_BYTE_ORDER != 0;
    let mut h = Dec {
        b: &b[4..HEADER_LEN],
        at: 0,
        big,
    };
    let header = Header {
        flags: f,
        session_id: h.u32()?,
        transaction_id: h.u32()?,
        packet_id: h.u32()?,
    };
    let mut d = Dec {
        b: &b[HEADER_LEN..total],
        at: 0,
        big,
    };
    let t = b[1];
    let context = if f & flags::NON_DEFAULT_CONTEXT != 0 && !matches!(t, 1 | 2 | 8..=11 | 18) {
        Some(d.octets()?)
    } else {
        None
    };
    let pdu = match t {
        1 => {
            let timeout = d.u8()?;
            d.take(3)?;
            let (id, _) = d.oid()?;
            Pdu::Open {
                timeout,
                id,
                descr: d.octets()?,
            }
        }
        2 => {
            let reason = CloseReason::from_u8(d.u8()?)?;
            d.take(3)?;
            Pdu::Close { reason }
        }
        3 => {
            let timeout = d.u8()?;
            let priority = d.u8()?;
            let range_subid = d.u8()?;
            d.u8()?;
            let (subtree, _) = d.oid()?;
            let upper_bound = if range_subid != 0 {
                Some(d.u32()?)
            } else {
                None
            };
            Pdu::Register {
                timeout,
                priority,
                range_subid,
                subtree,
                upper_bound,
            }
        }
        4 => {
            d.u8()?;
            let priority = d.u8()?;
            d.take(2)?;
            let (subtree, _) = d.oid()?;
            Pdu::Unregister { priority, subtree }
        }
        5 => Pdu::Get(d.ranges()?),
        6 => Pdu::GetNext(d.ranges()?),
        7 => {
            let non_repeaters = d.u16()?;
            let max_repetitions = d.u16()?;
            Pdu::GetBulk {
                non_repeaters,
                max_repetitions,
                ranges: d.ranges()?,
            }
        }
        8 => Pdu::TestSet(d.varbinds()?),
        9 => Pdu::CommitSet,
        10 => Pdu::UndoSet,
        11 => Pdu::CleanupSet,
        12 => Pdu::Notify(d.varbinds()?),
        13 => Pdu::Ping,
        18 => {
            let sys_uptime = d.u32()?;
            let error = d.u16()?;
            let index = d.u16()?;
            Pdu::Response {
                sys_uptime,
                error,
                index,
                varbinds: d.varbinds()?,
            }
        }
        other => return Err(DecodeError::UnknownType(other)),
    };
    Ok(Message {
        header,
        context,
        pdu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(pdu: Pdu) -> Message {
        Message {
            header: Header {
                flags: 0,
                session_id: 0x0102_0304,
                transaction_id: 5,
                packet_id: 6,
            },
            context: None,
            pdu,
        }
    }

    fn roundtrip(m: &Message) {
        let b = encode(m);
        assert_eq!(pdu_len(&b).unwrap(), Some(b.len()));
        let mut back = decode(&b).unwrap();
        back.header.flags &= !flags::NETWORK_BYTE_ORDER;
        assert_eq!(&back, m);
    }

    /// RFC 2741 6.1 header and 5.1 OID layout (prefix compression of 1.3.6.1.4, the
    /// `include` byte) and 5.3 octet string padding, byte for byte.
    #[test]
    fn open_golden_bytes() {
        let m = msg(Pdu::Open {
            timeout: 5,
            id: Oid::new(&[1, 3, 6, 1, 4, 1, 9586]),
            descr: b"keepalived".to_vec(),
        });
        let b = encode(&m);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            1, 1, 0x10, 0,              // version, type Open, NETWORK_BYTE_ORDER, reserved
            1, 2, 3, 4,                 // sessionID
            0, 0, 0, 5,                 // transactionID
            0, 0, 0, 6,                 // packetID
            0, 0, 0, 32,                // payload length
            5, 0, 0, 0,                 // o.timeout, reserved
            2, 4, 0, 0,                 // n_subid 2, prefix 4 (1.3.6.1.4), include 0
            0, 0, 0, 1, 0, 0, 0x25, 0x72, // 1.9586
            0, 0, 0, 10,                // descr length
            b'k', b'e', b'e', b'p', b'a', b'l', b'i', b'v', b'e', b'd', 0, 0, // padded
        ];
        assert_eq!(b, want);
        roundtrip(&m);
    }

    #[test]
    fn response_golden_bytes_and_value_types() {
        let name = Oid::new(&[1, 3, 6, 1, 2, 1, 68, 1, 1, 0]);
        let m = msg(Pdu::Response {
            sys_uptime: 0,
            error: 0,
            index: 0,
            varbinds: vec![VarBind::new(name.clone(), Value::Integer(-2))],
        });
        let b = encode(&m);
        #[rustfmt::skip]
        let want: Vec<u8> = vec![
            1, 18, 0x10, 0, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 40,
            0, 0, 0, 0,                 // res.sysUpTime
            0, 0, 0, 0,                 // res.error, res.index
            0, 2, 0, 0,                 // v.type Integer, reserved
            5, 2, 0, 0,                 // n_subid 5, prefix 2 (1.3.6.1.2), include 0
            0, 0, 0, 1, 0, 0, 0, 68, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, // 1.68.1.1.0
            0xff, 0xff, 0xff, 0xfe,     // -2
        ];
        assert_eq!(b, want);
        roundtrip(&m);
        let all = vec![
            VarBind::new(name.clone(), Value::string("a")),
            VarBind::new(name.clone(), Value::Oid(Oid::new(&[1, 3, 6, 1, 6, 3]))),
            VarBind::new(name.clone(), Value::Oid(Oid::null())),
            VarBind::new(name.clone(), Value::Counter32(7)),
            VarBind::new(name.clone(), Value::Gauge32(8)),
            VarBind::new(name.clone(), Value::TimeTicks(9)),
            VarBind::new(name.clone(), Value::Counter64(u64::MAX - 1)),
            VarBind::new(name.clone(), Value::IpAddress(Ipv4Addr::new(10, 0, 0, 1))),
            VarBind::new(name.clone(), Value::NoSuchObject),
            VarBind::new(name.clone(), Value::NoSuchInstance),
            VarBind::new(name.clone(), Value::EndOfMibView),
            VarBind::new(Oid::new(&[1, 2]), Value::Null),
        ];
        roundtrip(&msg(Pdu::Response {
            sys_uptime: 77,
            error: error::NOT_WRITABLE,
            index: 1,
            varbinds: all.clone(),
        }));
        roundtrip(&msg(Pdu::Notify(all)));
    }

    #[test]
    fn register_with_and_without_range() {
        let m = msg(Pdu::Register {
            timeout: 0,
            priority: 127,
            range_subid: 0,
            subtree: Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5]),
            upper_bound: None,
        });
        let b = encode(&m);
        assert_eq!(&b[20..28], &[0, 127, 0, 0, 4, 4, 0, 0]);
        roundtrip(&m);
        roundtrip(&msg(Pdu::Register {
            timeout: 3,
            priority: 1,
            range_subid: 5,
            subtree: Oid::new(&[1, 3, 6, 1, 2, 1, 68]),
            upper_bound: Some(9),
        }));
        roundtrip(&msg(Pdu::Close {
            reason: CloseReason::Shutdown,
        }));
        roundtrip(&msg(Pdu::Ping));
        roundtrip(&msg(Pdu::Unregister {
            priority: 127,
            subtree: Oid::new(&[1, 3, 6, 1, 2, 1, 68]),
        }));
    }

    #[test]
    fn get_getnext_getbulk_decode_in_both_byte_orders() {
        let ranges = vec![
            SearchRange {
                start: Oid::new(&[1, 3, 6, 1, 2, 1, 68]),
                include: true,
                end: Oid::new(&[1, 3, 6, 1, 2, 1, 69]),
            },
            SearchRange {
                start: Oid::new(&[1, 3]),
                include: false,
                end: Oid::null(),
            },
        ];
        roundtrip(&msg(Pdu::Get(ranges.clone())));
        roundtrip(&msg(Pdu::GetNext(ranges.clone())));
        roundtrip(&msg(Pdu::GetBulk {
            non_repeaters: 1,
            max_repetitions: 10,
            ranges: ranges.clone(),
        }));
        // Little-endian GetNext as a master may send it (flags without NETWORK_BYTE_ORDER).
        #[rustfmt::skip]
        let le_ok: Vec<u8> = vec![
            1, 6, 0, 0,  9, 0, 0, 0,  1, 0, 0, 0,  2, 0, 0, 0,  16, 0, 0, 0,
            2, 2, 1, 0,  68, 0, 0, 0,  1, 0, 0, 0,   // start 1.3.6.1.2.68.1 include
            0, 0, 0, 0,                              // end: null
        ];
        // A payload length that cuts a range short is an error, not a panic.
        let mut short = le_ok.clone();
        short[16] = 12;
        assert_eq!(decode(&short[..32]), Err(DecodeError::Truncated));
        let m = decode(&le_ok).unwrap();
        assert_eq!(m.header.session_id, 9);
        assert_eq!(m.header.packet_id, 2);
        assert_eq!(
            m.pdu,
            Pdu::GetNext(vec![SearchRange {
                start: Oid::new(&[1, 3, 6, 1, 2, 68, 1]),
                include: true,
                end: Oid::null(),
            }])
        );
    }

    #[test]
    fn context_is_carried_where_allowed() {
        let mut m = msg(Pdu::Notify(vec![]));
        m.context = Some(b"ctx".to_vec());
        let b = encode(&m);
        assert_ne!(b[2] & flags::NON_DEFAULT_CONTEXT, 0);
        let mut back = decode(&b).unwrap();
        back.header.flags = 0;
        assert_eq!(back, m);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(pdu_len(&[1, 2, 3]), Ok(None));
        assert_eq!(
            pdu_len(&[2; 20]).unwrap_err(),
            DecodeError::Version(2),
            "version"
        );
        let mut b = encode(&msg(Pdu::Ping));
        b[1] = 99;
        assert_eq!(decode(&b), Err(DecodeError::UnknownType(99)));
        let mut b = encode(&msg(Pdu::Ping));
        b[19] = 3;
        assert_eq!(decode(&b), Err(DecodeError::PayloadLength(3)));
        // Every prefix of a valid PDU is rejected cleanly.
        let full = encode(&msg(Pdu::Response {
            sys_uptime: 1,
            error: 0,
            index: 0,
            varbinds: vec![VarBind::new(
                Oid::new(&[1, 3, 6, 1, 4, 1, 9586, 100, 5, 1, 1, 0]),
                Value::string("Keepalived"),
            )],
        }));
        for n in 0..full.len() {
            assert!(decode(&full[..n]).is_err());
        }
    }
}
