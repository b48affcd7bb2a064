//! `herd-test-provider --listen 127.0.0.1:0 [--delay-ms N] [--first-delay-ms N]
//! [--tokens N] [--asleep]`: serves a scripted OpenAI-compatible provider
//! until killed; the first line on stdout is `listening on http://ADDR/v1`.

use herd_test_provider::{Script, ScriptedProvider};
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

const USAGE: &str =
    "usage: herd-test-provider --listen ADDR [--delay-ms N] [--first-delay-ms N] [--tokens N] [--asleep]";

fn parse(args: impl Iterator<Item = String>) -> Result<(SocketAddr, Script), String> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut script = Script::default();
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let ms =
            |text: String| text.parse::<u64>().map(Duration::from_millis).map_err(|_| format!("not a number: {text}"));
        match flag.as_str() {
            "--listen" => listen = value()?.parse().map_err(|_| "--listen takes IP:PORT".to_owned())?,
            "--delay-ms" => script.delay = ms(value()?)?,
            "--first-delay-ms" => script.first_delay = ms(value()?)?,
            "--tokens" => {
                let n = value()?.parse().map_err(|_| "--tokens takes a number".to_owned())?;
                script = script.with_token_count(n);
            }
            "--asleep" => script.asleep = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok((listen, script))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let (listen, script) = match parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let provider = match ScriptedProvider::start_on(listen, script).await {
        Ok(provider) => provider,
        Err(err) => {
            eprintln!("cannot listen on {listen}: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", provider.base_url());
    let _ = stdout.flush();
    std::future::pending::<()>().await;
    std::process::ExitCode::SUCCESS
}
