//! Submitting precertificates to an RFC 6962 CT log and handling the SCT it returns.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Verifier as _;
use serde::Deserialize;
use url::Url;

/// How long one add-pre-chain call may take before the certificate request fails.
const CT_LOG_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest add-pre-chain response read. An SCT is about 120 bytes as JSON; the rest is slack
/// for logs that add extensions.
const MAX_CT_RESPONSE_BYTES: usize = 64 * 1024;
/// TLS `HashAlgorithm.sha256` (RFC 5246 §7.4.1.4.1).
const TLS_HASH_SHA256: u8 = 4;
/// TLS `SignatureAlgorithm.ecdsa` (RFC 5246 §7.4.1.4.1).
const TLS_SIGNATURE_ECDSA: u8 = 3;

/// A failed submission. The CA returns HTTP 500 for each of these, as Fulcio does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtError {
    #[error("failed to reach the CT log at {url}: {source}")]
    Unreachable { url: Url, source: reqwest::Error },
    #[error("the CT log at {url} answered HTTP {status}: {body}")]
    Status { url: Url, status: u16, body: String },
    #[error("the CT log returned an SCT that cannot be used: {0}")]
    Malformed(String),
    #[error("the CT log's SCT signature does not verify with the configured CT log key")]
    BadSignature,
}

/// A SignedCertificateTimestamp (RFC 6962 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCertificateTimestamp {
    /// SHA-256 of the log's DER SubjectPublicKeyInfo.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// CtExtensions, without their length prefix.
    pub extensions: Vec<u8>,
    /// The TLS-encoded `digitally-signed` struct: hash, signature algorithm, length, signature.
    pub signature: Vec<u8>,
}

/// The add-chain response body (RFC 6962 §4.1).
#[derive(Deserialize)]
struct AddChainResponse {
    sct_version: u8,
    id: String,
    timestamp: u64,
    #[serde(default)]
    extensions: String,
    signature: String,
}

impl SignedCertificateTimestamp {
    /// Parses the JSON of an add-(pre-)chain response.
    pub fn from_json(body: &[u8]) -> Result<Self, CtError> {
        let malformed = |reason: String| CtError::Malformed(reason);
        let response: AddChainResponse =
            serde_json::from_slice(body).map_err(|error| malformed(error.to_string()))?;
        if response.sct_version != 0 {
            return Err(malformed(format!(
                "sct_version {} is not v1 (0)",
                response.sct_version
            )));
        }
        let log_id = STANDARD
            .decode(&response.id)
            .map_err(|error| malformed(format!("id: {error}")))?
            .try_into()
            .map_err(|_| malformed("id is not 32 bytes".to_owned()))?;
        let extensions = STANDARD
            .decode(&response.extensions)
            .map_err(|error| malformed(format!("extensions: {error}")))?;
        let signature = STANDARD
            .decode(&response.signature)
            .map_err(|error| malformed(format!("signature: {error}")))?;
        // digitally-signed: uint8 hash, uint8 signature, opaque signature<0..2^16-1>.
        let [hash, algorithm, high, low, rest @ ..] = signature.as_slice() else {
            return Err(malformed("signature is shorter than its header".to_owned()));
        };
        if usize::from(u16::from_be_bytes([*high, *low])) != rest.len() {
            return Err(malformed(
                "signature length prefix does not match".to_owned(),
            ));
        }
        // sigstore-python accepts only SHA-256 SCTs, and every client expects ECDSA.
        if (*hash, *algorithm) != (TLS_HASH_SHA256, TLS_SIGNATURE_ECDSA) {
            return Err(malformed(format!(
                "signature algorithm (hash {hash}, signature {algorithm}) is not ECDSA with SHA-256"
            )));
        }
        if extensions.len() > usize::from(u16::MAX) {
            return Err(malformed(
                "extensions are longer than 65535 bytes".to_owned(),
            ));
        }
        Ok(Self {
            log_id,
            timestamp: response.timestamp,
            extensions,
            signature,
        })
    }

