//! Watermark facade.
