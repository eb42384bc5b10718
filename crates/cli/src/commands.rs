//! The `subscriptions` commands: read Salesloft and the secret, plan, apply in a safe order,
//! report. Results go to stdout (a table, or one JSON object with `--json`); waits are
//! announced on stderr.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

/// The function re-reads its secret after a failed verification once its keys are this old
/// (`RefreshPolicy::retry_on_failure_after_ms`, one minute).
const FAILED_VERIFICATION_REREAD_S: u64 = 60;

use serde_json::{json, Value};

use crate::error::CliError;
use crate::events;
use crate::plan::{self, DeleteReason, Step};
use crate::salesloft::{Api, Subscription};
use crate::secret::{Acceptance, Loaded, SecretStore};
use crate::token::Token;

/// Where a command writes.
pub struct Io<'a> {
    pub out: &'a mut (dyn Write + Send),
    pub err: &'a mut (dyn Write + Send),
}

/// What every command works on.
pub struct Ctx<'a> {
    pub api: Api,
    pub store: SecretStore,
    pub callback_url: String,
    pub secret_id: String,
    pub json: bool,
    pub io: Io<'a>,
}

impl Ctx<'_> {
    fn line(&mut self, text: impl AsRef<str>) {
        if !self.json {
            let _ = writeln!(self.io.out, "{}", text.as_ref());
        }
    }

    fn emit_json(&mut self, value: Value) {
        if self.json {
            let _ = writeln!(self.io.out, "{value}");
        }
    }

    /// Waits `seconds` (the function's SECRET_REFRESH_SECONDS) so that every running
    /// instance of the function has re-read the secret: an instance re-reads its cached
    /// keys on the first request after they are that old.
    async fn wait_for_the_function(&mut self, seconds: u64, why: &str) {
        if seconds == 0 {
            return;
        }
        let _ = writeln!(self.io.err, "waiting {seconds} s {why}");
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }

    /// Reads the secret again and checks it still binds each of `tokens` to its type (a
    /// concurrent `rotate --finish` or a hand edit could have removed one while we waited).
    async fn check_still_held(&self, tokens: &[(String, Token)]) -> Result<Loaded, CliError> {
        let loaded = self.store.read().await?;
        for (event_type, token) in tokens {
            if loaded.document.accepts(event_type, token) != Acceptance::Bound {
                return Err(CliError::new(format!(
                    "the secret no longer holds the new token {token} of {event_type} (changed meanwhile); Salesloft was not switched to it: run the command again"
                )));
            }
        }
        Ok(loaded)
    }
}

/// Arguments shared by the commands after parsing.
pub struct Options {
    pub events: Option<Vec<String>>,
    pub prune: bool,
    pub dry_run: bool,
    pub refresh_seconds: u64,
    pub finish: bool,
    pub wait: bool,
}

fn step_json(step: &Step) -> Value {
    match step {
        Step::Create { event_type, token } => json!({
            "action": "create", "event_type": event_type, "id": null, "token": token.prefix(),
        }),
        Step::Enable { id, event_type } => json!({
            "action": "enable", "event_type": event_type, "id": id,
        }),
        Step::Retoken {
            id,
            event_type,
            token,
            old,
            old_accepted,
            enable,
        } => json!({
            "action": "retoken", "event_type": event_type, "id": id, "token": token.prefix(),
            "old_token": old.as_ref().map(Token::prefix), "old_token_in_secret": acceptance_name(*old_accepted),
            "enable": enable,
        }),
        Step::Delete {
            id,
            event_type,
            reason,
        } => json!({
            "action": "delete", "event_type": event_type, "id": id,
            "reason": match reason {
                DeleteReason::Duplicate => "duplicate",
                DeleteReason::Pruned => "pruned",
                DeleteReason::Requested => "requested",
            },
        }),
    }
}

