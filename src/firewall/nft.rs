//! nf_tables netlink message encoding (pure, no I/O): the few objects and expressions the VIP
//! firewall needs. Written from the kernel's UAPI (`linux/netfilter/nf_tables.h`,
//! `nfnetlink.h`); the byte layout is pinned by golden tests against what `nft` sends.

use std::net::IpAddr;

/// `NETLINK_NETFILTER`.
pub const NETLINK_NETFILTER: isize = 12;
/// `NFNL_SUBSYS_NFTABLES`.
const SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_APPEND: u16 = 0x800;
const NLA_F_NESTED: u16 = 0x8000;

/// `NFPROTO_*` families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// `table ip`.
    Ip = 2,
    /// `table ip6`.
    Ip6 = 10,
}

impl Family {
    /// The family of an address.
    pub fn of(a: &IpAddr) -> Family {
        match a {
            IpAddr::V4(_) => Family::Ip,
            IpAddr::V6(_) => Family::Ip6,
        }
    }
}

#[derive(Clone, Copy)]
#[repr(u16)]
enum Msg {
    NewTable = 0,
    DelTable = 2,
    NewChain = 3,
    NewRule = 6,
    NewSet = 9,
    NewSetElem = 12,
    DelSetElem = 14,
}

/// Netfilter hooks of the base chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `NF_INET_LOCAL_IN`.
    Input = 1,
    /// `NF_INET_LOCAL_OUT`.
    Output = 3,
}

/// nft's data types for set keys (nftables' `datatypes.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// `ipv4_addr`, 4 bytes.
    Ipv4Addr = 7,
    /// `ipv6_addr`, 16 bytes.
    Ipv6Addr = 8,
    /// `icmpv6_type`, 1 byte.
    Icmpv6Type = 29,
    /// `ipv6_addr . iface_index` (8 << 6 | 20), 16 + 4 bytes.
    Ipv6Ifindex = (8 << 6) | 20,
    /// `ipv6_addr . ifname` (8 << 6 | 41), 16 + 16 bytes.
    Ipv6Ifname = (8 << 6) | 41,
}

impl KeyType {
    fn len(self) -> u32 {
        match self {
            KeyType::Ipv4Addr => 4,
            KeyType::Ipv6Addr => 16,
            KeyType::Icmpv6Type => 1,
            KeyType::Ipv6Ifindex => 20,
            KeyType::Ipv6Ifname => 32,
        }
    }
    /// nft's byte order user data (BYTEORDER_BIG_ENDIAN 2 for addresses, else HOST 1).
    fn byteorder(self) -> u32 {
        match self {
            KeyType::Ipv4Addr | KeyType::Ipv6Addr => 2,
            _ => 1,
        }
    }
}

/// `NFT_SET_CONSTANT`.
pub const SET_CONSTANT: u32 = 0x2;

/// Payload bases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// `NFT_PAYLOAD_NETWORK_HEADER`.
    Network = 1,
    /// `NFT_PAYLOAD_TRANSPORT_HEADER`.
    Transport = 2,
}

/// Packet metadata (`NFT_META_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKey {
    /// Input interface index.
    Iif = 4,
    /// Output interface index.
    Oif = 5,
    /// Input interface name.
    IifName = 6,
    /// Output interface name.
    OifName = 7,
}

/// A verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `NF_DROP`.
    Drop,
    /// `NF_ACCEPT`.
    Accept,
    /// `NFT_GOTO` chain.
    Goto(String),
}

/// The expressions the VIP rules use (register 1 only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// Load `len` bytes at `offset` of `base` into register 1.
    Payload {
        /// Header.
        base: Base,
        /// Byte offset.
        offset: u32,
        /// Byte length.
        len: u32,
    },
    /// Load packet metadata into register 2 (after a 16-byte payload in register 1: the
    /// two make a concatenated key).
    Meta(MetaKey),
    /// Register 1 = (register 1 & mask) ^ xor.
    Bitwise {
        /// Mask.
        mask: Vec<u8>,
        /// Xor.
        xor: Vec<u8>,
    },
    /// Register 1 equals the data (else the rule stops).
    CmpEq(Vec<u8>),
    /// Register 1 is in the named set.
    Lookup(String),
    /// Packet and byte counter.
    Counter,
    /// The verdict.
    Verdict(Verdict),
}

