//! Helpers shared by the crate's tests.

use herd_proto::model::Tool;
use serde_json::json;

/// A tool definition taking any object.
pub(crate) fn tool(name: &str) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: format!("test tool {name}"),
        input_schema: json!({"type":"object"}),
        output_schema: None,
        annotations: None,
    }
}
