//! `Open311Client`: the six GeoReport v2 calls plus discovery, for one server.

use std::collections::BTreeSet;
use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

use super::answer::{answer, not_protocol};
use super::parse;
use super::transport::{Method, PostBody, Transport};
use super::*;

type Query<'a> = url::form_urlencoded::Serializer<'a, url::UrlQuery<'a>>;

/// A client for one Open311 server. Cheap to share; every call is one HTTP exchange.
pub struct Open311Client {
    config: ServerConfig,
    base: Url,
    transport: Transport,
    /// Parameters outside the spec that this server refused by name (a strict server's 400
    /// "unexpected entries: extensions"); never sent to it again by this client.
    refused: Mutex<BTreeSet<&'static str>>,
    /// The server's zone, for its zone-less times.
    zone: ServerZone,
}

impl std::fmt::Debug for Open311Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open311Client")
            .field("config", &self.config)
            .finish()
    }
}

impl Open311Client {
    /// A client for `config`; fails if the endpoint is not a URL or is not secure.
    pub fn new(config: ServerConfig) -> Result<Self, Open311Error> {
        let base = config.base_url()?;
        let zone = config.quirks.zone()?;
        let transport = Transport::new(&config)?;
        Ok(Open311Client {
            zone,
            config,
            base,
            transport,
            refused: Mutex::new(BTreeSet::new()),
        })
    }

    /// The configuration this client was made with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Reads a discovery document from `discovery_url` (ending in `discovery.json` or
    /// `discovery.xml`), which may be on another host than the endpoint.
    pub async fn discover(
        discovery_url: &str,
        app_name: Option<String>,
    ) -> Result<Discovery, Open311Error> {
        let mut probe = ServerConfig::new(discovery_url);
        probe.app_name = app_name;
        let transport = Transport::new(&probe)?;
        let url = Url::parse(discovery_url).map_err(|e| Open311Error::Config {
            reason: format!("discovery URL: {e}"),
        })?;
        let response = transport.get(url).await?;
        let doc = answer(&transport, Method::Get, response)?;
        parse::discovery(&doc).map_err(|reason| not_protocol(Method::Get, reason))
    }

    /// The services the city accepts.
    pub async fn services(&self) -> Result<Vec<Service>, Open311Error> {
        let doc = self.get(&["services"]).await?;
        parse::services(&doc).map_err(|r| not_protocol(Method::Get, r))
    }

    /// The extra questions of one service (for services with `metadata`).
    pub async fn service_definition(
        &self,
        service_code: &str,
    ) -> Result<ServiceDefinition, Open311Error> {
        let doc = self.get(&["services", service_code]).await?;
        parse::definition(&doc, service_code).map_err(|r| not_protocol(Method::Get, r))
    }

    /// POSTs a new service request. On [`Open311Error::UnknownOutcome`] the server may have
    /// created it: reconcile before sending again.
    pub async fn submit(&self, request: &NewRequest) -> Result<Submission, Open311Error> {
        let url = self.url(&["requests"])?;
        let fields = self.form_fields(request);
        let body = if request.media.is_empty() || self.config.quirks.media != MediaUpload::Multipart
        {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.extend_pairs(&fields);
            PostBody::Form(form.finish())
        } else {
            let mut files = Vec::new();
            for (i, media) in request.media.iter().enumerate() {
                let bytes =
                    tokio::fs::read(&media.path)
                        .await
                        .map_err(|e| Open311Error::Config {
                            reason: format!("cannot read photo {}: {}", i + 1, e.kind()),
                        })?;
                let ext = media.content_type.rsplit('/').next().unwrap_or("bin");
                files.push((
                    "media".to_string(),
                    format!("photo{}.{ext}", i + 1),
                    media.content_type.clone(),
                    bytes.into(),
                ));
            }
            PostBody::Multipart { fields, files }
        };
        let response = self.transport.post(url, body).await?;
        let doc = answer(&self.transport, Method::Post, response)?;
        parse::submission(&doc).map_err(|reason| Open311Error::UnknownOutcome {
            reason,
            answer: Unusable::Document,
        })
    }

