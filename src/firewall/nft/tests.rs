//! Golden bytes: transcribed from `nft --debug=mnl` (nftables 1.0.6) for the same commands,
//! without the optional attributes nft adds (`NFTA_SET_ELEM_LIST_SET_ID`,
//! `NFTA_LOOKUP_SET_ID`), and with our flags (ACK on every message, CREATE/APPEND/EXCL).

use super::*;

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect()
}

const BEGIN_SEQ_4: &str = "14 00 00 00 10 00 01 00 04 00 00 00 00 00 00 00 00 00 00 0a";
const END_SEQ_6: &str = "14 00 00 00 11 00 01 00 06 00 00 00 00 00 00 00 00 00 00 0a";
const KEEPALIVED: &str = "0f 00 01 00 6b 65 65 70 61 6c 69 76 65 64 00 00";

#[test]
fn add_element_ip_keepalived_vips() {
    // nft add element ip keepalived vips { 10.99.0.101 }
    let mut b = Batch::new(4);
    b.set_elems(
        true,
        Family::Ip,
        "keepalived",
        "vips",
        &[vec![10, 99, 0, 101]],
    );
    let (bytes, first, last) = b.finish();
    let msg = format!(
        "44 00 00 00 0c 0a 05 06 05 00 00 00 00 00 00 00 02 00 00 00 {KEEPALIVED} \
         09 00 02 00 76 69 70 73 00 00 00 00 \
         14 00 03 80 10 00 01 80 0c 00 01 80 08 00 01 00 0a 63 00 65"
    );
    let want = hex(&format!("{BEGIN_SEQ_4} {msg} {END_SEQ_6}"));
    assert_eq!(bytes, want);
    assert_eq!((first, last), (5, 5));
}

#[test]
fn rule_ip_daddr_in_vips_drop() {
    // nft add rule ip keepalived in ip daddr @vips drop
    let mut b = Batch::new(4);
    b.new_rule(
        Family::Ip,
        "keepalived",
        "in",
        &[
            Expr::Payload {
                base: Base::Network,
                offset: 16,
                len: 4,
            },
            Expr::Lookup("vips".into()),
            Expr::Verdict(Verdict::Drop),
        ],
    );
    let (bytes, _, _) = b.finish();
    let msg = format!(
        "bc 00 00 00 06 0a 05 0c 05 00 00 00 00 00 00 00 02 00 00 00 {KEEPALIVED} \
         07 00 02 00 69 6e 00 00 \
         90 00 04 80 \
           34 00 01 80 0c 00 01 00 70 61 79 6c 6f 61 64 00 \
             24 00 02 80 08 00 01 00 00 00 00 01 08 00 02 00 00 00 00 01 \
                         08 00 03 00 00 00 00 10 08 00 04 00 00 00 00 04 \
           28 00 01 80 0b 00 01 00 6c 6f 6f 6b 75 70 00 00 \
             18 00 02 80 08 00 02 00 00 00 00 01 09 00 01 00 76 69 70 73 00 00 00 00 \
           30 00 01 80 0e 00 01 00 69 6d 6d 65 64 69 61 74 65 00 00 00 \
             1c 00 02 80 08 00 01 00 00 00 00 00 \
               10 00 02 80 0c 00 02 80 08 00 01 00 00 00 00 00"
    );
    assert_eq!(bytes, hex(&format!("{BEGIN_SEQ_4} {msg} {END_SEQ_6}")));
}

#[test]
fn base_chain_and_table() {
    // nft add table ip keepalived; nft add chain ip keepalived out
    //   { type filter hook output priority -1; policy accept; }
    let mut b = Batch::new(4);
    b.new_table(Family::Ip, "keepalived");
    b.new_chain(Family::Ip, "keepalived", "out", Some((Hook::Output, -1)));
    let (bytes, first, last) = b.finish();
    let table = format!("24 00 00 00 00 0a 05 04 05 00 00 00 00 00 00 00 02 00 00 00 {KEEPALIVED}");
    let chain = format!(
        "54 00 00 00 03 0a 05 04 06 00 00 00 00 00 00 00 02 00 00 00 {KEEPALIVED} \
         08 00 03 00 6f 75 74 00 \
         0b 00 07 00 66 69 6c 74 65 72 00 00 \
         08 00 05 00 00 00 00 01 \
         14 00 04 80 08 00 01 00 00 00 00 03 08 00 02 00 ff ff ff ff"
    );
    let end = "14 00 00 00 11 00 01 00 07 00 00 00 00 00 00 00 00 00 00 0a";
    assert_eq!(bytes, hex(&format!("{BEGIN_SEQ_4} {table} {chain} {end}")));
    assert_eq!((first, last), (5, 6));
}

fn ack(seq: u32, errno: i32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&36u32.to_ne_bytes());
    v.extend_from_slice(&2u16.to_ne_bytes());
    v.extend_from_slice(&0x100u16.to_ne_bytes());
    v.extend_from_slice(&seq.to_ne_bytes());
    v.extend_from_slice(&0u32.to_ne_bytes());
    v.extend_from_slice(&errno.to_ne_bytes());
    v.extend_from_slice(&[0; 16]); // the request's header
    v
}

#[test]
fn acks_until_the_last_message() {
    let mut err = None;
    let mut d = ack(5, 0);
    d.extend(ack(6, 0));
    assert_eq!(read_acks(&d, 5, 7, &mut err), Replies::More);
    assert_eq!(read_acks(&ack(7, 0), 5, 7, &mut err), Replies::Done);
    assert_eq!(err, None);
}

#[test]
fn first_error_is_kept_and_strangers_ignored() {
    let mut err = None;
    let mut d = ack(99, -1); // not ours
    d.extend(ack(5, -17)); // EEXIST
    d.extend(ack(6, -2));
    assert_eq!(read_acks(&d, 5, 6, &mut err), Replies::Done);
    assert_eq!(err, Some(17));
    // Truncated datagrams end the walk without panicking.
    assert_eq!(read_acks(&d[..30], 5, 6, &mut None), Replies::More);
}