fn step_line(step: &Step) -> String {
    match step {
        Step::Create { event_type, token } => {
            format!("create   {event_type:<38} new token {token}")
        }
        Step::Enable { id, event_type } => {
            format!("enable   {event_type:<38} #{id} (disabled; its token is in the secret)")
        }
        Step::Retoken {
            id,
            event_type,
            token,
            old,
            old_accepted,
            enable,
        } => {
            let old = match (old, old_accepted) {
                (None, _) => "Salesloft did not show its token".to_string(),
                (Some(t), Acceptance::Shared) => {
                    format!("replaces {t}, a token the secret holds for every type")
                }
                (Some(t), Acceptance::Bound) => format!("replaces {t}"),
                (Some(t), Acceptance::No) => format!("replaces {t}, which the secret lacks"),
            };
            let enable = if *enable { ", and enable it" } else { "" };
            format!("retoken  {event_type:<38} #{id} new token {token} ({old}{enable})")
        }
        Step::Delete {
            id,
            event_type,
            reason,
        } => {
            let why = match reason {
                DeleteReason::Duplicate => "a second subscription for this type",
                DeleteReason::Pruned => "type not selected (--prune)",
                DeleteReason::Requested => "",
            };
            if why.is_empty() {
                format!("delete   {event_type:<38} #{id}")
            } else {
                format!("delete   {event_type:<38} #{id} ({why})")
            }
        }
    }
}

fn acceptance_name(a: Acceptance) -> &'static str {
    match a {
        Acceptance::Bound => "bound",
        Acceptance::Shared => "shared",
        Acceptance::No => "missing",
    }
}

fn removed_json(removed: &[(String, Token)]) -> Value {
    removed
        .iter()
        .map(|(t, tok)| json!({"event_type": t, "token": tok.prefix()}))
        .collect()
}

/// Applies one Salesloft step.
async fn apply(ctx: &Ctx<'_>, step: &Step) -> Result<(), CliError> {
    match step {
        Step::Create { event_type, token } => {
            ctx.api.create(&ctx.callback_url, event_type, token).await?;
        }
        Step::Enable { id, .. } => ctx.api.update(id, None, Some(true)).await?,
        Step::Retoken {
            id, token, enable, ..
        } => {
            ctx.api
                .update(id, Some(token), enable.then_some(true))
                .await?
        }
        Step::Delete { id, .. } => {
            ctx.api.delete(id).await?;
        }
    }
    Ok(())
}

