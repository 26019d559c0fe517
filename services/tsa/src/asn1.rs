//! Object identifiers and the ASN.1 structures that `x509-tsp` and `cms` do not provide in a
//! usable form.
//!
//! `x509-tsp` 0.1 defines `TimeStampReq` and `TSTInfo`, which this crate uses. Its
//! `TimeStampResp` reuses the CMP `PKIFailureInfo` from `cmpv2` 0.2, whose flag values are bit
//! positions where the flag set expects masks, so `badAlg` (0) can never be set. The response
//! and its status are therefore defined here with a plain `BIT STRING`.

use der::Sequence;
use der::asn1::{BitString, ObjectIdentifier, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralNames;
use x509_cert::serial_number::SerialNumber;

/// id-signedData (RFC 5652 §5.1).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (RFC 3161 §2.4.2): the eContentType of a time-stamp token.
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-contentType signed attribute (RFC 5652 §11.1).
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest signed attribute (RFC 5652 §11.2).
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime signed attribute (RFC 5652 §11.3).
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 signed attribute (RFC 5035 §3).
pub const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// id-sha1 (RFC 3279 §2.2.1), recognised only to reject it by name.
pub const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256 (RFC 5754 §2.2).
pub const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384 (RFC 5754 §2.3).
pub const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512 (RFC 5754 §2.4).
pub const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// ecdsa-with-SHA256 (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512 (RFC 5758 §3.2).
pub const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// sha256WithRSAEncryption (RFC 4055 §5).
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption (RFC 4055 §5).
pub const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption (RFC 4055 §5).
pub const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");

/// Extended key usage extension (RFC 5280 §4.2.1.12).
pub const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-kp-timeStamping (RFC 5280 §4.2.1.12).
pub const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// The TSA policy of Sigstore's public timestamp authority, the default policy of this one.
pub const SIGSTORE_TSA_POLICY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// PKIStatus values (RFC 3161 §2.4.2) that this TSA sends.
pub mod pki_status {
    /// granted: a TimeStampToken, as requested, is present.
    pub const GRANTED: u8 = 0;
    /// rejection: no TimeStampToken is present, and failInfo gives the reason.
    pub const REJECTION: u8 = 2;
}

/// ```text
/// TimeStampResp ::= SEQUENCE {
///    status                  PKIStatusInfo,
///    timeStampToken          TimeStampToken     OPTIONAL  }
/// ```
/// (RFC 3161 §2.4.2.) The token is a CMS `ContentInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<cms::content_info::ContentInfo>,
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///    status        PKIStatus,
///    statusString  PKIFreeText     OPTIONAL,
///    failInfo      PKIFailureInfo  OPTIONAL  }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
/// (RFC 3161 §2.4.2, RFC 4210 §5.1.1.)
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// ```text
/// SigningCertificateV2 ::= SEQUENCE {
///    certs        SEQUENCE OF ESSCertIDv2,
///    policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
/// (RFC 5035 §3.)
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
}

/// ```text
/// ESSCertIDv2 ::= SEQUENCE {
///    hashAlgorithm   AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///    certHash        Hash,
///    issuerSerial    IssuerSerial OPTIONAL }
/// ```
/// (RFC 5035 §4.) `hash_algorithm` is `None` for SHA-256, because DER omits a DEFAULT value.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// IssuerSerial ::= SEQUENCE {
///    issuer         GeneralNames,
///    serialNumber   CertificateSerialNumber }
/// ```
/// (RFC 5035 §4.)
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

/// The PKIFailureInfo bits (RFC 3161 §2.4.2) that this TSA sets.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum FailureInfo {
    /// badAlg (0): unrecognized or unsupported Algorithm Identifier.
    BadAlg,
    /// badRequest (2): transaction not permitted or supported.
    BadRequest,
    /// badDataFormat (5): the data submitted has the wrong format.
    BadDataFormat,
    /// unacceptedPolicy (15): the requested TSA policy is not supported by the TSA.
    UnacceptedPolicy,
    /// unacceptedExtension (16): the requested extension is not supported by the TSA.
    UnacceptedExtension,
    /// systemFailure (25): the request cannot be handled due to system failure.
    SystemFailure,
}

impl FailureInfo {
    /// Returns the bit number in the PKIFailureInfo named bit list.
    pub fn bit(self) -> u8 {
        match self {
            Self::BadAlg => 0,
            Self::BadRequest => 2,
            Self::BadDataFormat => 5,
            Self::UnacceptedPolicy => 15,
            Self::UnacceptedExtension => 16,
            Self::SystemFailure => 25,
        }
    }

    /// Returns the ASN.1 name of the bit, also used as a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadRequest => "badRequest",
            Self::BadDataFormat => "badDataFormat",
            Self::UnacceptedPolicy => "unacceptedPolicy",
            Self::UnacceptedExtension => "unacceptedExtension",
            Self::SystemFailure => "systemFailure",
        }
    }

    /// Encodes the single bit as a DER named bit list: X.690 §11.2.2 requires trailing zero
    /// bits to be removed, so the string ends with the byte that contains the bit.
    pub fn to_bit_string(self) -> der::Result<BitString> {
        let bit = usize::from(self.bit());
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        let unused_bits = 7 - (self.bit() % 8);
        BitString::new(unused_bits, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn failure_info_bits_encode_as_named_bit_lists() {
        let cases = [
            (FailureInfo::BadAlg, "03020780"),
            (FailureInfo::BadRequest, "03020520"),
            (FailureInfo::BadDataFormat, "03020204"),
            (FailureInfo::UnacceptedPolicy, "0303000001"),
            (FailureInfo::UnacceptedExtension, "030407000080"),
            (FailureInfo::SystemFailure, "03050600000040"),
        ];
        for (info, expected) in cases {
            let der = info
                .to_bit_string()
                .and_then(|bits| bits.to_der())
                .expect("encode");
            assert_eq!(hex::encode(der), expected, "{}", info.name());
        }
    }
}
