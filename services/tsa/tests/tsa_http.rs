//! End-to-end tests of the TSA over HTTP on 127.0.0.1, with Debian's `openssl ts` as the
//! independent client and verifier.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine as _;
use cms::signed_data::SignedData;
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use sigstack_keys::KeyPassword;
use sigstack_server::FixedClock;
use sigstack_tsa::asn1::{TimeStampResp, pki_status};
use sigstack_tsa::{Tsa, TsaConfig, init_material, router};
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion, TstInfo};

/// A TSA serving on an ephemeral port, with its data directory and the PEM files openssl needs.
struct TestTsa {
    dir: tempfile::TempDir,
    url: String,
    /// The root certificate alone, for `-CAfile`.
    root: PathBuf,
    /// The whole chain, for `-untrusted`.
    chain: PathBuf,
    client: reqwest::Client,
}

impl TestTsa {
    async fn start() -> Self {
        Self::start_with(TsaConfig::default()).await
    }

    async fn start_with(config: TsaConfig) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let now = SystemTime::now();
        init_material(dir.path(), &KeyPassword::none(), now).expect("init material");
        let clock = Arc::new(FixedClock::new(now));
        let tsa = Tsa::load(&config, dir.path(), &KeyPassword::none(), clock).expect("load TSA");

        let chain = dir.path().join("trust/tsa-chain.pem");
        let pem = std::fs::read_to_string(&chain).expect("read chain");
        let root_start = pem
            .rfind("-----BEGIN CERTIFICATE-----")
            .expect("root certificate");
        let root = dir.path().join("root.pem");
        std::fs::write(&root, &pem[root_start..]).expect("write root");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let app = router(Arc::new(tsa));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            dir,
            url,
            root,
            chain,
            client: reqwest::Client::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn post(&self, content_type: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/timestamp", self.url))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("send request")
    }

    /// Posts a body and returns the status, Content-Type and body of the response.
    async fn post_for_reply(&self, content_type: &str, body: Vec<u8>) -> (u16, String, Vec<u8>) {
        let response = self.post(content_type, body).await;
        let status = response.status().as_u16();
        let content_type = header(&response, "content-type");
        (
            status,
            content_type,
            response.bytes().await.expect("body").to_vec(),
        )
    }

    async fn post_query(&self, query: Vec<u8>) -> (u16, String, Vec<u8>) {
        self.post_for_reply("application/timestamp-query", query)
            .await
    }

    async fn post_json(&self, json: serde_json::Value) -> (u16, String, Vec<u8>) {
        self.post_for_reply("application/json", json.to_string().into_bytes())
            .await
    }

