//! Time-stamp tokens (RFC 3161 §2.4.2): a CMS SignedData (RFC 5652) over a DER TSTInfo, and the
//! TimeStampResp that carries it or a rejection.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::{Any, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, TimeStampReq, TspVersion, TstInfo};

use crate::asn1::{
    EssCertIdV2, FailureInfo, ID_AA_SIGNING_CERTIFICATE_V2, ID_CONTENT_TYPE, ID_CT_TST_INFO,
    ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME, IssuerSerial, PkiStatusInfo,
    SigningCertificateV2, TimeStampResp, pki_status,
};
use crate::key::TsaSigningKey;
use crate::request::Rejection;

/// The accuracy claimed in every TSTInfo. genTime is truncated to whole seconds, so the true
/// time of signing lies within one second after it.
const ACCURACY_SECONDS: u64 = 1;

/// The first year that RFC 5652 §11.3 requires signingTime to encode as GeneralizedTime:
/// "Dates between 1 January 1950 and 31 December 2049 (inclusive) MUST be encoded as UTCTime."
const FIRST_GENERALIZED_TIME_YEAR_SECONDS: u64 = 2_524_608_000; // 2050-01-01T00:00:00Z

/// A failure to build a token. It is never caused by request bytes alone: every field taken from
/// the request has been decoded and checked before signing starts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("failed to encode the time-stamp token: {0}")]
    Encoding(#[from] der::Error),
    #[error("the clock reads {0:?}, which a GeneralizedTime genTime cannot represent")]
    ClockOutOfRange(SystemTime),
}

/// Signs time-stamp tokens with the TSA key, naming the TSA certificate in each one.
#[derive(Debug)]
pub struct TimestampSigner {
    key: TsaSigningKey,
    leaf: Certificate,
    /// SignerInfo.sid: the issuer and serial number of the TSA certificate. sigstore-js matches
    /// this form, and only this form, against the trusted root.
    sid: SignerIdentifier,
    /// The signingCertificateV2 attribute, identical in every token.
    signing_certificate_v2: Attribute,
    /// TSTInfo.tsa: the subject of the TSA certificate as a directoryName.
    tsa_name: GeneralName,
}