    /// Encodes the SCT in TLS presentation (RFC 6962 §3.2): version, log id, timestamp,
    /// extensions with a 16-bit length, then the digitally-signed struct.
    pub fn to_tls(&self) -> Vec<u8> {
        let mut encoded = Vec::with_capacity(47 + self.extensions.len() + self.signature.len());
        encoded.push(0); // sct_version v1
        encoded.extend_from_slice(&self.log_id);
        encoded.extend_from_slice(&self.timestamp.to_be_bytes());
        push_u16_length(&mut encoded, self.extensions.len());
        encoded.extend_from_slice(&self.extensions);
        encoded.extend_from_slice(&self.signature);
        encoded
    }

    /// Returns what the log signed for a precertificate entry (RFC 6962 §3.2): the TBS of the
    /// final certificate without the SCT list, and the issuer key hash.
    pub fn signed_data(&self, issuer_key_hash: &[u8; 32], tbs_certificate: &[u8]) -> Vec<u8> {
        let mut data = Vec::with_capacity(60 + tbs_certificate.len() + self.extensions.len());
        data.push(0); // sct_version v1
        data.push(0); // signature_type certificate_timestamp
        data.extend_from_slice(&self.timestamp.to_be_bytes());
        data.extend_from_slice(&1u16.to_be_bytes()); // entry_type precert_entry
        data.extend_from_slice(issuer_key_hash);
        let length = u32::try_from(tbs_certificate.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes();
        data.extend_from_slice(&length[1..]); // uint24 length
        data.extend_from_slice(tbs_certificate);
        push_u16_length(&mut data, self.extensions.len());
        data.extend_from_slice(&self.extensions);
        data
    }

    /// Verifies the SCT's ECDSA P-256 signature over [`Self::signed_data`].
    pub fn verify(
        &self,
        log_key: &p256::ecdsa::VerifyingKey,
        issuer_key_hash: &[u8; 32],
        tbs_certificate: &[u8],
    ) -> Result<(), CtError> {
        let der = self.signature.get(4..).ok_or(CtError::BadSignature)?;
        let signature = p256::ecdsa::Signature::from_der(der).map_err(|_| CtError::BadSignature)?;
        log_key
            .verify(
                &self.signed_data(issuer_key_hash, tbs_certificate),
                &signature,
            )
            .map_err(|_| CtError::BadSignature)
    }
}

/// Encodes a SignedCertificateTimestampList holding one SCT (RFC 6962 §3.3):
/// a 16-bit total length, then each SCT with a 16-bit length.
pub fn sct_list(sct: &SignedCertificateTimestamp) -> Vec<u8> {
    let encoded = sct.to_tls();
    let mut list = Vec::with_capacity(encoded.len() + 4);
    push_u16_length(&mut list, encoded.len() + 2);
    push_u16_length(&mut list, encoded.len());
    list.extend_from_slice(&encoded);
    list
}

fn push_u16_length(buffer: &mut Vec<u8>, length: usize) {
    // Every length passed here is bounded well below 2^16 by the checks in `from_json`.
    let length = u16::try_from(length).unwrap_or(u16::MAX);
    buffer.extend_from_slice(&length.to_be_bytes());
}

/// A client of one CT log's add-pre-chain endpoint.
#[derive(Debug, Clone)]
pub struct CtClient {
    http: reqwest::Client,
    add_pre_chain: Url,
    log_key: Option<p256::ecdsa::VerifyingKey>,
}

impl CtClient {
    /// Creates a client for the log at `base_url` (including its prefix, such as
    /// `http://127.0.0.1:6962/sigstack`). With `log_key`, every SCT is verified before use.
    pub fn new(base_url: &Url, log_key: Option<p256::ecdsa::VerifyingKey>) -> Result<Self, String> {
        let mut base = base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let add_pre_chain = base
            .join("ct/v1/add-pre-chain")
            .map_err(|error| error.to_string())?;
        let http = reqwest::Client::builder()
            .timeout(CT_LOG_TIMEOUT)
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Self {
            http,
            add_pre_chain,
            log_key,
        })
    }

    /// Returns the add-pre-chain URL.
    pub fn url(&self) -> &Url {
        &self.add_pre_chain
    }

