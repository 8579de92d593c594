//! AWS misbehaving: a small HTTP server on loopback speaks just enough STS
//! and S3 to be scanned, and answers chosen calls with throttling or with a
//! bucket policy that is not JSON. driftwatch must retry, then record the
//! failure against that bucket alone, report the unreadable policy as
//! `unknown` with the parse error, and never panic.

mod support;

use driftwatch::evaluate::FindingStatus;
use driftwatch::scan::scan_once;
use driftwatch::store::{FindingFilter, ScanStatus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

type Counts = Arc<Mutex<HashMap<String, usize>>>;

struct Response {
    status: u16,
    body: String,
}

fn ok(body: impl Into<String>) -> Response {
    Response {
        status: 200,
        body: body.into(),
    }
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response {
        status,
        body: format!(
            "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>r</RequestId></Error>"
        ),
    }
}

/// Routes one request. `target` is the path and query.
fn respond(method: &str, target: &str, body: &str) -> Response {
    if method == "POST" && body.contains("Action=GetCallerIdentity") {
        return ok(format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::{0}:user/auditor</Arn><UserId>AIDAEXAMPLE</UserId><Account>{0}</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
            support::ACCOUNT_ID
        ));
    }
    if target.starts_with("/v20180820/") {
        return error(404, "NoSuchPublicAccessBlockConfiguration", "none");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let bucket = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if bucket.is_empty() {
        // As AWS: BucketRegion only for a request with a parameter. Without
        // it the collector would ask GetBucketLocation, which this fake does
        // not serve, and both buckets would fail.
        let region = if query.contains("max-buckets=") {
            "<BucketRegion>us-east-1</BucketRegion>"
        } else {
            ""
        };
        return ok(format!(
            "<ListAllMyBucketsResult xmlns=\"{S3_NS}\"><Owner><ID>o</ID></Owner><Buckets>\
             <Bucket><Name>throttled-bucket</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate>{region}</Bucket>\
             <Bucket><Name>broken-policy</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate>{region}</Bucket>\
             </Buckets></ListAllMyBucketsResult>"
        ));
    }
    if bucket == "throttled-bucket" {
        return error(503, "SlowDown", "Please reduce your request rate.");
    }
    let sub = query
        .split('&')
        .next()
        .unwrap_or_default()
        .split('=')
        .next()
        .unwrap_or_default();
    match sub {
        "policy" => ok("{\"Version\": \"2012-10-17\", \"Statement\": [ {\"Effect\": \"Deny\""),
        "replication" => error(404, "ReplicationConfigurationNotFoundError", "none"),
        "encryption" => error(
            404,
            "ServerSideEncryptionConfigurationNotFoundError",
            "none",
        ),
        "publicAccessBlock" => error(404, "NoSuchPublicAccessBlockConfiguration", "none"),
        "versioning" => ok(format!("<VersioningConfiguration xmlns=\"{S3_NS}\"/>")),
        "logging" => ok(format!("<BucketLoggingStatus xmlns=\"{S3_NS}\"/>")),
        "tagging" => error(404, "NoSuchTagSet", "The TagSet does not exist"),
        other => error(
            400,
            "NotImplemented",
            &format!("fake AWS does not serve `{other}`"),
        ),
    }
}

async fn serve(mut stream: TcpStream, counts: Counts) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let content_length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < header_end + content_length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let target = request_line.next().unwrap_or_default().to_string();
    *counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(format!("{method} {target}"))
        .or_default() += 1;
    let response = respond(&method, &target, &body);
    let reason = match response.status {
        200 => "OK",
        404 => "Not Found",
        503 => "Slow Down",
        _ => "Error",
    };
    let reply = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        response.status,
        response.body.len(),
        response.body
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn throttling_and_an_unparseable_policy_fail_only_their_bucket_and_control() {
    support::init();
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let counts: Counts = Arc::default();
    let server_counts = counts.clone();
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, server_counts.clone()));
        }
    });

    let (store, url) = support::database().await;
    // The fake speaks STS and S3 only.
    let mut config = support::config_with_collectors(&["s3"]);
    config.database.url = Some(url.into());
    config.aws.endpoint_url = Some(endpoint);
    config.aws.max_attempts = 3;
    config.aws.retry_mode = driftwatch::config::RetryMode::Standard;

    let reports = scan_once(&config, &store).await.expect("scan recorded");
    server.abort();
    assert_eq!(reports.len(), 1);
    let report = &reports[0];
    assert_eq!(report.status, ScanStatus::Partial, "{:?}", report.error);
    assert_eq!(report.resources, 2);
    assert_eq!(report.failed_resources, 1);
    let error = report.error.as_deref().unwrap_or_default();
    assert!(
        error.contains("arn:aws:s3:::throttled-bucket")
            && error.contains("SlowDown: Please reduce your request rate."),
        "{error}"
    );
    assert!(!error.contains("broken-policy"), "{error}");

    // Every throttled call was retried up to the configured attempts.
    let counts = counts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for operation in [
        "policy",
        "replication",
        "encryption",
        "publicAccessBlock",
        "versioning",
        "logging",
    ] {
        let key = format!("GET /throttled-bucket/?{operation}");
        assert_eq!(counts.get(&key), Some(&3), "{key}: {counts:?}");
    }
    assert_eq!(
        counts.get("GET /broken-policy/?policy"),
        Some(&1),
        "{counts:?}"
    );

    let findings = store
        .findings(&FindingFilter::default())
        .await
        .expect("findings");
    let throttled: Vec<_> = findings
        .iter()
        .filter(|f| f.arn.ends_with("throttled-bucket"))
        .collect();
    assert_eq!(
        throttled.len(),
        driftwatch::evaluate::controls_for(driftwatch::model::ResourceType::S3Bucket).count()
    );
    for f in &throttled {
        assert_eq!(f.status, FindingStatus::Unknown, "{}", f.control_id);
        assert!(
            f.evidence["collection_error"]
                .as_str()
                .unwrap_or_default()
                .contains("SlowDown")
        );
    }
    let policy = findings
        .iter()
        .find(|f| f.arn.ends_with("broken-policy") && f.control_id == "s3.tls_only")
        .expect("tls finding for broken-policy");
    assert_eq!(policy.status, FindingStatus::Unknown);
    let message = policy.evidence["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("bucket policy is not valid JSON"),
        "{message}"
    );
    // The rest of that bucket was read normally.
    let versioning = findings
        .iter()
        .find(|f| f.arn.ends_with("broken-policy") && f.control_id == "s3.versioning")
        .expect("versioning finding");
    assert_eq!(versioning.status, FindingStatus::Fail);
}
