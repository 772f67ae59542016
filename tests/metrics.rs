//! The `metrics` feature: what a storage records through the facade, read back.
