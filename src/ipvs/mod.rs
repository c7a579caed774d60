//! ipvs (under construction)
