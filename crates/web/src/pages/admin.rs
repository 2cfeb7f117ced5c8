//! Administration: the database lock, accounts, roles and sites.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::Form;
use maud::html;
use rct_record::{Action, Command, Role, Sites};

use crate::commands::execute;
use crate::html::csrf;
use crate::WebError;

use super::*;

pub async fn lock_page(t: TrialReq) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |_app, a| {
        let open = open_queries(a);
        let may = a.may(Action::Lock);
        let may_unlock = a.may(Action::Unlock);
        Ok(trial_page(
            a,
            "Database lock",
            html! {
                h1 { "Database lock" }
                @if a.view.locked {
                    p.notice { strong { "Locked: " } "the database is locked; no data can be entered or changed." }
                    @if may_unlock {
                        h2 { "Unlock" }
                        p { "Unlocking reopens data entry; the reason is recorded in the audit trail." }
                        form method="post" action={"/t/" (trial) "/unlock"} {
                            (csrf(&user))
                            label for="reason" { "Reason" }
                            input id="reason" name="reason" size="60" required;
                            label for="confirm" { "Type the trial id (" (trial) ") to confirm" }
                            input id="confirm" name="confirm" required;
                            p { button.danger type="submit" { "Unlock the database" } }
                        }
                    }
                }
                @else {
                    p { (open) " queries are still open." }
                    @if may {
                        form method="post" action={"/t/" (trial) "/lock"} {
                            (csrf(&user))
                            label for="reason" { "Reason" }
                            input id="reason" name="reason" size="60" required;
                            label for="confirm" { "Type the trial id (" (trial) ") to confirm" }
                            input id="confirm" name="confirm" required;
                            p { button.danger type="submit" { "Lock the database" } }
                        }
                    } @else { p { "Only the data manager locks the database." } }
                }
            },
        ))
    })
    .await
}

pub async fn lock_post(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    lock_change(t, input, true).await
}

pub async fn unlock_post(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    lock_change(t, input, false).await
}

/// Locks (`lock`) or unlocks the database: the role's permission, a reason,
/// and the trial id typed to confirm.
async fn lock_change(t: TrialReq, input: BTreeMap<String, String>, lock: bool) -> PageResult {
    let t = t.keep(&input);
    let trial = t.trial.clone();
    t.run(move |app, a| {
        let (action, command, word) = if lock {
            (Action::Lock, Command::Lock, "lock")
        } else {
            (Action::Unlock, Command::Unlock, "unlock")
        };
        let who = a.who(app, action, Some(field(&input, "reason").to_string()))?;
        if field(&input, "confirm") != trial {
            return Err(WebError::BadRequest(format!(
                "type the trial id to confirm the {word}"
            )));
        }
        execute(app, &trial, &who, &command)?;
        Ok(redirect(&if lock {
            format!("/t/{trial}")
        } else {
            format!("/t/{trial}/lock")
        }))
    })
    .await
}

