//! JSON-RPC batches, which only the 2025-03-26 revision allows.
//!
//! A client whose session negotiated 2025-03-26 may send a JSON array of
//! requests, notifications and responses in one HTTP POST or on one stdio
//! line. Later revisions removed batches, so on any other session (and
//! outside a session) a batch is refused whole with `-32600`, as it always
//! was. A batch holds at most [`MAX_BATCH_MESSAGES`] messages, and
//! `initialize` may not be one of them (the revision says so: the session
//! must exist before a batch can name it).
//!
//! [`open`] takes a batch apart: notifications and responses go to the
//! session at once, in order; members that are not valid messages (or an
//! `initialize`) are answered on their own, each with its error; the
//! requests are left for the transport to run side by side, so one slow
//! request delays only the answer to its own batch.

use herd_proto::{Message, ParseError, ProtocolVersion, Request, RpcError, error_json, method};
use herd_router::Session;

/// Most messages one batch may hold.
pub const MAX_BATCH_MESSAGES: usize = 100;

/// A batch taken apart.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The requests to run.
    pub(crate) requests: Vec<Request>,
    /// Answers already due: the errors of members that were refused.
    pub(crate) refused: Vec<String>,
}

/// Why a batch is refused outside a session of 2025-03-26: `-32700` when
/// it is not JSON, `-32600` otherwise. Answered with one error object (id
/// `null`).
pub(crate) fn refusal(bytes: &[u8]) -> RpcError {
    match Message::parse_batch(bytes) {
        Err(e @ ParseError::Json(_)) => e.to_rpc_error(),
        _ => RpcError::invalid_request(
            "invalid request: JSON-RPC batches are not supported (only sessions of protocol revision 2025-03-26 take \
             them)",
        ),
    }
}

/// Takes a batch apart for `session` (see the module docs). `Err` refuses
/// the whole batch, to be answered with one error object (id `null`).
pub(crate) fn open(bytes: &[u8], session: &Session) -> Result<Batch, RpcError> {
    if session.protocol_version() != Some(ProtocolVersion::V2025_03_26) {
        return Err(refusal(bytes));
    }
    let members = Message::parse_batch(bytes).map_err(|e| e.to_rpc_error())?;
    if members.len() > MAX_BATCH_MESSAGES {
        return Err(RpcError::invalid_request(format!(
            "invalid request: a batch of {} messages is more than the {MAX_BATCH_MESSAGES} allowed; split it",
            members.len()
        )));
    }
    let mut batch = Batch::default();
    for member in members {
        match member {
            Ok(Message::Request(r)) if r.method == method::INITIALIZE => {
                let err = RpcError::invalid_request("invalid request: initialize must not be part of a batch");
                batch.refused.push(error_json(Some(&r.id), &err));
            }
            Ok(Message::Request(r)) => batch.requests.push(r),
            Ok(Message::Notification(n)) => session.handle_notification(n),
            Ok(Message::Response(r)) => session.handle_response(r),
            Err(e) => batch.refused.push(error_json(e.id(), &e.to_rpc_error())),
        }
    }
    Ok(batch)
}

/// The JSON array of `answers`.
pub(crate) fn array<'a>(answers: impl IntoIterator<Item = &'a String>) -> String {
    let mut out = String::from("[");
    for (i, answer) in answers.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(answer);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_make_one_array() {
        assert_eq!(array(&[]), "[]");
        let answers = [r#"{"a":1}"#.to_owned(), r#"{"b":2}"#.to_owned()];
        assert_eq!(array(&answers), r#"[{"a":1},{"b":2}]"#);
    }

    #[test]
    fn without_a_session_a_batch_is_refused_whole() {
        let err = refusal(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#);
        assert_eq!(err.code, herd_proto::code::INVALID_REQUEST);
        assert!(err.message.contains("2025-03-26"), "{}", err.message);
        assert_eq!(refusal(b"[1,").code, herd_proto::code::PARSE_ERROR);
    }
}
