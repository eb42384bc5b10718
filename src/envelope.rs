//! The message body consumers receive (DESIGN.md section 5):
//! `{"version":1,"provider":…,"event_type":…,"event_id":…,"received_at":…,"payload":{…}}`
//! with the sender's JSON embedded byte for byte, never re-serialised, so a consumer can
//! re-check a signature over it or read numbers without precision loss.

use crate::event::Event;

/// Envelope format version.
pub const VERSION: u32 = 1;

/// Writes the envelope for `event`. The payload was validated as a JSON object by
/// [`Event::parse`], so splicing it in keeps the document valid.
pub fn envelope(event: &Event<'_>, received_at: &str) -> String {
    let payload = event.payload_str();
    let mut out = String::with_capacity(payload.len() + 256);
    out.push_str("{\"version\":");
    out.push_str(&VERSION.to_string());
    out.push_str(",\"provider\":");
    push_json_string(&mut out, event.provider().as_str());
    out.push_str(",\"event_type\":");
    push_json_string(&mut out, event.event_type());
    out.push_str(",\"event_id\":");
    push_json_string(&mut out, event.event_id());
    out.push_str(",\"received_at\":");
    push_json_string(&mut out, received_at);
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push('}');
    out
}

fn push_json_string(out: &mut String, s: &str) {
    // Serialising a &str into JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Headers;
    use crate::signature::{
        salesloft_signature, Provider, Secret, Verifier, SALESLOFT_EVENT, SALESLOFT_SIGNATURE,
    };

    #[test]
    fn the_payload_is_embedded_byte_for_byte() {
        let body: &[u8] = b"{ \"id\" : 1.50, \"big\": 12345678901234567890, \"s\":\"\\u00e9\" }";
        let headers = Headers::from_pairs([
            (
                SALESLOFT_SIGNATURE.to_string(),
                salesloft_signature(b"k", body),
            ),
            (SALESLOFT_EVENT.to_string(), "person_updated".to_string()),
        ]);
        let verifier = Verifier::new(vec![Secret::new("k")]);
        let verified = verifier
            .verify(Provider::Salesloft, body, &headers, 0)
            .unwrap();
        let event = Event::parse(verified).unwrap();
        let env = envelope(&event, "2026-11-23T14:00:00Z");
        let expected = format!(
            "{{\"version\":1,\"provider\":\"salesloft\",\"event_type\":\"person_updated\",\"event_id\":\"{}\",\"received_at\":\"2026-11-23T14:00:00Z\",\"payload\":{}}}",
            event.event_id(),
            std::str::from_utf8(body).unwrap()
        );
        assert_eq!(env, expected);
        let parsed: serde_json::Value = serde_json::from_str(&env).unwrap();
        assert_eq!(parsed["payload"]["id"], serde_json::json!(1.50));
        assert_eq!(parsed["event_id"], event.event_id());
    }
}
