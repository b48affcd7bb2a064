//! The LLM relay: the fleet's local LLMs behind one OpenAI-compatible API.
//!
//! A workstation runs an OpenAI-compatible server (Ollama, vLLM,
//! llama.cpp, LM Studio) that nobody outside can reach. Its agent, joined
//! to the hub over its outbound channel (herd-channel), publishes that
//! server's models (`[[llm]]`) and named system prompts over them
//! (`[[preset]]`); the hub serves them all as one OpenAI API (`/v1/models`,
//! `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, and the
//! Anthropic `/v1/messages`) under the same tokens and the same policy as
//! MCP.
//!
//! The two ends speak plain HTTP over the channel; [`wire`] is that
//! contract, the only thing they share:
//!
//! - the agent end ([`agent`]) answers the hub's `GET` [`wire::LISTING_PATH`] with the
//!   [`wire::Listing`] of its providers and presets, and forwards each
//!   `POST` [`wire::FORWARD_PREFIX`]`{provider}/{endpoint}` to that
//!   provider, streaming the answer back as it arrives;
//! - the hub end ([`hub`]) keeps the listings of every connected agent,
//!   decides who may see and use what, picks a pool member, and relays.

pub mod agent;
pub mod hub;
pub mod wire;

pub use hub::{Relay, RelayConfig, RelayError};
