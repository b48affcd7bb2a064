//! `herd token create|list|revoke`: users' bearer tokens. A secret is
//! printed once, by `create`, and exists nowhere else afterwards.

use super::admin::Access;
use super::client::print_table;
use super::user::short_time;
use crate::cli::TokenCommand;
use herd_admin::CreateToken;

pub(crate) async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { user, label, expires, json, target } => {
            if let Some(text) = &expires {
                herd_admin::parse_duration(text).map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
            }
            let req = CreateToken { user, label, expires };
            let created = Access::open(&target, false).await?.create_token(&req).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&created)?);
            } else {
                let token = &created.token;
                let until = token.expires_at.map_or("until revoked".to_owned(), |at| format!("until {at}"));
                eprintln!(
                    "created token {} for user {}, valid {until}; it is shown only this once:",
                    token.id, token.user
                );
                println!("{}", created.secret);
            }
        }
        TokenCommand::List { user, json, target } => {
            let tokens = Access::open(&target, false).await?.list_tokens(user.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
                return Ok(());
            }
            let mut rows =
                vec![["ID", "USER", "LABEL", "STATUS", "CREATED", "EXPIRES", "LAST USED"].map(String::from).to_vec()];
            for t in &tokens {
                let time = |at: Option<herd_store::Timestamp>| at.map_or("-".to_owned(), short_time);
                rows.push(vec![
                    t.id.clone(),
                    t.user.clone(),
                    t.label.clone().unwrap_or_else(|| "-".into()),
                    t.status.clone(),
                    short_time(t.created_at),
                    time(t.expires_at),
                    time(t.last_used_at),
                ]);
            }
            print_table(&rows);
        }
        TokenCommand::Revoke { id, target } => {
            let token = Access::open(&target, false).await?.revoke_token(&id).await?;
            println!("revoked token {} of user {}", token.id, token.user);
        }
    }
    Ok(())
}
