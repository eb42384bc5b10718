//! What each command will do, decided without I/O from what Salesloft and the secret hold
//! (so it can be printed by `--dry-run` and tested on its own).

use std::collections::BTreeSet;

use crate::salesloft::Subscription;
use crate::secret::{Acceptance, Document};
use crate::token::Token;

/// One change to Salesloft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A new subscription for `event_type`, with a new token.
    Create { event_type: String, token: Token },
    /// Enable a disabled subscription whose token the secret holds.
    Enable { id: String, event_type: String },
    /// Give a subscription a new token (and enable it if `enable`). `old` is how the secret
    /// accepted the token it replaces.
    Retoken {
        id: String,
        event_type: String,
        token: Token,
        old: Option<Token>,
        old_accepted: Acceptance,
        enable: bool,
    },
    /// Delete a subscription: a second one for a selected type (`duplicate`), one for a type
    /// no longer selected (`--prune`), or one the `delete` command removes.
    Delete {
        id: String,
        event_type: String,
        reason: DeleteReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteReason {
    Duplicate,
    Pruned,
    Requested,
}

impl Step {
    pub fn event_type(&self) -> &str {
        match self {
            Step::Create { event_type, .. }
            | Step::Enable { event_type, .. }
            | Step::Retoken { event_type, .. }
            | Step::Delete { event_type, .. } => event_type,
        }
    }

    /// The token this step makes Salesloft sign with, if new.
    pub fn new_token(&self) -> Option<&Token> {
        match self {
            Step::Create { token, .. } | Step::Retoken { token, .. } => Some(token),
            _ => None,
        }
    }

    /// Whether this step replaces a token the function accepts today: the function must
    /// have read the new one before Salesloft signs with it.
    pub fn replaces_accepted_token(&self) -> bool {
        matches!(self, Step::Retoken { old_accepted, .. } if *old_accepted != Acceptance::No)
    }
}

/// The plan of `sync`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// In order: creations, enables and new tokens first, then deletions.
    pub steps: Vec<Step>,
    /// Types with a subscription to the URL that is enabled, unique, and whose token the
    /// secret holds bound to its type: nothing to do.
    pub in_step: Vec<String>,
    /// Subscriptions to the URL for types not selected, left alone (no `--prune`).
    pub unselected: Vec<Subscription>,
}

