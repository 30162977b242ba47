//! The Open311 client as Kotlin and Swift see it: records an app can build a form from, and
//! `Open311Client`, whose calls are `suspend` / `async`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use curbside_core::open311 as core;

use crate::ApiError;

/// The wire format of a server's responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Format {
    /// JSON.
    Json,
    /// XML, the spec's required format; some cities serve nothing else.
    Xml,
}

/// How multivaluelist answers are encoded in a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MultiValueStyle {
    /// `attribute[code][]=a&attribute[code][]=b`, as the spec says.
    Brackets,
    /// `attribute[code]=a&attribute[code]=b` (mySociety, FixMyStreet).
    Repeated,
}

/// How a server pages `GET requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Pagination {
    /// `page` and `page_size`, counted from `first_page`.
    PageSize {
        /// 1 on most servers, 0 on some.
        first_page: u32,
    },
    /// `limit` and `offset`.
    LimitOffset,
    /// No paging.
    None,
}

/// How photos reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum MediaUpload {
    /// Only `media_url`: photos must be hosted elsewhere first.
    MediaUrl,
    /// Multipart `media` parts in the POST.
    Multipart,
}

/// What a server does differently from the spec.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Quirks {
    /// Encoding of multivaluelist answers.
    pub multivalue: MultiValueStyle,
    /// Paging style of `GET requests`.
    pub pagination: Pagination,
    /// Send `api_key` on GETs too.
    #[uniffi(default = false)]
    pub api_key_on_get: bool,
    /// How photos are sent.
    pub media: MediaUpload,
    /// Attribute code that carries Curbside's report UUID, when the server has one.
    #[uniffi(default = None)]
    pub client_reference_attribute: Option<String>,
    /// Send query dates without a zone, in the server's zone.
    #[uniffi(default = false)]
    pub omit_timezone_in_queries: bool,
    /// The server's UTC offset in seconds, for times it sends without a zone.
    #[uniffi(default = 0)]
    pub utc_offset_seconds: i32,
    /// The server takes `extensions=true`; off by default (strict servers refuse it).
    #[uniffi(default = false)]
    pub extensions: bool,
    /// The city's own status values mapped to `open` / `closed` (`{"7": "closed"}`).
    #[uniffi(default)]
    pub status_map: std::collections::HashMap<String, String>,
}

/// Everything needed to talk to one GeoReport v2 endpoint.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServerConfig {
    /// Base URL, such as `https://311.example.gov/open311/v2/`.
    pub endpoint: String,
    /// Response format; `null`/`nil` for JSON.
    #[uniffi(default = None)]
    pub format: Option<Format>,
    /// For endpoints that serve several jurisdictions.
    #[uniffi(default = None)]
    pub jurisdiction_id: Option<String>,
    /// The city's key for this app; needed to POST. Never logged or shown in errors.
    #[uniffi(default = None)]
    pub api_key: Option<String>,
    /// Differences from the spec; `null`/`nil` for the spec's behaviour.
    #[uniffi(default = None)]
    pub quirks: Option<Quirks>,
    /// Allow plain `http://` to a host other than loopback (development servers only).
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// Names the app in the User-Agent, such as `Springfield311/2.3`.
    #[uniffi(default = None)]
    pub app_name: Option<String>,
    /// Longest wait for the next bytes of an answer; `null`/`nil` for 30 s.
    #[uniffi(default = None)]
    pub read_timeout: Option<Duration>,
}

/// An endpoint listed by a discovery document.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DiscoveryEndpoint {
    /// Which specification it speaks.
    pub specification: String,
    /// Its base URL.
    pub url: String,
    /// `production` or `test`.
    pub kind: Option<String>,
    /// MIME types it serves.
    pub formats: Vec<String>,
    /// The format Curbside would use with it.
    pub preferred_format: Format,
}

/// A server's discovery document.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Discovery {
    /// Changes when services or definitions change.
    pub changeset: Option<String>,
    /// Who runs the service.
    pub contact: Option<String>,
    /// How to get an API key.
    pub key_service: Option<String>,
    /// Every endpoint listed.
    pub endpoints: Vec<DiscoveryEndpoint>,
    /// The GeoReport v2 endpoint to use (production first), if any.
    pub georeport_v2: Option<DiscoveryEndpoint>,
}

