//! Fuzzes the pure verifier and the event parser: any headers and body, for every scheme,
//! with a coin flip that signs the body correctly so the parser behind the verifier is
//! reached too. Must never panic; a signature made with a key that is not configured must
//! never verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salesloft_webhooks::event::Event;
use salesloft_webhooks::headers::Headers;
use salesloft_webhooks::senders::{Provider, SenderSettings};
use salesloft_webhooks::signature::{Secret, Verifier};

const KEY: &[u8] = b"fuzz-key";
const NOW: i64 = 1_795_442_400;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (control, rest) = (data[0], &data[1..]);
    // The rest: "<header value 1>\n<header value 2>\n<body>".
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let h1 = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
    let h2 = String::from_utf8_lossy(parts.next().unwrap_or_default()).to_string();
    let body = parts.next().unwrap_or_default();

    // Every sender, generically: adding one adds it here.
    let provider = Provider::ALL[control as usize % Provider::ALL.len()];
    let sign = control & 0x40 != 0;
    let mut settings = SenderSettings::default();
    settings.salesloft.timestamped = control & 0x80 != 0;
    let key = Secret::new(KEY);
    // The sender's own headers, signed; unsigned, each value is replaced by fuzz input.
    let mut headers = settings.sign(provider, &key, body, &h2, &h2, NOW);
    if !sign {
        for (i, (_, value)) in headers.iter_mut().enumerate() {
            *value = if i % 2 == 0 { h1.clone() } else { h2.clone() };
        }
    }
    let headers = Headers::from_pairs(headers.into_iter().map(|(k, v)| (k.to_string(), v)));

    let verifier = Verifier::new(settings.clone()).with_keys(provider, vec![key]);
    if let Ok(verified) = verifier.verify(provider, body, &headers, NOW) {
        let _ = Event::parse(verified);
    }
    // A different key never verifies what this one signed (nor the fuzzer's own guesses).
    let other = Verifier::new(settings).with_keys(provider, vec![Secret::new("other")]);
    if sign {
        assert!(other.verify(provider, body, &headers, NOW).is_err());
    }
    let _ = provider.parse_secret(&h1);
});
