//! Logging in and out.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;

use crate::auth::{random_token, LoginOutcome};
use crate::{App, AppState, CurrentUser, LOGIN_COOKIE, SESSION_COOKIE};

use super::*;

fn cookie_header(app: &App, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}

fn login_form(app: &App, message: Option<&str>, status: StatusCode) -> Response {
    let token = random_token();
    let body = html! {
        h1 { "Log in" }
        @if let Some(m) = message { p.alert role="alert" { (m) } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            label for="user" { "User name" }
            input id="user" name="user" autocomplete="username" required;
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            p { button type="submit" { "Log in" } }
        }
    };
    (
        status,
        [(
            header::SET_COOKIE,
            cookie_header(app, LOGIN_COOKIE, &token, Some(600)),
        )],
        crate::html::bare("Log in", body),
    )
        .into_response()
}

pub async fn login_page(State(s): State<AppState>) -> Response {
    login_form(&s, None, StatusCode::OK)
}

pub async fn login(
    State(s): State<AppState>,
    client: crate::ClientAddr,
    Form(input): Input,
) -> PageResult {
    let user = field(&input, "user").to_string();
    let password = input.get("password").cloned().unwrap_or_default();
    // Over-long input is refused before any lookup or hashing.
    if let Err(e) = crate::auth::check_login_lengths(&user, &password) {
        return Ok(login_form(
            &s,
            Some(&e.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    App::run(&s, move |app| {
        match crate::accounts::login(app, &user, &password, client.0)? {
            LoginOutcome::Ok => {
                let token = app.sessions.start(app.ledger.store(), &user, app.now())?;
                let mut res = Redirect::to("/").into_response();
                let h = res.headers_mut();
                for c in [
                    cookie_header(app, SESSION_COOKIE, &token, None),
                    cookie_header(app, LOGIN_COOKIE, "", Some(0)),
                ] {
                    if let Ok(v) = c.parse() {
                        h.append(header::SET_COOKIE, v);
                    }
                }
                Ok(res)
            }
            LoginOutcome::Failed => Ok(login_form(
                app,
                Some(&crate::auth::AuthError::BadCredentials.to_string()),
                StatusCode::UNAUTHORIZED,
            )),
            LoginOutcome::Throttled(seconds) => {
                let msg = crate::auth::AuthError::Throttled(seconds).to_string();
                let mut res = login_form(app, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                Ok(res)
            }
            LoginOutcome::Locked => Ok(login_form(
                app,
                Some(&crate::auth::AuthError::Locked.to_string()),
                StatusCode::FORBIDDEN,
            )),
        }
    })
    .await
}

pub async fn logout(State(s): State<AppState>, user: CurrentUser) -> PageResult {
    App::run(&s, move |app| {
        app.sessions.end(app.ledger.store(), &user.token)?;
        crate::accounts::logout(app, &user.name)?;
        Ok((
            [(
                header::SET_COOKIE,
                cookie_header(app, SESSION_COOKIE, "", Some(0)),
            )],
            Redirect::to("/login"),
        )
            .into_response())
    })
    .await
}