/// How a service's requests get their id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ServiceType {
    /// The POST answers with the id.
    Realtime,
    /// The POST answers with a token, resolved to an id later.
    Batch,
    /// The POST answers with neither.
    Blackbox,
}

/// One kind of problem the city accepts.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Service {
    /// Its code.
    pub code: String,
    /// Its name, for people.
    pub name: String,
    /// A longer explanation.
    pub description: Option<String>,
    /// True when it has a definition (extra questions) to fetch.
    pub metadata: bool,
    /// How its requests get their id.
    pub kind: ServiceType,
    /// Search words.
    pub keywords: Vec<String>,
    /// Category, for grouping.
    pub group: Option<String>,
}

/// The type of answer a question takes; pick the input widget from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Datatype {
    /// One line of text.
    String,
    /// A number.
    Number,
    /// A date and time.
    Datetime,
    /// Several lines of text.
    Text,
    /// One choice from `values`.
    SingleValueList,
    /// Any number of choices from `values`.
    MultiValueList,
}

/// One choice of a list question.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttributeValue {
    /// What is sent.
    pub key: String,
    /// What is shown.
    pub name: String,
}

/// One question of a service definition.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Attribute {
    /// Its code.
    pub code: String,
    /// False for information to show, with no answer to give.
    pub variable: bool,
    /// The type of answer.
    pub datatype: Datatype,
    /// True when an answer is required.
    pub required: bool,
    /// Help for the answer's format.
    pub datatype_description: Option<String>,
    /// Display position (questions come sorted by it).
    pub order: Option<u32>,
    /// The question or label.
    pub description: String,
    /// The choices, for list questions.
    pub values: Vec<AttributeValue>,
}

/// A service's extra questions, in display order.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceDefinition {
    /// The service it defines.
    pub service_code: String,
    /// Its questions.
    pub attributes: Vec<Attribute>,
}

/// An update in a request's history.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Note {
    /// When it happened.
    pub datetime: Option<SystemTime>,
    /// Its kind (`opened`, `closed`, ...), as the server names it.
    pub kind: Option<String>,
    /// What happened.
    pub summary: Option<String>,
    /// More detail.
    pub description: Option<String>,
}

/// A service request as a server reports it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ServiceRequest {
    /// The city's id, once known.
    pub id: Option<String>,
    /// The token of a batch POST, while the id is not known.
    pub token: Option<String>,
    /// `open`, `closed`, or the server's own status, lower-cased.
    pub status: Option<String>,
    /// The city's explanation of the status.
    pub status_notes: Option<String>,
    /// The service's name.
    pub service_name: Option<String>,
    /// The service's code.
    pub service_code: Option<String>,
    /// What was reported.
    pub description: Option<String>,
    /// Who handles it.
    pub agency_responsible: Option<String>,
    /// What the city tells the reporter.
    pub service_notice: Option<String>,
    /// When it was reported.
    pub requested_at: Option<SystemTime>,
    /// When it last changed.
    pub updated_at: Option<SystemTime>,
    /// When the city expects to finish.
    pub expected_at: Option<SystemTime>,
    /// Address, as the city writes it.
    pub address: Option<String>,
    /// Latitude.
    pub lat: Option<f64>,
    /// Longitude.
    pub long: Option<f64>,
    /// Photos' URLs.
    pub media_urls: Vec<String>,
    /// History (with `extensions`).
    pub notes: Vec<Note>,
}

/// What a server answered to a POST.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Submission {
    /// The request has its id.
    Created {
        /// The city's id.
        id: String,
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
    /// Queued: resolve `token` to an id later with `resolve_token`.
    Queued {
        /// The token.
        token: String,
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
    /// Accepted with neither id nor token.
    Accepted {
        /// What the city tells the reporter.
        service_notice: Option<String>,
    },
}

/// An answer to one question; one key for list questions, several only for multivaluelist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AttributeAnswer {
    /// The question's code.
    pub code: String,
    /// The answer.
    pub values: Vec<String>,
    /// True for a multivaluelist question.
    #[uniffi(default = false)]
    pub multiple: bool,
}

