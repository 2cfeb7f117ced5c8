//! One error type for every handler, mapped to HTTP in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rct_store::StoreError;

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not logged in.
    #[error("log in first")]
    Unauthenticated,
    /// Missing or wrong CSRF token.
    #[error("the form's security token is missing or wrong; reload the page and try again")]
    Csrf,
    /// Logged in but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or not one the user may know about).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed or refused by a check.
    #[error("{0}")]
    BadRequest(String),
    /// Refused because of the trial's state (e.g. locked).
    #[error("{0}")]
    Conflict(String),
    /// The server failed.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Internal(e.to_string())
    }
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::Unauthenticated => StatusCode::UNAUTHORIZED,
            WebError::Csrf | WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON form: `{"error": "..."}`.
    pub fn into_api_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), axum::Json(body)).into_response()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let page = crate::html::bare(
            title,
            maud::html! {
                h1 { (title) }
                p role="alert" { (self.to_string()) }
                p { a href="/" { "Back to the start page" } }
            },
        );
        (status, page).into_response()
    }
}

/// A [`WebError`] answered as JSON (for `/api/` handlers).
pub struct ApiError(pub WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_api_response()
    }
}
