//! Sites, accounts, grants and login events.

use super::{nonempty, Command, CommandError, Ctx};
use crate::event::Role::System;
use crate::event::{EventDraft, Payload, Sites};
use crate::state::{TrialState, UserAccount};

impl TrialState {
    /// [`Command::AddSite`].
    pub(super) fn check_add_site(
        &self,
        cx: &Ctx<'_>,
        site: &str,
        name: &str,
    ) -> Result<Vec<EventDraft>, CommandError> {
        nonempty(site, "the site identifier")?;
        nonempty(name, "the site name")?;
        if self.sites.contains_key(site) {
            return Err(CommandError::SiteExists {
                site: site.to_string(),
            });
        }
        Ok(vec![cx.draft(
            Some(site.to_string()),
            Payload::SiteAdded {
                site: site.to_string(),
                name: name.to_string(),
            },
        )])
    }

    /// Account commands: grants, users, passwords, account locks.
    pub(super) fn check_account(
        &self,
        cx: &Ctx<'_>,
        command: &Command,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let actor = cx.actor;
        Ok(match command {
            Command::GrantRole { user, role, sites } => {
                nonempty(user, "the user name")?;
                if *role == System {
                    return Err(CommandError::SystemRole);
                }
                if let Sites::Only(list) = sites {
                    if list.is_empty() {
                        return Err(CommandError::Empty {
                            what: "the list of sites",
                        });
                    }
                    for s in list {
                        self.known_site(s)?;
                    }
                }
                (
                    actor.site.clone(),
                    Payload::RoleGranted {
                        user: user.clone(),
                        role: *role,
                        sites: sites.clone(),
                    },
                )
            }
            Command::RevokeRole { user, role } => {
                if self.grant(user, *role).is_none() {
                    return Err(CommandError::NotHeld {
                        user: user.clone(),
                        role: *role,
                    });
                }
                (
                    actor.site.clone(),
                    Payload::RoleRevoked {
                        user: user.clone(),
                        role: *role,
                    },
                )
            }
            Command::CreateUser {
                user,
                display_name,
                password_hash,
            } => {
                nonempty(user, "the user name")?;
                nonempty(display_name, "the display name")?;
                check_phc(password_hash)?;
                if self.users.contains_key(user) {
                    return Err(CommandError::UserExists { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserCreated {
                        user: user.clone(),
                        display_name: display_name.clone(),
                        password_hash: password_hash.clone(),
                    },
                )
            }
            Command::ChangePassword {
                user,
                password_hash,
            } => {
                check_phc(password_hash)?;
                self.account(user)?;
                (
                    actor.site.clone(),
                    Payload::PasswordChanged {
                        user: user.clone(),
                        password_hash: password_hash.clone(),
                    },
                )
            }
            Command::LockUser { user } => {
                if self.account(user)?.locked {
                    return Err(CommandError::UserLocked { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserLocked { user: user.clone() },
                )
            }
            Command::UnlockUser { user } => {
                if !self.account(user)?.locked {
                    return Err(CommandError::UserNotLocked { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserUnlocked { user: user.clone() },
                )
            }
            _ => return Err(CommandError::Internal("not an account command".into())),
        })
    }

    fn account(&self, user: &str) -> Result<&UserAccount, CommandError> {
        self.users
            .get(user)
            .ok_or_else(|| CommandError::UnknownUser {
                user: user.to_string(),
            })
    }

    pub(super) fn known_site(&self, site: &str) -> Result<(), CommandError> {
        if self.sites.is_empty() || self.sites.contains_key(site) {
            Ok(())
        } else {
            Err(CommandError::UnknownSite {
                site: site.to_string(),
                known: self.sites.keys().cloned().collect::<Vec<_>>().join(", "),
            })
        }
    }
}

fn check_phc(hash: &str) -> Result<(), CommandError> {
    if hash.starts_with("$argon2") && hash.matches('$').count() >= 4 {
        Ok(())
    } else {
        Err(CommandError::BadPasswordHash)
    }
}