impl SyncPlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// (event type, token) to bind in the secret before any change to Salesloft.
    pub fn tokens_to_add(&self) -> Vec<(String, Token)> {
        self.steps
            .iter()
            .filter_map(|s| {
                s.new_token()
                    .map(|t| (s.event_type().to_string(), t.clone()))
            })
            .collect()
    }

    /// Whether the function must be given time to read the new tokens before Salesloft
    /// switches to them.
    pub fn needs_wait(&self) -> bool {
        self.steps.iter().any(Step::replaces_accepted_token)
    }

    /// The ids this plan deletes.
    pub fn deleted_ids(&self) -> BTreeSet<String> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                Step::Delete { id, .. } => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Decides `sync`: exactly one enabled subscription per selected type for the URL (`ours`
/// are the subscriptions to it), each with a token the secret holds bound to its type.
/// `new_token` makes the tokens (tests pass a deterministic one).
pub fn sync(
    selected: &[String],
    ours: &[Subscription],
    doc: &Document,
    prune: bool,
    mut new_token: impl FnMut() -> Token,
) -> SyncPlan {
    let mut plan = SyncPlan::default();
    let mut deletions = Vec::new();
    for event_type in selected {
        let mut candidates: Vec<&Subscription> = ours
            .iter()
            .filter(|s| &s.event_type == event_type)
            .collect();
        // Keep the best: token bound in the secret, then enabled, then the oldest id.
        candidates.sort_by_key(|s| {
            (
                acceptance(doc, s) != Acceptance::Bound,
                !s.enabled,
                s.id.parse::<u64>().unwrap_or(u64::MAX),
                s.id.clone(),
            )
        });
        let Some((keeper, duplicates)) = candidates.split_first() else {
            plan.steps.push(Step::Create {
                event_type: event_type.clone(),
                token: new_token(),
            });
            continue;
        };
        match acceptance(doc, keeper) {
            Acceptance::Bound if keeper.enabled => plan.in_step.push(event_type.clone()),
            Acceptance::Bound => plan.steps.push(Step::Enable {
                id: keeper.id.clone(),
                event_type: event_type.clone(),
            }),
            other => plan.steps.push(Step::Retoken {
                id: keeper.id.clone(),
                event_type: event_type.clone(),
                token: new_token(),
                old: keeper.callback_token.clone(),
                old_accepted: other,
                enable: !keeper.enabled,
            }),
        }
        for d in duplicates {
            deletions.push(Step::Delete {
                id: d.id.clone(),
                event_type: event_type.clone(),
                reason: DeleteReason::Duplicate,
            });
        }
    }
    for s in ours.iter().filter(|s| !selected.contains(&s.event_type)) {
        if prune {
            deletions.push(Step::Delete {
                id: s.id.clone(),
                event_type: s.event_type.clone(),
                reason: DeleteReason::Pruned,
            });
        } else {
            plan.unselected.push(s.clone());
        }
    }
    plan.steps.extend(deletions);
    plan
}

/// How the secret accepts a subscription's current token (unknown token: not at all).
pub fn acceptance(doc: &Document, sub: &Subscription) -> Acceptance {
    sub.callback_token
        .as_ref()
        .map_or(Acceptance::No, |t| doc.accepts(&sub.event_type, t))
}

/// The plan of `rotate`: a new token for every subscription to the URL of a selected type.
pub fn rotate(
    selected: &[String],
    ours: &[Subscription],
    doc: &Document,
    mut new_token: impl FnMut() -> Token,
) -> Vec<Step> {
    selected
        .iter()
        .flat_map(|t| ours.iter().filter(move |s| &s.event_type == t))
        .map(|s| Step::Retoken {
            id: s.id.clone(),
            event_type: s.event_type.clone(),
            token: new_token(),
            old: s.callback_token.clone(),
            old_accepted: acceptance(doc, s),
            enable: false,
        })
        .collect()
}

/// The tokens that can leave the secret: bound to one of `types`, and the current token of
/// no subscription in `all` (every subscription Salesloft shows, whatever its URL: a
/// subscription to the function's other path uses this secret too). A type with a
/// subscription whose token Salesloft did not show is skipped (its tokens may be in use);
/// those types are returned second.
pub fn unused_tokens(
    doc: &Document,
    types: &[String],
    all: &[Subscription],
) -> (Vec<(String, Token)>, Vec<String>) {
    let in_use: BTreeSet<&Token> = all
        .iter()
        .filter_map(|s| s.callback_token.as_ref())
        .collect();
    let mut unused = Vec::new();
    let mut unknown = Vec::new();
    for event_type in types {
        if all
            .iter()
            .any(|s| &s.event_type == event_type && s.callback_token.is_none())
        {
            if !doc.bound_tokens(event_type).is_empty() {
                unknown.push(event_type.clone());
            }
            continue;
        }
        for token in doc.bound_tokens(event_type) {
            if !in_use.contains(token) {
                unused.push((event_type.clone(), token.clone()));
            }
        }
    }
    (unused, unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u64, event_type: &str, token: Option<&str>, enabled: bool) -> Subscription {
        Subscription {
            id: id.to_string(),
            event_type: event_type.into(),
            callback_url: "https://webhooks.test/salesloft".into(),
            callback_token: token.map(Token::new),
            enabled,
        }
    }

    fn tokens() -> impl FnMut() -> Token {
        let mut n = 0;
        move || {
            n += 1;
            Token::new(format!("new{n}"))
        }
    }

    fn types(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_empty_account_gets_one_subscription_per_type_each_with_its_own_token() {
        let doc = Document::parse("{}").unwrap();
        let all = crate::events::all();
        let plan = sync(&all, &[], &doc, false, tokens());
        assert_eq!(plan.steps.len(), 37);
        assert!(plan.steps.iter().all(|s| matches!(s, Step::Create { .. })));
        let added = plan.tokens_to_add();
        let distinct: BTreeSet<_> = added.iter().map(|(_, t)| t).collect();
        assert_eq!(distinct.len(), 37);
        assert!(!plan.needs_wait());
    }

    #[test]
    fn what_is_in_step_is_left_alone_and_the_rest_is_repaired() {
        let doc = Document::parse(
            r#"{"salesloft":{"person_updated":["a"],"person_created":["b"],"*":["shared"]}}"#,
        )
        .unwrap();
        let ours = [
            sub(1, "person_updated", Some("a"), true),      // in step
            sub(2, "person_created", Some("b"), false),     // disabled: enable
            sub(3, "person_deleted", Some("shared"), true), // shared token: own token
            sub(4, "note_created", Some("lost"), true),     // not in the secret
            sub(5, "note_updated", None, true),             // token unknown
            sub(6, "person_updated", Some("x"), true),      // duplicate
            sub(7, "task_created", Some("t"), true),        // unselected
        ];
        let selected = types(&[
            "person_updated",
            "person_created",
            "person_deleted",
            "note_created",
            "note_updated",
            "note_deleted",
        ]);
        let plan = sync(&selected, &ours, &doc, false, tokens());
        assert_eq!(plan.in_step, ["person_updated"]);
        assert_eq!(
            plan.steps[0],
            Step::Enable {
                id: "2".into(),
                event_type: "person_created".into()
            }
        );
        assert!(
            matches!(&plan.steps[1], Step::Retoken { id, old_accepted: Acceptance::Shared, enable: false, .. } if id == "3")
        );
        assert!(
            matches!(&plan.steps[2], Step::Retoken { id, old_accepted: Acceptance::No, .. } if id == "4")
        );
        assert!(matches!(&plan.steps[3], Step::Retoken { id, old: None, .. } if id == "5"));
        assert!(
            matches!(&plan.steps[4], Step::Create { event_type, .. } if event_type == "note_deleted")
        );
        assert!(
            matches!(&plan.steps[5], Step::Delete { id, reason: DeleteReason::Duplicate, .. } if id == "6")
        );
        assert_eq!(plan.steps.len(), 6);
        assert_eq!(plan.unselected.len(), 1);
        // The shared token is in use by Salesloft: the switch must wait for the function.
        assert!(plan.needs_wait());

        let pruned = sync(&selected, &ours, &doc, true, tokens());
        assert!(
            matches!(pruned.steps.last().unwrap(), Step::Delete { id, reason: DeleteReason::Pruned, .. } if id == "7")
        );
        assert!(pruned.unselected.is_empty());
        assert_eq!(
            pruned.deleted_ids(),
            ["6".to_string(), "7".to_string()].into()
        );
    }

    #[test]
    fn the_duplicate_kept_is_the_one_whose_token_the_secret_holds() {
        let doc = Document::parse(r#"{"salesloft":{"person_updated":["b"]}}"#).unwrap();
        let ours = [
            sub(1, "person_updated", Some("a"), true),
            sub(2, "person_updated", Some("b"), false),
        ];
        let plan = sync(&types(&["person_updated"]), &ours, &doc, false, tokens());
        assert_eq!(
            plan.steps,
            [
                Step::Enable {
                    id: "2".into(),
                    event_type: "person_updated".into()
                },
                Step::Delete {
                    id: "1".into(),
                    event_type: "person_updated".into(),
                    reason: DeleteReason::Duplicate
                }
            ]
        );
    }

    #[test]
    fn unused_tokens_spare_every_token_in_use_anywhere() {
        let doc = Document::parse(
            r#"{"salesloft":{"person_updated":["old","new"],"person_created":["c","other_url"],"note_created":["n"]}}"#,
        )
        .unwrap();
        let mut elsewhere = sub(9, "person_created", Some("other_url"), true);
        elsewhere.callback_url = "https://webhooks.test/".into();
        let all = [
            sub(1, "person_updated", Some("new"), true),
            sub(2, "person_created", Some("c"), true),
            elsewhere,
            sub(3, "note_created", None, true),
        ];
        let (unused, unknown) = unused_tokens(
            &doc,
            &types(&["person_updated", "person_created", "note_created"]),
            &all,
        );
        assert_eq!(unused, [("person_updated".to_string(), Token::new("old"))]);
        assert_eq!(unknown, ["note_created"]);
    }

    #[test]
    fn rotate_gives_each_subscription_a_new_token() {
        let doc = Document::parse(r#"{"salesloft":{"person_updated":["a"]}}"#).unwrap();
        let ours = [
            sub(1, "person_updated", Some("a"), true),
            sub(2, "note_created", Some("lost"), true),
        ];
        let steps = rotate(
            &types(&["person_updated", "note_created"]),
            &ours,
            &doc,
            tokens(),
        );
        assert_eq!(steps.len(), 2);
        assert!(steps[0].replaces_accepted_token());
        assert!(!steps[1].replaces_accepted_token());
    }
}
