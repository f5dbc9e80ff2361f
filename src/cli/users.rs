//! `trifecta users ...`: manage users from a shell, also while the server runs. Ending a
//! user's sessions (reset-password, delete) also orders every running server sharing the
//! storage to disconnect those sessions' sockets, through the cable.

use std::io::{IsTerminal, Read, Write};

use clap::Subcommand;

use super::Error;
use crate::actioncable;
use crate::app::{self, App, EndedUser, NewUser};
use crate::cable::Cable;
use crate::web::cable_auth::SessionConnect;

/// User management.
#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a user (with a personal account). The password is read from standard input;
    /// without input, one is generated and printed once.
    Create {
        /// Email address (normalized to lower case).
        email: String,
        /// Display name (defaults to the part before `@`).
        #[arg(long)]
        name: Option<String>,
        /// Make the user a site admin.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List,
    /// Set a new password (from standard input, or generated) and end the user's sessions.
    ResetPassword {
        /// Email address.
        email: String,
    },
    /// Delete a user, their sessions and the accounts they own (asks for confirmation on
    /// a terminal).
    Delete {
        /// Email address.
        email: String,
        /// Do not ask (required when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Runs a `users` subcommand.
///
/// # Errors
/// Unknown users, invalid input, storage failures.
pub async fn run(
    app: &App,
    cable: &Cable,
    cmd: UsersCommand,
    out: &mut (dyn Write + Send),
) -> Result<(), Error> {
    match cmd {
        UsersCommand::Create { email, name, admin } => {
            let (password, generated) = password_from_stdin()?;
            let user = app
                .create_user(NewUser {
                    email_address: email,
                    password: password.clone(),
                    name,
                    site_admin: admin,
                })
                .await?;
            let role = if user.site_admin { " (site admin)" } else { "" };
            writeln!(out, "created {}{role}", user.email_address)?;
            if generated {
                writeln!(out, "password: {password}")?;
            }
        }
        UsersCommand::List => {
            for user in app.users().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    user.email_address,
                    user.name,
                    if user.site_admin { "admin" } else { "-" },
                    user.created_at.to_rfc3339()
                )?;
            }
        }
        UsersCommand::ResetPassword { email } => {
            let (password, generated) = password_from_stdin()?;
            let ended = app
                .reset_password(&email, password.clone())
                .await
                .map_err(|e| no_such_user(e, &email))?;
            writeln!(
                out,
                "password reset for {}; their sessions have ended",
                ended.user.email_address
            )?;
            if generated {
                writeln!(out, "password: {password}")?;
            }
            disconnect(cable, &ended, "password reset").await?;
        }
        UsersCommand::Delete { email, yes } => {
            super::confirm(
                "users delete",
                &format!("delete {email}, their sessions and the accounts they own"),
                yes,
            )?;
            let ended = app
                .delete_user(&email)
                .await
                .map_err(|e| no_such_user(e, &email))?;
            writeln!(out, "deleted {}", ended.user.email_address)?;
            disconnect(cable, &ended, "user deleted").await?;
        }
    }
    Ok(())
}

/// Orders running servers to disconnect the sockets of `ended`'s sessions for good (their
/// sessions are gone, so a reconnect would be refused anyway).
async fn disconnect(cable: &Cable, ended: &EndedUser, done: &str) -> Result<(), Error> {
    let identities = SessionConnect::identities_of(&ended.session_ids);
    actioncable::remote_disconnect(cable, &identities, false)
        .await
        .map_err(|cause| Error::NotDisconnected {
            done: format!("{done} for {}", ended.user.email_address),
            cause,
        })
}

/// The password piped on standard input (first line), or a generated one.
fn password_from_stdin() -> Result<(String, bool), Error> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut input = String::new();
        stdin.lock().read_to_string(&mut input)?;
        let line = input.lines().next().unwrap_or_default().to_owned();
        if !line.is_empty() {
            return Ok((line, false));
        }
    }
    Ok((generate_password()?, true))
}

fn generate_password() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::App(app::Error::internal("no randomness for a password", e)))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect())
}

fn no_such_user(e: app::Error, email: &str) -> Error {
    match e {
        app::Error::NotFound => Error::NotFound(format!("no user with email address {email:?}")),
        other => Error::App(other),
    }
}