    /// Runs `openssl ts -verify` on a reply against the artifact file.
    fn verify(&self, reply: &Path, data: &Path) -> Output {
        openssl(&[
            "ts",
            "-verify",
            "-in",
            path_str(reply),
            "-data",
            path_str(data),
            "-CAfile",
            path_str(&self.root),
            "-untrusted",
            path_str(&self.chain),
        ])
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("send request")
    }
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Writes an artifact and an `openssl ts -query` over it with `extra` flags; returns the query.
fn openssl_query(tsa: &TestTsa, artifact: &[u8], extra: &[&str]) -> Vec<u8> {
    let data = tsa.path("artifact.txt");
    std::fs::write(&data, artifact).expect("write artifact");
    let query = tsa.path("request.tsq");
    let mut args = vec![
        "ts",
        "-query",
        "-data",
        path_str(&data),
        "-out",
        path_str(&query),
    ];
    args.extend_from_slice(extra);
    let output = openssl(&args);
    assert!(
        output.status.success(),
        "openssl ts -query: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&query).expect("read query")
}

fn decode_reply(body: &[u8]) -> TimeStampResp {
    TimeStampResp::from_der(body).expect("reply is a DER TimeStampResp")
}

fn signed_data(reply: &TimeStampResp) -> SignedData {
    let token = reply.time_stamp_token.as_ref().expect("token present");
    token
        .content
        .decode_as::<SignedData>()
        .expect("token is SignedData")
}

fn tst_info(signed_data: &SignedData) -> TstInfo {
    let econtent = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .expect("eContent");
    let octets = econtent
        .decode_as::<OctetString>()
        .expect("eContent is an OCTET STRING");
    TstInfo::from_der(octets.as_bytes()).expect("TSTInfo")
}

fn sha256_request(hashed_message: Vec<u8>) -> TimeStampReq {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: spki::AlgorithmIdentifier {
                oid: sigstack_tsa::asn1::ID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(hashed_message).expect("octet string"),
        },
        req_policy: None,
        nonce: None,
        cert_req: false,
        extensions: None,
    }
}

/// Asserts a rejection: HTTP 200, the reply Content-Type, PKIStatus rejection, a status
/// string, no token, and `failure_der_hex` as the DER of the failInfo BIT STRING.
fn assert_rejected(status: u16, content_type: &str, body: &[u8], failure_der_hex: &str) {
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/timestamp-reply");
    let reply = decode_reply(body);
    assert_eq!(reply.status.status, pki_status::REJECTION);
    assert!(reply.time_stamp_token.is_none());
    let text = reply.status.status_string.expect("statusString");
    assert_eq!(text.len(), 1);
    assert!(!text[0].is_empty());
    let fail_info = reply
        .status
        .fail_info
        .expect("failInfo")
        .to_der()
        .expect("encode");
    assert_eq!(hex::encode(fail_info), failure_der_hex);
}

/// DER of the PKIFailureInfo BIT STRING with one bit set (RFC 3161 §2.4.2 bit numbers).
const BAD_ALG: &str = "03020780";
const BAD_DATA_FORMAT: &str = "03020204";
const UNACCEPTED_POLICY: &str = "0303000001";
const UNACCEPTED_EXTENSION: &str = "030407000080";

#[tokio::test]
async fn openssl_query_verifies() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"hello, timestamp\n", &["-sha256", "-cert"]);

    let (status, content_type, body) = tsa.post_query(query).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/timestamp-reply");
    let reply = tsa.path("reply.tsr");
    std::fs::write(&reply, &body).expect("write reply");

    let verified = tsa.verify(&reply, &tsa.path("artifact.txt"));
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(
        stdout(&verified).contains("Verification: OK"),
        "{}",
        stdout(&verified)
    );

    // certReq was set, so the token carries exactly the TSA certificate.
    let certificates = signed_data(&decode_reply(&body))
        .certificates
        .expect("certificates");
    assert_eq!(certificates.0.len(), 1);
}

#[tokio::test]
async fn tampered_artifact_fails_verification() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"original\n", &["-sha256", "-cert"]);
    let (status, _, body) = tsa.post_query(query).await;
    assert_eq!(status, 200);
    let reply = tsa.path("reply.tsr");
    std::fs::write(&reply, &body).expect("write reply");

    let tampered = tsa.path("tampered.txt");
    std::fs::write(&tampered, b"Original\n").expect("write tampered");
    let verified = tsa.verify(&reply, &tampered);
    assert!(!verified.status.success());
    assert!(!stdout(&verified).contains("Verification: OK"));
    assert!(String::from_utf8_lossy(&verified.stderr).contains("message imprint mismatch"));
}

