//! Resolving the dynamic id of the "IPVS" generic-netlink family through
//! the generic-netlink controller (`CTRL_CMD_GETFAMILY`).

use netlink_packet_core::{
    parse_u16, DecodeError, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator, NLM_F_ACK,
    NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlHeader, GenlMessage};

/// `GENL_ID_CTRL`: the controller's fixed family id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_ATTR_FAMILY_ID`.
const CTRL_ATTR_FAMILY_ID: u16 = 1;

/// The `CTRL_CMD_GETFAMILY` request for `name`.
pub fn get_family_request(name: &str, seq: u32, port: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = seq;
    header.port_number = port;
    let genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(name.to_string())],
    });
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// The family id in a controller reply payload (genlmsghdr + attributes).
/// Only `CTRL_ATTR_FAMILY_ID` is read, so unknown or malformed nested
/// attributes (ops, multicast groups, policies) do not matter.
pub fn family_id_from_reply(payload: &[u8]) -> Result<u16, DecodeError> {
    GenlHeader::parse(payload)?;
    for nla in NlasIterator::new(&payload[4..]) {
        let nla = nla?;
        if nla.kind() == CTRL_ATTR_FAMILY_ID {
            return parse_u16(nla.value());
        }
    }
    Err(DecodeError::from(
        "controller reply without CTRL_ATTR_FAMILY_ID",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-derived from genetlink.h: nlmsghdr {len 32, type GENL_ID_CTRL,
    /// flags REQUEST|ACK, seq, pid}, genlmsghdr {cmd CTRL_CMD_GETFAMILY=3,
    /// version 2 (netlink-packet-generic's controller version)}, then
    /// CTRL_ATTR_FAMILY_NAME(2) "IPVS\0" padded to 4.
    #[test]
    fn golden_getfamily_request() {
        let bytes = get_family_request("IPVS", 1, 0);
        #[rustfmt::skip]
        let expected: [u8; 32] = [
            32, 0, 0, 0,  0x10, 0,  5, 0,  1, 0, 0, 0,  0, 0, 0, 0,
            3, 2, 0, 0,
            9, 0, 2, 0,  b'I', b'P', b'V', b'S', 0, 0, 0, 0,
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn reply_parsing() {
        let mut p = vec![1, 2, 0, 0];
        p.extend_from_slice(&[9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0]);
        p.extend_from_slice(&[6, 0, 1, 0, 0x23, 0, 0, 0]);
        assert_eq!(family_id_from_reply(&p).unwrap(), 0x23);
        assert!(family_id_from_reply(&p[..16]).is_err());
        assert!(family_id_from_reply(&[1]).is_err());
    }
}