/// A service request to POST. Give a position, an address or an address id.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewRequest {
    /// The service's code.
    pub service_code: String,
    /// Latitude (with `long`).
    #[uniffi(default = None)]
    pub lat: Option<f64>,
    /// Longitude (with `lat`).
    #[uniffi(default = None)]
    pub long: Option<f64>,
    /// An address, most specific part first.
    #[uniffi(default = None)]
    pub address_string: Option<String>,
    /// Answers to the definition's questions.
    #[uniffi(default = [])]
    pub attributes: Vec<AttributeAnswer>,
    /// What the citizen wrote.
    #[uniffi(default = None)]
    pub description: Option<String>,
    /// Contact: e-mail (only when the user chose to share it).
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// Contact: first name.
    #[uniffi(default = None)]
    pub first_name: Option<String>,
    /// Contact: last name.
    #[uniffi(default = None)]
    pub last_name: Option<String>,
    /// Contact: phone.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// Media already hosted somewhere.
    #[uniffi(default = [])]
    pub media_urls: Vec<String>,
    /// Paths of photos to upload (servers with multipart media), sent as JPEG.
    #[uniffi(default = [])]
    pub photo_paths: Vec<String>,
}

/// Filters for listing requests; empty means no filter.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RequestQuery {
    /// Specific ids (overrides every other filter).
    #[uniffi(default = [])]
    pub ids: Vec<String>,
    /// Services to include.
    #[uniffi(default = [])]
    pub service_codes: Vec<String>,
    /// Reported at or after.
    #[uniffi(default = None)]
    pub start: Option<SystemTime>,
    /// Reported at or before.
    #[uniffi(default = None)]
    pub end: Option<SystemTime>,
    /// `open`, `closed`.
    #[uniffi(default = [])]
    pub statuses: Vec<String>,
    /// Ask for notes (history).
    #[uniffi(default = false)]
    pub extensions: bool,
    /// Page to fetch.
    #[uniffi(default = None)]
    pub page: Option<u32>,
    /// Requests per page.
    #[uniffi(default = None)]
    pub page_size: Option<u32>,
}

/// One page of requests.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RequestPage {
    /// The requests.
    pub requests: Vec<ServiceRequest>,
    /// The next page to ask for, if there is one.
    pub next_page: Option<u32>,
}

/// A client for one Open311 server.
#[derive(uniffi::Object)]
pub struct Open311Client {
    inner: core::Open311Client,
}

#[uniffi::export(async_runtime = "tokio")]
impl Open311Client {
    /// A client for `config`; fails if the endpoint is not a URL or not secure (https is
    /// required except for loopback or `allow_insecure_http`).
    #[uniffi::constructor]
    pub fn new(config: ServerConfig) -> Result<Arc<Self>, ApiError> {
        Ok(Arc::new(Open311Client {
            inner: core::Open311Client::new(config.into()).map_err(curbside_core::Error::from)?,
        }))
    }

