//! netlink (under construction)
