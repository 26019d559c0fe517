//! Mapping a verified token's claims to the certificate's identity, per issuer type, as Fulcio's
//! `pkg/identity/*/principal.go` do.

use serde_json::{Map, Value};
use url::Url;

use crate::config::{IssuerConfig, IssuerType};
use crate::extensions::SigstoreExtensions;

/// The subject alternative name of an issued certificate. Fulcio writes exactly one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectAltName {
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
    /// otherName of type 1.3.6.1.4.1.57264.1.7 holding `<user>!<domain>` as a UTF8String.
    Username(String),
}

/// The identity a token proves, ready to be put in a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The strings a proof of possession may sign. The first is the identity's name (`email`
    /// for email issuers, otherwise `sub`). Email issuers also accept `sub`, because
    /// sigstore-js signs `sub` for every issuer but Google's and Sigstore's own.
    pub challenges: Vec<String>,
    pub san: SubjectAltName,
    pub extensions: SigstoreExtensions,
}

/// A token whose claims do not fit its issuer type. The message names the claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClaimError(pub String);

/// A token whose claims cannot become a principal. The variants are kept apart so the
/// response can name the failed check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrincipalError {
    #[error("the token's email_verified claim is not true")]
    EmailNotVerified,
    #[error("the token's claims do not fit the issuer type: {0}")]
    Claims(#[from] ClaimError),
}

