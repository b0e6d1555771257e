//! gpt2giga — an OpenAI- and Anthropic-compatible proxy in front of GigaChat.

pub mod config;
