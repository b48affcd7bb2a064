//! Fixtures that ask the client several questions: three at once, two in
//! turn, and only those the client can answer.
//!
//! Questions asked together are asked concurrently, so that every one of
//! them is out before any answer is awaited: on the 2026-07-28 wire they
//! then travel in one `input_required` result. Questions asked in turn
//! make one round each; the core gives each round its own `requestState`.

use super::answers::{Form, elicit, list_roots, sample};
use super::input_required::{
    CAPITAL_MAX_TOKENS, CAPITAL_PROMPT, CAPITAL_QUESTION, CLIENT_ROOTS, NAME, USER_NAME, accepted, asking, roots_text,
};
use crate::{CatalogBuilder, ToolError};
use herd_proto::model::CallToolResult;
use herd_proto::{Context, RpcError};

/// Key of the sampling question of `test_input_required_result_multiple_inputs`.
pub(super) const GREETING: &str = "greeting";
/// What that question asks the model.
pub(super) const GREETING_PROMPT: &str = "Generate a greeting";
/// Its `maxTokens`.
pub(super) const GREETING_MAX_TOKENS: u64 = 50;
/// Key of the first round of `test_input_required_result_multi_round`.
pub(super) const STEP1: &str = "step1";
/// Its question.
pub(super) const STEP1_FORM: Form = Form { message: "Step 1: What is your name?", fields: &[("name", "string")] };
/// Key of the second round.
pub(super) const STEP2: &str = "step2";
/// Its question.
pub(super) const STEP2_FORM: Form =
    Form { message: "Step 2: What is your favorite color?", fields: &[("color", "string")] };

/// Registers the multi-question tools.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.tool(
        asking(
            "multiple_inputs",
            "Multiple inputs",
            "asks at once for the user's name (user_name), a greeting from the client's model \
             (greeting) and the client's roots (client_roots)",
        ),
        |_, cx| async move {
            let (name, greeting, roots) = tokio::join!(
                elicit(&cx, USER_NAME, &NAME),
                sample(&cx, GREETING, GREETING_PROMPT, GREETING_MAX_TOKENS),
                list_roots(&cx, CLIENT_ROOTS),
            );
            let (name, greeting, roots) = (name?, greeting?, roots?);
            let name = accepted(name, "name")?;
            Ok(CallToolResult::text(format!("{greeting} {name}! {}", roots_text(&roots))))
        },
    );
    b.tool(
        asking(
            "multi_round",
            "Multi round",
            "asks for the user's name (step1), then, in a second round, their favorite color (step2)",
        ),
        |_, cx| async move {
            let name = accepted(elicit(&cx, STEP1, &STEP1_FORM).await?, "name")?;
            let color = accepted(elicit(&cx, STEP2, &STEP2_FORM).await?, "color")?;
            Ok(CallToolResult::text(format!("{name}'s favorite color is {color}")))
        },
    );
    b.tool(
        asking(
            "capabilities",
            "Capabilities",
            "asks only what the client declared it can answer: the user's name (user_name) with \
             elicitation, the capital of France (capital_question) with sampling",
        ),
        |_, cx| async move { capabilities(&cx).await },
    );
}

async fn capabilities(cx: &Context) -> Result<CallToolResult, ToolError> {
    let elicits = cx.client_supports("elicitation");
    let samples = cx.client_supports("sampling");
    let ask_name = async {
        if !elicits {
            return Ok::<_, RpcError>(None);
        }
        elicit(cx, USER_NAME, &NAME).await.map(Some)
    };
    let ask_model = async {
        if !samples {
            return Ok(None);
        }
        sample(cx, CAPITAL_QUESTION, CAPITAL_PROMPT, CAPITAL_MAX_TOKENS).await.map(Some)
    };
    let (name, answer) = tokio::join!(ask_name, ask_model);
    let (name, answer) = (name?, answer?);
    let mut parts = Vec::new();
    if let Some(name) = name {
        parts.push(format!("Hello, {}!", accepted(name, "name")?));
    }
    if let Some(answer) = answer {
        parts.push(format!("The model answered: {answer}"));
    }
    if parts.is_empty() {
        parts.push("The client declared neither elicitation nor sampling, so nothing was asked".into());
    }
    Ok(CallToolResult::text(parts.join(" ")))
}
