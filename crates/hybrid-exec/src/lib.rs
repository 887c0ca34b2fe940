//! The hybrid executor: runs each Fq batch where it finishes first (CPU, GPU or both).
//!
//! For now this crate holds the operator CLI (`hybrid-exec`) and its demo; the router with
//! its measured cost model arrives with its own issue.