/// `subscriptions sync`.
pub async fn sync(ctx: &mut Ctx<'_>, opts: &Options) -> Result<(), CliError> {
    let selected = events::select(opts.events.as_deref())?;
    let loaded = ctx.store.read().await?;
    let ours = ctx.api.list(Some(&ctx.callback_url)).await?;
    let plan = plan::sync(
        &selected,
        &ours,
        &loaded.document,
        opts.prune,
        Token::generate,
    );
    // Tokens of pruned types leave the secret once their subscriptions are gone, unless a
    // subscription elsewhere (another URL of the function) still uses them.
    let pruned_types: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| {
            matches!(
                s,
                Step::Delete {
                    reason: DeleteReason::Pruned,
                    ..
                }
            )
        })
        .map(|s| s.event_type().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (removal, unknown) = if pruned_types.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let deleted = plan.deleted_ids();
        let remaining: Vec<Subscription> = ctx
            .api
            .list(None)
            .await?
            .into_iter()
            .filter(|s| !deleted.contains(&s.id))
            .collect();
        plan::unused_tokens(&loaded.document, &pruned_types, &remaining)
    };
    // Tokens bound to selected types that no subscription to this URL uses (a rotation not
    // finished, an interrupted run): reported, removed by `rotate --finish`.
    let current: BTreeSet<&Token> = ours
        .iter()
        .filter_map(|s| s.callback_token.as_ref())
        .collect();
    let leftovers = selected
        .iter()
        .flat_map(|t| loaded.document.bound_tokens(t))
        .filter(|t| !current.contains(t))
        .count();

    let url = ctx.callback_url.clone();
    if plan.is_empty() && removal.is_empty() {
        ctx.emit_json(json!({
            "command": "sync", "callback_url": url, "dry_run": opts.dry_run, "changed": false,
            "in_step": plan.in_step.len(), "actions": [], "secret": {"added": 0, "removed": 0},
            "unselected_left_alone": plan.unselected.len(), "unused_tokens_left": leftovers,
        }));
        ctx.line(format!(
            "Nothing to change: {} event types each have one enabled subscription to {url} whose token the secret holds.",
            plan.in_step.len()
        ));
        report_sync_notes(ctx, &plan.unselected, leftovers, &unknown);
        return Ok(());
    }

    let verb = if opts.dry_run {
        "Would change"
    } else {
        "Changing"
    };
    ctx.line(format!(
        "{verb} the subscriptions to {url} ({} event types selected, {} already in step):",
        selected.len(),
        plan.in_step.len()
    ));
    let adds = plan.tokens_to_add();
    if opts.dry_run {
        for step in &plan.steps {
            ctx.line(format!("  {}", step_line(step)));
        }
        for (t, tok) in &removal {
            ctx.line(format!("  remove   {t:<38} token {tok} from the secret"));
        }
        ctx.line("Dry run: nothing was changed.");
        ctx.emit_json(json!({
            "command": "sync", "callback_url": url, "dry_run": true, "changed": false,
            "in_step": plan.in_step.len(),
            "actions": plan.steps.iter().map(step_json).collect::<Vec<_>>(),
            "secret": {"added": adds.len(), "removed": removed_json(&removal)},
        }));
        return Ok(());
    }

    // 1. Every new token into the secret, bound to its type, before Salesloft signs with it.
    let mut loaded = loaded;
    if !adds.is_empty() {
        let mut doc = loaded.document.clone();
        for (t, tok) in &adds {
            doc.add(t, tok.clone());
        }
        loaded = ctx.store.write(&loaded, &doc).await?;
        ctx.line(format!(
            "  secret: {} new token(s) added, each bound to its event type",
            adds.len()
        ));
    }
    // 2. A token the function accepts today is being replaced: let every instance read the
    //    new one first.
    if plan.needs_wait() {
        ctx.wait_for_the_function(
            opts.refresh_seconds,
            "so that every instance of the function has read the new tokens before Salesloft signs with them",
        )
        .await;
        loaded = ctx.check_still_held(&adds).await?;
    } else if !adds.is_empty() {
        // New subscriptions only: an instance that read the secret just before the write
        // would refuse their first deliveries, and re-reads only once its keys are a minute
        // old (the function's re-read age after a failed verification). Waiting that long
        // means every instance either has the tokens or re-reads on the first refusal, well
        // within Salesloft's retries.
        ctx.wait_for_the_function(
            opts.refresh_seconds.min(FAILED_VERIFICATION_REREAD_S),
            "so that an instance that refuses a first delivery re-reads the new tokens",
        )
        .await;
    }
    // 3. Salesloft.
    for step in &plan.steps {
        apply(ctx, step).await?;
        ctx.line(format!("  {}", step_line(step)));
    }
    // 4. Tokens of pruned types, once their subscriptions are gone.
    if !removal.is_empty() {
        let mut doc = loaded.document.clone();
        for (t, tok) in &removal {
            doc.remove(t, tok);
        }
        ctx.store.write(&loaded, &doc).await?;
        ctx.line(format!(
            "  secret: {} token(s) of pruned types removed",
            removal.len()
        ));
    }
    ctx.emit_json(json!({
        "command": "sync", "callback_url": url, "dry_run": false, "changed": true,
        "in_step": plan.in_step.len(),
        "actions": plan.steps.iter().map(step_json).collect::<Vec<_>>(),
        "secret": {"added": adds.len(), "removed": removed_json(&removal)},
        "unselected_left_alone": plan.unselected.len(), "unused_tokens_left": leftovers,
    }));
    let count = |f: fn(&Step) -> bool| plan.steps.iter().filter(|s| f(s)).count();
    ctx.line(format!(
        "Done: {} created, {} enabled, {} given a new token, {} deleted.",
        count(|s| matches!(s, Step::Create { .. })),
        count(|s| matches!(s, Step::Enable { .. })),
        count(|s| matches!(s, Step::Retoken { .. })),
        count(|s| matches!(s, Step::Delete { .. })),
    ));
    report_sync_notes(ctx, &plan.unselected, leftovers, &unknown);
    Ok(())
}