pub async fn admin_page(t: TrialReq) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        a.who(app, Action::GrantRole, None)?;
        let users = a.view.users.clone().unwrap_or_default();
        Ok(trial_page(
            a,
            "Users, roles and sites",
            html! {
                h1 { "Users, roles and sites" }
                (crate::notices::unblinded_grants(&a.view))
                table {
                    caption { "Accounts" }
                    thead { tr { th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Roles" } th scope="col" { "Failed logins" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                    tbody { @for u in &users { tr {
                        td { (u.user) } td { (u.display_name) }
                        td { ul { @for g in &u.roles { li {
                            (role_label(&a.protocol, g.role)) " — " @match &g.sites { Sites::All => "all sites", Sites::Only(l) => (l.join(", ")) }
                            form method="post" action={"/t/" (trial) "/admin/roles/revoke"} {
                                (csrf(&user))
                                input type="hidden" name="user" value=(u.user);
                                input type="hidden" name="role" value=(g.role.as_str());
                                button.secondary type="submit" { "Revoke " (role_label(&a.protocol, g.role)) span.sr { " from " (u.user) } }
                            }
                        } } } }
                        td { (u.failed_logins) }
                        td { @if u.locked { strong.bad { "locked" } } @else { "active" } }
                        td {
                            @if u.locked {
                                form method="post" action={"/t/" (trial) "/admin/users/" (u.user) "/unlock"} {
                                    (csrf(&user)) button type="submit" { "Unlock " (u.user) }
                                }
                            }
                            form method="post" action={"/t/" (trial) "/admin/users/" (u.user) "/password"} {
                                (csrf(&user))
                                label for={"pw-" (u.user)} { "New password for " (u.user) }
                                input id={"pw-" (u.user)} name="password" type="password" autocomplete="new-password" minlength="10" required;
                                button.secondary type="submit" { "Set" }
                            }
                        }
                    } } }
                }
                h2 { "Create an account" }
                form method="post" action={"/t/" (trial) "/admin/users"} {
                    (csrf(&user))
                    label for="n-user" { "User name" }
                    input id="n-user" name="user" required;
                    label for="n-name" { "Full name" }
                    input id="n-name" name="display_name";
                    label for="n-pw" { "Initial password " span.hint { "(at least 10 characters; an account that exists in another trial keeps its password)" } }
                    input id="n-pw" name="password" type="password" autocomplete="new-password";
                    p { button type="submit" { "Create" } }
                }
                h2 { "Grant a role" }
                form method="post" action={"/t/" (trial) "/admin/roles"} {
                    (csrf(&user))
                    label for="g-user" { "User" }
                    select id="g-user" name="user" { @for u in &users { option value=(u.user) { (u.user) } } }
                    label for="g-role" { "Role" }
                    select id="g-role" name="role" { @for r in Role::ALL.iter().filter(|r| **r != Role::System) { option value=(r.as_str()) { (role_label(&a.protocol, *r)) } } }
                    fieldset {
                        legend { "Sites" }
                        label { input type="checkbox" name="all_sites" value="yes"; " All sites" }
                        @for site in &a.view.sites {
                            label { input type="checkbox" name={"site." (site.site)} value="yes"; " " (site.name) }
                        }
                    }
                    p { button type="submit" { "Grant" } }
                }
                h2 { "Sites" }
                ul { @for site in &a.view.sites { li { (site.site) ": " (site.name) } } }
                form method="post" action={"/t/" (trial) "/admin/sites"} {
                    (csrf(&user))
                    label for="s-id" { "Site identifier" }
                    input id="s-id" name="site" required;
                    label for="s-name" { "Site name" }
                    input id="s-name" name="name" required;
                    p { button type="submit" { "Add site" } }
                }
            },
        ))
    })
    .await
}

pub async fn grant_post(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::GrantRole, None, move |app, a, who| {
        let target = field(&input, "user").to_string();
        let role: Role = field(&input, "role")
            .parse()
            .map_err(WebError::BadRequest)?;
        let sites = if field(&input, "all_sites") == "yes" {
            Sites::All
        } else {
            Sites::Only(
                a.view
                    .sites
                    .iter()
                    .map(|s| s.site.clone())
                    .filter(|id| field(&input, &format!("site.{id}")) == "yes")
                    .collect(),
            )
        };
        execute(
            app,
            &trial,
            &who,
            &Command::GrantRole {
                user: target,
                role,
                sites,
            },
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

/// Revoking a role asks first: the first post shows what would be
/// revoked and asks to confirm; the post with `confirm=yes` revokes (the
/// record refuses to revoke the trial's last administrator).
pub async fn revoke_post(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::RevokeRole, None, move |app, a, who| {
        let target = field(&input, "user").to_string();
        let role: Role = field(&input, "role")
            .parse()
            .map_err(WebError::BadRequest)?;
        if field(&input, "confirm") != "yes" {
            let label = role_label(&a.protocol, role);
            return Ok(trial_page(
                a,
                "Revoke a role?",
                html! {
                    h1 { "Revoke a role?" }
                    p.warning { "Revoke " strong { (label) } " from " strong { (target) } "? "
                        (target) " can no longer act in this role in " (a.view.title) "." }
                    form method="post" action={"/t/" (trial) "/admin/roles/revoke"} {
                        (csrf(&user))
                        input type="hidden" name="user" value=(target);
                        input type="hidden" name="role" value=(role.as_str());
                        input type="hidden" name="confirm" value="yes";
                        p { button.danger type="submit" { "Yes, revoke " (label) } " " a href={"/t/" (trial) "/admin"} { "Cancel" } }
                    }
                },
            ));
        }
        execute(
            app,
            &trial,
            &who,
            &Command::RevokeRole { user: target, role },
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn add_site(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::AddSite, None, move |app, _, who| {
        let cmd = Command::AddSite {
            site: field(&input, "site").to_string(),
            name: field(&input, "name").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn create_user(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::CreateUser, None, move |app, _, who| {
        let pw = input.get("password").map_or("", String::as_str);
        crate::accounts::create(
            app,
            &trial,
            &who,
            field(&input, "user"),
            field(&input, "display_name"),
            pw,
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn unlock_user(t: TrialReq, Path((_, name)): Path<(String, String)>) -> PageResult {
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::UnlockUser, None, move |app, _, who| {
        crate::accounts::unlock(app, &who, &name)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn set_password(
    t: TrialReq,
    Path((_, name)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.acting(Action::ChangePassword, None, move |app, _, who| {
        let pw = input.get("password").map_or("", String::as_str);
        crate::accounts::set_password(app, &who, &name, pw)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}
