//! Waking a hibernating provider, by URL and by command.

use super::*;

fn asleep() -> Script {
    Script { asleep: true, ..Script::default() }
}

/// Three concurrent requests to a sleeping double woken by the recipe
/// `wake` makes from the double's wake URL: all answered, one wake.
async fn three_requests_share_one_wake(wake: impl FnOnce(String) -> Wake) {
    let double = ScriptedProvider::start(asleep()).await.unwrap();
    let recipe = wake(format!("http://{}/wake", double.addr()));
    let (providers, url) = agent_over(&double, |llm| llm.wake = Some(recipe)).await;
    let listed = &providers.listing().providers[0];
    assert!(listed.wakes);
    assert_eq!(listed.state, ProviderState::Hibernating);
    let body = chat(false);
    let requests = (0..3).map(|_| post(&url, "local/chat/completions", &body));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
        let answer = json_of(response).await;
        assert_eq!(answer["choices"][0]["message"]["content"], Script::default().text());
    }
    assert_eq!(double.wakes(), 1, "one wake for three requests");
    assert_eq!(providers.listing().providers[0].state, ProviderState::Active);
}

#[tokio::test]
async fn a_wake_url_is_called_once_for_concurrent_requests() {
    three_requests_share_one_wake(|url| Wake::Url { url, method: "POST".into(), max_wait: NEVER }).await;
}

#[tokio::test]
async fn a_wake_command_runs_once_for_concurrent_requests() {
    three_requests_share_one_wake(|url| Wake::Command {
        argv: ["curl", "-sf", "-o", "/dev/null", "-X", "POST", &url].map(String::from).to_vec(),
        max_wait: NEVER,
    })
    .await;
}

#[tokio::test]
async fn a_failed_wake_answers_wake_failed_and_forwards_nothing() {
    let double = ScriptedProvider::start(asleep()).await.unwrap();
    let wake = Wake::Command { argv: vec!["false".into()], max_wait: NEVER };
    let (_providers, url) = agent_over(&double, |llm| llm.wake = Some(wake)).await;
    let response = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!((response.status().as_u16(), failure_of(&response)), (503, Some(Failure::WakeFailed)));
    assert_eq!(double.wakes(), 0);
    assert_eq!(forwarded(&double), 0, "nothing was forwarded to a sleeping provider");
}

#[tokio::test]
async fn a_provider_that_never_answers_its_wake_fails_after_max_wait() {
    let double = ScriptedProvider::start(asleep()).await.unwrap();
    let wake = Wake::Command { argv: vec!["true".into()], max_wait: Duration::from_secs(1) };
    let (_providers, url) = agent_over(&double, |llm| llm.wake = Some(wake)).await;
    let response = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!(failure_of(&response), Some(Failure::WakeFailed));
    let error = json_of(response).await;
    assert!(error["error"]["message"].as_str().unwrap().contains("within 1s"), "{error}");
}

#[tokio::test]
async fn a_provider_seen_active_that_refuses_the_connection_is_woken_and_sent_the_request_again() {
    let reserved = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = reserved.local_addr().unwrap();
    drop(reserved);
    // Its wake URL brings the provider up on the address it was seen on.
    let woken: Arc<parking_lot::Mutex<Vec<ScriptedProvider>>> = Arc::default();
    let waker = axum::Router::new().route(
        "/wake",
        axum::routing::post({
            let woken = woken.clone();
            move || async move {
                let provider = ScriptedProvider::start_on(addr, Script::default()).await.unwrap();
                woken.lock().push(provider);
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wake_url = format!("http://{}/wake", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, waker).into_future());
    let mut llm = LlmConfig::new("local", format!("http://{addr}/v1"));
    llm.wake = Some(Wake::Url { url: wake_url, method: "POST".into(), max_wait: NEVER });
    let providers = Providers::build(vec![llm], vec![], ChildEnv::default(), quick(), &keys).unwrap();
    let mut rounds = providers.inner.probe_rounds.subscribe();
    tokio::time::timeout(NEVER, rounds.wait_for(|n| *n >= 1)).await.unwrap().unwrap();
    // Seen active by the last probe; asleep since.
    providers.inner.providers["local"].set_state(ProviderState::Active);
    let url = serve(&providers).await;
    let response = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["choices"][0]["message"]["content"], Script::default().text());
    let woken = woken.lock();
    assert_eq!(woken.len(), 1, "one wake");
    assert_eq!(forwarded(&woken[0]), 1);
}

#[tokio::test]
async fn a_failed_wake_url_is_not_shown_back() {
    let double = ScriptedProvider::start(asleep()).await.unwrap();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wake?key=wake-secret-123", closed.local_addr().unwrap());
    drop(closed);
    let wake = Wake::Url { url, method: "POST".into(), max_wait: NEVER };
    let (_providers, url) = agent_over(&double, |llm| llm.wake = Some(wake)).await;
    let response = post(&url, "local/chat/completions", &chat(false)).await;
    assert_eq!(failure_of(&response), Some(Failure::WakeFailed));
    let error = json_of(response).await.to_string();
    assert!(error.contains("the wake URL failed") && !error.contains("wake-secret-123"), "{error}");
}
