use super::*;
use http::Request;
use tower::ServiceExt as _;

async fn get_readyz(readiness: Readiness) -> (StatusCode, String) {
    let request = Request::get("/readyz").body(axum::body::Body::empty()).unwrap();
    let response = readiness.route().oneshot(request).await.unwrap();
    let status = response.status();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn without_checks_the_answer_is_ready() {
    assert_eq!(get_readyz(Readiness::new()).await, (StatusCode::OK, "ready".into()));
}

#[tokio::test]
async fn a_failing_check_makes_it_503_without_saying_why() {
    let readiness = Readiness::new()
        .with_check("fine", || async { Ok(()) })
        .with_check("store", || async { Err("connection refused to db.internal:5432".to_owned()) });
    assert_eq!(
        readiness.check().await,
        Err(NotReady { check: "store", reason: "connection refused to db.internal:5432".into() })
    );
    assert_eq!(get_readyz(readiness).await, (StatusCode::SERVICE_UNAVAILABLE, "not ready".into()));
}

#[tokio::test(start_paused = true)]
async fn a_check_that_never_answers_fails_at_the_deadline() {
    let readiness = Readiness::new().with_check("stuck", std::future::pending);
    let why = readiness.check().await.unwrap_err();
    assert_eq!(why.check, "stuck");
    assert!(why.reason.contains("no answer within"), "{why}");
}

#[tokio::test]
async fn checks_are_run_again_on_every_request() {
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = flag.clone();
    let readiness = Readiness::new().with_check("flag", move || {
        let up = seen.load(Ordering::Relaxed);
        async move { if up { Ok(()) } else { Err("not yet".to_owned()) } }
    });
    assert_eq!(get_readyz(readiness.clone()).await.0, StatusCode::SERVICE_UNAVAILABLE);
    flag.store(true, Ordering::Relaxed);
    assert_eq!(get_readyz(readiness).await.0, StatusCode::OK);
}
