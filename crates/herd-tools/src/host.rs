//! The agent's host tools.
