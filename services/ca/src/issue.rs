//! Issuing one certificate: token, proof of possession, precertificate, SCT, certificate.

use std::time::{Duration, SystemTime};

use der::asn1::{Ia5String, OctetString, Utf8StringRef};
use der::{Any, Encode};
use rand::RngCore;
use sha2::{Digest, Sha256};
use x509_cert::certificate::{Certificate, TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::ct::{CtError, SignedCertificateTimestamp, sct_list};
use crate::extensions::{self, OID_OTHER_NAME_SAN};
use crate::material::{CaMaterial, ID_KP_CODE_SIGNING};
use crate::oidc::TokenError;
use crate::principal::{Principal, PrincipalError, SubjectAltName as San, principal_from_claims};
use crate::public_key::{KeyRejection, PublicKey, key_from_csr};
use crate::service::Ca;

/// Length of a certificate serial number. SPEC(RFC 5280 §4.1.2.2): "Conforming CAs MUST NOT use
/// serialNumber values longer than 20 octets." With the top bit clear for a positive INTEGER
/// and the first octet non-zero for a minimal encoding, 20 octets carry 158 random bits.
pub const SERIAL_NUMBER_BYTES: usize = 20;

const ID_CE_KEY_USAGE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_KEY_IDENTIFIER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.14");
const ID_CE_AUTHORITY_KEY_IDENTIFIER: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.35");
const ID_CE_SUBJECT_ALT_NAME: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.17");

/// The key to certify, with the requester's proof that it has the private key.
#[derive(Debug, Clone)]
pub enum KeyRequest {
    /// A public key (PEM or DER) and a signature over the identity's name.
    PublicKey {
        content: Vec<u8>,
        proof_of_possession: Vec<u8>,
    },
    /// The PEM text of a PKCS#10 CSR, whose self-signature is the proof.
    CertificateSigningRequest(Vec<u8>),
}

/// An issued certificate with its chain.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// DER of the certificate.
    pub certificate_der: Vec<u8>,
    /// PEM of the certificate, then of the issuing CA up to the root, each trimmed.
    pub chain_pem: Vec<String>,
    /// The SCT embedded in the certificate; `None` when the CA runs without a CT log.
    pub sct: Option<SignedCertificateTimestamp>,
}

/// A failed certificate request. The gRPC code and HTTP status follow from the variant in
/// `service.rs`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaError {
    #[error(
        "no identity token: send it in credentials.oidcIdentityToken or in an Authorization: Bearer header"
    )]
    MissingToken,
    #[error("There was an error processing the identity token: {0}")]
    Token(#[from] TokenError),
    #[error("There was an error processing the identity token: {0}")]
    Principal(#[from] PrincipalError),
    #[error("{0}")]
    Key(#[from] KeyRejection),
    #[error(
        "The signature supplied in the request could not be verified: the proof of possession must sign {expected}"
    )]
    WrongProofOfPossession { expected: String },
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the identity cannot be encoded in a certificate: {0}")]
    Unencodable(String),
    #[error("Error entering certificate in CTL")]
    CtLog(#[source] CtError),
    #[error("error communicating with CA backend")]
    Encoding(#[source] der::Error),
}

impl CaError {
    /// Returns a fixed label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingToken => "token_missing",
            Self::Token(error) => error.kind(),
            Self::Principal(PrincipalError::EmailNotVerified) => "email_not_verified",
            Self::Principal(PrincipalError::Claims(_)) => "token_claims_unusable",
            Self::Key(error) => error.kind(),
            Self::WrongProofOfPossession { .. } => "bad_proof_of_possession",
            Self::InvalidRequest(_) => "invalid_request",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::Unencodable(_) => "identity_unencodable",
            Self::CtLog(_) => "ct_log",
            Self::Encoding(_) => "certificate_encoding",
        }
    }
}

impl From<der::Error> for CaError {
    fn from(error: der::Error) -> Self {
        Self::Encoding(error)
    }
}

