//! Integration tests of `xuncha-core`: the transition table exercised through the fold, and the
//! offline store on real SQLite files in temporary folders.

mod fixtures;
mod store;
mod transitions;
