//! `bfd_instance NAME { ... }`.

use super::super::diag::Diagnostics;
use super::super::keywords;
use super::super::model::{BfdInstance, Spans};
use super::super::tree::Node;
use super::super::values::{self as v};
use super::{not_handled, span};
use std::time::Duration;

/// Builds one bfd_instance with keepalived's defaults.
pub fn instance(name: &str, block: &Node, children: &[Node], d: &mut Diagnostics) -> BfdInstance {
    let mut b = BfdInstance {
        name: name.to_string(),
        loc: block.loc.clone(),
        spans: Spans::default(),
        neighbor_ip: None,
        source_ip: None,
        min_rx: Duration::from_millis(10),
        min_tx: Duration::from_millis(10),
        idle_tx: Duration::from_millis(1000),
        multiplier: 5,
        passive: false,
        ttl: 255,
        hoplimit: 64,
        max_hops: 0,
        multihop: false,
        weight: 0,
        reverse: false,
        disabled: false,
    };
    for n in children {
        if !keywords::accept("bfd_instance", n, d) {
            continue;
        }
        span(&mut b.spans, n);
        match n.keyword.as_str() {
            "neighbor_ip" | "neighbour_ip" => b.neighbor_ip = v::ip_arg(n, d),
            "source_ip" => b.source_ip = v::ip_arg(n, d),
            "min_rx" => b.min_rx = v::millis_arg(n, 1.0, 4_294_967.0, d).unwrap_or(b.min_rx),
            "min_tx" => b.min_tx = v::millis_arg(n, 1.0, 4_294_967.0, d).unwrap_or(b.min_tx),
            "idle_tx" => b.idle_tx = v::millis_arg(n, 1000.0, 4_294_967.0, d).unwrap_or(b.idle_tx),
            "multiplier" => b.multiplier = v::int_arg(n, 1u8, 255, d).unwrap_or(b.multiplier),
            "passive" => b.passive = true,
            "ttl" => b.ttl = v::int_arg(n, 1u8, 255, d).unwrap_or(b.ttl),
            "hoplimit" => b.hoplimit = v::int_arg(n, 1u8, 255, d).unwrap_or(b.hoplimit),
            "max_hops" => b.max_hops = v::int_arg(n, 0u8, 255, d).unwrap_or(b.max_hops),
            "multihop" => b.multihop = v::bool_arg(n, d).unwrap_or(true),
            "weight" => {
                b.weight = v::int_arg(n, -253, 253, d).unwrap_or(0);
                b.reverse = n.arg(1) == Some("reverse");
            }
            "disabled" => b.disabled = true,
            _ => not_handled(n, d),
        }
    }
    if b.neighbor_ip.is_none()
        && b.spans.get("neighbor_ip").is_none()
        && b.spans.get("neighbour_ip").is_none()
    {
        d.recover(
            &block.loc,
            format!("bfd_instance {name}: no neighbor_ip"),
            "removing the bfd_instance",
        );
    }
    if let (Some(n), Some(s)) = (b.neighbor_ip, b.source_ip) {
        if n.is_ipv4() != s.is_ipv4() {
            let loc = b
                .spans
                .get("source_ip")
                .cloned()
                .unwrap_or_else(|| block.loc.clone());
            d.recover(
                &loc,
                format!("bfd_instance {name}: source_ip {s} and neighbor_ip {n} are of different families"),
                "removing the bfd_instance",
            );
        }
    }
    b
}