impl TimestampSigner {
    /// Builds a signer. `leaf` must be the certificate of `key`, which [`crate::TsaMaterial`]
    /// checks before the service builds its signer.
    pub fn new(key: TsaSigningKey, leaf: Certificate) -> Result<Self, TokenError> {
        let tbs = &leaf.tbs_certificate;
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        });

        // SPEC(RFC 5035 §3): "The first certificate identified in the sequence of certificate
        // identifiers MUST be the certificate used to verify the signature." The hash is
        // SHA-256, the DEFAULT, so hashAlgorithm is omitted.
        let leaf_der = leaf.to_der()?;
        let certificate_id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(Sha256::digest(&leaf_der).to_vec())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            }),
        };
        let signing_certificate_v2 = attribute(
            ID_AA_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&SigningCertificateV2 {
                certs: vec![certificate_id],
            })?,
        )?;

        let tsa_name = GeneralName::DirectoryName(tbs.subject.clone());
        Ok(Self {
            key,
            leaf,
            sid,
            signing_certificate_v2,
            tsa_name,
        })
    }

    /// Returns the TSA certificate named in every token.
    pub fn certificate(&self) -> &Certificate {
        &self.leaf
    }

    /// Issues a token for a request that [`crate::request::check_request`] accepted and returns
    /// the DER `TimeStampResp` with status granted.
    pub fn issue(
        &self,
        request: &TimeStampReq,
        policy: ObjectIdentifier,
        serial_number: SerialNumber,
        now: SystemTime,
    ) -> Result<Vec<u8>, TokenError> {
        // genTime, whole seconds. SPEC(RFC 3161 §2.4.2): "genTime is the time at which the
        // time-stamp token has been created by the TSA."
        let since_epoch = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TokenError::ClockOutOfRange(now))?;
        let whole_seconds = Duration::from_secs(since_epoch.as_secs());
        let gen_time = GeneralizedTime::from_unix_duration(whole_seconds)
            .map_err(|_| TokenError::ClockOutOfRange(now))?;

        // TSTInfo. SPEC(RFC 3161 §2.4.2): messageImprint "MUST have the same value as the
        // similar field in TimeStampReq"; the nonce "MUST be present if it was present in the
        // TimeStampReq. In such a case it MUST equal the value provided"; serialNumber "MUST be
        // unique for each TimeStampToken issued by a given TSA".
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy,
            message_imprint: request.message_imprint.clone(),
            serial_number: der::asn1::Int::new(serial_number.as_bytes())?,
            gen_time,
            accuracy: Some(Accuracy {
                seconds: Some(ACCURACY_SECONDS),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: Some(self.tsa_name.clone()),
            extensions: None,
        };
        let tst_info_der = tst_info.to_der()?;

        // Signed attributes. SPEC(RFC 5652 §5.3): if signedAttrs is present, "it MUST contain,
        // at a minimum, the following two attributes: A content-type attribute (...) A
        // message-digest attribute". RFC 3161 §2.4.1 names the TSA certificate in a
        // SigningCertificate attribute, and RFC 5816 allows its SHA-2 form, signingCertificateV2
        // (RFC 5035). `SetOfVec` sorts the SET OF into DER order, which the signature covers.
        let message_digest = self.key.digest(&tst_info_der);
        let signed_attributes = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
            attribute(ID_SIGNING_TIME, signing_time(whole_seconds)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(message_digest)?)?,
            )?,
            self.signing_certificate_v2.clone(),
        ])?;

        // Signature. SPEC(RFC 5652 §5.4): "The IMPLICIT [0] tag in the signedAttrs is not used
        // for the DER encoding, rather an EXPLICIT SET OF tag is used."
        let signature = self.key.sign(&signed_attributes.to_der()?);

        // SignerInfo. SPEC(RFC 5652 §5.3): "If the SignerIdentifier is issuerAndSerialNumber,
        // then the version MUST be 1."
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.sid.clone(),
            digest_alg: algorithm(self.key.digest_algorithm()),
            signed_attrs: Some(signed_attributes),
            signature_algorithm: algorithm(self.key.signature_algorithm()),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };

        // SignedData. SPEC(RFC 5652 §5.1): version 3 because eContentType is not id-data.
        // SPEC(RFC 3161 §2.4.1): with certReq false "the certificates field from the SignedData
        // structure MUST not be present in the response"; with certReq true the TSA certificate
        // MUST be there. Only the TSA certificate is sent, so the SET needs no ordering.
        let certificates = if request.cert_req {
            Some(CertificateSet::try_from(vec![
                CertificateChoices::Certificate(self.leaf.clone()),
            ])?)
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![algorithm(self.key.digest_algorithm())])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(tst_info_der)?)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info])?,
        };

        // TimeStampResp with status granted and the token as a ContentInfo.
        let response = TimeStampResp {
            status: PkiStatusInfo {
                status: pki_status::GRANTED,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(ContentInfo {
                content_type: ID_SIGNED_DATA,
                content: Any::encode_from(&signed_data)?,
            }),
        };
        Ok(response.to_der()?)
    }
}

/// Encodes a TimeStampResp with status rejection, one PKIFailureInfo bit and the reason as the
/// statusString. SPEC(RFC 3161 §2.4.2): "When the status contains a value other than zero or
/// one, a TimeStampToken MUST NOT be present."
pub fn rejection_response(rejection: &Rejection) -> der::Result<Vec<u8>> {
    failure_response(rejection.failure_info, &rejection.status_string)
}

