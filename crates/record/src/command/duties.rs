//! Separation of duties and the account rules, checked by
//! [`TrialState::check`] for every edge (web, command line, imports):
//!
//! - **user names** follow one rule ([`check_user_name`]): 1 to
//!   [`MAX_USER_NAME`] ASCII letters, digits, `.`, `_`, `-` or `@`;
//! - a role is granted only to an **existing account** (a `user_created`
//!   event of this trial), and **nobody grants a role to themselves**;
//! - in a **blinded trial** one account never holds a blinded and an
//!   unblinded role ([`Role::is_unblinded`]) at once: the grant that would
//!   mix them is refused, naming the role already held;
//! - the **last administrator** (the last account holding `admin` that is not
//!   locked) can be neither revoked nor locked;
//! - a **failed login** is recorded only for an existing account (failures
//!   with unknown names belong to the server's security log, not to every
//!   trial's record).
//!
//! Every grant of an unblinded role is kept in
//! [`TrialState::unblinded_grants`] and shown to administrators and monitors
//! ([`crate::view::TrialView::unblinded_grants`]).

use crate::event::Role;
use crate::state::TrialState;

use super::{Actor, Command, CommandError};

/// The longest user name, in bytes (every allowed character is one byte).
pub const MAX_USER_NAME: usize = 64;

/// A user name as it may appear in a message: at most [`MAX_USER_NAME`]
/// characters, with `…` when cut.
pub fn shown_name(name: &str) -> String {
    let mut out: String = name.chars().take(MAX_USER_NAME).collect();
    if out.len() < name.len() {
        out.push('…');
    }
    out
}

/// Checks a user name: 1 to [`MAX_USER_NAME`] ASCII letters, digits, `.`,
/// `_`, `-` or `@` (so an e-mail address fits, and no markup, space or
/// control character does).
pub fn check_user_name(name: &str) -> Result<(), CommandError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_USER_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if valid {
        Ok(())
    } else {
        Err(CommandError::BadUserName {
            user: shown_name(name),
        })
    }
}