    /// The services the city accepts.
    pub async fn services(&self) -> Result<Vec<Service>, ApiError> {
        Ok(self
            .inner
            .services()
            .await
            .map_err(error)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A service's extra questions.
    pub async fn service_definition(
        &self,
        service_code: String,
    ) -> Result<ServiceDefinition, ApiError> {
        Ok(self
            .inner
            .service_definition(&service_code)
            .await
            .map_err(error)?
            .into())
    }

    /// POSTs a request. `ApiError.MaybeReceived` means the city may have it: do not resend blindly.
    pub async fn submit(&self, request: NewRequest) -> Result<Submission, ApiError> {
        Ok(self
            .inner
            .submit(&request.into())
            .await
            .map_err(error)?
            .into())
    }

    /// The id a token resolved to, or null/nil while the server is still processing it.
    pub async fn resolve_token(&self, token: String) -> Result<Option<String>, ApiError> {
        self.inner.resolve_token(&token).await.map_err(error)
    }

    /// One page of requests matching `query`.
    pub async fn requests(&self, query: RequestQuery) -> Result<RequestPage, ApiError> {
        Ok(self
            .inner
            .requests(&query.into())
            .await
            .map_err(error)?
            .into())
    }

    /// One request by id.
    pub async fn request(&self, id: String) -> Result<ServiceRequest, ApiError> {
        Ok(self.inner.request(&id).await.map_err(error)?.into())
    }
}

/// Reads a discovery document (a URL ending in `discovery.json` or `discovery.xml`).
#[uniffi::export(async_runtime = "tokio")]
pub async fn discover(
    discovery_url: String,
    app_name: Option<String>,
) -> Result<Discovery, ApiError> {
    Ok(core::Open311Client::discover(&discovery_url, app_name)
        .await
        .map_err(error)?
        .into())
}

fn error(e: core::Open311Error) -> ApiError {
    curbside_core::Error::from(e).into()
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<SystemTime> {
    t.map(Into::into)
}

impl From<Format> for core::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Json => Self::Json,
            Format::Xml => Self::Xml,
        }
    }
}

impl From<core::Format> for Format {
    fn from(f: core::Format) -> Self {
        match f {
            core::Format::Json => Self::Json,
            core::Format::Xml => Self::Xml,
        }
    }
}

impl From<Quirks> for core::Quirks {
    fn from(q: Quirks) -> Self {
        Self {
            multivalue: match q.multivalue {
                MultiValueStyle::Brackets => core::MultiValueStyle::Brackets,
                MultiValueStyle::Repeated => core::MultiValueStyle::Repeated,
            },
            pagination: match q.pagination {
                Pagination::PageSize { first_page } => core::Pagination::PageSize { first_page },
                Pagination::LimitOffset => core::Pagination::LimitOffset,
                Pagination::None => core::Pagination::None,
            },
            api_key_on_get: q.api_key_on_get,
            media: match q.media {
                MediaUpload::MediaUrl => core::MediaUpload::MediaUrl,
                MediaUpload::Multipart => core::MediaUpload::Multipart,
            },
            client_reference_attribute: q.client_reference_attribute,
            omit_timezone_in_queries: q.omit_timezone_in_queries,
            utc_offset_seconds: q.utc_offset_seconds,
            extensions: q.extensions,
            status_map: q.status_map.into_iter().collect(),
        }
    }
}

impl From<ServerConfig> for core::ServerConfig {
    fn from(c: ServerConfig) -> Self {
        let mut config = core::ServerConfig::new(c.endpoint);
        config.format = c.format.map_or(core::Format::Json, Into::into);
        config.jurisdiction_id = c.jurisdiction_id;
        config.api_key = c.api_key.map(core::ApiKey::new);
        config.quirks = c.quirks.map(Into::into).unwrap_or_default();
        config.allow_insecure_http = c.allow_insecure_http;
        config.app_name = c.app_name;
        if let Some(read_timeout) = c.read_timeout {
            config.limits.read_timeout = read_timeout;
        }
        config
    }
}

impl From<core::DiscoveryEndpoint> for DiscoveryEndpoint {
    fn from(e: core::DiscoveryEndpoint) -> Self {
        Self {
            preferred_format: e.preferred_format().into(),
            specification: e.specification,
            url: e.url,
            kind: e.kind,
            formats: e.formats,
        }
    }
}

