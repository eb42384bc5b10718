//! `--events`: which of Salesloft's event types a command works on.

use salesloft_webhooks::destinations::pattern_matches;
use salesloft_webhooks_wire::SalesloftEvent;

use crate::error::CliError;

/// Every event type Salesloft documents (37), in the order of its reference.
pub fn all() -> Vec<String> {
    SalesloftEvent::ALL
        .iter()
        .map(|e| e.as_str().to_string())
        .collect()
}

/// The event types matched by `patterns` (each a comma-separated list of names or patterns
/// where `*` stands for any run of characters, as in `ROUTES`), in the reference's order,
/// each once. `None` (no `--events`): all of them. A pattern that matches no known type is an
/// error, so a typo never silently selects nothing.
pub fn select(patterns: Option<&[String]>) -> Result<Vec<String>, CliError> {
    let Some(patterns) = patterns else {
        return Ok(all());
    };
    let patterns: Vec<&str> = patterns
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if patterns.is_empty() {
        return Err(CliError::usage("--events lists no event type"));
    }
    let known = all();
    for pattern in &patterns {
        if !known.iter().any(|t| pattern_matches(pattern, t)) {
            return Err(CliError::usage(format!(
                "unknown event pattern {pattern:?}: it matches none of Salesloft's {} event types (e.g. person_updated, person_*)",
                known.len()
            )));
        }
    }
    Ok(known
        .into_iter()
        .filter(|t| patterns.iter().any(|p| pattern_matches(p, t)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(list: &[&str]) -> Result<Vec<String>, CliError> {
        let owned: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        select(Some(&owned))
    }

    #[test]
    fn no_flag_selects_all_37_types() {
        let all = select(None).unwrap();
        assert_eq!(all.len(), 37);
        assert_eq!(all.len(), SalesloftEvent::ALL.len());
    }

    #[test]
    fn patterns_and_names_combine_without_duplicates() {
        assert_eq!(
            sel(&["person_*,person_updated", "note_deleted"]).unwrap(),
            [
                "note_deleted",
                "person_created",
                "person_updated",
                "person_deleted"
            ]
        );
        assert_eq!(sel(&["*"]).unwrap().len(), 37);
    }

    #[test]
    fn an_unknown_pattern_is_a_usage_error_naming_it() {
        let err = sel(&["person_*", "persn_*"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("\"persn_*\""), "{err}");
        assert!(sel(&[" , "]).is_err());
    }
}
