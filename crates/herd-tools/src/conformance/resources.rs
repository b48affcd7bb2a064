//! The `test://` resources and the resource template the suite reads.
//!
//! `test://watched-resource` is the one the subscribe and unsubscribe
//! scenarios use; the catalog accepts both requests for any resource once
//! it is built as subscribable.

use super::media::{PNG_BASE64, PNG_MIME};
use crate::CatalogBuilder;
use herd_proto::model::{Resource, ResourceContents, ResourceTemplate};
use serde_json::json;

/// URI of the static text resource.
pub(super) const STATIC_TEXT_URI: &str = "test://static-text";
/// Its text.
pub(super) const STATIC_TEXT: &str = "This is the content of the static text resource.";
/// URI of the static binary (PNG) resource.
pub(super) const STATIC_BINARY_URI: &str = "test://static-binary";
/// URI of the resource clients subscribe to.
pub(super) const WATCHED_URI: &str = "test://watched-resource";
/// The resource template.
pub(super) const TEMPLATE: &str = "test://template/{id}/data";

/// Registers the resources and the template.
pub(super) fn register(b: &mut CatalogBuilder) {
    b.resource(
        resource(STATIC_TEXT_URI, "static-text", "A static text resource (conformance fixture)", "text/plain"),
        |uri, _| async move { Ok(vec![ResourceContents::text(uri, "text/plain", STATIC_TEXT)]) },
    );
    b.resource(
        resource(
            STATIC_BINARY_URI,
            "static-binary",
            "A static binary resource: a 1x1 PNG image (conformance fixture)",
            PNG_MIME,
        ),
        |uri, _| async move { Ok(vec![ResourceContents::blob(uri, PNG_MIME, PNG_BASE64)]) },
    );
    b.resource(
        resource(
            WATCHED_URI,
            "watched-resource",
            "A resource clients can subscribe to (conformance fixture)",
            "text/plain",
        ),
        |uri, _| async move { Ok(vec![ResourceContents::text(uri, "text/plain", "Watched resource content")]) },
    );
    b.template(
        ResourceTemplate {
            uri_template: TEMPLATE.into(),
            name: "template".into(),
            description: Some("Data for an id, with the id substituted into the content (conformance fixture)".into()),
            mime_type: Some("application/json".into()),
        },
        |uri, vars, _| async move {
            let id = vars.get("id").cloned().unwrap_or_default();
            let text = json!({
                "id": id,
                "templateTest": true,
                "data": format!("Data for ID: {id}"),
            });
            Ok(vec![ResourceContents::text(uri, "application/json", text.to_string())])
        },
    );
}

fn resource(uri: &str, name: &str, description: &str, mime_type: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        description: Some(description.into()),
        mime_type: Some(mime_type.into()),
    }
}