impl TrialState {
    /// The rules of this module for `command` by `actor` (after the
    /// permission table and the actor's grant were checked).
    pub(super) fn check_duties(
        &self,
        actor: &Actor,
        command: &Command,
    ) -> Result<(), CommandError> {
        match command {
            Command::CreateUser { user, .. } => check_user_name(user),
            Command::GrantRole { user, role, .. } => {
                if *role == Role::System {
                    return Err(CommandError::SystemRole);
                }
                check_user_name(user)?;
                if *user == actor.user {
                    return Err(CommandError::SelfGrant {
                        user: user.clone(),
                        role: *role,
                    });
                }
                if !self.users.contains_key(user) {
                    return Err(CommandError::NoAccount { user: user.clone() });
                }
                let blinded = self.config.as_ref().is_some_and(|c| c.blinded);
                if blinded {
                    if let Some(held) = self.blinding_conflict(user, *role) {
                        return Err(CommandError::BlindingConflict {
                            user: user.clone(),
                            role: *role,
                            held,
                        });
                    }
                }
                Ok(())
            }
            Command::RevokeRole {
                user,
                role: Role::Admin,
            }
            | Command::LockUser { user } => {
                if self.is_last_admin(user) {
                    return Err(CommandError::LastAdmin {
                        user: user.clone(),
                        action: command.action(),
                    });
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A failed login is recorded only for an account of this trial.
    pub(super) fn check_login_failed(&self, user: &str) -> Result<(), CommandError> {
        if self.users.contains_key(user) {
            Ok(())
        } else {
            Err(CommandError::UnknownUser {
                user: shown_name(user),
            })
        }
    }

    /// A role `user` holds on the other side of the blind from `role`.
    fn blinding_conflict(&self, user: &str, role: Role) -> Option<Role> {
        self.grants.get(user).and_then(|held| {
            held.keys()
                .copied()
                .find(|r| *r != Role::System && r.is_unblinded() != role.is_unblinded())
        })
    }

    /// Administrators who can still act: holders of `admin` whose account
    /// is not locked (the registering administrator may have no account,
    /// and then cannot be locked).
    pub fn active_admins(&self) -> Vec<&str> {
        self.grants
            .iter()
            .filter(|(_, roles)| roles.contains_key(&Role::Admin))
            .filter(|(user, _)| self.users.get(*user).is_none_or(|a| !a.locked))
            .map(|(user, _)| user.as_str())
            .collect()
    }

    /// Whether `user` is the only administrator who can still act.
    fn is_last_admin(&self, user: &str) -> bool {
        let admins = self.active_admins();
        admins.contains(&user) && admins.len() == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::{admin, at, trial, HASH};
    use crate::event::Sites;

    fn refuse(s: &TrialState, a: &Actor, c: &Command) -> String {
        s.check(a, at(5), None, c).unwrap_err().to_string()
    }

    fn run(s: &mut TrialState, a: &Actor, c: Command) {
        s.execute(a, at(5), None, &c).unwrap();
    }

    fn create(user: &str) -> Command {
        Command::CreateUser {
            user: user.into(),
            display_name: user.into(),
            password_hash: HASH.into(),
        }
    }

    fn grant(user: &str, role: Role) -> Command {
        Command::GrantRole {
            user: user.into(),
            role,
            sites: Sites::All,
        }
    }

    /// `trial()` plus a second administrator `abe` with an account.
    fn two_admins() -> TrialState {
        let mut s = trial();
        run(&mut s, &admin(), create("abe"));
        run(&mut s, &admin(), grant("abe", Role::Admin));
        s
    }

    fn abe() -> Actor {
        Actor::new("abe", Role::Admin, None)
    }

    #[test]
    fn nobody_grants_a_role_to_themselves() {
        let s = two_admins();
        // The blinded administrator of issue 15 asking for the pharmacist role.
        assert_eq!(
            refuse(&s, &abe(), &grant("abe", Role::Pharmacist)),
            "user `abe` cannot grant the role pharmacist to themselves; another administrator must grant it"
        );
        assert_eq!(
            refuse(&s, &admin(), &grant("ada", Role::Investigator)),
            "user `ada` cannot grant the role investigator to themselves; another administrator must grant it"
        );
        // Another administrator may grant it (here a blinded role).
        assert!(s
            .check(&admin(), at(5), None, &grant("abe", Role::Monitor))
            .is_ok());
    }

    #[test]
    fn a_blinded_trial_never_gives_one_account_both_sides_of_the_blind() {
        let mut s = two_admins();
        // abe (admin, blinded) cannot also be the pharmacist.
        assert_eq!(
            refuse(&s, &admin(), &grant("abe", Role::Pharmacist)),
            "user `abe` holds the role admin; in a blinded trial one account cannot hold a blinded and an unblinded role at once, so pharmacist is refused (revoke admin first)"
        );
        // pam (pharmacist, unblinded) cannot also monitor; phil
        // (intervention staff) cannot also assess outcomes.
        assert!(refuse(&s, &admin(), &grant("pam", Role::Monitor))
            .contains("holds the role pharmacist"));
        assert!(refuse(&s, &admin(), &grant("phil", Role::OutcomeAssessor))
            .contains("holds the role intervention_staff"));
        // Two unblinded roles, or two blinded ones, may go together.
        run(&mut s, &admin(), grant("pam", Role::InterventionStaff));
        run(&mut s, &admin(), grant("abe", Role::Monitor));
        // Once the blinded role is revoked, the unblinded one may be granted.
        run(
            &mut s,
            &admin(),
            Command::RevokeRole {
                user: "ian".into(),
                role: Role::Investigator,
            },
        );
        run(&mut s, &admin(), grant("ian", Role::Pharmacist));
    }

    #[test]
    fn an_open_trial_has_no_blinding_conflict() {
        let mut s = TrialState::new("open");
        run(
            &mut s,
            &admin(),
            Command::RegisterTrial {
                title: "Open".into(),
                blinded: false,
                arms: crate::command::tests::arms(),
                design: crate::command::tests::design(),
                seed: 1.into(),
                seal_key: crate::seal::TrialSecrets::insecure_for_tests(1).seal_key_hex(),
            },
        );
        run(&mut s, &admin(), create("bo"));
        run(&mut s, &admin(), grant("bo", Role::Investigator));
        run(&mut s, &admin(), grant("bo", Role::Pharmacist));
        assert_eq!(s.grants["bo"].len(), 2);
    }

    #[test]
    fn the_last_administrator_is_neither_revoked_nor_locked() {
        let mut s = trial();
        let revoke = |user: &str| Command::RevokeRole {
            user: user.into(),
            role: Role::Admin,
        };
        let lock = |user: &str| Command::LockUser { user: user.into() };
        // ada registered the trial and is its only administrator.
        assert_eq!(
            refuse(&s, &admin(), &revoke("ada")),
            "user `ada` is the last administrator of this trial who can act; grant admin to another account before you revoke a role"
        );
        run(&mut s, &admin(), create("ada"));
        assert_eq!(
            refuse(&s, &admin(), &lock("ada")),
            "user `ada` is the last administrator of this trial who can act; grant admin to another account before you lock a user account"
        );
        // With a second administrator either may go, but not both.
        run(&mut s, &admin(), create("abe"));
        run(&mut s, &admin(), grant("abe", Role::Admin));
        run(&mut s, &abe(), lock("ada"));
        assert!(s.users["ada"].locked);
        assert_eq!(s.active_admins(), vec!["abe"]);
        assert!(refuse(&s, &abe(), &lock("abe")).contains("last administrator"));
        assert!(refuse(&s, &abe(), &revoke("abe")).contains("last administrator"));
        // A locked administrator does not count: once ada is unlocked, abe may go.
        run(&mut s, &abe(), Command::UnlockUser { user: "ada".into() });
        run(&mut s, &admin(), revoke("abe"));
        assert_eq!(s.active_admins(), vec!["ada"]);
        // Other roles are revoked as before.
        run(
            &mut s,
            &admin(),
            Command::RevokeRole {
                user: "mo".into(),
                role: Role::Monitor,
            },
        );
    }

    #[test]
    fn roles_go_only_to_existing_accounts_with_well_formed_names() {
        let mut s = trial();
        assert_eq!(
            refuse(&s, &admin(), &grant("ghost", Role::Investigator)),
            "there is no account `ghost` in this trial; create the account first, then grant the role"
        );
        // Markup is not a user name, neither for an account nor for a grant.
        let rule = "is not allowed: user names are 1 to 64 letters, digits, `.`, `_`, `-` or `@`";
        for bad in ["<b>x</b>", "a b", "", "ann\n", "é"] {
            assert!(refuse(&s, &admin(), &create(bad)).contains(rule), "{bad:?}");
            assert!(
                refuse(&s, &admin(), &grant(bad, Role::Monitor)).contains(rule),
                "{bad:?}"
            );
        }
        // 64 bytes pass, 65 do not (and the message shows at most 64 characters).
        let long = "a".repeat(MAX_USER_NAME + 1);
        let msg = refuse(&s, &admin(), &create(&long));
        assert!(
            msg.contains(&format!("`{}…`", &long[..MAX_USER_NAME])),
            "{msg}"
        );
        let huge = "x".repeat(250_000);
        assert!(refuse(&s, &admin(), &create(&huge)).len() < 300);
        run(&mut s, &admin(), create(&long[..MAX_USER_NAME]));
        run(&mut s, &admin(), create("ann.smith-2@example.org"));
        run(
            &mut s,
            &admin(),
            grant("ann.smith-2@example.org", Role::Monitor),
        );
        assert!(check_user_name("A_b.c-d@e9").is_ok());
    }

    #[test]
    fn failed_logins_are_recorded_for_existing_accounts_only() {
        let mut s = trial();
        let system = Actor::new("system", Role::System, None);
        assert_eq!(
            refuse(
                &s,
                &system,
                &Command::LoginFailed {
                    user: "nobody".into()
                }
            ),
            "there is no user `nobody`"
        );
        run(&mut s, &system, Command::LoginFailed { user: "ian".into() });
        assert_eq!(s.users["ian"].failed_logins, 1);
    }

    #[test]
    fn unblinded_grants_are_shown_to_administrators_and_monitors() {
        let mut s = trial();
        let listed = |s: &TrialState, user: &str| {
            s.view(user).unblinded_grants.map(|l| {
                l.iter()
                    .map(|g| {
                        format!(
                            "{} {} by {} revoked {}",
                            g.user,
                            g.role,
                            g.by,
                            g.revoked.is_some()
                        )
                    })
                    .collect::<Vec<_>>()
            })
        };
        let expected = vec![
            "phil intervention_staff by ada revoked false".to_string(),
            "pam pharmacist by ada revoked false".to_string(),
        ];
        assert_eq!(listed(&s, "ada"), Some(expected.clone()));
        assert_eq!(listed(&s, "mo"), Some(expected));
        for other in ["ian", "nina", "dan", "oli", "stan", "pam", "phil"] {
            assert_eq!(listed(&s, other), None, "{other}");
        }
        run(
            &mut s,
            &admin(),
            Command::RevokeRole {
                user: "pam".into(),
                role: Role::Pharmacist,
            },
        );
        let after = listed(&s, "mo").unwrap();
        assert_eq!(after[1], "pam pharmacist by ada revoked true");
        let g = &s.unblinded_grants[1];
        assert_eq!((g.at, g.seq > 0), (at(0), true));
    }
}