#[tokio::test]
async fn reply_echoes_the_nonce() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"nonce\n", &["-sha256", "-cert"]);
    let request_nonce = TimeStampReq::from_der(&query)
        .expect("query")
        .nonce
        .expect("nonce");
    let (_, _, body) = tsa.post_query(query).await;

    let info = tst_info(&signed_data(&decode_reply(&body)));
    assert_eq!(info.nonce, Some(request_nonce));

    // openssl checks the nonce, imprint and policy against the query file as well.
    let reply = tsa.path("reply.tsr");
    std::fs::write(&reply, &body).expect("write reply");
    let verified = openssl(&[
        "ts",
        "-verify",
        "-in",
        path_str(&reply),
        "-queryfile",
        path_str(&tsa.path("request.tsq")),
        "-CAfile",
        path_str(&tsa.root),
        "-untrusted",
        path_str(&tsa.chain),
    ]);
    assert!(
        stdout(&verified).contains("Verification: OK"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[tokio::test]
async fn no_nonce_query_gets_no_nonce() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"no nonce\n", &["-sha256", "-no_nonce"]);
    assert!(
        TimeStampReq::from_der(&query)
            .expect("query")
            .nonce
            .is_none()
    );
    let (status, _, body) = tsa.post_query(query).await;
    assert_eq!(status, 200);

    let signed = signed_data(&decode_reply(&body));
    assert_eq!(tst_info(&signed).nonce, None);
    // Without certReq the token carries no certificates (RFC 3161 §2.4.1).
    assert!(signed.certificates.is_none());

    let reply = tsa.path("reply.tsr");
    std::fs::write(&reply, &body).expect("write reply");
    let text = stdout(&openssl(&[
        "ts",
        "-reply",
        "-in",
        path_str(&reply),
        "-text",
    ]));
    assert!(text.contains("Nonce: unspecified"), "{text}");
    let verified = tsa.verify(&reply, &tsa.path("artifact.txt"));
    assert!(
        stdout(&verified).contains("Verification: OK"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[tokio::test]
async fn sha384_and_sha512_queries_verify() {
    let tsa = TestTsa::start().await;
    for flag in ["-sha384", "-sha512"] {
        let query = openssl_query(&tsa, b"longer digests\n", &[flag, "-cert"]);
        let (status, _, body) = tsa.post_query(query).await;
        assert_eq!(status, 200, "{flag}");
        let reply = tsa.path("reply.tsr");
        std::fs::write(&reply, &body).expect("write reply");
        let verified = tsa.verify(&reply, &tsa.path("artifact.txt"));
        assert!(
            stdout(&verified).contains("Verification: OK"),
            "{flag}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
    }
}

#[tokio::test]
async fn sigstore_js_json_request_verifies() {
    let tsa = TestTsa::start().await;
    let artifact = b"signature bytes from sigstore-js";
    let data = tsa.path("artifact.txt");
    std::fs::write(&data, artifact).expect("write artifact");
    // The exact body sigstore-js 4.x sends: no nonce, no certificates.
    let body = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode(Sha256::digest(artifact)),
        "hashAlgorithm": "sha256",
    });
    let response = tsa
        .post("application/json", serde_json::to_vec(&body).expect("json"))
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/timestamp-reply"
    );
    let bytes = response.bytes().await.expect("body");

    let reply = decode_reply(&bytes);
    assert_eq!(reply.status.status, pki_status::GRANTED);
    let signed = signed_data(&reply);
    assert!(signed.certificates.is_none());
    let info = tst_info(&signed);
    assert_eq!(info.nonce, None);
    assert_eq!(
        info.policy,
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2")
    );

    let reply_path = tsa.path("reply.tsr");
    std::fs::write(&reply_path, &bytes).expect("write reply");
    let verified = tsa.verify(&reply_path, &data);
    assert!(
        stdout(&verified).contains("Verification: OK"),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}

#[tokio::test]
async fn json_request_with_nonce_and_certificates() {
    let tsa = TestTsa::start().await;
    let body = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode([9u8; 48]),
        "hashAlgorithm": "sha384",
        "nonce": 12345678901234567890u64,
        "certificates": true,
        "tsaPolicyOID": "1.3.6.1.4.1.57264.2",
    });
    let response = tsa
        .post(
            "application/json; charset=utf-8",
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let signed = signed_data(&decode_reply(&response.bytes().await.expect("body")));
    assert_eq!(
        signed.certificates.as_ref().expect("certificates").0.len(),
        1
    );
    let nonce = tst_info(&signed).nonce.expect("nonce");
    assert_eq!(hex::encode(nonce.as_bytes()), "00ab54a98ceb1f0ad2");
}

#[tokio::test]
async fn sha1_query_is_rejected_with_bad_alg() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"weak\n", &["-sha1", "-cert"]);
    let (status, content_type, body) = tsa.post_query(query).await;
    assert_rejected(status, &content_type, &body, BAD_ALG);

    // openssl reads the rejection the same way.
    let reply = tsa.path("reply.tsr");
    std::fs::write(&reply, &body).expect("write reply");
    let text = stdout(&openssl(&[
        "ts",
        "-reply",
        "-in",
        path_str(&reply),
        "-text",
    ]));
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(
        text.contains("unrecognized or unsupported algorithm identifier"),
        "{text}"
    );
}

