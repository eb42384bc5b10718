//! Where events go: destinations (a name and a [`Target`], one variant per kind of
//! destination), the route table that picks them for an event, and the publishing port.
//!
//! Each route has a name, a target, event-type patterns (`*` matches any run of characters)
//! and optionally the providers it accepts. An event goes to every matching route, or to the
//! default destination (`QUEUE_URL`) when none matches. The table is checked when it is built,
//! so a table that cannot deliver some event is refused at start-up, not at request time.
//!
//! Everything specific to one kind (SQS: queue URLs, FIFO group and deduplication ids,
//! message attributes, size limits) lives in that kind's module; adding a kind is a variant
//! of [`Target`] and a module (`docs/ARCHITECTURE.md`, "Add a destination kind").

pub mod memory;
pub mod sqs;

use std::collections::BTreeSet;
use std::future::Future;

use serde::Deserialize;

pub use memory::MemoryPublisher;
#[cfg(feature = "aws")]
pub use sqs::SqsPublisher;
pub use sqs::{SqsQueue, SQS_MAX_MESSAGE_BYTES};

use crate::event::Identity;
use crate::senders::Provider;

/// Name of the destination built from `QUEUE_URL`.
pub const DEFAULT_DESTINATION: &str = "default";

/// What kind of place a destination is, with that kind's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An SQS queue (standard or FIFO).
    Sqs(SqsQueue),
}

/// One place events are published to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Stable name, recorded in the dedup record's `delivered` set.
    pub name: String,
    pub target: Target,
}

impl Target {
    /// Checks, without any I/O, that this target would accept `message`: its kind's
    /// documented limits (size, characters, id formats). The local stack is more lenient than
    /// AWS, so these checks are what makes a local test fail where AWS would refuse. The
    /// service runs them before the claim: a message no retry could ever deliver is answered
    /// 4xx instead of looping in 503s.
    pub fn check(&self, message: &Message<'_>) -> Result<(), Unpublishable> {
        match self {
            Target::Sqs(queue) => sqs::check(queue, message),
        }
    }
}

/// Why a destination could never accept a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unpublishable {
    /// Over the destination's size limit (answered 413).
    #[error("the message is {size} bytes, over the destination's limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    /// A character the destination refuses (answered 400); `what` names the field, and the
    /// text never quotes the content.
    #[error("the {what} holds a character the destination refuses")]
    Characters { what: &'static str },
    /// An id the destination would refuse (a bug if it happens: the ids are derived).
    #[error("the {what} does not meet the destination's rules")]
    BadId { what: &'static str },
}

impl Destination {
    /// A destination on the SQS queue at `queue_url` (FIFO when it ends in `.fifo`).
    pub fn sqs(name: impl Into<String>, queue_url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            target: Target::Sqs(SqsQueue::new(queue_url)),
        }
    }
}

/// One event, ready to hand to a destination: the envelope and what identifies the event.
/// Each kind's adapter derives its own extras (ordering keys, attributes) from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The JSON envelope (see `salesloft_webhooks_wire::envelope`).
    pub body: &'a str,
    pub provider: Provider,
    pub identity: &'a Identity,
    /// The idempotency key, `{provider}#{event_id}`.
    pub dedup_key: &'a str,
}

/// A publish that did not succeed; the event is retried by the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("publishing to {destination} failed: {reason}")]
pub struct PublishError {
    pub destination: String,
    pub reason: String,
}

/// Port: hands one message to one destination.
pub trait EventPublisher: Send + Sync {
    /// Sends `message` to `destination`. `Ok` means the destination has durably accepted it.
    /// An adapter refuses (with an error) a target kind it does not handle. The caller has
    /// checked the message with [`Target::check`]; an adapter checks again before sending.
    fn publish(
        &self,
        destination: &Destination,
        message: &Message<'_>,
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}

/// A route as written in the `ROUTES` JSON. `queue_url` is the SQS target; another kind of
/// destination would add its own field (exactly one per route).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    pub queue_url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub providers: Option<Vec<String>>,
    /// A copy route receives the events it matches in addition to wherever they go without
    /// it (other routes or the default), so adding one never takes events from anyone.
    #[serde(default)]
    pub copy: bool,
}

#[derive(Debug, Clone)]
struct Route {
    destination: Destination,
    patterns: Vec<String>,
    providers: Option<Vec<Provider>>,
    copy: bool,
}

impl Route {
    fn matches(&self, provider: Provider, event_type: &str) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|ps| ps.contains(&provider))
            && self.patterns.iter().any(|p| pattern_matches(p, event_type))
    }

    fn catches_everything_from(&self, provider: Provider) -> bool {
        self.providers
            .as_ref()
            .is_none_or(|ps| ps.contains(&provider))
            && self.patterns.iter().any(|p| p.bytes().all(|b| b == b'*'))
            && !self.copy
    }
}