    /// The id a batch POST's token resolved to, or `None` while the server is still working.
    pub async fn resolve_token(&self, token: &str) -> Result<Option<String>, Open311Error> {
        let doc = self.get(&["tokens", token]).await?;
        parse::token_id(&doc).map_err(|r| not_protocol(Method::Get, r))
    }

    /// One page of requests matching `query`. Filters the server ignored are applied here, and
    /// the page says when the answer contradicted the query (`contradicted`). A parameter
    /// outside the spec that the server refuses by name is dropped and the call made again.
    pub async fn requests(&self, query: &RequestQuery) -> Result<RequestPage, Open311Error> {
        let pagination = self.config.quirks.pagination;
        let first_page = match pagination {
            Pagination::PageSize { first_page } => first_page,
            _ => 0,
        };
        let page = query.page.unwrap_or(first_page);
        let (doc, headers, sent) = loop {
            let url = self.get_url(&["requests"], |q| self.query_pairs(q, query, page))?;
            let sent: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
            match self.fetch(url).await {
                Ok((doc, headers)) => break (doc, headers, sent),
                Err(e) => match self.learn_refused(&e, &sent) {
                    true => continue,
                    false => return Err(e),
                },
            }
        };
        let (mut requests, count) =
            parse::requests(&doc, self.zone).map_err(|r| not_protocol(Method::Get, r))?;
        for r in &mut requests {
            r.status = r
                .status
                .as_deref()
                .map(|s| self.config.quirks.map_status(s));
        }
        let paged = sent.iter().any(|p| p == "page_size" || p == "limit");
        let next_page = match paged {
            true => next_page(pagination, page, query.page_size, count, &headers, &doc),
            false => None,
        };
        let listed_ids: Vec<String> = requests.iter().filter_map(|r| r.id.clone()).collect();
        let before = requests.len();
        let undated = requests.iter().filter(|r| query.admits_undated(r)).count();
        requests.retain(|r| query.admits(r));
        let oversized = paged && query.page_size.is_some_and(|size| count > size as usize);
        let contradicted = requests.len() < before || oversized;
        Ok(RequestPage {
            contradicted,
            dates_only: contradicted && !oversized && undated == before,
            server_time: server_time(&headers),
            requests,
            next_page,
            listed_ids,
        })
    }

    /// After a refusal that names a parameter this client sent beyond the spec, remembers not
    /// to send it again; true when there is something to try without it.
    fn learn_refused(&self, error: &Open311Error, sent: &[String]) -> bool {
        let Open311Error::Rejected {
            status: 400,
            messages,
        } = error
        else {
            return false;
        };
        let mut refused = self.refused.lock().unwrap();
        let mut learnt = false;
        for name in OPTIONAL_PARAMS {
            let named = messages
                .iter()
                .any(|m| m.field.as_deref() == Some(*name) || mentions(&m.description, name));
            if named && sent.iter().any(|p| p == name) && refused.insert(name) {
                learnt = true;
            }
        }
        pair_up(&mut refused);
        learnt
    }