#[tokio::test]
async fn md5_query_is_rejected_with_bad_alg() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"weaker\n", &["-md5"]);
    let (status, content_type, body) = tsa.post_query(query).await;
    assert_rejected(status, &content_type, &body, BAD_ALG);
}

#[tokio::test]
async fn json_weak_or_unknown_algorithm_is_bad_alg() {
    let tsa = TestTsa::start().await;
    for (algorithm, length) in [("sha1", 20), ("md5", 16), ("sha3-256", 32)] {
        let body = serde_json::json!({
            "artifactHash": base64::engine::general_purpose::STANDARD.encode(vec![1u8; length]),
            "hashAlgorithm": algorithm,
        });
        let (status, content_type, bytes) = tsa.post_json(body).await;
        assert_rejected(status, &content_type, &bytes, BAD_ALG);
    }
}

#[tokio::test]
async fn wrong_imprint_length_is_bad_data_format() {
    let tsa = TestTsa::start().await;
    let query = sha256_request(vec![0u8; 31]).to_der().expect("encode");
    let (status, content_type, body) = tsa.post_query(query).await;
    assert_rejected(status, &content_type, &body, BAD_DATA_FORMAT);

    let json = serde_json::json!({
        "artifactHash": base64::engine::general_purpose::STANDARD.encode([0u8; 32]),
        "hashAlgorithm": "sha512",
    });
    let (status, content_type, bytes) = tsa.post_json(json).await;
    assert_rejected(status, &content_type, &bytes, BAD_DATA_FORMAT);
}

#[tokio::test]
async fn unaccepted_policy_is_rejected() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"policy\n", &["-sha256", "-tspolicy", "1.2.3.4"]);
    let (status, content_type, body) = tsa.post_query(query).await;
    assert_rejected(status, &content_type, &body, UNACCEPTED_POLICY);
}

#[tokio::test]
async fn extra_policy_is_accepted_and_echoed() {
    let config = TsaConfig {
        extra_policy_oids: vec!["1.2.3.4".to_owned()],
        ..TsaConfig::default()
    };
    let tsa = TestTsa::start_with(config).await;
    let query = openssl_query(&tsa, b"policy\n", &["-sha256", "-tspolicy", "1.2.3.4"]);
    let (status, _, body) = tsa.post_query(query).await;
    assert_eq!(status, 200);
    let info = tst_info(&signed_data(&decode_reply(&body)));
    assert_eq!(info.policy, ObjectIdentifier::new_unwrap("1.2.3.4"));
}

#[tokio::test]
async fn request_extensions_are_rejected() {
    let tsa = TestTsa::start().await;
    let mut request = sha256_request(vec![0u8; 32]);
    request.extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.2.3.4.5"),
        critical: false,
        extn_value: OctetString::new(vec![5, 0]).expect("octet string"),
    }]);
    let (status, content_type, body) = tsa.post_query(request.to_der().expect("encode")).await;
    assert_rejected(status, &content_type, &body, UNACCEPTED_EXTENSION);
}

