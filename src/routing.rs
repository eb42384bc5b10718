//! The route table: which SQS destinations an event goes to (DESIGN.md section 5).
//!
//! Each route has a name, a queue URL, event-type patterns (`*` matches any run of
//! characters) and optionally the providers it accepts. An event goes to every matching
//! route, or to the default queue when none matches. The table is checked when it is built,
//! so a table that cannot deliver some event is refused at start-up, not at request time.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::signature::Provider;

/// Name of the destination built from `QUEUE_URL`.
pub const DEFAULT_DESTINATION: &str = "default";

/// One place events are published to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Stable name, recorded in the dedup record's `delivered` set.
    pub name: String,
    pub queue_url: String,
    /// FIFO queues (`.fifo`) get a message group id and a deduplication id.
    pub fifo: bool,
}

impl Destination {
    pub fn new(name: impl Into<String>, queue_url: impl Into<String>) -> Self {
        let queue_url = queue_url.into();
        Self {
            name: name.into(),
            fifo: queue_url.ends_with(".fifo"),
            queue_url,
        }
    }
}

/// A route as written in the `ROUTES` JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    pub queue_url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub providers: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
struct Route {
    destination: Destination,
    patterns: Vec<String>,
    providers: Option<Vec<Provider>>,
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
    }
}

/// Why a route table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route name {0:?} must be 1 to 64 characters of letters, digits, '_' or '-'")]
    BadName(String),
    #[error("route name {0:?} is used twice (\"default\" is reserved for QUEUE_URL)")]
    DuplicateName(String),
    #[error("route {0:?}: queue_url must be an http(s) SQS queue URL")]
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
            if !is_queue_url(&spec.queue_url) {
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
                destination: Destination::new(spec.name, spec.queue_url),
                patterns: spec
                    .events
                    .into_iter()
                    .map(|p| p.trim().to_string())
                    .collect(),
                providers: route_providers,
            });
        }
        let default = match default_queue_url {
            Some(url) if !is_queue_url(&url) => {
                return Err(RouteError::BadQueueUrl(DEFAULT_DESTINATION.into()))
            }
            Some(url) => Some(Destination::new(DEFAULT_DESTINATION, url)),
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

    /// Every destination `event_type` from `provider` goes to; never empty for a served
    /// provider (guaranteed by [`RouteTable::new`]).
    pub fn destinations(&self, provider: Provider, event_type: &str) -> Vec<&Destination> {
        let matched: Vec<&Destination> = self
            .routes
            .iter()
            .filter(|r| r.matches(provider, event_type))
            .map(|r| &r.destination)
            .collect();
        if matched.is_empty() {
            self.default.iter().collect()
        } else {
            matched
        }
    }

    /// Every destination in the table (for start-up checks and tooling).
    pub fn all(&self) -> impl Iterator<Item = &Destination> {
        self.default
            .iter()
            .chain(self.routes.iter().map(|r| &r.destination))
    }
}

fn is_queue_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > "https://".len()
        && !url
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
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
        }
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
    fn fifo_queues_are_recognised_by_their_suffix() {
        assert!(Destination::new("a", format!("{Q}.fifo")).fifo);
        assert!(!Destination::new("a", Q).fifo);
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