/// Builds the principal of a token whose signature, issuer, audience and times were verified.
/// `issuer` is the token's `iss`.
pub fn principal_from_claims(
    issuer: &str,
    config: &IssuerConfig,
    claims: &Map<String, Value>,
) -> Result<Principal, PrincipalError> {
    let subject = string_claim(claims, "sub")?;
    let mut extensions = SigstoreExtensions::new(issuer, &subject);

    let (challenges, san) = match config.issuer_type {
        IssuerType::Email => {
            let email = string_claim(claims, "email")?;
            // SPEC(Fulcio email principal): "email_verified" must be true unless the issuer is
            // configured to skip the check; a missing claim counts as false.
            if !config.skip_email_verification && !email_verified(claims)? {
                return Err(PrincipalError::EmailNotVerified);
            }
            if !is_email_address(&email) {
                return Err(
                    ClaimError(format!("email claim {email:?} is not an email address")).into(),
                );
            }
            if let Some(path) = &config.issuer_claim {
                extensions.issuer = issuer_from_claim(claims, path)?;
            }
            let mut challenges = vec![email.clone()];
            if subject != email {
                challenges.push(subject.clone());
            }
            (challenges, SubjectAltName::Email(email))
        }
        IssuerType::Uri => {
            if is_email_address(&subject) {
                return Err(ClaimError(
                    "a uri issuer's sub must not be an email address".to_owned(),
                )
                .into());
            }
            let domain = config.subject_domain.as_deref().unwrap_or_default();
            check_uri_in_domain(&subject, domain)?;
            (vec![subject.clone()], SubjectAltName::Uri(subject.clone()))
        }
        IssuerType::Username => {
            if subject.contains('!') {
                return Err(ClaimError("a username sub must not contain '!'".to_owned()).into());
            }
            if is_email_address(&subject) {
                return Err(
                    ClaimError("a username sub must not be an email address".to_owned()).into(),
                );
            }
            let domain = config.subject_domain.as_deref().unwrap_or_default();
            let name = format!("{subject}!{domain}");
            (vec![subject.clone()], SubjectAltName::Username(name))
        }
        IssuerType::Kubernetes => {
            let kubernetes = claims
                .get("kubernetes.io")
                .and_then(Value::as_object)
                .ok_or_else(|| ClaimError("missing kubernetes.io claim".to_owned()))?;
            let namespace = kubernetes
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let service_account = kubernetes
                .get("serviceaccount")
                .and_then(|account| account.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let uri = format!(
                "https://kubernetes.io/namespaces/{namespace}/serviceaccounts/{service_account}"
            );
            (vec![subject.clone()], SubjectAltName::Uri(uri))
        }
        IssuerType::Spiffe => {
            let trust_domain = config.spiffe_trust_domain.as_deref().unwrap_or_default();
            check_spiffe_id(&subject, trust_domain)?;
            (vec![subject.clone()], SubjectAltName::Uri(subject.clone()))
        }
        IssuerType::GithubWorkflow => {
            let base = config
                .ci_base_url
                .as_ref()
                .map_or("https://github.com", Url::as_str);
            let san = github_workflow(claims, base, &mut extensions)?;
            (vec![subject.clone()], SubjectAltName::Uri(san))
        }
        IssuerType::GitlabPipeline => {
            let base = config
                .ci_base_url
                .as_ref()
                .map_or("https://gitlab.com", Url::as_str);
            let san = gitlab_pipeline(claims, base, &mut extensions)?;
            (vec![subject.clone()], SubjectAltName::Uri(san))
        }
    };
    Ok(Principal {
        challenges,
        san,
        extensions,
    })
}

/// Fills the GitHub Actions extensions and returns the SAN, as Fulcio's `github-workflow` type.
fn github_workflow(
    claims: &Map<String, Value>,
    base: &str,
    extensions: &mut SigstoreExtensions,
) -> Result<String, ClaimError> {
    let claim = |name: &str| string_claim(claims, name);
    // Fulcio requires every one of these claims, in this order.
    let job_workflow_ref = claim("job_workflow_ref")?;
    let sha = claim("sha")?;
    let event_name = claim("event_name")?;
    let repository = claim("repository")?;
    let workflow = claim("workflow")?;
    let git_ref = claim("ref")?;
    let job_workflow_sha = claim("job_workflow_sha")?;
    let runner_environment = claim("runner_environment")?;
    let repository_id = claim("repository_id")?;
    let repository_owner = claim("repository_owner")?;
    let repository_owner_id = claim("repository_owner_id")?;
    let repository_visibility = claim("repository_visibility")?;
    let workflow_ref = claim("workflow_ref")?;
    let workflow_sha = claim("workflow_sha")?;
    let run_id = claim("run_id")?;
    let run_attempt = claim("run_attempt")?;

    let build_signer_uri = join_url(base, &[&job_workflow_ref]);
    *extensions = SigstoreExtensions {
        github_workflow_trigger: Some(event_name.clone()),
        github_workflow_sha: Some(sha.clone()),
        github_workflow_name: Some(workflow),
        github_workflow_repository: Some(repository.clone()),
        github_workflow_ref: Some(git_ref.clone()),
        build_signer_uri: Some(build_signer_uri.clone()),
        build_signer_digest: Some(job_workflow_sha),
        runner_environment: Some(runner_environment),
        source_repository_uri: Some(join_url(base, &[&repository])),
        source_repository_digest: Some(sha),
        source_repository_ref: Some(git_ref),
        source_repository_identifier: Some(repository_id),
        source_repository_owner_uri: Some(join_url(base, &[&repository_owner])),
        source_repository_owner_identifier: Some(repository_owner_id),
        build_config_uri: Some(join_url(base, &[&workflow_ref])),
        build_config_digest: Some(workflow_sha),
        build_trigger: Some(event_name),
        run_invocation_uri: Some(join_url(
            base,
            &[
                &repository,
                "actions/runs",
                &run_id,
                "attempts",
                &run_attempt,
            ],
        )),
        source_repository_visibility_at_signing: Some(repository_visibility),
        ..extensions.clone()
    };
    Ok(build_signer_uri)
}

/// Fills the GitLab CI extensions and returns the SAN, as Fulcio's `gitlab-pipeline` type.
fn gitlab_pipeline(
    claims: &Map<String, Value>,
    base: &str,
    extensions: &mut SigstoreExtensions,
) -> Result<String, ClaimError> {
    let claim = |name: &str| string_claim(claims, name);
    let project_path = claim("project_path")?;
    let pipeline_source = claim("pipeline_source")?;
    claim("pipeline_id")?;
    let ci_config_ref_uri = claim("ci_config_ref_uri")?;
    let job_id = claim("job_id")?;
    let git_ref = claim("ref")?;
    let ref_type = claim("ref_type")?;
    let namespace_path = claim("namespace_path")?;
    let namespace_id = claim("namespace_id")?;
    let project_id = claim("project_id")?;
    let sha = claim("sha")?;
    let runner_environment = claim("runner_environment")?;
    let runner_id = claims.get("runner_id").and_then(Value::as_i64).unwrap_or(0);
    if runner_id == 0 {
        return Err(ClaimError("missing runner_id claim".to_owned()));
    }
    let ci_config_sha = optional_string_claim(claims, "ci_config_sha")?;
    let project_visibility = optional_string_claim(claims, "project_visibility")?;
    let full_ref = match ref_type.as_str() {
        "branch" => format!("refs/heads/{git_ref}"),
        "tag" => format!("refs/tags/{git_ref}"),
        other => return Err(ClaimError(format!("unexpected ref_type {other:?}"))),
    };

    // `ci_config_ref_uri` has no scheme (`gitlab.com/group/project//.gitlab-ci.yml@refs/...`);
    // Fulcio gives it https, or the base URL's scheme when the hosts are the same.
    let base_url = Url::parse(base).map_err(|error| ClaimError(error.to_string()))?;
    let config_host = ci_config_ref_uri.split('/').next().unwrap_or_default();
    let scheme = if base_url.host_str() == Some(config_host) {
        base_url.scheme()
    } else {
        "https"
    };
    let config_uri = format!("{scheme}://{ci_config_ref_uri}");

    *extensions = SigstoreExtensions {
        build_signer_uri: Some(config_uri.clone()),
        build_signer_digest: ci_config_sha.clone(),
        runner_environment: Some(runner_environment),
        source_repository_uri: Some(join_url(base, &[&project_path])),
        source_repository_digest: Some(sha),
        source_repository_ref: Some(full_ref),
        source_repository_identifier: Some(project_id),
        source_repository_owner_uri: Some(join_url(base, &[&namespace_path])),
        source_repository_owner_identifier: Some(namespace_id),
        build_config_uri: Some(config_uri.clone()),
        build_config_digest: ci_config_sha,
        build_trigger: Some(pipeline_source),
        run_invocation_uri: Some(join_url(base, &[&project_path, "-/jobs", &job_id])),
        source_repository_visibility_at_signing: project_visibility,
        ..extensions.clone()
    };
    Ok(config_uri)
}

/// Joins path segments onto a base URL with single slashes, as Go's `url.JoinPath` does for
/// the segments that CI tokens carry.
fn join_url(base: &str, segments: &[&str]) -> String {
    let mut joined = base.trim_end_matches('/').to_owned();
    for segment in segments {
        let segment = segment.trim_matches('/');
        if !segment.is_empty() {
            joined.push('/');
            joined.push_str(segment);
        }
    }
    joined
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<String, ClaimError> {
    match claims.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ClaimError(format!("missing {name} claim")))
        }
        Some(_) => Err(ClaimError(format!("the {name} claim is not a string"))),
    }
}