#[tokio::test]
async fn malformed_bodies_get_json_400() {
    let tsa = TestTsa::start().await;
    let cases: [(&str, &[u8]); 4] = [
        ("application/timestamp-query", b"not DER at all"),
        ("application/timestamp-query", b""),
        ("application/json", b"{\"artifactHash\":"),
        (
            "application/json",
            br#"{"artifactHash":"***","hashAlgorithm":"sha256"}"#,
        ),
    ];
    for (content_type, body) in cases {
        let response = tsa.post(content_type, body.to_vec()).await;
        assert_eq!(response.status().as_u16(), 400, "{content_type} {body:?}");
        assert!(header(&response, "content-type").starts_with("application/json"));
        let json: serde_json::Value = response.json().await.expect("JSON body");
        assert_eq!(json["code"], 400);
        assert!(
            json["message"]
                .as_str()
                .is_some_and(|message| !message.is_empty())
        );
    }
}

#[tokio::test]
async fn unsupported_content_type_gets_json_415() {
    let tsa = TestTsa::start().await;
    let response = tsa.post("text/plain", b"hello".to_vec()).await;
    assert_eq!(response.status().as_u16(), 415);
    let json: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(json["code"], 415);
}

#[tokio::test]
async fn body_over_limit_gets_json_413() {
    let config = TsaConfig {
        max_request_body_bytes: 1024,
        ..TsaConfig::default()
    };
    let tsa = TestTsa::start_with(config).await;
    let response = tsa
        .post("application/timestamp-query", vec![0x30; 1025])
        .await;
    assert_eq!(response.status().as_u16(), 413);
    let json: serde_json::Value = response.json().await.expect("JSON body");
    assert!(
        json["message"]
            .as_str()
            .expect("message")
            .contains("1024 bytes")
    );

    let within = sha256_request(vec![0u8; 32]).to_der().expect("encode");
    assert_eq!(tsa.post_query(within).await.0, 200);
}

#[tokio::test]
async fn http_201_is_configurable() {
    let config = TsaConfig {
        use_http_201: true,
        ..TsaConfig::default()
    };
    let tsa = TestTsa::start_with(config).await;
    let (status, content_type, _) = tsa
        .post_query(sha256_request(vec![0u8; 32]).to_der().expect("encode"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(content_type, "application/timestamp-reply");
    // Rejections stay HTTP 200.
    let (status, _, _) = tsa
        .post_query(sha256_request(vec![0u8; 3]).to_der().expect("encode"))
        .await;
    assert_eq!(status, 200);
}

/// Splits the contents of a DER constructed value into its child TLVs, without any ASN.1
/// library, so the ordering check does not trust the encoder it checks.
fn children(tlv: &[u8]) -> Vec<&[u8]> {
    fn length(bytes: &[u8]) -> (usize, usize) {
        match bytes[0] {
            short @ 0..=0x7f => (usize::from(short), 1),
            long => {
                let count = usize::from(long & 0x7f);
                let value = bytes[1..=count]
                    .iter()
                    .fold(0usize, |acc, byte| acc << 8 | usize::from(*byte));
                (value, 1 + count)
            }
        }
    }
    let (content_length, length_size) = length(&tlv[1..]);
    let mut content = &tlv[1 + length_size..1 + length_size + content_length];
    let mut result = Vec::new();
    while !content.is_empty() {
        let (child_length, child_length_size) = length(&content[1..]);
        let size = 1 + child_length_size + child_length;
        result.push(&content[..size]);
        content = &content[size..];
    }
    result
}

fn assert_der_sorted(set: &[u8], name: &str) {
    let elements = children(set);
    assert!(!elements.is_empty(), "{name} is empty");
    for pair in elements.windows(2) {
        assert!(pair[0] <= pair[1], "{name} is not in DER order");
    }
}

#[tokio::test]
async fn token_sets_are_der_sorted() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"sorted\n", &["-sha256", "-cert"]);
    let (_, _, body) = tsa.post_query(query).await;

    // Decoding with `der` sorts every SET OF, so a re-encoding equal to the original bytes
    // shows the original was already in DER order.
    let reply = decode_reply(&body);
    assert_eq!(reply.to_der().expect("re-encode"), body);
    let token = reply.time_stamp_token.as_ref().expect("token");
    let signed_data_der = token.content.to_der().expect("SignedData");
    let signed = SignedData::from_der(&signed_data_der).expect("decode SignedData");
    assert_eq!(
        signed.to_der().expect("re-encode SignedData"),
        signed_data_der
    );

    // The same, walking the raw bytes: SignedData is
    // SEQUENCE { version, digestAlgorithms SET, encapContentInfo, [0] certificates, signerInfos SET }.
    let fields = children(&signed_data_der);
    assert_eq!(fields.len(), 5);
    assert_der_sorted(fields[1], "digestAlgorithms");
    assert_eq!(fields[3][0], 0xa0, "certificates [0]");
    assert_der_sorted(fields[3], "certificates");
    assert_der_sorted(fields[4], "signerInfos");
    let signer_info = children(fields[4])[0];
    let signed_attrs = children(signer_info)
        .into_iter()
        .find(|field| field[0] == 0xa0)
        .expect("signedAttrs [0]");
    let attributes = children(signed_attrs);
    assert_eq!(
        attributes.len(),
        4,
        "contentType, signingTime, messageDigest, signingCertificateV2"
    );
    assert_der_sorted(signed_attrs, "signedAttrs");
    for attribute in attributes {
        assert_der_sorted(children(attribute)[1], "attribute values");
    }
}

