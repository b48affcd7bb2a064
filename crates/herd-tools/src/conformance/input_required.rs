//! Fixtures that ask the client one question (SEP-2322 `input_required`
//! results in the 2026-07-28 suite): one per kind of question, the
//! `requestState` pair, and the prompt that asks before it renders.
//!
//! Each asks under the key the suite looks for and answers from what came
//! back; the core carries the question out (a request, or an
//! `inputRequests` entry) and signs and checks the `requestState` itself.

use super::answers::{Form, Reply, elicit, list_roots, sample};
use super::{asks_client, no_arguments, tool};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::{CallToolResult, Content, GetPromptResult, Prompt, PromptMessage};
use herd_proto::{Context, RpcError};
use serde_json::Value;

/// Key of the name question (basic elicitation, multiple inputs).
pub(super) const USER_NAME: &str = "user_name";
/// The name question.
pub(super) const NAME: Form = Form { message: "What is your name?", fields: &[("name", "string")] };
/// Key of the sampling question.
pub(super) const CAPITAL_QUESTION: &str = "capital_question";
/// What the sampling fixture asks the model.
pub(super) const CAPITAL_PROMPT: &str = "What is the capital of France?";
/// `maxTokens` of the sampling question.
pub(super) const CAPITAL_MAX_TOKENS: u64 = 100;
/// Key of the roots question.
pub(super) const CLIENT_ROOTS: &str = "client_roots";
/// Key of the confirmation of the two `requestState` fixtures.
pub(super) const CONFIRM: &str = "confirm";
/// The confirmation of `test_input_required_result_request_state`.
pub(super) const PLEASE_CONFIRM: Form = Form { message: "Please confirm", fields: &[("ok", "boolean")] };
/// The confirmation of `test_input_required_result_tampered_state`.
pub(super) const CONFIRM_SIGNED: Form =
    Form { message: "Please confirm (this call's request state is signed)", fields: &[("ok", "boolean")] };
/// Name of the prompt that asks before it renders.
pub(super) const PROMPT: &str = "test_input_required_result_prompt";
/// Key of the prompt's question.
pub(super) const USER_CONTEXT: &str = "user_context";
/// The prompt's question.
pub(super) const CONTEXT: Form =
    Form { message: "What context should the prompt use?", fields: &[("context", "string")] };

/// Registers the single-question tools and the prompt.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        asking("elicitation", "Elicitation", "asks the user's name (key user_name) and greets them"),
        |_, cx| async move {
            let name = accepted(elicit(&cx, USER_NAME, &NAME).await?, "name")?;
            Ok(CallToolResult::text(format!("Hello, {name}!")))
        },
    );
    b.tool(
        asking("sampling", "Sampling", "asks the client's model the capital of France (key capital_question)"),
        |_, cx| async move {
            let text = sample(&cx, CAPITAL_QUESTION, CAPITAL_PROMPT, CAPITAL_MAX_TOKENS).await?;
            Ok(CallToolResult::text(format!("The model answered: {text}")))
        },
    );
    b.tool(
        asking("list_roots", "Roots", "asks for the client's roots (key client_roots) and lists them"),
        |_, cx| async move {
            let roots = list_roots(&cx, CLIENT_ROOTS).await?;
            Ok(CallToolResult::text(roots_text(&roots)))
        },
    );
    b.tool(
        asking(
            "request_state",
            "Request state",
            "asks for a confirmation (key confirm); the retry must echo the requestState, and the \
             answer says state-ok",
        ),
        |_, cx| async move { confirmed(&cx, &PLEASE_CONFIRM).await },
    );
    b.tool(
        asking(
            "tampered_state",
            "Tampered state",
            "asks for a confirmation (key confirm); a retry whose requestState was altered is \
             refused",
        ),
        |_, cx| async move { confirmed(&cx, &CONFIRM_SIGNED).await },
    );
    let prompt = Prompt {
        name: PROMPT.into(),
        description: Some(
            "Asks the user which context to use (key user_context), then renders a prompt with it \
             (conformance fixture)"
                .into(),
        ),
        arguments: Vec::new(),
    };
    b.prompt(prompt, |_, cx| async move {
        let context = match elicit(&cx, USER_CONTEXT, &CONTEXT).await? {
            Reply::Accepted(content) => string(&content, "context"),
            Reply::Refused(action) => {
                return Err(RpcError::invalid_params(format!(
                    "the user chose to {action}; the prompt needs a context"
                )));
            }
        };
        let text = format!("Answer with this context in mind: {context}");
        Ok(GetPromptResult {
            description: Some("A prompt rendered with the context the user gave".into()),
            messages: vec![PromptMessage::user(Content::text(text))],
        })
    });
}

/// The definition of `test_input_required_result_<suffix>`.
pub(super) fn asking(suffix: &str, title: &str, what: &str) -> herd_proto::model::Tool {
    let description = format!("Input-required fixture: {what} (conformance fixture)");
    tool(&format!("test_input_required_result_{suffix}"), title, &description, no_arguments(), asks_client())
}

/// The string field `field` of an accepted form, or a tool error when the
/// user declined.
pub(super) fn accepted(reply: Reply, field: &str) -> Result<String, ToolError> {
    match reply {
        Reply::Accepted(content) => Ok(string(&content, field)),
        Reply::Refused(action) => Err(ToolError::Failed(format!("the user chose to {action}; no {field} was given"))),
    }
}

/// A text naming the client's roots.
pub(super) fn roots_text(roots: &[String]) -> String {
    if roots.is_empty() { "The client shares no roots".into() } else { format!("Client roots: {}", roots.join(", ")) }
}

/// A field [`super::answers::check_reply`] found to be a string.
fn string(content: &serde_json::Map<String, Value>, field: &str) -> String {
    content.get(field).and_then(Value::as_str).unwrap_or_default().to_owned()
}

async fn confirmed(cx: &Context, form: &Form) -> Result<CallToolResult, ToolError> {
    let text = match elicit(cx, CONFIRM, form).await? {
        Reply::Accepted(content) => {
            let ok = content.get("ok").and_then(Value::as_bool).unwrap_or_default();
            format!("state-ok (confirmed: {ok})")
        }
        Reply::Refused(action) => return Err(ToolError::Failed(format!("the user chose to {action}"))),
    };
    Ok(CallToolResult::text(text))
}