impl Ca {
    /// Issues a certificate for the identity in `token` and the key in `key_request`.
    ///
    /// The CA stores nothing itself. The only lasting effect is the CT log entry of step 5, so
    /// that step is the point of no return.
    pub async fn issue(
        &self,
        token: &str,
        key_request: KeyRequest,
    ) -> Result<IssuedCertificate, CaError> {
        // 1. The identity. A verified token maps to a SAN and Sigstore extensions. A crash here
        //    or in the next three steps leaves nothing behind.
        let verified = self.issuers.verify(token).await?;
        let principal =
            principal_from_claims(&verified.issuer, &verified.config, &verified.claims)?;

        // 2. The key, and the proof that the requester has its private key.
        let public_key = match key_request {
            KeyRequest::PublicKey {
                content,
                proof_of_possession,
            } => {
                let key = PublicKey::from_pem_or_der(&content)?;
                check_proof_of_possession(&key, &principal, &proof_of_possession)?;
                key
            }
            KeyRequest::CertificateSigningRequest(pem) => key_from_csr(&pem)?,
        };

        // 3. The certificate contents: a fresh serial, the validity window, the extensions in
        //    Fulcio's order.
        let now = self.clock.now();
        let serial = {
            let mut rng = self
                .serial_rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            random_serial(&mut **rng)
        };
        let template = LeafTemplate {
            serial: SerialNumber::new(&serial)?,
            validity: validity(now, self.validity)?,
            public_key,
            extensions: leaf_extensions(&self.material, &principal)?,
        };

        let Some(ct_log) = &self.ct_log else {
            // Without a CT log (explicitly configured) the certificate is signed directly.
            let certificate = template.sign(&self.material, None)?;
            return Ok(self.issued(certificate, None));
        };

        // 4. The precertificate: the same TBSCertificate with the critical poison extension
        //    last, signed directly by the issuing CA.
        let precertificate = template.sign(&self.material, Some(extensions::poison()?))?;
        let precertificate_tbs_without_poison = template.tbs(&self.material, None)?.to_der()?;

        // 5. The CT log. Point of no return: once the log accepts the precertificate, RFC 6962
        //    §3.1 treats it as this CA's binding intent to issue. A crash after this step
        //    leaves a logged precertificate with no certificate. The client retries and gets
        //    a new serial, so monitors see one extra issuance.
        let mut chain: Vec<&[u8]> = vec![&precertificate];
        chain.extend(self.material.chain_der.iter().map(Vec::as_slice));
        let started = std::time::Instant::now();
        let sct = ct_log
            .add_pre_chain(
                &chain,
                &self.material.issuer_key_hash,
                &precertificate_tbs_without_poison,
            )
            .await
            .map_err(CaError::CtLog)?;
        self.metrics
            .ct_latency
            .observe(started.elapsed().as_secs_f64());

        // 6. The certificate: the precertificate's TBSCertificate without the poison and with
        //    the SCT list appended, so that removing the SCT list gives back exactly what the
        //    log signed (RFC 6962 §3.2).
        let sct_extension = extensions::sct_list(sct_list(&sct))?;
        let certificate = template.sign(&self.material, Some(sct_extension))?;
        Ok(self.issued(certificate, Some(sct)))
    }

    fn issued(
        &self,
        certificate_der: Vec<u8>,
        sct: Option<SignedCertificateTimestamp>,
    ) -> IssuedCertificate {
        let leaf_pem =
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &certificate_der)
                .map(|pem| pem.trim().to_owned())
                .unwrap_or_default();
        let mut chain_pem = vec![leaf_pem];
        chain_pem.extend(self.material.chain_pem.iter().cloned());
        self.metrics.issued.inc();
        IssuedCertificate {
            certificate_der,
            chain_pem,
            sct,
        }
    }
}