/// Encodes a rejection for `failure_info` with `status_string`.
pub fn failure_response(failure_info: FailureInfo, status_string: &str) -> der::Result<Vec<u8>> {
    TimeStampResp {
        status: PkiStatusInfo {
            status: pki_status::REJECTION,
            status_string: Some(vec![status_string.to_owned()]),
            fail_info: Some(failure_info.to_bit_string()?),
        },
        time_stamp_token: None,
    }
    .to_der()
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    // RFC 5754 §2 and RFC 5758 §3.2: SHA-2 digest and ECDSA signature algorithm identifiers
    // are written without parameters.
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// Encodes signingTime as RFC 5652 §11.3 requires: UTCTime up to 2049, GeneralizedTime after.
fn signing_time(since_epoch: Duration) -> der::Result<Any> {
    if since_epoch.as_secs() < FIRST_GENERALIZED_TIME_YEAR_SECONDS {
        Any::encode_from(&UtcTime::from_unix_duration(since_epoch)?)
    } else {
        Any::encode_from(&GeneralizedTime::from_unix_duration(since_epoch)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::material::{ChainProfile, generate_chain};
    use der::{Decode, Tagged};
    use x509_tsp::MessageImprint;

    /// Re-encodes a TimeStampResp with an empty SignerInfo signature.
    fn without_signature(response: &[u8]) -> Vec<u8> {
        let mut response = TimeStampResp::from_der(response).expect("decode");
        let token = response.time_stamp_token.as_mut().expect("token");
        let mut signed_data: cms::signed_data::SignedData =
            token.content.decode_as().expect("SignedData");
        let mut signer_infos: Vec<cms::signed_data::SignerInfo> =
            signed_data.signer_infos.0.into_vec();
        for info in &mut signer_infos {
            info.signature = OctetString::new(Vec::new()).expect("empty");
        }
        signed_data.signer_infos = cms::signed_data::SignerInfos(
            der::asn1::SetOfVec::try_from(signer_infos).expect("set"),
        );
        token.content = der::Any::encode_from(&signed_data).expect("encode");
        response.to_der().expect("encode response")
    }

    #[test]
    fn same_inputs_give_identical_tokens_except_signature() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let generated = generate_chain(&ChainProfile::default(), now).expect("chain");
        let chain = Certificate::load_pem_chain(generated.chain_pem.as_bytes()).expect("chain");
        let key = TsaSigningKey::from_pkcs8_der(&generated.leaf_key_pkcs8).expect("key");
        let signer = TimestampSigner::new(key, chain[0].clone()).expect("signer");
        let request = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: algorithm(crate::asn1::ID_SHA256),
                hashed_message: OctetString::new(vec![3u8; 32]).expect("imprint"),
            },
            req_policy: None,
            nonce: None,
            cert_req: true,
            extensions: None,
        };
        let serial = SerialNumber::new(&[0x42; 20]).expect("serial");
        let policy = crate::asn1::SIGSTORE_TSA_POLICY;

        let first = signer
            .issue(&request, policy, serial.clone(), now)
            .expect("first");
        let second = signer.issue(&request, policy, serial, now).expect("second");
        // ECDSA signatures are randomized, so the tokens may differ only in the signature: strip
        // it (the last element of the only SignerInfo) and compare what remains.
        assert_eq!(without_signature(&first), without_signature(&second));

        let response = TimeStampResp::from_der(&first).expect("decode");
        assert_eq!(response.status.status, pki_status::GRANTED);
    }

    #[test]
    fn signing_time_switches_to_generalized_time_in_2050() {
        let before = signing_time(Duration::from_secs(FIRST_GENERALIZED_TIME_YEAR_SECONDS - 1));
        assert_eq!(before.expect("UTCTime").tag(), der::Tag::UtcTime);
        let after = signing_time(Duration::from_secs(FIRST_GENERALIZED_TIME_YEAR_SECONDS));
        assert_eq!(
            after.expect("GeneralizedTime").tag(),
            der::Tag::GeneralizedTime
        );
    }
}