fn report_sync_notes(
    ctx: &mut Ctx<'_>,
    unselected: &[Subscription],
    leftovers: usize,
    unknown: &[String],
) {
    if !unselected.is_empty() {
        let names: BTreeSet<&str> = unselected.iter().map(|s| s.event_type.as_str()).collect();
        ctx.line(format!(
            "Note: {} subscription(s) to this URL for types not selected were left alone ({}); --prune deletes them.",
            unselected.len(),
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if leftovers > 0 {
        ctx.line(format!(
            "Note: the secret holds {leftovers} token(s) of the selected types that no subscription to this URL uses (a rotation not finished, or an interrupted run); `subscriptions rotate --finish` removes those no subscription uses."
        ));
    }
    if !unknown.is_empty() {
        ctx.line(format!(
            "Note: tokens of {} kept: Salesloft did not show the token of a subscription of that type.",
            unknown.join(", ")
        ));
    }
}

/// `subscriptions list`.
pub async fn list(ctx: &mut Ctx<'_>, opts: &Options) -> Result<(), CliError> {
    let selected = events::select(opts.events.as_deref())?;
    let loaded = ctx.store.read().await?;
    let ours = ctx.api.list(Some(&ctx.callback_url)).await?;
    let doc = &loaded.document;
    // Selected types first, then any other type subscribed to this URL.
    let mut types = selected.clone();
    for s in &ours {
        if !types.contains(&s.event_type) {
            types.push(s.event_type.clone());
        }
    }
    let mut rows = Vec::new();
    let mut drift = 0;
    for t in &types {
        let subs: Vec<&Subscription> = ours.iter().filter(|s| &s.event_type == t).collect();
        let spare = |current: Option<&Token>| {
            doc.bound_tokens(t)
                .iter()
                .filter(|tok| Some(*tok) != current)
                .count()
        };
        if subs.is_empty() {
            rows.push(json!({
                "event_type": t, "id": null, "enabled": null, "token": null,
                "secret": "none", "other_tokens": spare(None),
            }));
            continue;
        }
        for s in subs {
            let state = match &s.callback_token {
                None => "unknown",
                Some(tok) => match doc.accepts(t, tok) {
                    Acceptance::Bound => "ok",
                    Acceptance::Shared => "shared",
                    Acceptance::No => "missing",
                },
            };
            if state == "missing" {
                drift += 1;
            }
            rows.push(json!({
                "event_type": t, "id": s.id, "enabled": s.enabled,
                "token": s.callback_token.as_ref().map(Token::prefix),
                "secret": state, "other_tokens": spare(s.callback_token.as_ref()),
            }));
        }
    }
    let url = ctx.callback_url.clone();
    ctx.emit_json(json!({
        "command": "list", "callback_url": url, "subscriptions": rows,
        "drift": drift, "shared_tokens": doc.shared_tokens().len(),
    }));
    ctx.line(format!("Subscriptions to {url}:"));
    ctx.line(format!(
        "{:<38} {:>10} {:<8} {:<6} {}",
        "EVENT TYPE", "ID", "ENABLED", "TOKEN", "SECRET"
    ));
    for r in &rows {
        let secret = match r["secret"].as_str().unwrap_or_default() {
            "ok" => "holds it, bound to this type".to_string(),
            "shared" => "holds it for every type (sync gives it a token of its own)".into(),
            "missing" => "DRIFT: does not hold it (deliveries get 401; sync fixes it)".into(),
            "unknown" => "? (Salesloft did not show the token)".into(),
            _ => "- (no subscription; sync creates it)".into(),
        };
        let others = r["other_tokens"].as_u64().unwrap_or(0);
        let others = if others > 0 {
            format!("; {others} other token(s) bound to this type")
        } else {
            String::new()
        };
        ctx.line(format!(
            "{:<38} {:>10} {:<8} {:<6} {secret}{others}",
            r["event_type"].as_str().unwrap_or_default(),
            r["id"].as_str().unwrap_or("-"),
            r["enabled"]
                .as_bool()
                .map_or("-", |e| if e { "yes" } else { "no" }),
            r["token"].as_str().unwrap_or("-"),
        ));
    }
    if drift > 0 {
        ctx.line(format!(
            "Drift: the secret lacks the token of {drift} subscription(s); `subscriptions sync` repairs it."
        ));
    }
    if !doc.shared_tokens().is_empty() {
        ctx.line(format!(
            "The secret also holds {} token(s) that serve every event type (\"*\").",
            doc.shared_tokens().len()
        ));
    }
    Ok(())
}

/// `subscriptions rotate`.
pub async fn rotate(ctx: &mut Ctx<'_>, opts: &Options) -> Result<(), CliError> {
    if opts.finish {
        return finish(ctx, opts).await;
    }
    let selected = events::select(opts.events.as_deref())?;
    let loaded = ctx.store.read().await?;
    let ours = ctx.api.list(Some(&ctx.callback_url)).await?;
    let steps = plan::rotate(&selected, &ours, &loaded.document, Token::generate);
    if steps.is_empty() {
        return Err(CliError::new(format!(
            "no subscription to {} for the selected event types: run `subscriptions sync` first",
            ctx.callback_url
        )));
    }
    let url = ctx.callback_url.clone();
    if opts.dry_run {
        ctx.line(format!(
            "Would rotate the tokens of {} subscription(s) to {url}:",
            steps.len()
        ));
        for s in &steps {
            ctx.line(format!("  {}", step_line(s)));
        }
        ctx.line("Dry run: nothing was changed.");
        ctx.emit_json(json!({
            "command": "rotate", "callback_url": url, "dry_run": true, "changed": false,
            "actions": steps.iter().map(step_json).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    // 1. The new tokens join the old ones in the secret, each bound to its type.
    let adds: Vec<(String, Token)> = steps
        .iter()
        .filter_map(|s| {
            s.new_token()
                .map(|t| (s.event_type().to_string(), t.clone()))
        })
        .collect();
    let mut doc = loaded.document.clone();
    for (t, tok) in &adds {
        doc.add(t, tok.clone());
    }
    ctx.store.write(&loaded, &doc).await?;
    ctx.line(format!(
        "Rotating {} subscription(s) to {url}: the secret now holds old and new tokens.",
        steps.len()
    ));
    // 2. Every instance of the function reads the new tokens before Salesloft uses them.
    if steps.iter().any(Step::replaces_accepted_token) {
        ctx.wait_for_the_function(
            opts.refresh_seconds,
            "so that every instance of the function has read the new tokens before Salesloft signs with them",
        )
        .await;
    }
    ctx.check_still_held(&adds).await?;
    // 3. The switch.
    for step in &steps {
        apply(ctx, step).await?;
        ctx.line(format!("  {}", step_line(step)));
    }
    if opts.wait {
        // 4. Deliveries signed before the switch (Salesloft retries a failed one three more
        //    times, 15 s apart) have landed; then the old tokens go.
        ctx.wait_for_the_function(
            opts.refresh_seconds,
            "so that deliveries Salesloft signed with the old tokens have landed before they are removed",
        )
        .await;
        let outcome = finish_tokens(ctx, &selected, false).await?;
        ctx.line(format!(
            "Done: {} subscription(s) switched to new tokens.",
            steps.len()
        ));
        print_finish(ctx, &outcome, false);
        ctx.emit_json(json!({
            "command": "rotate", "callback_url": url, "dry_run": false, "changed": true,
            "actions": steps.iter().map(step_json).collect::<Vec<_>>(),
            "finished": true, "removed": removed_json(&outcome.removed),
            "skipped_types": outcome.skipped,
        }));
        return Ok(());
    }
    let events = opts
        .events
        .as_ref()
        .map(|e| format!(" --events {}", e.join(",")))
        .unwrap_or_default();
    ctx.line(format!(
        "Done: {} subscription(s) switched to new tokens. The old tokens stay in the secret for deliveries Salesloft signed before the switch; in {} s or later run:",
        steps.len(),
        opts.refresh_seconds
    ));
    ctx.line(format!(
        "  salesloft-webhooks subscriptions rotate --finish --callback-url {url} --secret-id {}{events}",
        ctx.secret_id
    ));
    ctx.emit_json(json!({
        "command": "rotate", "callback_url": url, "dry_run": false, "changed": true,
        "actions": steps.iter().map(step_json).collect::<Vec<_>>(), "finished": false,
    }));
    Ok(())
}

/// What `rotate --finish` removed (or would remove).
struct FinishOutcome {
    removed: Vec<(String, Token)>,
    /// Types whose tokens were kept: Salesloft did not show a subscription's token.
    skipped: Vec<String>,
}

/// Removes the tokens bound to `selected` types that no subscription uses any more.
async fn finish_tokens(
    ctx: &Ctx<'_>,
    selected: &[String],
    dry_run: bool,
) -> Result<FinishOutcome, CliError> {
    let loaded = ctx.store.read().await?;
    let all = ctx.api.list(None).await?;
    let (removed, skipped) = plan::unused_tokens(&loaded.document, selected, &all);
    if !removed.is_empty() && !dry_run {
        let mut doc = loaded.document.clone();
        for (t, tok) in &removed {
            doc.remove(t, tok);
        }
        ctx.store.write(&loaded, &doc).await?;
    }
    Ok(FinishOutcome { removed, skipped })
}

fn print_finish(ctx: &mut Ctx<'_>, outcome: &FinishOutcome, dry_run: bool) {
    if outcome.removed.is_empty() {
        ctx.line("Nothing to remove: every token of the selected types is a subscription's current token.");
    } else {
        let verb = if dry_run { "Would remove" } else { "Removed" };
        ctx.line(format!(
            "{verb} {} token(s) that no subscription uses from the secret:",
            outcome.removed.len()
        ));
        for (t, tok) in &outcome.removed {
            ctx.line(format!("  {t:<38} {tok}"));
        }
    }
    if !outcome.skipped.is_empty() {
        ctx.line(format!(
            "Kept the tokens of {}: Salesloft did not show the token of a subscription of that type.",
            outcome.skipped.join(", ")
        ));
    }
}

/// `rotate --finish`.
async fn finish(ctx: &mut Ctx<'_>, opts: &Options) -> Result<(), CliError> {
    let selected = events::select(opts.events.as_deref())?;
    let outcome = finish_tokens(ctx, &selected, opts.dry_run).await?;
    let url = ctx.callback_url.clone();
    ctx.emit_json(json!({
        "command": "rotate --finish", "callback_url": url, "dry_run": opts.dry_run,
        "changed": !outcome.removed.is_empty() && !opts.dry_run,
        "removed": removed_json(&outcome.removed), "skipped_types": outcome.skipped,
    }));
    print_finish(ctx, &outcome, opts.dry_run);
    Ok(())
}

/// `subscriptions delete`.
pub async fn delete(ctx: &mut Ctx<'_>, opts: &Options) -> Result<(), CliError> {
    let selected = match &opts.events {
        Some(_) => Some(events::select(opts.events.as_deref())?),
        None => None,
    };
    let loaded = ctx.store.read().await?;
    let ours = ctx.api.list(Some(&ctx.callback_url)).await?;
    let steps: Vec<Step> = ours
        .iter()
        .filter(|s| {
            selected
                .as_ref()
                .is_none_or(|sel| sel.contains(&s.event_type))
        })
        .map(|s| Step::Delete {
            id: s.id.clone(),
            event_type: s.event_type.clone(),
            reason: DeleteReason::Requested,
        })
        .collect();
    let url = ctx.callback_url.clone();
    if steps.is_empty() {
        ctx.emit_json(json!({
            "command": "delete", "callback_url": url, "dry_run": opts.dry_run, "changed": false,
            "actions": [], "removed": [],
        }));
        ctx.line(format!(
            "Nothing to delete: no subscription to {url} for the selected event types."
        ));
        return Ok(());
    }
    let types: Vec<String> = steps
        .iter()
        .map(|s| s.event_type().to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ids: BTreeSet<&str> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Delete { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect();
    if opts.dry_run {
        let remaining: Vec<Subscription> = ctx
            .api
            .list(None)
            .await?
            .into_iter()
            .filter(|s| !ids.contains(s.id.as_str()))
            .collect();
        let (unused, _) = plan::unused_tokens(&loaded.document, &types, &remaining);
        ctx.line(format!(
            "Would delete {} subscription(s) to {url}:",
            steps.len()
        ));
        for s in &steps {
            ctx.line(format!("  {}", step_line(s)));
        }
        ctx.line(format!(
            "and remove {} token(s) from the secret. Dry run: nothing was changed.",
            unused.len()
        ));
        ctx.emit_json(json!({
            "command": "delete", "callback_url": url, "dry_run": true, "changed": false,
            "actions": steps.iter().map(step_json).collect::<Vec<_>>(),
            "removed": removed_json(&unused),
        }));
        return Ok(());
    }
    // Salesloft first: it stops signing with a token before the token leaves the secret.
    for step in &steps {
        apply(ctx, step).await?;
        ctx.line(format!("  {}", step_line(step)));
    }
    let remaining = ctx.api.list(None).await?;
    let (unused, unknown) = plan::unused_tokens(&loaded.document, &types, &remaining);
    if !unused.is_empty() {
        let mut doc = loaded.document.clone();
        for (t, tok) in &unused {
            doc.remove(t, tok);
        }
        ctx.store.write(&loaded, &doc).await?;
    }
    ctx.emit_json(json!({
        "command": "delete", "callback_url": url, "dry_run": false, "changed": true,
        "actions": steps.iter().map(step_json).collect::<Vec<_>>(),
        "removed": removed_json(&unused), "skipped_types": unknown,
    }));
    ctx.line(format!(
        "Done: {} subscription(s) deleted; {} token(s) removed from the secret.",
        steps.len(),
        unused.len()
    ));
    Ok(())
}