/// SPEC(Fulcio `grpc_server.go`): the proof of possession signs the identity's name. This CA
/// also accepts a signature over `sub` from email issuers, because sigstore-js signs `sub` for
/// every issuer but Google's and Sigstore's own. Both strings come from the verified token.
fn check_proof_of_possession(
    key: &PublicKey,
    principal: &Principal,
    proof: &[u8],
) -> Result<(), CaError> {
    let signs_a_challenge = principal
        .challenges
        .iter()
        .any(|challenge| key.verify_default(challenge.as_bytes(), proof).is_ok());
    if signs_a_challenge {
        Ok(())
    } else {
        Err(CaError::WrongProofOfPossession {
            expected: principal
                .challenges
                .iter()
                .map(|challenge| format!("{challenge:?}"))
                .collect::<Vec<_>>()
                .join(" or "),
        })
    }
}

/// Returns a random positive serial of [`SERIAL_NUMBER_BYTES`] octets.
pub fn random_serial(rng: &mut dyn RngCore) -> [u8; SERIAL_NUMBER_BYTES] {
    let mut bytes = [0u8; SERIAL_NUMBER_BYTES];
    rng.fill_bytes(&mut bytes);
    // A first octet in 1..=0x7f keeps the INTEGER positive and its encoding 20 octets long.
    bytes[0] = (bytes[0] & 0x7f).max(1);
    bytes
}

/// How far notBefore lies before the moment of issuance.
///
/// gitsign accepts an RFC 3161 timestamp only when `genTime - accuracy > notBefore`. The TSA's
/// genTime is in whole seconds with an accuracy of one second, so without backdating a commit
/// signed within two seconds of issuance, which is the normal case on a local network, fails
/// with "timestamp authority verification failed". Five seconds also covers a small clock
/// difference between the CA and TSA hosts. The lifetime still counts from notBefore.
pub const LEAF_BACKDATE: Duration = Duration::from_secs(5);

/// notBefore = now - [`LEAF_BACKDATE`], notAfter = notBefore + lifetime, in whole seconds.
fn validity(now: SystemTime, lifetime: Duration) -> Result<Validity, der::Error> {
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let not_before = (SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .checked_sub(LEAF_BACKDATE)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(Validity {
        not_before: certificate_time(not_before)?,
        not_after: certificate_time(not_before + lifetime)?,
    })
}

/// SPEC(RFC 5280 §4.1.2.5): "CAs conforming to this profile MUST always encode certificate
/// validity dates through the year 2049 as UTCTime; certificate validity dates in 2050 or
/// later MUST be encoded as GeneralizedTime." pyca/cryptography enforces it.
fn certificate_time(time: SystemTime) -> Result<Time, der::Error> {
    match der::asn1::UtcTime::from_system_time(time) {
        Ok(utc) => Ok(Time::UtcTime(utc)),
        Err(_) => Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_system_time(time)?,
        )),
    }
}

/// Encodes the leaf extensions that precede the CT extension, in Fulcio's order: key usage
/// digitalSignature (critical), extended key usage codeSigning, subject and authority key
/// identifiers, the single SAN (critical, because the subject is empty), then the Sigstore
/// extensions.
fn leaf_extensions(
    material: &CaMaterial,
    principal: &Principal,
) -> Result<Vec<Extension>, CaError> {
    let mut list = vec![
        extensions::extension(
            ID_CE_KEY_USAGE,
            true,
            KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
        )?,
        extensions::extension(
            ID_CE_EXT_KEY_USAGE,
            false,
            ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]).to_der()?,
        )?,
        // Placeholder replaced in `LeafTemplate::tbs`, where the key is known.
        extensions::extension(ID_CE_SUBJECT_KEY_IDENTIFIER, false, Vec::new())?,
        extensions::extension(
            ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(material.issuer_key_identifier.clone())?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            }
            .to_der()?,
        )?,
    ];

    let unencodable = |error: der::Error| CaError::Unencodable(error.to_string());
    let name = match &principal.san {
        San::Email(email) => GeneralName::Rfc822Name(Ia5String::new(email).map_err(unencodable)?),
        San::Uri(uri) => {
            GeneralName::UniformResourceIdentifier(Ia5String::new(uri).map_err(unencodable)?)
        }
        San::Username(name) => GeneralName::OtherName(OtherName {
            type_id: OID_OTHER_NAME_SAN,
            value: Any::encode_from(&Utf8StringRef::new(name).map_err(unencodable)?)?,
        }),
    };
    // SPEC(RFC 5280 §4.2.1.6): "If the subject field contains an empty sequence, then the
    // issuing CA MUST include a subjectAltName extension that is marked as critical."
    list.push(extensions::extension(
        ID_CE_SUBJECT_ALT_NAME,
        true,
        SubjectAltName(vec![name]).to_der()?,
    )?);

    list.extend(principal.extensions.render()?);
    Ok(list)
}

