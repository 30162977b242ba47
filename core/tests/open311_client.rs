//! The Open311 client against a real GeoReport v2 server on loopback (the sandbox), in both
//! formats: each call of the protocol, paging, tokens, refusals. Failures of the wire (faults,
//! limits, redirects, stalls, TLS) are in `open311_wire.rs`.

use chrono::Utc;
use curbside_core::open311::*;

mod clients;
use clients::*;

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
