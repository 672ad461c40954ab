//! Fixes of denied calls (filled in below).
