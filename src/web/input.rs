//! [`Input`]: a request body read as JSON or as an HTML form, whichever the request says
//! (`Content-Type`), into the same serde type: the Inertia client sends nested JSON
//! (`{"todo":{"title":"milk"}}`), plain forms and scripts send bracketed names
//! (`todo[title]=milk`), and both arrive as the same nested struct. Form values are text,
//! so a field that JSON sends typed (a boolean, a number) reads both ([`flag`]). A text or
//! yes/no field a form sends twice keeps its last value, as Rails does (a hidden `0`
//! before a checkbox's `1`).
//! A malformed body is a 400 with a message, never a parser dump; a body over the limit is
//! a 413 whether it declared its length or came chunked.

use std::fmt;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};

use super::ApiError;

/// How deep bracketed form names nest (`a[b][c]` is 2).
const FORM_DEPTH: usize = 3;

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
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.starts_with("application/json") {
            let Json(value) = Json::<T>::from_request(req, state)
                .await
                .map_err(|e| rejected("JSON", e.status(), &e.body_text()))?;
            return Ok(Input(value));
        }
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(ApiError::BadRequest(
                "the body must be JSON (`Content-Type: application/json`) or a form \
                 (`Content-Type: application/x-www-form-urlencoded`)"
                    .to_owned(),
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| rejected("form", e.status(), &e.body_text()))?;
        parse_form(&body)
            .map(Input)
            .map_err(|e| rejected("form", StatusCode::BAD_REQUEST, &e.to_string()))
    }
}

/// Reads an `application/x-www-form-urlencoded` body with bracketed names (`todo[title]=..`)
/// into `T`, as the `Input` extractor does.
///
/// # Errors
/// The body does not read into `T` (or nests deeper than three brackets).
pub fn parse_form<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_qs::Error> {
    serde_qs::Config::new()
        .max_depth(FORM_DEPTH)
        .use_form_encoding(true)
        .deserialize_bytes(body)
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

/// A yes/no field (`#[serde(default, deserialize_with = "flag")]`): `true`/`false` in
/// JSON; `1`/`0`/`true`/`false`/`on` or empty in forms (what checkboxes and hidden fields
/// send). Absent or `null` is `None`.
///
/// # Errors
/// Any other value.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct Flag;

    impl<'de> Visitor<'de> for Flag {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("true or false")
        }

        fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
            Ok(Some(b))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            match text {
                "1" | "true" | "on" => Ok(Some(true)),
                "0" | "false" | "" => Ok(Some(false)),
                other => Err(E::custom(format!("expected true or false, not {other:?}"))),
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        /// A field sent more than once (a hidden `0` before a checkbox's `1`): the last
        /// value counts.
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut last = None;
            while let Some(value) = seq.next_element::<String>()? {
                last = Some(value);
            }
            last.map_or(Ok(None), |value| self.visit_str(&value))
        }
    }

    d.deserialize_any(Flag)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Body {
        #[serde(default)]
        task: Task,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Task {
        #[serde(default)]
        name: Option<String>,
        #[serde(default, deserialize_with = "flag")]
        done: Option<bool>,
    }

    fn form(text: &str) -> Result<Body, serde_qs::Error> {
        parse_form(text.as_bytes())
    }

    fn body(name: Option<&str>, done: Option<bool>) -> Body {
        Body {
            task: Task {
                name: name.map(str::to_owned),
                done,
            },
        }
    }

    #[test]
    fn forms_and_json_read_into_the_same_struct() {
        let json = |v: serde_json::Value| serde_json::from_value::<Body>(v).expect("json");
        assert_eq!(
            form("task%5Bname%5D=buy+milk&task%5Bdone%5D=1").expect("form"),
            body(Some("buy milk"), Some(true))
        );
        assert_eq!(
            json(serde_json::json!({"task": {"name": "buy milk", "done": true}})),
            body(Some("buy milk"), Some(true))
        );
        assert_eq!(
            form("task[done]=0&task[done]=on").expect("form"),
            body(None, Some(true)),
            "the last of a repeated field"
        );
        assert_eq!(form("task[done]=").expect("form"), body(None, Some(false)));
        assert_eq!(
            json(serde_json::json!({"task": {"done": null}})),
            body(None, None)
        );
        assert_eq!(form("").expect("form"), Body::default());
        assert!(form("task[done]=maybe").is_err());
        assert!(
            serde_json::from_value::<Body>(serde_json::json!({"task": {"done": "maybe"}})).is_err()
        );
    }
}
