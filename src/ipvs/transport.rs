//! One NETLINK_GENERIC socket, one request in flight: send, then read until
//! the ACK / NLMSG_DONE / error carrying our sequence number. Replies to
//! earlier, abandoned requests (after a timeout) are skipped by sequence.
//!
//! Framing is read with bounds checks only (`NetlinkBuffer::new_checked`);
//! a datagram that cannot be framed is an error, never a panic.

use std::io;
use std::time::Duration;

use netlink_packet_core::{
    NetlinkBuffer, NlasIterator, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP_INTR,
};
use netlink_sys::{
    protocols::NETLINK_GENERIC, AsyncSocket, AsyncSocketExt, SocketAddr, TokioSocket,
};

/// `NLMSGERR_ATTR_MSG` in extended-ACK TLVs.
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSG_HDRLEN: usize = 16;

#[derive(Debug)]
pub(crate) enum TransportError {
    Io(io::Error),
    /// Negative errno from an NLMSG_ERROR (made positive) + extack message.
    Kernel {
        errno: i32,
        extack: Option<String>,
    },
    Timeout,
    Malformed(String),
    /// The dump changed while it was read (NLM_F_DUMP_INTR): retry.
    DumpInterrupted,
}

/// One data message of a reply.
#[derive(Debug)]
pub(crate) struct Reply {
    pub message_type: u16,
    pub payload: Vec<u8>,
}

pub(crate) struct Transport {
    socket: TokioSocket,
    seq: u32,
    port: u32,
    pub timeout: Duration,
}

impl Transport {
    pub fn open(timeout: Duration) -> io::Result<Self> {
        let mut socket = TokioSocket::new(NETLINK_GENERIC)?;
        let addr = socket.socket_mut().bind_auto()?;
        // Best effort: error strings from the kernel, larger dumps.
        let _ = socket.socket_ref().set_ext_ack(true);
        let _ = socket.socket_ref().set_rx_buf_sz(1 << 20);
        Ok(Transport {
            socket,
            // Start from something other than 0/1 so a stray reply to
            // another socket user is unlikely to match.
            seq: std::process::id().wrapping_mul(7919),
            port: addr.port_number(),
            timeout,
        })
    }

    /// Our netlink port id (what the kernel puts in `nlmsg_pid`).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Reserve the sequence number of the next request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send `request` (already carrying `seq`) and collect the data
    /// messages of the reply. `dump` requests end with NLMSG_DONE; others
    /// must carry NLM_F_ACK and end with the ACK.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        seq: u32,
        dump: bool,
    ) -> Result<Vec<Reply>, TransportError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let kernel = SocketAddr::new(0, 0);
        tokio::time::timeout_at(deadline, self.socket.send_to(request, &kernel))
            .await
            .map_err(|_| TransportError::Timeout)?
            .map_err(TransportError::Io)?;

        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let (datagram, _) = tokio::time::timeout_at(deadline, self.socket.recv_from_full())
                .await
                .map_err(|_| TransportError::Timeout)?
                .map_err(TransportError::Io)?;
            match read_datagram(&datagram, seq, dump, &mut replies, &mut interrupted)? {
                Progress::More => continue,
                Progress::Finished if interrupted => return Err(TransportError::DumpInterrupted),
                Progress::Finished => return Ok(replies),
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    More,
    Finished,
}

/// Walk the netlink messages of one datagram, appending data messages for
/// `seq` to `replies`. Pure function, unit-tested with hand-built bytes.
pub(crate) fn read_datagram(
    datagram: &[u8],
    seq: u32,
    dump: bool,
    replies: &mut Vec<Reply>,
    interrupted: &mut bool,
) -> Result<Progress, TransportError> {
    let mut offset = 0;
    while offset < datagram.len() {
        let buf = NetlinkBuffer::new_checked(&datagram[offset..])
            .map_err(|e| TransportError::Malformed(format!("netlink header: {e}")))?;
        let len = buf.length() as usize;
        offset += (len + 3) & !3;
        if buf.sequence_number() != seq {
            continue; // reply to an earlier request we gave up on
        }
        let flags = buf.flags();
        if flags & NLM_F_DUMP_INTR != 0 {
            *interrupted = true;
        }
        let payload = buf.payload();
        match buf.message_type() {
            NLMSG_NOOP => {}
            NLMSG_OVERRUN => return Err(TransportError::Malformed("NLMSG_OVERRUN".into())),
            NLMSG_ERROR => {
                let code = read_i32(payload)
                    .ok_or_else(|| TransportError::Malformed("short NLMSG_ERROR".into()))?;
                if code == 0 {
                    if dump {
                        continue; // ACK of a dump request; DONE follows
                    }
                    return Ok(Progress::Finished);
                }
                return Err(TransportError::Kernel {
                    errno: code.saturating_neg(),
                    extack: extack_message(flags, &payload[4..]),
                });
            }
            NLMSG_DONE => {
                // The kernel may put a dump's error in DONE's payload.
                if let Some(code) = read_i32(payload) {
                    if code < 0 {
                        return Err(TransportError::Kernel {
                            errno: code.saturating_neg(),
                            extack: None,
                        });
                    }
                }
                return Ok(Progress::Finished);
            }
            message_type => replies.push(Reply {
                message_type,
                payload: payload.to_vec(),
            }),
        }
    }
    Ok(Progress::More)
}

