//! Fuzzes the pure verifier and the event parser: any headers and body, for every scheme,
//! with a coin flip that signs the body correctly so the parser behind the verifier is
//! reached too. Must never panic; a signature made with a key that is not configured must
//! never verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use salesloft_webhooks::event::Event;
use salesloft_webhooks::headers::Headers;
use salesloft_webhooks::signature::{
    hmac_sha256_hex, salesloft_signature, Provider, Secret, StandardWebhooks, Verifier,
    SALESLOFT_EVENT, SALESLOFT_SIGNATURE, SALESLOFT_TIMESTAMP, SALESOS_SIGNATURE, WEBHOOK_ID,
    WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};

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

    let provider = Provider::ALL[(control % 3) as usize];
    let sign = control & 0x10 != 0;
    let timestamped = control & 0x20 != 0;
    let ts = NOW.to_string();
    let mut headers: Vec<(String, String)> = Vec::new();
    let signature = match provider {
        Provider::Salesloft if timestamped => {
            headers.push((SALESLOFT_TIMESTAMP.into(), if sign { ts.clone() } else { h2.clone() }));
            hmac_sha256_hex(KEY, &[ts.as_bytes(), b".", body])
        }
        Provider::Salesloft => salesloft_signature(KEY, body),
        Provider::SalesOs => hmac_sha256_hex(KEY, &[body]),
        Provider::StandardWebhooks => {
            headers.push((WEBHOOK_ID.into(), h2.clone()));
            headers.push((WEBHOOK_TIMESTAMP.into(), ts.clone()));
            let mac = hmac_sha256_hex(KEY, &[h2.as_bytes(), b".", ts.as_bytes(), b".", body]);
            let bytes: Vec<u8> = (0..mac.len() / 2)
                .map(|i| u8::from_str_radix(&mac[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            format!("v1,{}", base64_encode(&bytes))
        }
    };
    let sig_header = match provider {
        Provider::Salesloft => SALESLOFT_SIGNATURE,
        Provider::SalesOs => SALESOS_SIGNATURE,
        Provider::StandardWebhooks => WEBHOOK_SIGNATURE,
    };
    headers.push((sig_header.into(), if sign { signature } else { h1.clone() }));
    headers.push((SALESLOFT_EVENT.into(), h2.clone()));
    let headers = Headers::from_pairs(headers);

    let secret = Secret::new(KEY);
    let verifier = match provider {
        Provider::Salesloft if timestamped => Verifier::default().with_salesloft_timestamped(vec![secret], 300),
        Provider::Salesloft => Verifier::default().with_salesloft(vec![secret]),
        Provider::SalesOs => Verifier::default().with_salesos(vec![secret]),
        Provider::StandardWebhooks => Verifier::default().with_standard_webhooks(vec![secret], 300),
    };
    if let Ok(verified) = verifier.verify(provider, body, &headers, NOW) {
        let _ = Event::parse(verified);
    }
    // A different key never verifies what this one signed (nor the fuzzer's own guesses).
    let other = match provider {
        Provider::Salesloft if timestamped => Verifier::default().with_salesloft_timestamped(vec![Secret::new("other")], 300),
        Provider::Salesloft => Verifier::default().with_salesloft(vec![Secret::new("other")]),
        Provider::SalesOs => Verifier::default().with_salesos(vec![Secret::new("other")]),
        Provider::StandardWebhooks => Verifier::default().with_standard_webhooks(vec![Secret::new("other")], 300),
    };
    if sign {
        assert!(other.verify(provider, body, &headers, NOW).is_err());
    }
    let _ = StandardWebhooks::parse_secret(&h1);
});

fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
