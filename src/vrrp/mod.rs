//! vrrp (under construction)
