//! Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisement (IPv6) for VIPs.
//!
//! The frame builders are pure. [`GarpSender`] owns one AF_PACKET socket (ARP, sent as a full
//! Ethernet frame so the sender MAC can be the vmac's) and one raw ICMPv6 socket (NA; the
//! kernel adds the IPv6 header, picks the link-local source and computes the checksum). Both
//! sockets are send-only. These do not go through the netlink owner: they change no kernel
//! state, and a VRRP actor that just became MASTER should not queue behind other requests.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
use std::os::fd::OwnedFd;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::types::MacAddr;
use crate::sys::socket as rawsock;

/// Ethernet header (14) + ARP for IPv4 over Ethernet (28).
pub const GARP_FRAME_LEN: usize = 42;
/// ICMPv6 NA (24) + target link-layer address option (8).
pub const NA_LEN: usize = 32;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IP: u16 = 0x0800;
const ICMPV6_NA: u8 = 136;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// All-nodes multicast, the destination of an unsolicited NA.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// A gratuitous ARP exactly as keepalived sends it: broadcast ARP *request* with
/// sender = target = the VIP, sender MAC = `src_mac`, target MAC ff:ff:ff:ff:ff:ff.
pub fn garp_frame(src_mac: MacAddr, vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut f = [0u8; GARP_FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]);
    f[6..12].copy_from_slice(&src_mac.0);
    f[12..14].copy_from_slice(&ETH_P_ARP.to_be_bytes());
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&ETH_P_IP.to_be_bytes());
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // op: request
    f[22..28].copy_from_slice(&src_mac.0);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// The ICMPv6 part of an unsolicited NA for `target` (RFC 4861 §7.2.6): Override set,
/// Solicited clear, Router as given, with a target link-layer address option. The checksum
/// field is left 0 (the raw ICMPv6 socket fills it; see [`icmpv6_checksum`]).
pub fn unsolicited_na(mac: MacAddr, target: Ipv6Addr, router: bool) -> [u8; NA_LEN] {
    let mut b = [0u8; NA_LEN];
    b[0] = ICMPV6_NA;
    b[4] = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    b[8..24].copy_from_slice(&target.octets());
    b[24] = 2; // option: target link-layer address
    b[25] = 1; // length in units of 8 octets
    b[26..32].copy_from_slice(&mac.0);
    b
}

/// ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1); `body` with its checksum
/// field zero.
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, body: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for c in bytes.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(body.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(body);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Send-only sockets for GARP / NA.
#[derive(Debug)]
pub struct GarpSender {
    packet: OwnedFd,
    icmp6: Socket,
}

impl GarpSender {
    /// Needs CAP_NET_RAW.
    pub fn new() -> io::Result<Self> {
        let packet = rawsock::packet_sender()?;

        let icmp6 = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        icmp6.set_nonblocking(true)?;
        icmp6.set_multicast_hops_v6(255)?;
        icmp6.set_unicast_hops_v6(255)?;
        icmp6.set_multicast_loop_v6(false)?;
        // ICMP6_FILTER: block every type, this socket never reads.
        let filter = [u32::MAX; 8];
        // struct icmp6_filter; ICMP6_FILTER is 1.
        rawsock::set(&icmp6, libc::IPPROTO_ICMPV6, 1, &filter)?;
        Ok(GarpSender { packet, icmp6 })
    }

    /// Send a raw Ethernet frame out of `ifindex` (broadcast link-layer destination).
    pub fn send_frame(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        let n = rawsock::send_broadcast_frame(&self.packet, ifindex, ETH_P_ARP, frame)?;
        if n != frame.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }

    /// One gratuitous ARP for `vip` out of `ifindex` with sender MAC `src_mac` (the interface's
    /// or the vmac's).
    pub fn send_garp(&self, ifindex: u32, src_mac: MacAddr, vip: Ipv4Addr) -> io::Result<()> {
        self.send_frame(ifindex, &garp_frame(src_mac, vip))
    }

    /// One unsolicited NA for `vip` out of `ifindex` to ff02::1, hop limit 255.
    pub fn send_na(
        &self,
        ifindex: u32,
        mac: MacAddr,
        vip: Ipv6Addr,
        router: bool,
    ) -> io::Result<()> {
        let body = unsolicited_na(mac, vip, router);
        let dst = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, ifindex));
        let n = self.icmp6.send_to(&body, &dst)?;
        if n != body.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garp_golden() {
        let f = garp_frame(MacAddr::vrrp(51, false), Ipv4Addr::new(10, 0, 0, 100));
        #[rustfmt::skip]
        let golden: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // dst: broadcast
            0x00, 0x00, 0x5e, 0x00, 0x01, 0x33,   // src: VRRP vmac for VRID 51
            0x08, 0x06,                           // ARP
            0x00, 0x01, 0x08, 0x00, 6, 4,         // Ethernet / IPv4
            0x00, 0x01,                           // request
            0x00, 0x00, 0x5e, 0x00, 0x01, 0x33,   // sender MAC
            10, 0, 0, 100,                        // sender IP = VIP
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // target MAC
            10, 0, 0, 100,                        // target IP = VIP
        ];
        assert_eq!(f, golden);
    }

    #[test]
    fn na_golden() {
        let mac = MacAddr([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let vip: Ipv6Addr = "fd00::100".parse().unwrap();
        let b = unsolicited_na(mac, vip, false);
        #[rustfmt::skip]
        let golden: [u8; 32] = [
            136, 0, 0, 0,                         // NA, code 0, checksum (kernel)
            0x20, 0, 0, 0,                        // O=1 S=0 R=0
            0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // target
            2, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, // TLLA option
        ];
        assert_eq!(b, golden);
        assert_eq!(unsolicited_na(mac, vip, true)[4], 0xa0);
    }

    #[test]
    fn checksum_verifies() {
        // A correct checksum makes the one's-complement sum over pseudo-header + body zero.
        let src: Ipv6Addr = "fe80::11:22ff:fe33:4455".parse().unwrap();
        let mut b = unsolicited_na(
            MacAddr([2, 0x11, 0x22, 0x33, 0x44, 0x55]),
            "fd00::100".parse().unwrap(),
            false,
        );
        let c = icmpv6_checksum(src, ALL_NODES, &b);
        b[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(icmpv6_checksum(src, ALL_NODES, &b), 0);
        // Known value: RFC 1071 style example with an all-zero body of 4 bytes between ::/::
        // sums only the length and next-header words.
        assert_eq!(
            icmpv6_checksum(Ipv6Addr::UNSPECIFIED, Ipv6Addr::UNSPECIFIED, &[0; 4]),
            !(4 + 58)
        );
    }
}
