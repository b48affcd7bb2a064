//! One request's way through the session: POST it (once more on a fresh
//! session if the server forgot the old one) and read its answer, a JSON
//! body or an SSE stream resumed with `Last-Event-ID` when it breaks.

use super::client::{Body, ReadError, read_to_end};
use super::events::{End, Events, is_sse};
use super::replay::Replay;
use super::{Handshake, Inner};
use crate::UpstreamError;
use herd_proto::{Message, RequestId, Response};
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

impl Inner {
    pub(super) async fn call(
        &self,
        id: &RequestId,
        body: String,
        replay: Replay,
        events: &mpsc::UnboundedSender<Message>,
        closed: &mpsc::UnboundedSender<()>,
    ) -> Result<Response, UpstreamError> {
        let mut session = self.session().await?;
        // Kept for a resend on a fresh session; cloning it copies nothing.
        let body = bytes::Bytes::from(body);
        let mut response = self.post(body.clone(), Some(&session), replay).await?;
        if response.status() == StatusCode::NOT_FOUND && session.session_id.is_some() {
            tracing::debug!(upstream = %self.shown, "upstream forgot the session; opening a new one");
            self.open(Some(&session)).await?;
            session = self.session().await?;
            response = self.post(body, Some(&session), replay).await?;
        }
        self.read_answer(response, id, events, Some(closed), Some(&session)).await
    }

    /// Reads the answer to request `id`: a JSON body or an SSE stream that
    /// carries other messages first (sent to `events`), resumed when cut.
    /// A stream the server ended itself after advising a retry delay (SSE
    /// polling) is reported to `closed` before it is resumed.
    pub(super) async fn read_answer(
        &self,
        response: http::Response<Body>,
        id: &RequestId,
        events: &mpsc::UnboundedSender<Message>,
        closed: Option<&mpsc::UnboundedSender<()>>,
        session: Option<&Arc<Handshake>>,
    ) -> Result<Response, UpstreamError> {
        let mut response = self.check_status(response).await?;
        let mut resumes = 0;
        loop {
            if !is_sse(&response) {
                let bytes = match read_to_end(response.into_body(), self.config.max_message_bytes).await {
                    Ok(bytes) => bytes,
                    Err(ReadError::TooLarge) => return Err(self.protocol("answer too large".into())),
                    Err(ReadError::Broken(reason)) => {
                        return Err(UpstreamError::Lost { target: self.target(), reason });
                    }
                };
                return match Message::parse(&bytes) {
                    Ok(Message::Response(r)) if r.id == *id => Ok(r),
                    Ok(other) => Err(self.protocol(format!("expected the response to {id}, got {other:?}"))),
                    Err(e) => Err(self.protocol(format!("unreadable answer: {e}"))),
                };
            }
            let (answer, last_id, retry, end) = self.read_stream(response, id, events).await?;
            if let Some(answer) = answer {
                return Ok(answer);
            }
            if let (Some(closed), End::Closed, Some(_)) = (closed, end, retry) {
                let _ = closed.send(());
            }
            let Some(last_id) = last_id.filter(|_| resumes < self.config.max_resumes) else {
                return Err(self.protocol(format!("the answer stream for {id} ended without a response")));
            };
            resumes += 1;
            tokio::time::sleep(Duration::from_millis(retry.unwrap_or(0).min(5000))).await;
            response = self.get_stream(session, Some(&last_id)).await?;
            response = self.check_status(response).await?;
        }
    }

    async fn read_stream(
        &self,
        response: http::Response<Body>,
        id: &RequestId,
        events: &mpsc::UnboundedSender<Message>,
    ) -> Result<(Option<Response>, Option<String>, Option<u64>, End), UpstreamError> {
        let mut stream = Events::new(response, self.config.max_message_bytes, &self.shown);
        loop {
            match stream.next(None).await {
                Ok(Message::Response(r)) if r.id == *id => {
                    return Ok((Some(r), stream.last_id, stream.retry_ms, End::Closed));
                }
                Ok(message) => {
                    let _ = events.send(message);
                }
                Err(End::TooLarge) => return Err(self.protocol("event too large".into())),
                Err(end @ (End::Closed | End::Broken | End::Idle)) => {
                    return Ok((None, stream.last_id, stream.retry_ms, end));
                }
            }
        }
    }
}
