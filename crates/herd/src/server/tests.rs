use super::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn args(token: &str) -> ServeArgs {
    ServeArgs {
        listen: None,
        stdio: false,
        token: Some(token.into()),
        insecure_no_auth: false,
        allowed_hosts: Vec::new(),
        allowed_origins: Vec::new(),
        path: "/mcp".into(),
        tls: Default::default(),
    }
}

/// Serves an empty router with `readiness` on a loopback port; the
/// address and the shutdown switch.
async fn serve(readiness: Readiness) -> (SocketAddr, CancellationToken) {
    let listener = bind(default_addr("127.0.0.1:0")).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let router = router("test", Vec::new());
        let around = Around {
            extra: axum::Router::new(),
            public: axum::Router::new(),
            readiness,
            access: None,
            status_page: None,
            replica: None,
        };
        serve_http_ready("test", &args("secret"), listener, router, around, stop).await
    });
    (addr, shutdown)
}

/// `GET path` without a token, over a real connection: status and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn readyz_answers_without_a_token() {
    let (addr, shutdown) = serve(Readiness::new()).await;
    assert_eq!(get(addr, "/readyz").await, (200, "ready".into()));
    shutdown.cancel();
}

#[tokio::test]
async fn a_failing_check_makes_readyz_503_while_healthz_stays_ok() {
    let failing = Readiness::new().with_check("store", || async { Err("database is down".to_owned()) });
    let (addr, shutdown) = serve(failing).await;
    assert_eq!(get(addr, "/readyz").await, (503, "not ready".into()));
    assert_eq!(get(addr, "/healthz").await, (200, "ok".into()));
    shutdown.cancel();
}
