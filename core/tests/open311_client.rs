//! The Open311 client against a real GeoReport v2 server on loopback (the sandbox), in both
//! formats, with the sandbox's faults, plus two raw sockets for redirects and stalled uploads.
//!
//! Longer than 600 lines on purpose: one test per call of the protocol and per failure of
//! the wire, each a few lines over shared helpers; the list reads as the client's contract.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use curbside_core::open311::*;
use curbside_sandbox::{Fault, Sandbox, SandboxConfig, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default(), 0).await.unwrap()
}

fn config(sandbox: &Sandbox, format: Format) -> ServerConfig {
    let mut config = ServerConfig::new(sandbox.endpoint());
    config.format = format;
    config.api_key = Some(ApiKey::new("sandbox-key"));
    config.app_name = Some("CurbsideTests/1.0".into());
    config
}

fn client(sandbox: &Sandbox, format: Format) -> Open311Client {
    Open311Client::new(config(sandbox, format)).unwrap()
}

fn pothole() -> NewRequest {
    NewRequest {
        service_code: "pothole".into(),
        position: Some((38.8893, -77.0502)),
        description: Some("Deep pothole, northbound bike lane".into()),
        attributes: vec![
            AttributeAnswer {
                code: "WHERE".into(),
                values: vec!["bike".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "DEPTH".into(),
                values: vec!["12".into()],
                multiple: false,
            },
            AttributeAnswer {
                code: "HAZARDS".into(),
                values: vec!["water".into(), "glass".into()],
                multiple: true,
            },
        ],
        email: Some("citizen@example.org".into()),
        first_name: Some("Ada".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn discovery_services_and_definitions_in_both_formats() {
    let sandbox = sandbox().await;
    let discovery = Open311Client::discover(&sandbox.discovery_url(), None)
        .await
        .unwrap();
    let endpoint = discovery.georeport_v2().unwrap();
    assert_eq!(
        endpoint.url.trim_end_matches('/'),
        sandbox.endpoint().trim_end_matches('/')
    );

    let json = client(&sandbox, Format::Json);
    let xml = client(&sandbox, Format::Xml);
    let services = json.services().await.unwrap();
    assert_eq!(
        services,
        xml.services().await.unwrap(),
        "JSON and XML read the same"
    );
    assert_eq!(services.len(), 5);
    assert_eq!(
        services
            .iter()
            .find(|s| s.code == "streetlight")
            .unwrap()
            .kind,
        ServiceType::Batch
    );

    let def = json.service_definition("pothole").await.unwrap();
    assert_eq!(def, xml.service_definition("pothole").await.unwrap());
    let types: Vec<_> = def.attributes.iter().map(|a| a.datatype).collect();
    for t in [
        Datatype::String,
        Datatype::Number,
        Datatype::Datetime,
        Datatype::Text,
        Datatype::SingleValueList,
        Datatype::MultiValueList,
    ] {
        assert!(types.contains(&t), "{t:?} missing");
    }
    assert!(!def.attributes[0].variable, "informational first (order 1)");

    // A code with a slash and a space is one path segment.
    let tree = xml.service_definition("parks/tree trimming").await.unwrap();
    assert_eq!(tree.attributes[0].code, "SIZE");
    assert!(matches!(
        json.service_definition("graffiti").await,
        Err(Open311Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn post_then_find_it_with_every_filter_and_its_history() {
    let sandbox = sandbox().await;
    for format in [Format::Json, Format::Xml] {
        let client = client(&sandbox, format);
        let before = Utc::now() - chrono::Duration::seconds(5);
        let Submission::Created { id, service_notice } = client.submit(&pothole()).await.unwrap()
        else {
            panic!()
        };
        assert!(service_notice.unwrap().contains("Thank you"));

        let stored = sandbox.requests().into_iter().find(|r| r.id == id).unwrap();
        assert_eq!(
            stored.all("attribute[HAZARDS][]"),
            ["water", "glass"],
            "the spec's multivalue form"
        );
        assert_eq!(stored.field("attribute[WHERE]"), Some("bike"));
        assert_eq!(stored.field("lat"), Some("38.8893"));
        assert_eq!(stored.field("email"), Some("citizen@example.org"));
        assert_eq!(
            stored.field("api_key"),
            None,
            "the sandbox drops the key after checking it"
        );

        let one = client.request(&id).await.unwrap();
        assert_eq!(
            one.description.as_deref(),
            Some("Deep pothole, northbound bike lane")
        );
        assert_eq!((one.lat, one.long), (Some(38.8893), Some(-77.0502)));

        let by = |q: RequestQuery| {
            let client = &client;
            async move {
                client
                    .requests(&q)
                    .await
                    .unwrap()
                    .requests
                    .into_iter()
                    .map(|r| r.id.unwrap())
                    .collect::<Vec<_>>()
            }
        };
        assert!(
            by(RequestQuery {
                ids: vec![id.clone()],
                ..Default::default()
            })
            .await
                == [id.clone()]
        );
        assert!(by(RequestQuery {
            service_codes: vec!["pothole".into()],
            start: Some(before),
            end: Some(Utc::now() + chrono::Duration::seconds(5)),
            statuses: vec!["open".into()],
            ..Default::default()
        })
        .await
        .contains(&id));
        assert!(!by(RequestQuery {
            service_codes: vec!["graffiti".into()],
            ..Default::default()
        })
        .await
        .contains(&id));

        sandbox.set_status(&id, "closed", "Patched").unwrap();
        let page = client
            .requests(&RequestQuery {
                ids: vec![id.clone()],
                extensions: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let closed = &page.requests[0];
        assert_eq!(closed.status.as_deref(), Some("closed"));
        assert_eq!(closed.status_notes.as_deref(), Some("Patched"));
        assert_eq!(
            closed
                .notes
                .iter()
                .map(|n| n.kind.clone().unwrap())
                .collect::<Vec<_>>(),
            ["opened", "closed"]
        );
    }
}

#[tokio::test]
async fn repeated_multivalue_encoding_for_servers_that_want_it() {
    let sandbox = sandbox().await;
    let mut config = config(&sandbox, Format::Json);
    config.quirks.multivalue = MultiValueStyle::Repeated;
    let Submission::Created { id, .. } = Open311Client::new(config)
        .unwrap()
        .submit(&pothole())
        .await
        .unwrap()
    else {
        panic!()
    };
    let stored = sandbox.requests().into_iter().find(|r| r.id == id).unwrap();
    assert_eq!(stored.all("attribute[HAZARDS]"), ["water", "glass"]);
}

#[tokio::test]
async fn pages_until_the_server_says_there_are_no_more() {
    let sandbox = sandbox().await;
    let client = client(&sandbox, Format::Json);
    let mut ids = Vec::new();
    for i in 0..5 {
        let request = NewRequest {
            description: Some(format!("report {i}")),
            ..pothole()
        };
        let Submission::Created { id, .. } = client.submit(&request).await.unwrap() else {
            panic!()
        };
        ids.push(id);
    }
    let mut seen = Vec::new();
    let mut query = RequestQuery {
        page_size: Some(2),
        ..Default::default()
    };
    loop {
        let page = client.requests(&query).await.unwrap();
        seen.extend(page.requests.into_iter().map(|r| r.id.unwrap()));
        match page.next_page {
            Some(next) => query.page = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn batch_services_answer_with_a_token_that_resolves_later() {
    let sandbox = sandbox().await;
    let client = client(&sandbox, Format::Xml);
    let request = NewRequest {
        service_code: "streetlight".into(),
        attributes: vec![],
        ..pothole()
    };
    let Submission::Queued { token, .. } = client.submit(&request).await.unwrap() else {
        panic!("expected a token")
    };
    assert_eq!(
        client.resolve_token(&token).await.unwrap(),
        None,
        "still processing"
    );
    let id = client
        .resolve_token(&token)
        .await
        .unwrap()
        .expect("an id on the second poll");
    assert_eq!(
        client.request(&id).await.unwrap().service_code.as_deref(),
        Some("streetlight")
    );
    assert!(matches!(
        client.resolve_token("no-such-token").await,
        Err(Open311Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn server_refusals_are_classified_with_their_messages() {
    let sandbox = sandbox().await;
    let good = client(&sandbox, Format::Json);

    let mut wrong_key = config(&sandbox, Format::Xml);
    wrong_key.api_key = Some(ApiKey::new("stolen"));
    let err = Open311Client::new(wrong_key)
        .unwrap()
        .submit(&pothole())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Open311Error::Auth { status: 403, .. }),
        "{err:?}"
    );

    let missing = NewRequest {
        attributes: vec![],
        position: None,
        ..pothole()
    };
    match good.submit(&missing).await.unwrap_err() {
        Open311Error::Rejected {
            status: 400,
            messages,
        } => {
            let text: Vec<_> = messages.iter().map(|m| m.description.as_str()).collect();
            assert!(text.contains(&"attribute[WHERE] is required"), "{text:?}");
            assert!(text.contains(&"attribute[DEPTH] is required"));
            assert!(text.iter().any(|t| t.contains("lat and long")));
        }
        other => panic!("{other:?}"),
    }
    let unknown = NewRequest {
        service_code: "unicorns".into(),
        ..pothole()
    };
    assert!(matches!(
        good.submit(&unknown).await,
        Err(Open311Error::NotFound { .. })
    ));
    assert!(matches!(
        good.request("999999").await,
        Err(Open311Error::NotFound { .. })
    ));

    let mut tagged = pothole();
    tagged.attributes.push(AttributeAnswer {
        code: "curbside_id".into(),
        values: vec!["0b7e-report".into()],
        multiple: false,
    });
    good.submit(&tagged).await.unwrap();
    assert!(matches!(
        good.submit(&tagged).await,
        Err(Open311Error::Duplicate { .. })
    ));
}

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