#[tokio::test]
async fn token_has_the_sigstore_profile() {
    let tsa = TestTsa::start().await;
    let query = openssl_query(&tsa, b"profile\n", &["-sha256", "-cert"]);
    let (_, _, body) = tsa.post_query(query).await;
    let signed = signed_data(&decode_reply(&body));

    assert_eq!(
        signed.encap_content_info.econtent_type,
        sigstack_tsa::asn1::ID_CT_TST_INFO
    );
    let signer_info = signed.signer_infos.0.get(0).expect("one SignerInfo");
    let certificate = match &signed.certificates.as_ref().expect("certificates").0.get(0) {
        Some(cms::cert::CertificateChoices::Certificate(certificate)) => certificate.clone(),
        other => panic!("expected a certificate, got {other:?}"),
    };
    match &signer_info.sid {
        cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(sid) => {
            assert_eq!(sid.issuer, certificate.tbs_certificate.issuer);
            assert_eq!(sid.serial_number, certificate.tbs_certificate.serial_number);
        }
        other => panic!("sid must be issuerAndSerialNumber, got {other:?}"),
    }
    assert_eq!(
        signer_info.signature_algorithm.oid,
        sigstack_tsa::asn1::ECDSA_WITH_SHA256
    );
    let attribute_types: Vec<ObjectIdentifier> = signer_info
        .signed_attrs
        .as_ref()
        .expect("signedAttrs")
        .iter()
        .map(|a| a.oid)
        .collect();
    for expected in [
        sigstack_tsa::asn1::ID_CONTENT_TYPE,
        sigstack_tsa::asn1::ID_MESSAGE_DIGEST,
        sigstack_tsa::asn1::ID_SIGNING_TIME,
        sigstack_tsa::asn1::ID_AA_SIGNING_CERTIFICATE_V2,
    ] {
        assert!(attribute_types.contains(&expected), "missing {expected}");
    }

    let info = tst_info(&signed);
    assert_eq!(info.accuracy.and_then(|accuracy| accuracy.seconds), Some(1));
    assert_eq!(info.serial_number.as_bytes().len(), 20);
    assert!(info.tsa.is_some());
}