impl From<core::Discovery> for Discovery {
    fn from(d: core::Discovery) -> Self {
        Self {
            georeport_v2: d.georeport_v2().cloned().map(Into::into),
            changeset: d.changeset,
            contact: d.contact,
            key_service: d.key_service,
            endpoints: d.endpoints.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<core::Service> for Service {
    fn from(s: core::Service) -> Self {
        Self {
            code: s.code,
            name: s.name,
            description: s.description,
            metadata: s.metadata,
            kind: match s.kind {
                core::ServiceType::Realtime => ServiceType::Realtime,
                core::ServiceType::Batch => ServiceType::Batch,
                core::ServiceType::Blackbox => ServiceType::Blackbox,
            },
            keywords: s.keywords,
            group: s.group,
        }
    }
}

impl From<core::ServiceDefinition> for ServiceDefinition {
    fn from(d: core::ServiceDefinition) -> Self {
        Self {
            service_code: d.service_code,
            attributes: d
                .attributes
                .into_iter()
                .map(|a| Attribute {
                    code: a.code,
                    variable: a.variable,
                    datatype: match a.datatype {
                        core::Datatype::String => Datatype::String,
                        core::Datatype::Number => Datatype::Number,
                        core::Datatype::Datetime => Datatype::Datetime,
                        core::Datatype::Text => Datatype::Text,
                        core::Datatype::SingleValueList => Datatype::SingleValueList,
                        core::Datatype::MultiValueList => Datatype::MultiValueList,
                    },
                    required: a.required,
                    datatype_description: a.datatype_description,
                    order: a.order,
                    description: a.description,
                    values: a
                        .values
                        .into_iter()
                        .map(|v| AttributeValue {
                            key: v.key,
                            name: v.name,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl From<core::ServiceRequest> for ServiceRequest {
    fn from(r: core::ServiceRequest) -> Self {
        Self {
            id: r.id,
            token: r.token,
            status: r.status,
            status_notes: r.status_notes,
            service_name: r.service_name,
            service_code: r.service_code,
            description: r.description,
            agency_responsible: r.agency_responsible,
            service_notice: r.service_notice,
            requested_at: time(r.requested_at),
            updated_at: time(r.updated_at),
            expected_at: time(r.expected_at),
            address: r.address,
            lat: r.lat,
            long: r.long,
            media_urls: r.media_urls,
            notes: r
                .notes
                .into_iter()
                .map(|n| Note {
                    datetime: time(n.datetime),
                    kind: n.kind,
                    summary: n.summary,
                    description: n.description,
                })
                .collect(),
        }
    }
}

impl From<core::Submission> for Submission {
    fn from(s: core::Submission) -> Self {
        match s {
            core::Submission::Created { id, service_notice } => {
                Self::Created { id, service_notice }
            }
            core::Submission::Queued {
                token,
                service_notice,
            } => Self::Queued {
                token,
                service_notice,
            },
            core::Submission::Accepted { service_notice } => Self::Accepted { service_notice },
        }
    }
}

impl From<NewRequest> for core::NewRequest {
    fn from(r: NewRequest) -> Self {
        Self {
            service_code: r.service_code,
            position: r.lat.zip(r.long),
            address_string: r.address_string,
            address_id: None,
            attributes: r
                .attributes
                .into_iter()
                .map(|a| core::AttributeAnswer {
                    code: a.code,
                    values: a.values,
                    multiple: a.multiple,
                })
                .collect(),
            description: r.description,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            device_id: None,
            account_id: None,
            media_urls: r.media_urls,
            media: r
                .photo_paths
                .into_iter()
                .map(|p| core::MediaFile {
                    path: p.into(),
                    content_type: "image/jpeg".into(),
                })
                .collect(),
        }
    }
}

impl From<RequestQuery> for core::RequestQuery {
    fn from(q: RequestQuery) -> Self {
        Self {
            ids: q.ids,
            service_codes: q.service_codes,
            start: q.start.map(Into::into),
            end: q.end.map(Into::into),
            statuses: q.statuses,
            extensions: q.extensions,
            page: q.page,
            page_size: q.page_size,
        }
    }
}

impl From<core::RequestPage> for RequestPage {
    fn from(p: core::RequestPage) -> Self {
        Self {
            requests: p.requests.into_iter().map(Into::into).collect(),
            next_page: p.next_page,
        }
    }
}

impl From<AttributeAnswer> for core::AttributeAnswer {
    fn from(a: AttributeAnswer) -> Self {
        Self {
            code: a.code,
            values: a.values,
            multiple: a.multiple,
        }
    }
}

impl From<core::AttributeAnswer> for AttributeAnswer {
    fn from(a: core::AttributeAnswer) -> Self {
        Self {
            code: a.code,
            values: a.values,
            multiple: a.multiple,
        }
    }
}