/// Why a route table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route name {0:?} must be 1 to 64 characters of letters, digits, '_' or '-'")]
    BadName(String),
    #[error("route name {0:?} is used twice (\"default\" is reserved for QUEUE_URL)")]
    DuplicateName(String),
    #[error("route {0:?}: queue_url must be an http(s) SQS queue URL (at most 1024 characters, no spaces)")]
    BadQueueUrl(String),
    #[error("route {0:?}: events must list at least one non-empty pattern")]
    NoPatterns(String),
    #[error("route {route:?}: unknown provider {provider:?}")]
    UnknownProvider { route: String, provider: String },
    #[error("no default queue (QUEUE_URL) and no catch-all route (\"*\") for {0}: some events could not be delivered")]
    Undeliverable(Provider),
}

/// Routes plus the default destination.
#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
    default: Option<Destination>,
}

impl RouteTable {
    /// Builds and checks a table serving `providers`.
    pub fn new(
        default_queue_url: Option<String>,
        specs: Vec<RouteSpec>,
        providers: &[Provider],
    ) -> Result<Self, RouteError> {
        let mut names = BTreeSet::from([DEFAULT_DESTINATION.to_string()]);
        let mut routes = Vec::with_capacity(specs.len());
        for spec in specs {
            let name_ok = !spec.name.is_empty()
                && spec.name.len() <= 64
                && spec
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !name_ok {
                return Err(RouteError::BadName(spec.name));
            }
            if !names.insert(spec.name.clone()) {
                return Err(RouteError::DuplicateName(spec.name));
            }
            if !sqs::is_queue_url(&spec.queue_url) {
                return Err(RouteError::BadQueueUrl(spec.name));
            }
            if spec.events.is_empty() || spec.events.iter().any(|p| p.trim().is_empty()) {
                return Err(RouteError::NoPatterns(spec.name));
            }
            let route_providers = match spec.providers {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .map(|p| {
                            Provider::parse(p).ok_or_else(|| RouteError::UnknownProvider {
                                route: spec.name.clone(),
                                provider: p.clone(),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            routes.push(Route {
                destination: Destination::sqs(spec.name, spec.queue_url),
                patterns: spec
                    .events
                    .into_iter()
                    .map(|p| p.trim().to_string())
                    .collect(),
                providers: route_providers,
                copy: spec.copy,
            });
        }
        let default = match default_queue_url {
            Some(url) if !sqs::is_queue_url(&url) => {
                return Err(RouteError::BadQueueUrl(DEFAULT_DESTINATION.into()))
            }
            Some(url) => Some(Destination::sqs(DEFAULT_DESTINATION, url)),
            None => None,
        };
        if default.is_none() {
            if let Some(p) = providers
                .iter()
                .find(|p| !routes.iter().any(|r| r.catches_everything_from(**p)))
            {
                return Err(RouteError::Undeliverable(*p));
            }
        }
        Ok(Self { routes, default })
    }

    /// Every destination `event_type` from `provider` goes to: the matching routes, or the
    /// default when none matches, plus the matching copy routes. Never empty for a provider
    /// the table was built for (guaranteed by [`RouteTable::new`]).
    pub fn destinations(&self, provider: Provider, event_type: &str) -> Vec<&Destination> {
        let matching = |copy: bool| {
            self.routes
                .iter()
                .filter(move |r| r.copy == copy && r.matches(provider, event_type))
                .map(|r| &r.destination)
        };
        let mut destinations: Vec<&Destination> = matching(false).collect();
        if destinations.is_empty() {
            destinations.extend(self.default.iter());
        }
        // Copies ride along; they never stand in for a destination (an event with only a
        // copy to go to is refused as having no destination).
        if !destinations.is_empty() {
            destinations.extend(matching(true));
        }
        destinations
    }

    /// Every destination in the table (for start-up checks and tooling).
    pub fn all(&self) -> impl Iterator<Item = &Destination> {
        self.default
            .iter()
            .chain(self.routes.iter().map(|r| &r.destination))
    }
}

/// Glob match where `*` stands for any run of characters (including none); nothing else is
/// special. Iterative with backtracking to the last star, so it is linear-ish and never
/// recurses on hostile patterns.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "http://127.0.0.1:5000/123456789012/q";

    fn spec(name: &str, events: &[&str], providers: Option<&[&str]>) -> RouteSpec {
        RouteSpec {
            name: name.into(),
            queue_url: format!("{Q}-{name}"),
            events: events.iter().map(|s| s.to_string()).collect(),
            providers: providers.map(|ps| ps.iter().map(|s| s.to_string()).collect()),
            copy: false,
        }
    }

    #[test]
    fn a_copy_route_gets_its_matches_without_taking_them_from_anyone() {
        let copy = RouteSpec {
            copy: true,
            ..spec("example", &["person_*"], Some(&["salesloft"]))
        };
        let t = RouteTable::new(
            Some(Q.into()),
            vec![spec("emails", &["email_*"], None), copy],
            &[Provider::Salesloft],
        )
        .unwrap();
        let names = |p: Provider, e: &str| -> Vec<String> {
            t.destinations(p, e)
                .into_iter()
                .map(|d| d.name.clone())
                .collect()
        };
        assert_eq!(
            names(Provider::Salesloft, "person_updated"),
            [DEFAULT_DESTINATION, "example"]
        );
        assert_eq!(names(Provider::Salesloft, "email_updated"), ["emails"]);
        assert_eq!(
            names(Provider::SalesOs, "person_updated"),
            [DEFAULT_DESTINATION]
        );
        // A copy route is no catch-all: without a default queue the table is refused.
        let only_copy = RouteSpec {
            copy: true,
            ..spec("all", &["*"], None)
        };
        assert_eq!(
            RouteTable::new(None, vec![only_copy], &[Provider::Salesloft]).unwrap_err(),
            RouteError::Undeliverable(Provider::Salesloft)
        );
    }

    #[test]
    fn patterns_match_with_stars_anywhere() {
        assert!(pattern_matches("*", ""));
        assert!(pattern_matches("*", "person_updated"));
        assert!(pattern_matches("email_*", "email_updated"));
        assert!(pattern_matches(
            "email_*",
            "email_with_body_and_subject_updated"
        ));
        assert!(!pattern_matches("email_*", "person_updated"));
        assert!(pattern_matches("*_updated", "cadence_membership_updated"));
        assert!(!pattern_matches("*_updated", "cadence_membership_created"));
        assert!(pattern_matches("cad*mem*_*d", "cadence_membership_created"));
        assert!(pattern_matches("person_updated", "person_updated"));
        assert!(!pattern_matches("person_updated", "person_updated2"));
        assert!(!pattern_matches("person", "person_updated"));
        assert!(pattern_matches(
            "a*a*a*a*b",
            &format!("{}b", "a".repeat(64))
        ));
        assert!(!pattern_matches("a*a*a*a*b", &"a".repeat(64)));
    }

    #[test]
    fn an_event_goes_to_every_matching_route() {
        let t = RouteTable::new(
            Some(Q.into()),
            vec![
                spec("emails", &["email_*"], None),
                spec("updates", &["*_updated"], None),
            ],
            &[Provider::Salesloft],
        )
        .unwrap();
        let names = |e: &str| -> Vec<String> {
            t.destinations(Provider::Salesloft, e)
                .into_iter()
                .map(|d| d.name.clone())
                .collect()
        };
        assert_eq!(names("email_updated"), ["emails", "updates"]);
        assert_eq!(names("person_updated"), ["updates"]);
        assert_eq!(names("person_created"), [DEFAULT_DESTINATION]);
    }

    #[test]
    fn a_route_limited_to_providers_ignores_other_providers() {
        let t = RouteTable::new(
            Some(Q.into()),
            vec![spec("sl", &["*"], Some(&["salesloft"]))],
            &[Provider::Salesloft],
        )
        .unwrap();
        assert_eq!(t.destinations(Provider::Salesloft, "x")[0].name, "sl");
    }

    #[test]
    fn a_table_that_cannot_deliver_every_event_is_refused() {
        let err = RouteTable::new(
            None,
            vec![spec("emails", &["email_*"], None)],
            &[Provider::Salesloft],
        )
        .unwrap_err();
        assert_eq!(err, RouteError::Undeliverable(Provider::Salesloft));
        assert!(RouteTable::new(
            None,
            vec![spec("all", &["*"], None)],
            &[Provider::Salesloft]
        )
        .is_ok());
    }

    #[test]
    fn bad_route_specs_are_refused_with_their_reason() {
        let p = [Provider::Salesloft];
        let q = Some(Q.to_string());
        assert!(matches!(
            RouteTable::new(q.clone(), vec![spec("bad name", &["*"], None)], &p),
            Err(RouteError::BadName(_))
        ));
        assert!(matches!(
            RouteTable::new(
                q.clone(),
                vec![spec("a", &["*"], None), spec("a", &["x"], None)],
                &p
            ),
            Err(RouteError::DuplicateName(_))
        ));
        assert!(matches!(
            RouteTable::new(q.clone(), vec![spec("default", &["*"], None)], &p),
            Err(RouteError::DuplicateName(_))
        ));
        assert!(matches!(
            RouteTable::new(q.clone(), vec![spec("a", &[], None)], &p),
            Err(RouteError::NoPatterns(_))
        ));
        assert!(matches!(
            RouteTable::new(q.clone(), vec![spec("a", &["*"], Some(&["hubspot"]))], &p),
            Err(RouteError::UnknownProvider { .. })
        ));
        let mut s = spec("a", &["*"], None);
        s.queue_url = "not a url".into();
        assert!(matches!(
            RouteTable::new(q.clone(), vec![s], &p),
            Err(RouteError::BadQueueUrl(_))
        ));
        assert!(matches!(
            RouteTable::new(Some("ftp://x".into()), vec![], &p),
            Err(RouteError::BadQueueUrl(_))
        ));
    }
}