#[tokio::test]
async fn serial_numbers_differ() {
    let tsa = TestTsa::start().await;
    let mut serials = std::collections::HashSet::new();
    for _ in 0..20 {
        let (_, _, body) = tsa
            .post_query(sha256_request(vec![0u8; 32]).to_der().expect("encode"))
            .await;
        let info = tst_info(&signed_data(&decode_reply(&body)));
        assert!(
            serials.insert(info.serial_number.as_bytes().to_vec()),
            "repeated serial number"
        );
    }
}

#[tokio::test]
async fn certchain_is_pem_leaf_first() {
    let tsa = TestTsa::start().await;
    let response = tsa.get("/api/v1/timestamp/certchain").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/pem-certificate-chain"
    );
    let pem = response.text().await.expect("body");
    let chain = x509_cert::Certificate::load_pem_chain(pem.as_bytes()).expect("PEM chain");
    assert_eq!(chain.len(), 3);
    assert_eq!(
        chain[0].tbs_certificate.issuer,
        chain[1].tbs_certificate.subject
    );
    assert_eq!(
        chain[1].tbs_certificate.issuer,
        chain[2].tbs_certificate.subject
    );
    assert_eq!(
        chain[2].tbs_certificate.issuer,
        chain[2].tbs_certificate.subject
    );

    // The leaf is the certificate that signs tokens.
    let query = openssl_query(&tsa, b"chain\n", &["-sha256", "-cert"]);
    let (_, _, body) = tsa.post_query(query).await;
    let signed = signed_data(&decode_reply(&body));
    match signed.certificates.expect("certificates").0.get(0) {
        Some(cms::cert::CertificateChoices::Certificate(certificate)) => {
            assert_eq!(certificate, &chain[0])
        }
        other => panic!("expected a certificate, got {other:?}"),
    }
}

#[tokio::test]
async fn health_and_metrics() {
    let tsa = TestTsa::start().await;
    assert_eq!(tsa.get("/ping").await.status().as_u16(), 200);
    assert_eq!(tsa.get("/healthz").await.status().as_u16(), 200);
    let ready = tsa.get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 200);
    let report: serde_json::Value = ready.json().await.expect("readiness JSON");
    assert_eq!(report["checks"].as_array().expect("checks").len(), 2);

    tsa.post_query(sha256_request(vec![0u8; 32]).to_der().expect("encode"))
        .await;
    tsa.post_query(sha256_request(vec![0u8; 7]).to_der().expect("encode"))
        .await;
    tsa.post("application/timestamp-query", b"junk".to_vec())
        .await;

    let metrics = tsa.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("timestamp_authority_timestamps_issued_total 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "timestamp_authority_timestamp_rejections_total{failure_info=\"badDataFormat\"} 1\n"
    ));
    assert!(
        metrics.contains(
            "timestamp_authority_request_errors_total{kind=\"malformed_der_request\"} 1\n"
        )
    );
    assert!(metrics.contains("timestamp_authority_http_requests_total{code=\"200\",method=\"POST\",path=\"/api/v1/timestamp\"} 2\n"), "{metrics}");
    let expiry_line = metrics
        .lines()
        .find(|line| line.starts_with("timestamp_authority_signing_certificate_expiry_days "))
        .expect("expiry gauge");
    let days: f64 = expiry_line
        .rsplit(' ')
        .next()
        .expect("value")
        .parse()
        .expect("number");
    // A generated chain is valid for ten years (3650 days), backdated by five minutes.
    assert!((3649.9..=3650.0).contains(&days), "{days}");
}

#[tokio::test]
async fn unknown_path_gets_json_404() {
    let tsa = TestTsa::start().await;
    let response = tsa.get("/api/v1/nothing").await;
    assert_eq!(response.status().as_u16(), 404);
    let json: serde_json::Value = response.json().await.expect("JSON body");
    assert_eq!(json["code"], 404);
}