fn read_i32(b: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// `NLMSGERR_ATTR_MSG` from the TLVs after the echoed request header.
fn extack_message(flags: u16, echoed: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let skip = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        // The whole request is echoed: its own length field says how much.
        read_i32(echoed).map(|l| l as u32 as usize)?
    };
    let tlvs = echoed.get((skip + 3) & !3..)?;
    NlasIterator::new(tlvs)
        .filter_map(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .map(|nla| {
            String::from_utf8_lossy(nla.value())
                .trim_end_matches('\0')
                .to_string()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&1234u32.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn ack_ends_a_request_and_stale_replies_are_skipped() {
        let mut d = msg(0x20, 0, 6, &[1, 2, 3, 4]); // stale (seq 6)
        d.extend(msg(0x20, 0, 7, &[9, 9, 9, 9]));
        d.extend(msg(NLMSG_ERROR, 0, 7, &[0; 20]));
        let (mut r, mut i) = (Vec::new(), false);
        assert_eq!(
            read_datagram(&d, 7, false, &mut r, &mut i).unwrap(),
            Progress::Finished
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].payload, [9, 9, 9, 9]);
    }

    #[test]
    fn dump_spans_datagrams_and_ends_with_done() {
        let (mut r, mut i) = (Vec::new(), false);
        let d1 = [msg(0x20, 2, 9, &[1; 4]), msg(0x20, 2, 9, &[2; 4])].concat();
        assert_eq!(
            read_datagram(&d1, 9, true, &mut r, &mut i).unwrap(),
            Progress::More
        );
        let d2 = msg(NLMSG_DONE, 2, 9, &0i32.to_ne_bytes());
        assert_eq!(
            read_datagram(&d2, 9, true, &mut r, &mut i).unwrap(),
            Progress::Finished
        );
        assert_eq!(r.len(), 2);
        assert!(!i);
    }

    #[test]
    fn errors_carry_errno_and_extack() {
        // NLMSG_ERROR -EEXIST, capped, with an extack message TLV.
        let mut p = (-libc::EEXIST).to_ne_bytes().to_vec();
        p.extend_from_slice(&[0u8; 16]); // echoed request header
        p.extend_from_slice(&[9, 0, 1, 0, b'b', b'a', b'd', b'!', 0, 0, 0, 0]);
        let d = msg(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 3, &p);
        let (mut r, mut i) = (Vec::new(), false);
        match read_datagram(&d, 3, false, &mut r, &mut i) {
            Err(TransportError::Kernel { errno, extack }) => {
                assert_eq!(errno, libc::EEXIST);
                assert_eq!(extack.as_deref(), Some("bad!"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn interrupted_dump_is_reported() {
        let d = [
            msg(0x20, NLM_F_DUMP_INTR, 4, &[1; 4]),
            msg(NLMSG_DONE, 0, 4, &0i32.to_ne_bytes()),
        ]
        .concat();
        let (mut r, mut i) = (Vec::new(), false);
        assert_eq!(
            read_datagram(&d, 4, true, &mut r, &mut i).unwrap(),
            Progress::Finished
        );
        assert!(i);
    }

    #[test]
    fn malformed_framing_is_an_error() {
        let (mut r, mut i) = (Vec::new(), false);
        // length 200 in a 20-byte datagram; then a too-short header; then
        // an error message with no code
        for d in [
            {
                let mut d = msg(0x20, 0, 1, &[0; 4]);
                d[0] = 200;
                d
            },
            vec![1, 2, 3],
            msg(NLMSG_ERROR, 0, 1, &[]),
        ] {
            assert!(read_datagram(&d, 1, false, &mut r, &mut i).is_err());
        }
    }
}
