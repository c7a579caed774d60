//! `cargo fuzz run bfd_decode`: the BFD control packet decoder never panics, anything it
//! accepts re-encodes to the same fields (only Length may differ: padding inside Length is
//! not kept) and decodes back to the same packet, and a session fed the packet never
//! panics either.
#![no_main]

use keepalived_rs::bfd::{ControlPacket, Event, Session, SessionParams, SplitMix64};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pkt) = ControlPacket::decode(data) else {
        return;
    };
    let bytes = pkt.to_bytes();
    assert_eq!(&bytes[..3], &data[..3]);
    assert_eq!(&bytes[4..24], &data[4..24]);
    assert_eq!(ControlPacket::decode(&bytes).as_ref(), Ok(&pkt));

    let mut session = Session::new(SessionParams::default(), 1);
    let mut rng = SplitMix64(u64::from(pkt.my_discr));
    let now = std::time::Instant::now();
    session.handle(Event::Enable, now, &mut rng);
    session.handle(Event::Packet(&pkt), now, &mut rng);
});
