//! Fixtures for the official MCP conformance suite.
