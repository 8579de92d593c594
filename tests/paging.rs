//! `/api/findings` and `/api/drift` page with a limit and a cursor: real
//! scans of moto into Postgres, the real router on loopback, and a client
//! that follows `Link: <…>; rel="next"` until there is none. The pages
//! together are the whole listing, each row once, in the listing's order;
//! a limit or cursor out of bounds is refused naming the parameter.

mod support;

use driftwatch::http::{ApiState, router};
use driftwatch::metrics::Metrics;
use driftwatch::scan::scan_once;
use driftwatch::store::{DriftFilter, FindingFilter};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::Moto;
use support::seed::create_bucket;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Answer {
    status: u16,
    next: Option<String>,
    body: Value,
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let next = head
        .lines()
        .find_map(|l| l.strip_prefix("link: <"))
        .and_then(|l| l.strip_suffix(">; rel=\"next\""))
        .map(str::to_string);
    Answer {
        status,
        next,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// Every row of a listing, page by page; also the number of pages.
async fn follow(addr: SocketAddr, first: &str) -> (Vec<Value>, usize) {
    let (mut rows, mut pages, mut path) = (Vec::new(), 0, Some(first.to_string()));
    while let Some(at) = path {
        let answer = get(addr, &at).await;
        assert_eq!(answer.status, 200, "{at}: {}", answer.body);
        rows.extend(answer.body.as_array().expect("an array").iter().cloned());
        pages += 1;
        assert!(pages < 1000, "the pages never end");
        path = answer.next;
    }
    (rows, pages)
}

#[tokio::test]
async fn findings_and_drift_page_through_the_whole_listing_once() {
    let moto = Moto::start();
    let (store, url) = support::database().await;
    let config = moto.config(&url, &["s3"]);
    let s3 = moto.s3();
    for n in 0..12 {
        create_bucket(&s3, &format!("paged-{n:02}")).await;
    }
    scan_once(&config, &store).await.expect("scan");
    for n in 0..12 {
        s3.delete_bucket()
            .bucket(format!("paged-{n:02}"))
            .send()
            .await
            .expect("delete bucket");
    }
    scan_once(&config, &store).await.expect("rescan");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(ApiState {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        stuck_after: Duration::from_secs(600),
        token: None,
        clock: driftwatch::clock::Clock::system(),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Findings: the first scan's, of buckets now gone, are not current;
    // a third scan's buckets are.
    for n in 0..9 {
        create_bucket(&s3, &format!("live-{n}")).await;
    }
    scan_once(&config, &store).await.expect("third scan");
    let whole = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    assert!(whole.len() > 20, "{} findings", whole.len());
    let (paged, pages) = follow(addr, "/api/findings?limit=7").await;
    let ids = |rows: &[Value]| -> Vec<i64> {
        rows.iter()
            .map(|r| r["finding_id"].as_i64().expect("an id"))
            .collect()
    };
    assert_eq!(
        ids(&paged),
        whole.iter().map(|f| f.finding_id).collect::<Vec<_>>()
    );
    assert_eq!(
        pages,
        whole.len().div_ceil(7) + usize::from(whole.len() % 7 == 0)
    );

    // The filter holds across pages.
    let (failing, _) = follow(addr, "/api/findings?status=fail&limit=3").await;
    assert!(!failing.is_empty());
    assert!(failing.iter().all(|f| f["status"] == "fail"));

    // Drift: 12 deletions and 9 creations at least, in detection order.
    let drift = store
        .drift_events(&DriftFilter::default())
        .await
        .expect("drift");
    assert!(drift.len() >= 21, "{} drift events", drift.len());
    let (paged, _) = follow(addr, "/api/drift?limit=4").await;
    assert_eq!(
        paged
            .iter()
            .map(|d| d["id"].as_i64().expect("id"))
            .collect::<Vec<_>>(),
        drift.iter().map(|d| d.id).collect::<Vec<_>>()
    );

    for (path, name) in [
        ("/api/findings?limit=0", "limit"),
        ("/api/findings?limit=10001", "limit"),
        ("/api/findings?cursor=zz", "cursor"),
        ("/api/drift?cursor=7b7d", "cursor"),
    ] {
        let answer = get(addr, path).await;
        assert_eq!(answer.status, 400, "{path}");
        assert!(
            answer.body["error"]
                .as_str()
                .is_some_and(|e| e.starts_with(name)),
            "{path}: {}",
            answer.body
        );
    }
}
