//! `gatehouse user …` and `gatehouse token …`.

use super::{open_existing, say, say_json};
use crate::cli::{TokenCommand, UserCommand};
use crate::config::Config;
use anyhow::{Context, Result, anyhow};
use gatehouse_domain::people::PersonKind;
use gatehouse_domain::permissions::Role;
use gatehouse_service::accounts::AccountRequest;
use gatehouse_service::{Actor, Gatehouse};
use rand::seq::IndexedRandom;
use std::io::BufRead;
use std::process::ExitCode;

/// The id of the person of `kind` with this MIS id (or email).
pub async fn find_person(app: &Gatehouse, kind: PersonKind, key: &str) -> Result<i64> {
    let school = app.school().await?;
    let key = key.trim();
    app.store
        .people_for_import(school.id, kind)
        .await?
        .into_iter()
        .find(|p| {
            p.details.mis_id.as_ref().is_some_and(|m| m.as_str() == key)
                || p.details
                    .email
                    .as_ref()
                    .is_some_and(|e| e.as_str().eq_ignore_ascii_case(key))
        })
        .map(|p| p.id)
        .ok_or_else(|| anyhow!("no {kind} with MIS id or email '{key}'"))
}

/// A passphrase of five words from a list of 256 (40 bits) plus a number: easy to type,
/// hard to guess.
fn generate_password() -> String {
    const WORDS: &str = "acorn amber anchor apple arch arrow aspen atlas autumn badge bakery bamboo banner barley basket beacon beech berry birch biscuit blossom bonnet border bramble branch breeze brick bridge bronze brook bucket buckle butter cabin cactus camel canal candle canoe canvas carbon carpet castle cedar cellar chalk chapel cherry chess chimney cider cinder circus citrus clover cobalt comet copper coral cotton cradle crater cricket crystal cupboard daisy dancer delta denim desert dial dolphin dragon drum dune eagle easel echo elbow elder ember engine falcon feather fern ferry fiddle field flannel flint forest fossil fountain fox garden garnet geyser ginger glacier globe granite gravel harbour harvest hazel heather hedge helmet heron hollow honey horizon husky igloo indigo island ivory jacket jasmine jelly jigsaw jungle kayak kernel kettle kiwi ladder lagoon lantern larch lemon lily linen lobster locket magnet mango maple marble meadow melon mesa meteor mint mirror mitten mosaic moss muffin nectar needle nutmeg oak oasis ocean olive onyx orbit orchard otter oyster paddle panda paper parcel pebble pepper piano pigeon pillow pine planet plum pocket pony poppy prism pumpkin quartz quill rabbit radish raven reef ribbon river robin rocket rose saddle saffron salmon satin scarf shell sierra silver sketch sleet slipper sparrow spindle spruce squash stable star stone summit swallow teapot thistle thunder timber toffee topaz tractor trumpet tulip tunnel turnip valley velvet violet walnut wander willow window winter wool yarrow zephyr";
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = rand::rng();
    let picked: Vec<&str> = (0..5)
        .filter_map(|_| words.choose(&mut rng).copied())
        .collect();
    format!("{}-{}", picked.join("-"), rand::random_range(10..100))
}

fn password_from(stdin: bool) -> Result<(String, bool)> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
    } else {
        Ok((generate_password(), true))
    }
}

/// `gatehouse user …`
pub async fn user(config: &Config, action: UserCommand, json: bool) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    let cli = Actor::cli();
    match action {
        UserCommand::Add {
            username,
            roles,
            person,
            kind,
            password_stdin,
        } => {
            let roles = roles
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()?;
            let person_id = match &person {
                Some(key) => Some(find_person(&app, kind.into(), key).await?),
                None => None,
            };
            let (password, generated) = password_from(password_stdin)?;
            let id = app
                .create_account(
                    &cli,
                    &AccountRequest {
                        username: username.clone(),
                        password: password.clone(),
                        roles,
                        person_id,
                    },
                )
                .await?;
            if json {
                say_json(
                    &serde_json::json!({ "id": id, "username": username.to_lowercase(), "password": generated.then_some(&password) }),
                )?;
            } else {
                say(format!("Created account '{}'.", username.to_lowercase()));
                if generated {
                    say(format!("Password (shown once): {password}"));
                }
            }
        }
        UserCommand::Passwd {
            username,
            password_stdin,
        } => {
            let (password, generated) = password_from(password_stdin)?;
            app.reset_password(&cli, &username, &password).await?;
            say(format!(
                "Password changed for '{username}'; their sessions have ended."
            ));
            if generated {
                say(format!("New password (shown once): {password}"));
            }
        }
        UserCommand::List => {
            let accounts = app.accounts(&cli).await?;
            if json {
                say_json(&accounts)?;
            } else {
                say(format!(
                    "{:<20} {:<28} {:<7} {:<9} ROLES",
                    "USERNAME", "NAME", "MFA", "STATUS"
                ));
                for a in accounts {
                    say(format!(
                        "{:<20} {:<28} {:<7} {:<9} {}",
                        a.username,
                        a.display_name.as_deref().unwrap_or("-"),
                        if a.mfa_enabled { "on" } else { "off" },
                        if a.disabled { "disabled" } else { "active" },
                        a.roles
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    ));
                }
            }
        }
        UserCommand::Disable { username } => {
            app.set_account_disabled(&cli, &username, true).await?;
            say(format!(
                "Disabled '{username}': sessions ended, API tokens revoked."
            ));
        }
        UserCommand::Enable { username } => {
            app.set_account_disabled(&cli, &username, false).await?;
            say(format!("Enabled '{username}'."));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `gatehouse token …`
pub async fn token(config: &Config, action: TokenCommand, json: bool) -> Result<ExitCode> {
    let app = open_existing(config).await?;
    match action {
        TokenCommand::Create { user, label } => {
            let (id, secret) = app.create_token(&Actor::cli(), &user, &label).await?;
            if json {
                say_json(
                    &serde_json::json!({ "id": id, "user": user, "label": label, "token": secret }),
                )?;
            } else {
                say(format!(
                    "Token {id} for '{user}' ({label}). Copy it now; it will not be shown again:"
                ));
                say(secret);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_pass_the_password_rule() {
        for _ in 0..20 {
            let p = super::generate_password();
            assert!(
                gatehouse_domain::password::check_new_password(&p, "someone", &[]).is_ok(),
                "{p}"
            );
        }
    }
}