/// Appends netlink attributes (4-byte aligned TLVs) to a buffer.
struct Attrs<'a>(&'a mut Vec<u8>);

impl Attrs<'_> {
    fn put(&mut self, ty: u16, value: &[u8]) {
        let len = 4 + value.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(value);
        pad(self.0);
    }
    fn str(&mut self, ty: u16, s: &str) {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.put(ty, &v);
    }
    fn be32(&mut self, ty: u16, v: u32) {
        self.put(ty, &v.to_be_bytes());
    }
    fn nest(&mut self, ty: u16, f: impl FnOnce(&mut Attrs<'_>)) {
        let start = self.0.len();
        self.0.extend_from_slice(&[0, 0]);
        self.0.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        f(&mut Attrs(self.0));
        let len = (self.0.len() - start) as u16;
        self.0[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

fn pad(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// One nfnetlink batch under construction: BATCH_BEGIN, the messages, BATCH_END. Every
/// message asks for an ACK; [`Batch::finish`] gives the bytes and the sequence numbers.
pub struct Batch {
    buf: Vec<u8>,
    seq: u32,
    first: u32,
    msgs: usize,
}

impl Batch {
    /// A batch whose first message (BATCH_BEGIN) carries `seq`.
    pub fn new(seq: u32) -> Batch {
        let mut b = Batch {
            buf: Vec::with_capacity(1024),
            seq,
            first: seq,
            msgs: 0,
        };
        b.header(
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            0,
            SUBSYS_NFTABLES,
            |_| {},
        );
        b
    }

    fn header(
        &mut self,
        ty: u16,
        flags: u16,
        family: u8,
        res_id: u16,
        body: impl FnOnce(&mut Attrs<'_>),
    ) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes());
        // struct nfgenmsg: family, version (NFNETLINK_V0), res_id (big endian).
        self.buf.push(family);
        self.buf.push(0);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        body(&mut Attrs(&mut self.buf));
        let len = (self.buf.len() - start) as u32;
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        self.seq = self.seq.wrapping_add(1);
    }

    fn msg(&mut self, m: Msg, extra: u16, family: Family, body: impl FnOnce(&mut Attrs<'_>)) {
        self.msgs += 1;
        self.header(
            (SUBSYS_NFTABLES << 8) | m as u16,
            NLM_F_REQUEST | NLM_F_ACK | extra,
            family as u8,
            0,
            body,
        );
    }

    /// Number of messages between BEGIN and END.
    pub fn len(&self) -> usize {
        self.msgs
    }

    /// No message yet.
    pub fn is_empty(&self) -> bool {
        self.msgs == 0
    }

    /// `add table FAMILY NAME` (exists: success).
    pub fn new_table(&mut self, family: Family, name: &str) {
        self.msg(Msg::NewTable, NLM_F_CREATE, family, |a| {
            a.str(1, name); // NFTA_TABLE_NAME
        });
    }

    /// `delete table FAMILY NAME`.
    pub fn del_table(&mut self, family: Family, name: &str) {
        self.msg(Msg::DelTable, 0, family, |a| a.str(1, name));
    }

    /// A base chain (`hook` given: `type filter hook H priority P; policy accept;`) or a
    /// regular one.
    pub fn new_chain(
        &mut self,
        family: Family,
        table: &str,
        name: &str,
        hook: Option<(Hook, i32)>,
    ) {
        self.msg(Msg::NewChain, NLM_F_CREATE, family, |a| {
            a.str(1, table); // NFTA_CHAIN_TABLE
            a.str(3, name); // NFTA_CHAIN_NAME
            if let Some((hook, prio)) = hook {
                // nft's order: type, policy, hook.
                a.str(7, "filter"); // NFTA_CHAIN_TYPE
                a.be32(5, 1); // NFTA_CHAIN_POLICY: NF_ACCEPT
                a.nest(4, |h| {
                    h.be32(1, hook as u32); // NFTA_HOOK_HOOKNUM
                    h.be32(2, prio as u32); // NFTA_HOOK_PRIORITY
                });
            }
        });
    }

    /// A named set of `key` elements.
    pub fn new_set(
        &mut self,
        family: Family,
        table: &str,
        name: &str,
        key: KeyType,
        flags: u32,
        id: u32,
    ) {
        self.msg(Msg::NewSet, NLM_F_CREATE, family, |a| {
            a.str(1, table); // NFTA_SET_TABLE
            a.str(2, name); // NFTA_SET_NAME
            if flags != 0 {
                a.be32(3, flags); // NFTA_SET_FLAGS
            }
            a.be32(4, key as u32); // NFTA_SET_KEY_TYPE
            a.be32(5, key.len()); // NFTA_SET_KEY_LEN
            a.be32(10, id); // NFTA_SET_ID
                            // NFTA_SET_USERDATA: NFTNL_UDATA_SET_KEYBYTEORDER (0), 4 bytes.
            let mut ud = vec![0u8, 4];
            ud.extend_from_slice(&key.byteorder().to_ne_bytes());
            a.put(13, &ud);
        });
    }

    /// Adds (`add`) or removes elements of a set (each key in network order).
    pub fn set_elems(
        &mut self,
        add: bool,
        family: Family,
        table: &str,
        set: &str,
        keys: &[Vec<u8>],
    ) {
        let (m, flags) = if add {
            (Msg::NewSetElem, NLM_F_CREATE | NLM_F_EXCL)
        } else {
            (Msg::DelSetElem, 0)
        };
        self.msg(m, flags, family, |a| {
            a.str(1, table); // NFTA_SET_ELEM_LIST_TABLE
            a.str(2, set); // NFTA_SET_ELEM_LIST_SET
            a.nest(3, |l| {
                // NFTA_SET_ELEM_LIST_ELEMENTS
                for k in keys {
                    l.nest(1, |e| {
                        // NFTA_LIST_ELEM
                        e.nest(1, |d| d.put(1, k)); // NFTA_SET_ELEM_KEY / NFTA_DATA_VALUE
                    });
                }
            });
        });
    }

    /// Appends a rule to a chain.
    pub fn new_rule(&mut self, family: Family, table: &str, chain: &str, exprs: &[Expr]) {
        self.msg(Msg::NewRule, NLM_F_CREATE | NLM_F_APPEND, family, |a| {
            a.str(1, table); // NFTA_RULE_TABLE
            a.str(2, chain); // NFTA_RULE_CHAIN
            a.nest(4, |l| {
                // NFTA_RULE_EXPRESSIONS
                for e in exprs {
                    l.nest(1, |x| expr(x, e)); // NFTA_LIST_ELEM
                }
            });
        });
    }

    /// The bytes (BATCH_END appended) and the sequence numbers of the first and last
    /// messages that expect an ACK.
    pub fn finish(mut self) -> (Vec<u8>, u32, u32) {
        let last = self.seq.wrapping_sub(1);
        self.header(
            NFNL_MSG_BATCH_END,
            NLM_F_REQUEST,
            0,
            SUBSYS_NFTABLES,
            |_| {},
        );
        (self.buf, self.first.wrapping_add(1), last)
    }
}

fn expr(x: &mut Attrs<'_>, e: &Expr) {
    const REG_1: u32 = 1;
    let name = match e {
        Expr::Payload { .. } => "payload",
        Expr::Meta(_) => "meta",
        Expr::Bitwise { .. } => "bitwise",
        Expr::CmpEq(_) => "cmp",
        Expr::Lookup(_) => "lookup",
        Expr::Counter => "counter",
        Expr::Verdict(_) => "immediate",
    };
    x.str(1, name); // NFTA_EXPR_NAME
    if *e == Expr::Counter {
        return; // no NFTA_EXPR_DATA: counters start at zero
    }
    x.nest(2, |d| match e {
        Expr::Payload { base, offset, len } => {
            d.be32(1, REG_1); // NFTA_PAYLOAD_DREG
            d.be32(2, *base as u32); // NFTA_PAYLOAD_BASE
            d.be32(3, *offset); // NFTA_PAYLOAD_OFFSET
            d.be32(4, *len); // NFTA_PAYLOAD_LEN
        }
        Expr::Meta(key) => {
            d.be32(2, *key as u32); // NFTA_META_KEY
            d.be32(1, 2); // NFTA_META_DREG: NFT_REG_2
        }
        Expr::Bitwise { mask, xor } => {
            d.be32(1, REG_1); // NFTA_BITWISE_SREG
            d.be32(2, REG_1); // NFTA_BITWISE_DREG
            d.be32(3, mask.len() as u32); // NFTA_BITWISE_LEN
            d.nest(4, |m| m.put(1, mask)); // NFTA_BITWISE_MASK / NFTA_DATA_VALUE
            d.nest(5, |m| m.put(1, xor)); // NFTA_BITWISE_XOR
        }
        Expr::CmpEq(data) => {
            d.be32(1, REG_1); // NFTA_CMP_SREG
            d.be32(2, 0); // NFTA_CMP_OP: NFT_CMP_EQ
            d.nest(3, |m| m.put(1, data)); // NFTA_CMP_DATA / NFTA_DATA_VALUE
        }
        Expr::Lookup(set) => {
            d.be32(2, REG_1); // NFTA_LOOKUP_SREG (nft's order)
            d.str(1, set); // NFTA_LOOKUP_SET
        }
        Expr::Verdict(v) => {
            d.be32(1, 0); // NFTA_IMMEDIATE_DREG: NFT_REG_VERDICT
            d.nest(2, |data| {
                // NFTA_IMMEDIATE_DATA
                data.nest(2, |vd| {
                    // NFTA_DATA_VERDICT
                    let code: i32 = match v {
                        Verdict::Drop => 0,
                        Verdict::Accept => 1,
                        Verdict::Goto(_) => -4,
                    };
                    vd.be32(1, code as u32); // NFTA_VERDICT_CODE
                    if let Verdict::Goto(c) = v {
                        vd.str(2, c); // NFTA_VERDICT_CHAIN
                    }
                });
            });
        }
        Expr::Counter => {}
    });
}

/// Outcome of reading one datagram of replies to a batch.
#[derive(Debug, PartialEq, Eq)]
pub enum Replies {
    /// The ACK or error of `last` has not come yet.
    More,
    /// Everything answered.
    Done,
}

/// Walks one datagram of netlink replies to a batch whose messages carry `first..=last`,
/// recording the first error (negative errno made positive) in `error`.
pub fn read_acks(datagram: &[u8], first: u32, last: u32, error: &mut Option<i32>) -> Replies {
    const NLMSG_ERROR: u16 = 2;
    let mut off = 0;
    let mut state = Replies::More;
    while off + 16 <= datagram.len() {
        let h = &datagram[off..];
        let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
        if len < 16 || off + len > datagram.len() {
            break;
        }
        let ty = u16::from_ne_bytes([h[4], h[5]]);
        let seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
        let ours = seq.wrapping_sub(first) <= last.wrapping_sub(first);
        if ty == NLMSG_ERROR && ours && len >= 20 {
            let errno = i32::from_ne_bytes([h[16], h[17], h[18], h[19]]);
            if errno != 0 && error.is_none() {
                *error = Some(-errno);
            }
            if seq == last {
                state = Replies::Done;
            }
        }
        off += (len + 3) & !3;
    }
    state
}

#[cfg(test)]
mod tests;