/// Everything of a leaf except the CT extension, which differs between the precertificate and
/// the certificate.
struct LeafTemplate {
    serial: SerialNumber,
    validity: Validity,
    public_key: PublicKey,
    extensions: Vec<Extension>,
}

impl LeafTemplate {
    /// Builds the TBSCertificate with `last` (the poison or the SCT list) after the other
    /// extensions.
    fn tbs(
        &self,
        material: &CaMaterial,
        last: Option<Extension>,
    ) -> Result<TbsCertificate, CaError> {
        let mut extensions = self.extensions.clone();
        // SPEC(RFC 7093 §2 method 1): the key identifier is the leftmost 160 bits of the
        // SHA-256 hash of the subjectPublicKey BIT STRING value.
        let key_bits = self.public_key.spki.subject_public_key.raw_bytes();
        let key_identifier =
            SubjectKeyIdentifier(OctetString::new(&Sha256::digest(key_bits)[..20])?);
        for extension in &mut extensions {
            if extension.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER {
                extension.extn_value = OctetString::new(key_identifier.to_der()?)?;
            }
        }
        extensions.extend(last);
        Ok(TbsCertificate {
            version: Version::V3,
            serial_number: self.serial.clone(),
            signature: material.key.signature_algorithm(),
            issuer: material.chain[0].tbs_certificate.subject.clone(),
            validity: self.validity,
            subject: Name::default(),
            subject_public_key_info: self.public_key.spki.clone(),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions),
        })
    }

    /// Signs the TBSCertificate with `last` appended and returns the certificate's DER.
    fn sign(&self, material: &CaMaterial, last: Option<Extension>) -> Result<Vec<u8>, CaError> {
        let tbs_certificate = self.tbs(material, last)?;
        let signature = material.key.sign(&tbs_certificate.to_der()?);
        let certificate = Certificate {
            tbs_certificate,
            signature_algorithm: material.key.signature_algorithm(),
            signature: der::asn1::BitString::from_bytes(&signature)?,
        };
        Ok(certificate.to_der()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_is_positive_and_full_length() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..100 {
            let serial = random_serial(&mut rng);
            assert!((1..=0x7f).contains(&serial[0]));
            let encoded = SerialNumber::<x509_cert::certificate::Rfc5280>::new(&serial)
                .expect("serial")
                .to_der()
                .expect("der");
            assert_eq!(encoded.len(), 2 + SERIAL_NUMBER_BYTES);
        }
    }

    #[test]
    fn validity_is_backdated_and_keeps_its_lifetime() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_426_741_900);
        let validity = validity(issued, Duration::from_secs(600)).expect("validity");
        let not_before = validity.not_before.to_unix_duration().as_secs();
        let not_after = validity.not_after.to_unix_duration().as_secs();
        assert_eq!(not_before, 1_796_426_741 - LEAF_BACKDATE.as_secs());
        assert_eq!(not_after - not_before, 600);
    }
}
