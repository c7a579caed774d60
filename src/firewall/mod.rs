//! The VIP firewall (keepalived's `nftables` / accept mode): traffic to and from the VIPs of
//! a MASTER that is not the address owner and does not run in accept mode is dropped, with
//! keepalived 2.2.7's table/chain/set layout, programmed over nf_tables netlink by one owner.
//!
//! - [`nft`]: message encoding (pure);
//! - [`model`]: which instances need it and what to install (pure);
//! - [`actor`]: the owner task.
#![forbid(unsafe_code)]

pub mod actor;
pub mod model;
pub mod nft;

pub use actor::{spawn, FirewallHandle};
pub use model::{blocks_vips, config_for, fw_addrs, FirewallConfig, FwAddr};