    /// Submits `[precertificate, issuing CA, …, root]` (DER) and returns the SCT, verified
    /// against the configured log key when there is one.
    pub async fn add_pre_chain(
        &self,
        chain: &[&[u8]],
        issuer_key_hash: &[u8; 32],
        precertificate_tbs_without_poison: &[u8],
    ) -> Result<SignedCertificateTimestamp, CtError> {
        let body = serde_json::json!({
            "chain": chain.iter().map(|der| STANDARD.encode(der)).collect::<Vec<_>>(),
        });
        let url = self.add_pre_chain.clone();
        let unreachable = |source| CtError::Unreachable {
            url: url.clone(),
            source,
        };
        let mut response = self
            .http
            .post(url.clone())
            .json(&body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let mut received = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if received.len() + chunk.len() > MAX_CT_RESPONSE_BYTES {
                return Err(CtError::Malformed(format!(
                    "the response is larger than {MAX_CT_RESPONSE_BYTES} bytes"
                )));
            }
            received.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(CtError::Status {
                url,
                status: status.as_u16(),
                body: String::from_utf8_lossy(&received)
                    .chars()
                    .take(200)
                    .collect(),
            });
        }
        let sct = SignedCertificateTimestamp::from_json(&received)?;
        if let Some(log_key) = &self.log_key {
            sct.verify(log_key, issuer_key_hash, precertificate_tbs_without_poison)?;
        }
        Ok(sct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer as _;

    fn signed_sct(key: &p256::ecdsa::SigningKey, tbs: &[u8]) -> SignedCertificateTimestamp {
        let mut sct = SignedCertificateTimestamp {
            log_id: [7; 32],
            timestamp: 1_800_000_000_000,
            extensions: Vec::new(),
            signature: Vec::new(),
        };
        let signature: p256::ecdsa::DerSignature = key.sign(&sct.signed_data(&[9; 32], tbs));
        let mut digitally_signed = vec![4, 3];
        digitally_signed.extend_from_slice(&(signature.as_bytes().len() as u16).to_be_bytes());
        digitally_signed.extend_from_slice(signature.as_bytes());
        sct.signature = digitally_signed;
        sct
    }

    #[test]
    fn json_round_trip_and_verification() {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let sct = signed_sct(&key, b"tbs");
        let json = serde_json::json!({
            "sct_version": 0,
            "id": STANDARD.encode(sct.log_id),
            "timestamp": sct.timestamp,
            "extensions": "",
            "signature": STANDARD.encode(&sct.signature),
        });
        let parsed =
            SignedCertificateTimestamp::from_json(json.to_string().as_bytes()).expect("parse");
        assert_eq!(parsed, sct);
        parsed
            .verify(key.verifying_key(), &[9; 32], b"tbs")
            .expect("verifies");
        assert!(
            parsed
                .verify(key.verifying_key(), &[9; 32], b"other")
                .is_err()
        );
    }

    #[test]
    fn list_layout() {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let sct = signed_sct(&key, b"tbs");
        let list = sct_list(&sct);
        let encoded = sct.to_tls();
        assert_eq!(
            usize::from(u16::from_be_bytes([list[0], list[1]])),
            encoded.len() + 2
        );
        assert_eq!(
            usize::from(u16::from_be_bytes([list[2], list[3]])),
            encoded.len()
        );
        assert_eq!(encoded[0], 0);
        assert_eq!(&encoded[1..33], &[7; 32]);
        assert_eq!(&encoded[41..43], &[0, 0]);
        assert_eq!(&encoded[43..45], &[4, 3]);
    }

    #[test]
    fn wrong_signature_algorithm_is_rejected() {
        let json = serde_json::json!({
            "sct_version": 0, "id": STANDARD.encode([0u8; 32]), "timestamp": 1,
            "extensions": "", "signature": STANDARD.encode([4, 1, 0, 1, 0]),
        });
        let error =
            SignedCertificateTimestamp::from_json(json.to_string().as_bytes()).expect_err("rsa");
        assert!(error.to_string().contains("ECDSA"), "{error}");
    }
}
