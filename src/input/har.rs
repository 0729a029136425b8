//! Streaming HAR 1.2 reader (placeholder).
