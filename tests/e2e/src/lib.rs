//! akashi-e2e
