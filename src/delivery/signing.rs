//! Standard Webhooks signing (<https://www.standardwebhooks.com/>): the
//! signature is `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! keyed with the bytes of the endpoint secret (`whsec_` + base64). While a
//! rotated-out secret is still honoured, both signatures are sent, separated
//! by a space, so a receiver holding either secret verifies the message.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

const PREFIX: &str = "whsec_";

/// HMAC-SHA256 (RFC 2104) over SHA-256's 64-byte blocks.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// A fresh endpoint secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The key bytes of a `whsec_` secret (`None` for anything else).
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()
}

/// The `webhook-signature` header value for `body` sent as message `id` at
/// `timestamp` (Unix seconds), one `v1,` signature per secret.
pub fn signature_header(secrets: &[String], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    secrets
        .iter()
        .filter_map(|s| secret_key(s))
        .map(|key| format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &signed))))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 and test case 6 (a key longer than the block).
        let got = hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?"));
        assert_eq!(got, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let long = [0xaau8; 131];
        let got = hex::encode(hmac_sha256(
            &long,
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        ));
        assert_eq!(got, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let body = br#"{"test": 2432232314}"#;
        let got = signature_header(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let fresh = new_secret();
        assert_eq!(secret_key(&fresh).map(|k| k.len()), Some(32));
        let two = signature_header(&[fresh.clone(), fresh], "m", 1, b"x");
        assert_eq!(two.split(' ').count(), 2);
    }
}