    /// Stops sending `params` (those beyond the spec this client knows): refusals learnt
    /// before, kept by the caller, or parameters the server was seen to ignore.
    pub fn assume_refused<'a>(&self, params: impl IntoIterator<Item = &'a str>) {
        let mut refused = self.refused.lock().unwrap();
        for p in params {
            if let Some(name) = OPTIONAL_PARAMS.iter().find(|name| **name == p) {
                refused.insert(name);
            }
        }
        pair_up(&mut refused);
    }

    /// The parameters outside the spec this server refused by name (`extensions`, `page`, ...),
    /// which this client no longer sends to it.
    pub fn refused_params(&self) -> Vec<String> {
        self.refused
            .lock()
            .unwrap()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    /// Whether this client still sends `param` (a parameter outside the spec).
    fn sends(&self, param: &str) -> bool {
        !self.refused.lock().unwrap().contains(param)
    }

    /// One request by id.
    pub async fn request(&self, id: &str) -> Result<ServiceRequest, Open311Error> {
        let doc = self.get(&["requests", id]).await?;
        let (mut found, _) =
            parse::requests(&doc, self.zone).map_err(|r| not_protocol(Method::Get, r))?;
        let position = found
            .iter()
            .position(|r| r.id.as_deref() == Some(id))
            .unwrap_or(0);
        if found.is_empty() {
            return Err(Open311Error::NotFound { messages: vec![] });
        }
        let mut request = found.swap_remove(position);
        // The city's own status ids mapped as in a list: one request is the same request.
        request.status = request
            .status
            .as_deref()
            .map(|s| self.config.quirks.map_status(s));
        Ok(request)
    }

    /// `{base}/a/b.{fmt}`, each segment percent-encoded (service codes may hold `/` or spaces).
    fn url(&self, segments: &[&str]) -> Result<Url, Open311Error> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| Open311Error::Config {
                reason: "endpoint cannot be a base URL".into(),
            })?;
            path.pop_if_empty();
            let (last, rest) = segments.split_last().expect("at least one segment");
            path.extend(rest);
            path.push(&format!("{last}.{}", self.config.format.suffix()));
        }
        Ok(url)
    }

    /// The URL of a GET: `{base}/segments.{fmt}` with jurisdiction_id, the api_key where the
    /// server wants it on GETs, and the call's own parameters.
    fn get_url(
        &self,
        segments: &[&str],
        params: impl FnOnce(&mut Query<'_>),
    ) -> Result<Url, Open311Error> {
        let mut url = self.url(segments)?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(j) = &self.config.jurisdiction_id {
                q.append_pair("jurisdiction_id", j);
            }
            if self.config.quirks.api_key_on_get {
                if let Some(key) = &self.config.api_key {
                    q.append_pair("api_key", key.expose());
                }
            }
            params(&mut q);
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// GETs `url` and reads the answer, returning its headers too.
    async fn fetch(&self, url: Url) -> Result<(Value, HeaderMap), Open311Error> {
        let response = self.transport.get(url).await?;
        let headers = response.headers.clone();
        Ok((answer(&self.transport, Method::Get, response)?, headers))
    }

    /// GETs `{base}/segments.{fmt}` with no parameters of its own.
    async fn get(&self, segments: &[&str]) -> Result<Value, Open311Error> {
        Ok(self.fetch(self.get_url(segments, |_| {})?).await?.0)
    }

    fn query_pairs(&self, q: &mut Query<'_>, query: &RequestQuery, page: u32) {
        if !query.ids.is_empty() {
            q.append_pair("service_request_id", &query.ids.join(","));
        }
        if !query.service_codes.is_empty() {
            q.append_pair("service_code", &query.service_codes.join(","));
        }
        if let Some(start) = query.start {
            q.append_pair("start_date", &self.query_time(start));
        }
        if let Some(end) = query.end {
            q.append_pair("end_date", &self.query_time(end));
        }
        if !query.statuses.is_empty() {
            q.append_pair("status", &query.statuses.join(","));
        }
        if let Some(area) = query.area {
            match self.config.quirks.position_filter {
                PositionFilter::Bbox if self.sends("bbox") => q.append_pair(
                    "bbox",
                    &format!("{},{},{},{}", area.west, area.south, area.east, area.north),
                ),
                PositionFilter::Radius if self.sends("radius") => {
                    let (lat, long, radius) = area.circle();
                    q.append_pair("lat", &lat.to_string());
                    q.append_pair("long", &long.to_string());
                    q.append_pair("radius", &format!("{}", radius.ceil()))
                }
                _ => q,
            };
        }
        if query.extensions && self.sends("extensions") {
            q.append_pair("extensions", "true");
        }
        match self.config.quirks.pagination {
            Pagination::PageSize { .. } | Pagination::LimitOffset
                if !self.sends("page_size") || !self.sends("limit") => {}
            Pagination::PageSize { .. } => {
                if query.page.is_some() || query.page_size.is_some() {
                    q.append_pair("page", &page.to_string());
                }
                if let Some(size) = query.page_size {
                    q.append_pair("page_size", &size.to_string());
                }
            }
            Pagination::LimitOffset => {
                if let Some(size) = query.page_size {
                    q.append_pair("limit", &size.to_string());
                    q.append_pair("offset", &(u64::from(page) * u64::from(size)).to_string());
                }
            }
            Pagination::None => {}
        }
    }

    /// A query time in UTC (`Z`), or in the server's zone without one for servers that
    /// refuse zones.
    fn query_time(&self, t: DateTime<Utc>) -> String {
        if self.config.quirks.omit_timezone_in_queries {
            self.zone.local(t).format("%Y-%m-%dT%H:%M:%S").to_string()
        } else {
            t.to_rfc3339_opts(SecondsFormat::Secs, true)
        }
    }

    fn form_fields(&self, r: &NewRequest) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                f.push((k.to_string(), v.to_string()));
            }
        };
        put("api_key", self.config.api_key.as_ref().map(|k| k.expose()));
        put("jurisdiction_id", self.config.jurisdiction_id.as_deref());
        put("service_code", Some(&r.service_code));
        if let Some((lat, long)) = r.position {
            put("lat", Some(&lat.to_string()));
            put("long", Some(&long.to_string()));
        }
        put("address_string", r.address_string.as_deref());
        put("address_id", r.address_id.as_deref());
        put("email", r.email.as_deref());
        put("device_id", r.device_id.as_deref());
        put("account_id", r.account_id.as_deref());
        put("first_name", r.first_name.as_deref());
        put("last_name", r.last_name.as_deref());
        put("phone", r.phone.as_deref());
        put("description", r.description.as_deref());
        for url in &r.media_urls {
            put("media_url", Some(url));
        }
        for answer in &r.attributes {
            let key = match (answer.multiple, self.config.quirks.multivalue) {
                (true, MultiValueStyle::Brackets) => format!("attribute[{}][]", answer.code),
                _ => format!("attribute[{}]", answer.code),
            };
            for value in &answer.values {
                f.push((key.clone(), value.clone()));
            }
        }
        f
    }
}

