//! The Open311 client against the wire's failures: the sandbox's faults, trickles, timeouts,
//! oversized answers, uploads, the key kept out of errors, two raw sockets for redirects and
//! stalled uploads, certificates, and XML items on every path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use curbside_core::open311::*;
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod clients;
use clients::*;

#[tokio::test]
async fn faults_map_to_what_the_outbox_can_do() {
    let sandbox = sandbox().await;
    let client = client(&sandbox, Format::Json);
    let faults = sandbox.faults();

    faults.next(Scope::Any, Fault::ServerError(503));
    assert!(client.services().await.unwrap_err().is_transient());

    faults.next(
        Scope::Any,
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
    );
    match client.submit(&pothole()).await.unwrap_err() {
        Open311Error::Transient { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("{other:?}"),
    }

    faults.next(Scope::Any, Fault::CaptivePortal);
    assert!(
        client.services().await.unwrap_err().is_transient(),
        "a login page is not a service list"
    );
    faults.next(Scope::Post, Fault::CaptivePortal);
    assert!(matches!(
        client.submit(&pothole()).await,
        Err(Open311Error::UnknownOutcome { .. })
    ));

    faults.next(Scope::Get, Fault::ResetMidBody);
    assert!(client.services().await.unwrap_err().is_transient());

    // The POST reached the city, the answer never came back: exactly the duplicate risk.
    let stored_before = sandbox.requests().len();
    faults.next(Scope::Post, Fault::CommitThenDrop);
    assert!(matches!(
        client.submit(&pothole()).await,
        Err(Open311Error::UnknownOutcome { .. })
    ));
    assert_eq!(
        sandbox.requests().len(),
        stored_before + 1,
        "the sandbox did store it"
    );

    faults.next(
        Scope::Get,
        Fault::Trickle {
            bytes_per_sec: 4000,
        },
    );
    assert_eq!(
        client.services().await.unwrap().len(),
        5,
        "slow but steady still arrives"
    );
}

#[tokio::test]
async fn a_trickling_server_is_bounded_by_the_overall_limit() {
    // Bytes keep coming (every read is within its timeout), but the whole answer takes too
    // long: the overall limit ends it, for a GET and for a POST.
    let sandbox = sandbox().await;
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config.limits.total_timeout = Duration::from_secs(2);
    config.limits.upload_timeout = Duration::from_secs(2);
    let client = Open311Client::new(config).unwrap();
    sandbox
        .faults()
        .always(Some(Fault::Trickle { bytes_per_sec: 10 }));
    let started = std::time::Instant::now();
    let get = client.services().await;
    assert!(
        matches!(get, Err(Open311Error::Transient { .. })),
        "{get:?}"
    );
    let post = client.submit(&pothole()).await;
    assert!(
        matches!(post, Err(Open311Error::UnknownOutcome { .. })),
        "{post:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "bounded: {:?}",
        started.elapsed()
    );
    sandbox.faults().clear();
}

#[tokio::test]
async fn timeouts_and_a_server_that_is_gone() {
    let sandbox = sandbox().await;
    let mut config = config(&sandbox, Format::Json);
    config.limits.read_timeout = Duration::from_millis(300);
    let client = Open311Client::new(config.clone()).unwrap();

    sandbox
        .faults()
        .next(Scope::Get, Fault::Stall(Duration::from_secs(3)));
    assert!(client.services().await.unwrap_err().is_transient());
    sandbox
        .faults()
        .next(Scope::Post, Fault::Stall(Duration::from_secs(3)));
    assert!(matches!(
        client.submit(&pothole()).await,
        Err(Open311Error::UnknownOutcome { .. })
    ));

    drop(sandbox);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = Open311Client::new(config)
        .unwrap()
        .submit(&pothole())
        .await
        .unwrap_err();
    assert!(
        err.is_transient(),
        "nothing was sent, so the POST can simply be retried: {err:?}"
    );
}

#[tokio::test]
async fn oversized_answers_are_refused_before_parsing() {
    let sandbox = sandbox().await;
    let mut config = config(&sandbox, Format::Json);
    config.limits.max_response_bytes = 200;
    match Open311Client::new(config)
        .unwrap()
        .services()
        .await
        .unwrap_err()
    {
        Open311Error::Transient { reason, .. } => {
            assert!(reason.contains("larger than"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn photos_upload_as_multipart_media() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("pothole.jpg");
    let bytes: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&photo, &bytes).unwrap();
    let mut config = config(&sandbox, Format::Json);
    config.quirks.media = MediaUpload::Multipart;
    let request = NewRequest {
        media: vec![MediaFile {
            path: photo,
            content_type: "image/jpeg".into(),
        }],
        ..pothole()
    };
    let Submission::Created { id, .. } = Open311Client::new(config)
        .unwrap()
        .submit(&request)
        .await
        .unwrap()
    else {
        panic!()
    };
    let stored = sandbox.requests().into_iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        stored.all("attribute[HAZARDS][]"),
        ["water", "glass"],
        "fields travel as parts too"
    );
    assert_eq!(stored.media_urls.len(), 1);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let served = reqwest::get(&stored.media_urls[0])
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(served.as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn the_api_key_never_appears_in_errors() {
    // A server that is gone: reqwest's error text includes the URL, and the URL the key.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = ServerConfig::new(format!("http://127.0.0.1:{port}/v2"));
    config.api_key = Some(ApiKey::new("k3y-that-must-not-leak"));
    config.quirks.api_key_on_get = true;
    let client = Open311Client::new(config).unwrap();
    let err = client.services().await.unwrap_err();
    assert!(
        !format!("{err} {err:?} {client:?}").contains("k3y-that-must-not-leak"),
        "{err:?}"
    );
}

/// A raw HTTP server that answers every connection with `response` and records what it got.
async fn raw_server(response: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 64 * 1024];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn redirects_never_carry_a_post_or_the_key_elsewhere() {
    let (elsewhere, elsewhere_saw) =
        raw_server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]".into()).await;
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {}/v2/x\r\nContent-Length: 0\r\n\r\n",
        elsewhere.replace("127.0.0.1", "localhost")
    );
    let (origin, _) = raw_server(redirect).await;
    let mut config = ServerConfig::new(format!("{origin}/v2/"));
    config.api_key = Some(ApiKey::new("k3y"));
    config.quirks.api_key_on_get = true;
    let client = Open311Client::new(config).unwrap();

    assert!(matches!(
        client.submit(&pothole()).await,
        Err(Open311Error::UnknownOutcome { .. })
    ));
    assert!(matches!(
        client.services().await,
        Err(Open311Error::Config { .. })
    ));
    assert!(
        elsewhere_saw.lock().unwrap().is_empty(),
        "nothing reached the other origin"
    );
}

#[tokio::test]
async fn a_stalled_upload_is_abandoned_as_unknown_outcome() {
    // Accepts the connection and never reads: the upload fills the socket buffers and stops.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("big.jpg");
    std::fs::write(&photo, vec![0x55u8; 48 * 1024 * 1024]).unwrap();
    let mut config = ServerConfig::new(format!("http://{addr}/v2/"));
    config.quirks.media = MediaUpload::Multipart;
    config.limits.stall_timeout = Duration::from_millis(500);
    let request = NewRequest {
        media: vec![MediaFile {
            path: photo,
            content_type: "image/jpeg".into(),
        }],
        ..pothole()
    };
    let started = std::time::Instant::now();
    match Open311Client::new(config)
        .unwrap()
        .submit(&request)
        .await
        .unwrap_err()
    {
        Open311Error::UnknownOutcome { reason, .. } => {
            assert!(reason.contains("no progress"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn tls_certificates_are_verified() {
    // A real TLS server on loopback (openssl s_server) with a self-signed certificate: the
    // client must refuse it, as it would a man in the middle.
    let Ok(openssl) = which_openssl() else {
        curbside_sandbox::skipped("no openssl binary to run a TLS server");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = std::process::Command::new(&openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(&openssl)
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(port.to_string())
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client =
        Open311Client::new(ServerConfig::new(format!("https://localhost:{port}/v2/"))).unwrap();
    let result = client.services().await;
    server.kill().unwrap();
    server.wait().unwrap();
    match result {
        Err(Open311Error::Transient { reason, .. }) => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}")
        }
        other => panic!("a self-signed certificate was accepted: {other:?}"),
    }
}

fn which_openssl() -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join("openssl"))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// A server whose XML names every item `<service_request>` (lists, single requests, POST
/// answers, tokens): the whole exchange works there in XML.
#[tokio::test]
async fn xml_items_named_service_request_are_read_on_every_path() {
    let sandbox = Sandbox::start(
        SandboxConfig {
            modes: vec![curbside_sandbox::Mode::ServiceRequestXml],
            ..Default::default()
        },
        0,
    )
    .await
    .unwrap();
    let c = client(&sandbox, Format::Xml);
    let Submission::Created { id, .. } = c.submit(&pothole()).await.unwrap() else {
        panic!("a realtime service answers with an id")
    };
    assert_eq!(
        c.request(&id).await.unwrap().id.as_deref(),
        Some(id.as_str())
    );
    let listed = c.requests(&RequestQuery::default()).await.unwrap();
    assert!(listed
        .requests
        .iter()
        .any(|r| r.id.as_deref() == Some(id.as_str())));
    let light = NewRequest {
        service_code: "streetlight".into(),
        attributes: vec![],
        ..pothole()
    };
    let Submission::Queued { token, .. } = c.submit(&light).await.unwrap() else {
        panic!("a batch service answers with a token")
    };
    let mut resolved = None;
    for _ in 0..5 {
        resolved = c.resolve_token(&token).await.unwrap();
        if resolved.is_some() {
            break;
        }
    }
    assert!(resolved.is_some(), "the token's id is read");
}