fn optional_string_claim(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ClaimError> {
    match string_claim(claims, name) {
        Ok(value) => Ok(Some(value)),
        Err(_) if matches!(claims.get(name), None | Some(Value::Null)) => Ok(None),
        Err(_) if claims.get(name).and_then(Value::as_str) == Some("") => Ok(None),
        Err(error) => Err(error),
    }
}

/// Reads `email_verified`. SPEC(Fulcio, via go-oidc): `true`, `"true"`, `True` and `"True"`
/// are true; a missing claim is false; any other value is an error.
fn email_verified(claims: &Map<String, Value>) -> Result<bool, ClaimError> {
    match claims.get("email_verified") {
        None => Ok(false),
        Some(Value::Bool(verified)) => Ok(*verified),
        Some(Value::String(text)) => match text.as_str() {
            "true" | "True" => Ok(true),
            "false" | "False" => Ok(false),
            _ => Err(ClaimError(format!(
                "email_verified claim {text:?} is not a boolean"
            ))),
        },
        Some(_) => Err(ClaimError(
            "email_verified claim is not a boolean".to_owned(),
        )),
    }
}

/// Checks the syntax loosely: one `@` between a non-empty local part and a domain with a dot, no
/// spaces or control characters.
fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Parses `$.a.b` into `["a", "b"]`.
pub(crate) fn parse_claim_path(path: &str) -> Option<Vec<&str>> {
    let keys: Vec<&str> = path.strip_prefix("$.")?.split('.').collect();
    keys.iter().all(|key| !key.is_empty()).then_some(keys)
}

fn issuer_from_claim(claims: &Map<String, Value>, path: &str) -> Result<String, ClaimError> {
    let keys = parse_claim_path(path)
        .ok_or_else(|| ClaimError(format!("issuer_claim {path:?} is not a $. path")))?;
    let mut value = claims.get(keys[0]);
    for key in &keys[1..] {
        value = value.and_then(|inner| inner.get(key));
    }
    match value {
        Some(Value::String(issuer)) if !issuer.is_empty() => Ok(issuer.clone()),
        _ => Err(ClaimError(format!(
            "the token has no string claim at {path}"
        ))),
    }
}

/// SPEC(Fulcio uri principal): the subject's scheme and host name equal the subject domain's.
fn check_uri_in_domain(subject: &str, domain: &str) -> Result<(), ClaimError> {
    let subject_url = Url::parse(subject)
        .map_err(|error| ClaimError(format!("sub {subject:?} is not a URI: {error}")))?;
    let domain_url = Url::parse(domain)
        .map_err(|error| ClaimError(format!("subject_domain {domain:?} is not a URL: {error}")))?;
    if subject_url.scheme() != domain_url.scheme() {
        return Err(ClaimError(format!(
            "sub scheme {} must be {}",
            subject_url.scheme(),
            domain_url.scheme()
        )));
    }
    if subject_url.host_str() != domain_url.host_str() {
        return Err(ClaimError(format!(
            "sub host {} must be {}",
            subject_url.host_str().unwrap_or_default(),
            domain_url.host_str().unwrap_or_default()
        )));
    }
    Ok(())
}

/// SPIFFE ID rules (SPIFFE-ID §2): lowercase letters, digits, `.`, `-` and `_`.
pub(crate) fn is_valid_trust_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b".-_".contains(&byte)
        })
}