/// Parameters that mean nothing apart: paging comes in pairs, a circle in threes.
fn pair_up(refused: &mut BTreeSet<&'static str>) {
    if refused.contains("page_size") || refused.contains("page") {
        refused.extend(["page", "page_size"]);
    }
    if refused.contains("limit") || refused.contains("offset") {
        refused.extend(["limit", "offset"]);
    }
    if ["lat", "long", "radius"]
        .iter()
        .any(|p| refused.contains(p))
    {
        refused.extend(["lat", "long", "radius"]);
    }
}

/// Parameters of `GET requests` outside the spec, which strict servers refuse.
const OPTIONAL_PARAMS: &[&str] = &[
    "extensions",
    "page",
    "page_size",
    "limit",
    "offset",
    "bbox",
    "lat",
    "long",
    "radius",
];

/// Whether `text` names `word` as a word of its own (`page` is not in `page_size`).
fn mentions(text: &str, word: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.match_indices(word).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        boundary(before) && boundary(after)
    })
}

/// The next page, from headers (6aika, Libre311), a `meta` block (Mark-a-Spot), or a full page.
fn next_page(
    pagination: Pagination,
    page: u32,
    page_size: Option<u32>,
    count: usize,
    headers: &HeaderMap,
    doc: &Value,
) -> Option<u32> {
    if pagination == Pagination::None {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(next) = header("x-next-page-url") {
        return (!next.is_empty()).then_some(page + 1);
    }
    let first = match pagination {
        Pagination::PageSize { first_page } => first_page,
        _ => 0,
    };
    for total_pages in ["x-page-count", "page-totalpages"] {
        if let Some(total) = header(total_pages).and_then(|v| v.parse::<u32>().ok()) {
            return (page + 1 - first < total).then_some(page + 1);
        }
    }
    if let Some(meta) = doc.get("meta") {
        if let (Some(total), Some(limit), Some(offset)) = (
            super::tree::number(meta, "total"),
            super::tree::number(meta, "limit"),
            super::tree::number(meta, "offset"),
        ) {
            return (offset + limit < total).then_some(page + 1);
        }
    }
    match page_size {
        Some(size) if size > 0 && count >= size as usize => Some(page + 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// The `Date` header of an answer: the server's clock when it answered.
fn server_time(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(date)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
