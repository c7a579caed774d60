//! bfd (under construction)
