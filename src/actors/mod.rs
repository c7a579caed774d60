//! actors (under construction)
