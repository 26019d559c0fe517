//! Sigstore's certificate extensions under 1.3.6.1.4.1.57264.1, and the RFC 6962 extensions.

use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString, Utf8StringRef};
use x509_cert::ext::Extension;

/// Issuer (deprecated): the raw bytes of the issuer URL, not DER.
pub const OID_ISSUER: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
pub const OID_GITHUB_WORKFLOW_TRIGGER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2");
pub const OID_GITHUB_WORKFLOW_SHA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.3");
pub const OID_GITHUB_WORKFLOW_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4");
pub const OID_GITHUB_WORKFLOW_REPOSITORY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.5");
pub const OID_GITHUB_WORKFLOW_REF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.6");
/// Type id of the otherName SAN that `username` issuers write.
pub const OID_OTHER_NAME_SAN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Issuer V2: the issuer URL as a DER UTF8String.
pub const OID_ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Token Subject: the raw `sub` claim as a DER UTF8String.
pub const OID_TOKEN_SUBJECT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.24");
/// RFC 6962 §3.3 embedded SignedCertificateTimestampList.
pub const OID_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// RFC 6962 §3.1 precertificate poison.
pub const OID_CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");

/// The Sigstore extension values of one certificate. `None` fields are not written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SigstoreExtensions {
    /// 1.1 (raw) and 1.8 (UTF8String): the token's issuer, or the configured issuer claim.
    pub issuer: String,
    /// 1.24: the token's `sub`.
    pub subject: String,
    /// 1.2 to 1.6, deprecated GitHub Actions extensions, raw bytes.
    pub github_workflow_trigger: Option<String>,
    pub github_workflow_sha: Option<String>,
    pub github_workflow_name: Option<String>,
    pub github_workflow_repository: Option<String>,
    pub github_workflow_ref: Option<String>,
    /// 1.9 to 1.23, UTF8String.
    pub build_signer_uri: Option<String>,
    pub build_signer_digest: Option<String>,
    pub runner_environment: Option<String>,
    pub source_repository_uri: Option<String>,
    pub source_repository_digest: Option<String>,
    pub source_repository_ref: Option<String>,
    pub source_repository_identifier: Option<String>,
    pub source_repository_owner_uri: Option<String>,
    pub source_repository_owner_identifier: Option<String>,
    pub build_config_uri: Option<String>,
    pub build_config_digest: Option<String>,
    pub build_trigger: Option<String>,
    pub run_invocation_uri: Option<String>,
    pub source_repository_visibility_at_signing: Option<String>,
    pub deployment_environment: Option<String>,
}

impl SigstoreExtensions {
    pub fn new(issuer: &str, subject: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            ..Self::default()
        }
    }

    /// Encodes the extensions in Fulcio's order (`certificate.Extensions.Render`): 1.1, the
    /// deprecated 1.2 to 1.6, 1.8, 1.9 to 1.23, then 1.24. Empty values are left out, except
    /// the issuer, which every certificate carries.
    pub fn render(&self) -> Result<Vec<Extension>, der::Error> {
        let raw = [
            (OID_ISSUER, Some(&self.issuer)),
            (
                OID_GITHUB_WORKFLOW_TRIGGER,
                self.github_workflow_trigger.as_ref(),
            ),
            (OID_GITHUB_WORKFLOW_SHA, self.github_workflow_sha.as_ref()),
            (OID_GITHUB_WORKFLOW_NAME, self.github_workflow_name.as_ref()),
            (
                OID_GITHUB_WORKFLOW_REPOSITORY,
                self.github_workflow_repository.as_ref(),
            ),
            (OID_GITHUB_WORKFLOW_REF, self.github_workflow_ref.as_ref()),
        ];
        let utf8 = [
            (8, Some(&self.issuer)),
            (9, self.build_signer_uri.as_ref()),
            (10, self.build_signer_digest.as_ref()),
            (11, self.runner_environment.as_ref()),
            (12, self.source_repository_uri.as_ref()),
            (13, self.source_repository_digest.as_ref()),
            (14, self.source_repository_ref.as_ref()),
            (15, self.source_repository_identifier.as_ref()),
            (16, self.source_repository_owner_uri.as_ref()),
            (17, self.source_repository_owner_identifier.as_ref()),
            (18, self.build_config_uri.as_ref()),
            (19, self.build_config_digest.as_ref()),
            (20, self.build_trigger.as_ref()),
            (21, self.run_invocation_uri.as_ref()),
            (22, self.source_repository_visibility_at_signing.as_ref()),
            (23, self.deployment_environment.as_ref()),
            (24, Some(&self.subject)),
        ];

        let mut extensions = Vec::new();
        for (oid, value) in raw {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                extensions.push(extension(oid, false, value.as_bytes().to_vec())?);
            }
        }
        for (arc, value) in utf8 {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                let oid = OID_ISSUER_V2
                    .parent()
                    .and_then(|parent| parent.push_arc(arc).ok())
                    .ok_or_else(|| der::Error::from(der::ErrorKind::OidMalformed))?;
                let encoded = Utf8StringRef::new(value)?.to_der()?;
                extensions.push(extension(oid, false, encoded)?);
            }
        }
        Ok(extensions)
    }
}

