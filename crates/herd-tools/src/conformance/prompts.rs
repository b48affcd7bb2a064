//! The `test_*` prompts and the completion for
//! `test_prompt_with_arguments`' `arg1`.
//!
//! A prompt missing a required argument is a JSON-RPC invalid-params error,
//! as the specification asks.

use super::media::{PNG_BASE64, PNG_MIME};
use crate::CatalogBuilder;
use crate::catalog::CompletionRef;
use herd_proto::RpcError;
use herd_proto::model::{
    Completion, Content, GetPromptResult, Prompt, PromptArgument, PromptMessage, ResourceContents,
};
use serde_json::{Map, Value};

/// Name of the prompt that takes arguments (and has completions).
pub(super) const WITH_ARGUMENTS: &str = "test_prompt_with_arguments";

/// What `arg1` completes to; the completion returns those starting with the
/// typed prefix.
pub(super) const ARG1_VALUES: [&str; 5] = ["paris", "park", "party", "test", "testing"];

/// Registers the prompts and the `arg1` completion.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.prompt(prompt("test_simple_prompt", "A prompt without arguments", &[]), |_, _| async {
        Ok(messages(vec![Content::text("This is a simple prompt for testing.")]))
    });
    b.prompt(
        prompt(
            WITH_ARGUMENTS,
            "A prompt that substitutes two arguments",
            &[("arg1", "First test argument"), ("arg2", "Second test argument")],
        ),
        |args, _| async move {
            let arg1 = required(&args, "arg1")?;
            let arg2 = required(&args, "arg2")?;
            let text = format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'");
            Ok(messages(vec![Content::text(text)]))
        },
    );
    b.prompt(
        prompt(
            "test_prompt_with_embedded_resource",
            "A prompt that embeds the resource it is given",
            &[("resourceUri", "URI of the resource to embed")],
        ),
        |args, _| async move {
            let uri = required(&args, "resourceUri")?;
            Ok(messages(vec![
                Content::Resource {
                    resource: ResourceContents::text(uri, "text/plain", "Embedded resource content for testing."),
                },
                Content::text("Please process the embedded resource above."),
            ]))
        },
    );
    b.prompt(prompt("test_prompt_with_image", "A prompt with an image", &[]), |_, _| async {
        Ok(messages(vec![
            Content::Image { data: PNG_BASE64.into(), mime_type: PNG_MIME.into() },
            Content::text("Please analyze the image above."),
        ]))
    });
    b.completion(CompletionRef::Prompt(WITH_ARGUMENTS.into()), "arg1", |value, _| complete_arg1(value));
}

/// The suggestions for `arg1` starting with `prefix` (case-insensitive).
pub(super) fn complete_arg1(prefix: &str) -> Completion {
    let prefix = prefix.to_lowercase();
    let values: Vec<String> = ARG1_VALUES.iter().filter(|v| v.starts_with(&prefix)).map(|v| (*v).to_owned()).collect();
    Completion { total: Some(values.len() as u64), values, has_more: false }
}

fn prompt(name: &str, description: &str, arguments: &[(&str, &str)]) -> Prompt {
    Prompt {
        name: name.into(),
        description: Some(format!("{description} (conformance fixture)")),
        arguments: arguments
            .iter()
            .map(|(name, description)| PromptArgument {
                name: (*name).into(),
                description: Some((*description).into()),
                required: true,
            })
            .collect(),
    }
}

fn messages(contents: Vec<Content>) -> GetPromptResult {
    GetPromptResult { description: None, messages: contents.into_iter().map(PromptMessage::user).collect() }
}

fn required(args: &Map<String, Value>, name: &str) -> Result<String, RpcError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| RpcError::invalid_params(format!("missing required argument: {name}")))
}