/// Checks that `id` is `spiffe://<trust_domain>/<path>` (SPIFFE-ID §2), with a path made of
/// non-empty segments of letters, digits, `.`, `-` and `_`, none of them `.` or `..`.
fn check_spiffe_id(id: &str, trust_domain: &str) -> Result<(), ClaimError> {
    let invalid = || ClaimError(format!("sub {id:?} is not a SPIFFE ID"));
    let rest = id.strip_prefix("spiffe://").ok_or_else(invalid)?;
    let (domain, path) = rest
        .split_once('/')
        .map_or((rest, ""), |(domain, path)| (domain, path));
    if !is_valid_trust_domain(domain) {
        return Err(invalid());
    }
    if !path.is_empty() {
        let segment_ok = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b".-_".contains(&byte))
        };
        if !path.split('/').all(segment_ok) {
            return Err(invalid());
        }
    }
    if domain != trust_domain {
        return Err(ClaimError(format!(
            "SPIFFE ID trust domain {domain} is not the configured trust domain {trust_domain}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issuer(issuer_type: IssuerType) -> IssuerConfig {
        IssuerConfig {
            issuer_type,
            client_id: "sigstore".to_owned(),
            skip_email_verification: false,
            subject_domain: None,
            spiffe_trust_domain: None,
            issuer_claim: None,
            challenge_claim: None,
            ci_base_url: None,
            ca_bundle_file: None,
            description: None,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().expect("object").clone()
    }

    #[test]
    fn email_principal() {
        let principal = principal_from_claims(
            "https://idp.example.com",
            &issuer(IssuerType::Email),
            &claims(json!({"sub": "1234", "email": "alice@example.com", "email_verified": true})),
        )
        .expect("principal");
        assert_eq!(principal.challenges, ["alice@example.com", "1234"]);
        assert_eq!(
            principal.san,
            SubjectAltName::Email("alice@example.com".to_owned())
        );
        assert_eq!(principal.extensions.issuer, "https://idp.example.com");
        assert_eq!(principal.extensions.subject, "1234");
    }

    #[test]
    fn email_verification() {
        let config = issuer(IssuerType::Email);
        for verified in [json!(false), json!("false"), Value::Null] {
            let mut token = claims(json!({"sub": "a@example.com", "email": "a@example.com"}));
            if !verified.is_null() {
                token.insert("email_verified".to_owned(), verified.clone());
            }
            let error =
                principal_from_claims("https://i", &config, &token).expect_err("unverified");
            assert_eq!(error, PrincipalError::EmailNotVerified, "{verified}");
        }
        let token = claims(
            json!({"sub": "a@example.com", "email": "a@example.com", "email_verified": "True"}),
        );
        let principal = principal_from_claims("https://i", &config, &token).expect("string true");
        assert_eq!(principal.challenges, ["a@example.com"]);

        let skip = IssuerConfig {
            skip_email_verification: true,
            ..config
        };
        let token = claims(json!({"sub": "a@example.com", "email": "a@example.com"}));
        principal_from_claims("https://i", &skip, &token).expect("verification skipped");
    }

    #[test]
    fn issuer_claim_path() {
        let config = IssuerConfig {
            issuer_claim: Some("$.federated_claims.connector_id".to_owned()),
            ..issuer(IssuerType::Email)
        };
        let token = claims(json!({
            "sub": "x", "email": "a@example.com", "email_verified": true,
            "federated_claims": {"connector_id": "https://github.com/login/oauth"}
        }));
        let principal = principal_from_claims("https://dex", &config, &token).expect("principal");
        assert_eq!(
            principal.extensions.issuer,
            "https://github.com/login/oauth"
        );
    }

    #[test]
    fn kubernetes_principal() {
        let token = claims(json!({
            "sub": "system:serviceaccount:default:builder",
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "builder", "uid": "u"}}
        }));
        let principal =
            principal_from_claims("https://k8s", &issuer(IssuerType::Kubernetes), &token)
                .expect("principal");
        assert_eq!(
            principal.san,
            SubjectAltName::Uri(
                "https://kubernetes.io/namespaces/default/serviceaccounts/builder".to_owned()
            )
        );
        assert_eq!(
            principal.challenges,
            ["system:serviceaccount:default:builder"]
        );
    }

    #[test]
    fn uri_username_spiffe_principals() {
        let uri = IssuerConfig {
            subject_domain: Some("https://ci.example.com".to_owned()),
            ..issuer(IssuerType::Uri)
        };
        let ok = claims(json!({"sub": "https://ci.example.com/jobs/1"}));
        assert_eq!(
            principal_from_claims("https://accounts.example.com", &uri, &ok)
                .expect("uri")
                .san,
            SubjectAltName::Uri("https://ci.example.com/jobs/1".to_owned())
        );
        let other_host = claims(json!({"sub": "https://evil.example.com/jobs/1"}));
        assert!(principal_from_claims("https://accounts.example.com", &uri, &other_host).is_err());

        let username = IssuerConfig {
            subject_domain: Some("example.com".to_owned()),
            ..issuer(IssuerType::Username)
        };
        let principal = principal_from_claims(
            "https://accounts.example.com",
            &username,
            &claims(json!({"sub": "alice"})),
        )
        .expect("username");
        assert_eq!(
            principal.san,
            SubjectAltName::Username("alice!example.com".to_owned())
        );
        assert!(
            principal_from_claims("https://a", &username, &claims(json!({"sub": "a!b"}))).is_err()
        );

        let spiffe = IssuerConfig {
            spiffe_trust_domain: Some("example.org".to_owned()),
            ..issuer(IssuerType::Spiffe)
        };
        let ok = claims(json!({"sub": "spiffe://example.org/ns/prod/sa/web"}));
        principal_from_claims("https://s", &spiffe, &ok).expect("spiffe");
        for bad in [
            "spiffe://other.org/x",
            "https://example.org/x",
            "spiffe://example.org/a//b",
        ] {
            assert!(
                principal_from_claims("https://s", &spiffe, &claims(json!({"sub": bad}))).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn github_workflow_principal() {
        let token = claims(json!({
            "sub": "repo:octo/app:ref:refs/heads/main",
            "job_workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
            "sha": "abc", "event_name": "push", "repository": "octo/app", "workflow": "Release",
            "ref": "refs/heads/main", "job_workflow_sha": "def", "runner_environment": "github-hosted",
            "repository_id": "1", "repository_owner": "octo", "repository_owner_id": "2",
            "repository_visibility": "public",
            "workflow_ref": "octo/app/.github/workflows/release.yml@refs/heads/main",
            "workflow_sha": "abc", "run_id": "42", "run_attempt": "1"
        }));
        let principal = principal_from_claims(
            "https://token.actions.githubusercontent.com",
            &issuer(IssuerType::GithubWorkflow),
            &token,
        )
        .expect("principal");
        let san = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main";
        assert_eq!(principal.san, SubjectAltName::Uri(san.to_owned()));
        let extensions = &principal.extensions;
        assert_eq!(extensions.github_workflow_trigger.as_deref(), Some("push"));
        assert_eq!(extensions.build_signer_uri.as_deref(), Some(san));
        assert_eq!(
            extensions.source_repository_uri.as_deref(),
            Some("https://github.com/octo/app")
        );
        assert_eq!(
            extensions.run_invocation_uri.as_deref(),
            Some("https://github.com/octo/app/actions/runs/42/attempts/1")
        );
        assert_eq!(extensions.deployment_environment, None);

        let mut incomplete = token.clone();
        incomplete.remove("run_attempt");
        let error = principal_from_claims(
            "https://t",
            &issuer(IssuerType::GithubWorkflow),
            &incomplete,
        )
        .expect_err("missing claim");
        assert!(error.to_string().contains("run_attempt"), "{error}");
    }

    #[test]
    fn gitlab_pipeline_principal() {
        let token = claims(json!({
            "sub": "project_path:group/app:ref_type:branch:ref:main",
            "project_path": "group/app", "project_id": "7", "pipeline_source": "push",
            "pipeline_id": "99", "ci_config_ref_uri": "gitlab.com/group/app//.gitlab-ci.yml@refs/heads/main",
            "ci_config_sha": "abc", "namespace_path": "group", "namespace_id": "3", "job_id": "123",
            "ref": "main", "ref_type": "branch", "sha": "abc", "runner_environment": "gitlab-hosted",
            "runner_id": 5, "project_visibility": "private"
        }));
        let principal = principal_from_claims(
            "https://gitlab.com",
            &issuer(IssuerType::GitlabPipeline),
            &token,
        )
        .expect("principal");
        let san = "https://gitlab.com/group/app//.gitlab-ci.yml@refs/heads/main";
        assert_eq!(principal.san, SubjectAltName::Uri(san.to_owned()));
        let extensions = &principal.extensions;
        assert_eq!(
            extensions.source_repository_ref.as_deref(),
            Some("refs/heads/main")
        );
        assert_eq!(
            extensions.run_invocation_uri.as_deref(),
            Some("https://gitlab.com/group/app/-/jobs/123")
        );
        assert_eq!(extensions.github_workflow_trigger, None);
    }
}