/// Builds an extension whose extnValue OCTET STRING contains `value`.
pub fn extension(
    oid: ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, der::Error> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

/// Builds the precertificate poison. SPEC(RFC 6962 §3.1): "The Precertificate is constructed from the
/// certificate to be issued by adding a special critical poison extension (OID
/// 1.3.6.1.4.1.11129.2.4.3, whose extnValue OCTET STRING contains ASN.1 NULL data (0x05 0x00))".
pub fn poison() -> Result<Extension, der::Error> {
    extension(OID_CT_POISON, true, vec![0x05, 0x00])
}

/// Builds the embedded SCT list. SPEC(RFC 6962 §3.3): the extnValue OCTET STRING contains a DER OCTET
/// STRING whose contents are the TLS-encoded SignedCertificateTimestampList.
pub fn sct_list(tls_encoded_list: Vec<u8>) -> Result<Extension, der::Error> {
    let inner = OctetString::new(tls_encoded_list)?.to_der()?;
    extension(OID_SCT_LIST, false, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_and_subject_encodings() {
        let extensions = SigstoreExtensions::new("https://idp.example.com", "alice")
            .render()
            .expect("render");
        let oids: Vec<String> = extensions.iter().map(|e| e.extn_id.to_string()).collect();
        assert_eq!(
            oids,
            [
                "1.3.6.1.4.1.57264.1.1",
                "1.3.6.1.4.1.57264.1.8",
                "1.3.6.1.4.1.57264.1.24"
            ]
        );
        assert_eq!(
            extensions[0].extn_value.as_bytes(),
            b"https://idp.example.com"
        );
        let mut expected = vec![0x0c, 23];
        expected.extend_from_slice(b"https://idp.example.com");
        assert_eq!(extensions[1].extn_value.as_bytes(), expected);
        assert_eq!(
            extensions[2].extn_value.as_bytes(),
            [0x0c, 5, b'a', b'l', b'i', b'c', b'e']
        );
        assert!(extensions.iter().all(|e| !e.critical));
    }

    #[test]
    fn ci_extensions_follow_fulcio_order() {
        let extensions = SigstoreExtensions {
            github_workflow_ref: Some("refs/heads/main".to_owned()),
            github_workflow_trigger: Some("push".to_owned()),
            build_trigger: Some("push".to_owned()),
            build_signer_uri: Some("https://github.com/x".to_owned()),
            ..SigstoreExtensions::new("https://t", "s")
        }
        .render()
        .expect("render");
        let arcs: Vec<String> = extensions
            .iter()
            .map(|e| {
                e.extn_id
                    .to_string()
                    .rsplit('.')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(arcs, ["1", "2", "6", "8", "9", "20", "24"]);
    }

    #[test]
    fn poison_and_sct_list_layout() {
        let poison = poison().expect("poison");
        assert!(poison.critical);
        assert_eq!(poison.extn_value.as_bytes(), [0x05, 0x00]);
        let list = sct_list(vec![0, 2, 0, 0]).expect("list");
        assert!(!list.critical);
        assert_eq!(list.extn_value.as_bytes(), [0x04, 4, 0, 2, 0, 0]);
    }
}
