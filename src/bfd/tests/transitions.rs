//! The full reception table of RFC 5880 §6.8.6: every local state × every received state.

use super::solo::{peer, state_changes, Solo, LOCAL};
use crate::bfd::{Action, Diag, DiscardReason, SessionParams, State};

const ALL: [State; 4] = [State::AdminDown, State::Down, State::Init, State::Up];

/// Expected (new state, diag of the change) or None for "no change".
fn expected(local: State, received: State) -> Option<(State, Diag)> {
    use State::*;
    match (local, received) {
        (AdminDown, _) => None,
        (Init | Up, AdminDown) => Some((Down, Diag::NeighborSignaledDown)),
        (Down, AdminDown) => None,
        (Down, Down) => Some((Init, Diag::None)),
        (Down, Init) => Some((Up, Diag::None)),
        (Down, Up) => None,
        (Init, Down) => None,
        (Init, Init | Up) => Some((Up, Diag::None)),
        (Up, Down) => Some((Down, Diag::NeighborSignaledDown)),
        (Up, Init | Up) => None,
    }
}

#[test]
fn every_local_state_times_every_received_state() {
    for local in ALL {
        for received in ALL {
            let mut s = Solo::new(SessionParams::default());
            s.drive_to(local);
            let your = if matches!(received, State::Init | State::Up) {
                LOCAL
            } else {
                0
            };
            let actions = s.rx(&peer(received, your));
            let changes = state_changes(&actions);
            match expected(local, received) {
                Some((to, diag)) => {
                    assert_eq!(changes, vec![(local, to, diag)], "{local} <- {received}");
                    assert_eq!(s.s.state(), to);
                    assert_eq!(s.s.local_diag(), diag);
                }
                None => {
                    assert!(changes.is_empty(), "{local} <- {received}: {changes:?}");
                    assert_eq!(s.s.state(), local);
                }
            }
            if local == State::AdminDown {
                assert!(actions.contains(&Action::Discarded(DiscardReason::LocalAdminDown)));
            }
            // Remote variables are always recorded (§6.8.6, before the AdminDown discard).
            assert_eq!(s.s.remote().state, received);
            assert_eq!(s.s.remote_discr(), super::solo::PEER);
        }
    }
}

#[test]
fn new_session_is_inert_until_enabled() {
    let mut s = crate::bfd::Session::new(SessionParams::default(), 9);
    let mut rng = crate::bfd::SplitMix64(1);
    let now = std::time::Instant::now();
    assert_eq!(s.state(), State::AdminDown);
    let a = s.handle(
        crate::bfd::Event::Packet(&peer(State::Down, 0)),
        now,
        &mut rng,
    );
    assert_eq!(a, vec![Action::Discarded(DiscardReason::LocalAdminDown)]);
    assert_eq!(s.tx_deadline(), None);
    let a = s.handle(crate::bfd::Event::Enable, now, &mut rng);
    assert_eq!(
        state_changes(&a),
        vec![(State::AdminDown, State::Down, Diag::None)]
    );
    // Sends at once (the peer is known, so Your Discriminator is filled in).
    let tx = super::solo::transmitted(&a);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].state, State::Down);
    assert_eq!(tx[0].your_discr, super::solo::PEER);
}

#[test]
fn wrong_discriminator_and_auth_are_discarded_without_effect() {
    let mut s = Solo::new(SessionParams::default());
    s.drive_to(State::Up);
    let mut p = peer(State::Down, LOCAL + 1);
    let a = s.rx(&p);
    assert_eq!(
        a,
        vec![Action::Discarded(DiscardReason::WrongDiscriminator {
            got: LOCAL + 1
        })]
    );
    assert_eq!(s.s.state(), State::Up);
    p.your_discr = LOCAL;
    p.auth = Some(crate::bfd::AuthSection {
        auth_type: 1,
        data: vec![1, b'x'],
    });
    let a = s.rx(&p);
    assert_eq!(
        a,
        vec![Action::Discarded(DiscardReason::AuthenticationNotInUse)]
    );
    assert_eq!(s.s.state(), State::Up);
}
