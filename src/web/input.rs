//! [`Input`]: a request body read as JSON or as an HTML form, whichever the request says
//! (`Content-Type`), so the Inertia client (JSON) and plain forms or scripts (form-encoded)
//! both work. A malformed body is a 400 with a message, never a parser dump; a body over
//! the limit is a 413 whether it declared its length or came chunked.

use axum::Json;
use axum::extract::{Form, FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::ApiError;

/// A deserialized request body.
#[derive(Debug, Clone)]
pub struct Input<T>(pub T);

impl<T, S> FromRequest<S> for Input<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        if json {
            let Json(value) = Json::<T>::from_request(req, state)
                .await
                .map_err(|e| rejected("JSON", e.status(), &e.body_text()))?;
            Ok(Input(value))
        } else {
            let Form(value) = Form::<T>::from_request(req, state)
                .await
                .map_err(|e| rejected("form", e.status(), &e.body_text()))?;
            Ok(Input(value))
        }
    }
}

/// The error for a body the extractor refused: 413 when reading it ran past the body limit
/// (a chunked body only finds out while being read), 400 with the parser's words otherwise.
fn rejected(kind: &str, status: StatusCode, detail: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge(format!(
            "the request body is larger than the server accepts: {detail}"
        ))
    } else {
        ApiError::BadRequest(format!("the {kind} body is not valid: {detail}"))
    }
}
