//! The repository on disk: key files, root creation, publishing targets and re-signing.
//!
//! Layout under the data directory, with consistent snapshots (TUF 1.0.31 §5.5.7):
//!
//! - `keys/tuf-root.pem` (offline: needed only to sign a new root version), and the online keys
//!   `keys/tuf-targets.pem`, `keys/tuf-snapshot.pem`, `keys/tuf-timestamp.pem`;
//! - `tuf/N.root.json` for every root version, `tuf/N.targets.json`, `tuf/N.snapshot.json`,
//!   `tuf/timestamp.json` and `tuf/targets/<sha256>.<name>`;
//! - `trust/root.json`: root version 1, the trust anchor clients are given.
//!
//! Every file is written beside its final name and renamed into place, and `timestamp.json`,
//! the only file a client reads without knowing its version, is written last. A client that
//! reads during a publish therefore gets either the old or the new version, never a mix.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sigstack_keys::{KeyPassword, read_pkcs8_pem, write_pkcs8_pem};
use sigstack_server::Clock;

use crate::TufError;
use crate::config::{Expiry, TufConfig};
use crate::metadata::{
    Envelope, MetaFile, MetaIndex, RoleKeys, RoleSigner, Root, SPEC_VERSION, TargetFile, Targets,
    format_expires, parse_expires, sha256_hashes,
};

/// Directory of the published repository, relative to the data directory.
pub const TUF_DIR: &str = "tuf";
/// The initial root that clients are given, relative to the data directory.
pub const TRUST_ANCHOR_PATH: &str = "trust/root.json";
/// Key files, relative to the data directory.
pub const ROOT_KEY_PATH: &str = "keys/tuf-root.pem";
pub const TARGETS_KEY_PATH: &str = "keys/tuf-targets.pem";
pub const SNAPSHOT_KEY_PATH: &str = "keys/tuf-snapshot.pem";
pub const TIMESTAMP_KEY_PATH: &str = "keys/tuf-timestamp.pem";

const TIMESTAMP_FILE: &str = "timestamp.json";

/// One target file to publish: its name, contents and optional `custom` metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub contents: Vec<u8>,
    pub custom: Option<serde_json::Value>,
}

/// Items that [`init_repository`] created. Each flag is false when the item already existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitReport {
    pub created_keys: bool,
    pub created_root: bool,
}

/// Roles that a [`TufRepository::publish`] or [`TufRepository::refresh`] signed a new version of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignedVersions {
    pub targets: Option<u64>,
    pub snapshot: Option<u64>,
    pub timestamp: Option<u64>,
}

impl SignedVersions {
    pub fn is_empty(&self) -> bool {
        self.targets.is_none() && self.snapshot.is_none() && self.timestamp.is_none()
    }
}

/// Creates the four TUF keys and root version 1 when they do not exist yet, and copies root
/// version 1 to `trust/root.json`. Running it again changes nothing, so every data directory
/// keeps the root its clients were given; two data directories get different keys and roots.
pub fn init_repository(
    data_dir: &Path,
    password: &KeyPassword,
    config: &TufConfig,
    clock: &dyn Clock,
) -> Result<InitReport, TufError> {
    let mut report = InitReport::default();
    for path in [
        ROOT_KEY_PATH,
        TARGETS_KEY_PATH,
        SNAPSHOT_KEY_PATH,
        TIMESTAMP_KEY_PATH,
    ] {
        let path = data_dir.join(path);
        if !path.exists() {
            let key = p256::SecretKey::random(&mut OsRng);
            let der = key.to_pkcs8_der().map_err(|error| {
                TufError::Internal(format!("failed to encode a new P-256 key: {error}"))
            })?;
            write_pkcs8_pem(&path, der.as_bytes(), password)?;
            tracing::info!(path = %path.display(), encrypted = password.is_set(), "created TUF key");
            report.created_keys = true;
        }
    }

    let tuf_dir = data_dir.join(TUF_DIR);
    let first_root = tuf_dir.join("1.root.json");
    if !first_root.exists() {
        let root_signer = load_signer(data_dir, ROOT_KEY_PATH, password)?;
        let online = OnlineKeys::load(data_dir, password)?;
        let root = root_metadata(1, &root_signer, &online, clock.now() + config.expiry().root);
        write_json(&first_root, &root_signer.sign(root)?)?;
        tracing::info!(path = %first_root.display(), "created TUF root version 1");
        report.created_root = true;
    }

    let anchor = data_dir.join(TRUST_ANCHOR_PATH);
    if !anchor.exists() {
        let contents = read_file(&first_root)?;
        write_atomically(&anchor, &contents)?;
    }
    Ok(report)
}

/// The online signing keys: one per role, so an operator can rotate or move each separately.
#[derive(Debug)]
struct OnlineKeys {
    targets: RoleSigner,
    snapshot: RoleSigner,
    timestamp: RoleSigner,
}

impl OnlineKeys {
    fn load(data_dir: &Path, password: &KeyPassword) -> Result<Self, TufError> {
        Ok(Self {
            targets: load_signer(data_dir, TARGETS_KEY_PATH, password)?,
            snapshot: load_signer(data_dir, SNAPSHOT_KEY_PATH, password)?,
            timestamp: load_signer(data_dir, TIMESTAMP_KEY_PATH, password)?,
        })
    }
}

fn load_signer(
    data_dir: &Path,
    path: &str,
    password: &KeyPassword,
) -> Result<RoleSigner, TufError> {
    let path = data_dir.join(path);
    let document = read_pkcs8_pem(&path, password)?;
    let key = SigningKey::from_pkcs8_der(document.as_bytes()).map_err(|error| {
        TufError::Key(format!(
            "{} is not an ECDSA P-256 key: {error}",
            path.display()
        ))
    })?;
    RoleSigner::new(key)
}

fn root_metadata(
    version: u64,
    root: &RoleSigner,
    online: &OnlineKeys,
    expires: SystemTime,
) -> Root {
    let mut keys = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for (role, signer) in [
        ("root", root),
        ("targets", &online.targets),
        ("snapshot", &online.snapshot),
        ("timestamp", &online.timestamp),
    ] {
        keys.insert(signer.keyid().to_owned(), signer.public_key().clone());
        roles.insert(
            role.to_owned(),
            RoleKeys {
                keyids: vec![signer.keyid().to_owned()],
                threshold: 1,
            },
        );
    }
    Root {
        kind: "root".to_owned(),
        spec_version: SPEC_VERSION.to_owned(),
        version,
        expires: format_expires(expires),
        consistent_snapshot: true,
        keys,
        roles,
    }
}

/// A TUF repository under a data directory, with its online keys loaded.
///
/// One process should own a data directory's repository: [`publish`](Self::publish) and
/// [`refresh`](Self::refresh) serialize with each other inside this value, not across processes.
#[derive(Debug)]
pub struct TufRepository {
    data_dir: PathBuf,
    keys: OnlineKeys,
    expiry: Expiry,
    lock: Mutex<()>,
}

/// The current versions, read back from disk.
#[derive(Debug)]
struct State {
    root: Envelope<Root>,
    targets: Option<Envelope<Targets>>,
    snapshot: Option<Envelope<MetaIndex>>,
    timestamp: Option<Envelope<MetaIndex>>,
}

impl TufRepository {
    /// Loads the online keys and checks that the newest root lists each for its role.
    pub fn open(
        data_dir: &Path,
        password: &KeyPassword,
        config: &TufConfig,
    ) -> Result<Self, TufError> {
        let repository = Self {
            data_dir: data_dir.to_owned(),
            keys: OnlineKeys::load(data_dir, password)?,
            expiry: config.expiry(),
            lock: Mutex::new(()),
        };
        let root = repository.read_state()?.root;
        for (role, signer) in [
            ("targets", &repository.keys.targets),
            ("snapshot", &repository.keys.snapshot),
            ("timestamp", &repository.keys.timestamp),
        ] {
            if !role_accepts(&root.signed, role, signer) {
                return Err(TufError::Key(format!(
                    "the {role} key in {} is not the one root version {} lists: sign a new root \
                     version with the root key (renew_root) or restore the key file",
                    data_dir.display(),
                    root.signed.version
                )));
            }
        }
        Ok(repository)
    }

    /// Directory of the published repository, `<data dir>/tuf`.
    pub fn tuf_dir(&self) -> PathBuf {
        self.data_dir.join(TUF_DIR)
    }

    /// Publishes `targets` as a new targets version, with new snapshot and timestamp versions,
    /// unless the current targets metadata already lists exactly these files.
    pub fn publish(
        &self,
        targets: &[Target],
        clock: &dyn Clock,
    ) -> Result<SignedVersions, TufError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = self.read_state()?;

        let mut entries = BTreeMap::new();
        for target in targets {
            check_target_name(&target.name)?;
            let entry = TargetFile {
                length: target.contents.len() as u64,
                hashes: sha256_hashes(&target.contents),
                custom: target.custom.clone(),
            };
            entries.insert(target.name.clone(), entry);
        }
        if let Some(current) = &state.targets
            && current.signed.targets == entries
        {
            return Ok(SignedVersions::default());
        }

        // Target files first: they are named by hash, so writing them changes nothing a client
        // can already reach.
        for target in targets {
            let path = self.target_path(&target.name, &entries[&target.name]);
            if !path.exists() {
                write_atomically(&path, &target.contents)?;
            }
        }
        let signed = self.write_targets(&state, entries, clock.now())?;
        tracing::info!(
            targets_version = signed.targets,
            snapshot_version = signed.snapshot,
            timestamp_version = signed.timestamp,
            files = targets.len(),
            "published TUF targets"
        );
        Ok(signed)
    }

    /// Re-signs every online role whose metadata has less than half of its lifetime left or is
    /// signed by a key the newest root does not list for it, and the roles that depend on it.
    /// Logs a warning when the root itself is in the second half of its lifetime, because
    /// renewing it needs the offline root key.
    pub fn refresh(&self, clock: &dyn Clock) -> Result<SignedVersions, TufError> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let state = self.read_state()?;
        let now = clock.now();

        if needs_signing(&state.root.signed.expires, self.expiry.root, now)? {
            tracing::warn!(root_version = state.root.signed.version,
                expires = %state.root.signed.expires,
                "TUF root is in the second half of its lifetime: renew it with the root key");
        }
        let (Some(targets), Some(snapshot), Some(timestamp)) =
            (&state.targets, &state.snapshot, &state.timestamp)
        else {
            return Ok(SignedVersions::default());
        };

        let signed = if needs_signing(&targets.signed.expires, self.expiry.targets, now)?
            || !signed_by(targets, &self.keys.targets)
        {
            self.write_targets(&state, targets.signed.targets.clone(), now)?
        } else if needs_signing(&snapshot.signed.expires, self.expiry.snapshot, now)?
            || !signed_by(snapshot, &self.keys.snapshot)
        {
            let snapshot_version = self.write_snapshot(&state, targets.signed.version, now)?;
            let timestamp_version = self.write_timestamp(&state, snapshot_version, now)?;
            SignedVersions {
                targets: None,
                snapshot: Some(snapshot_version),
                timestamp: Some(timestamp_version),
            }
        } else if needs_signing(&timestamp.signed.expires, self.expiry.timestamp, now)?
            || !signed_by(timestamp, &self.keys.timestamp)
        {
            let timestamp_version = self.write_timestamp(&state, snapshot.signed.version, now)?;
            SignedVersions {
                timestamp: Some(timestamp_version),
                ..SignedVersions::default()
            }
        } else {
            SignedVersions::default()
        };
        if !signed.is_empty() {
            tracing::info!(
                targets_version = signed.targets,
                snapshot_version = signed.snapshot,
                timestamp_version = signed.timestamp,
                "re-signed TUF metadata"
            );
        }
        Ok(signed)
    }

    /// Signs a new root version with the root key, listing the current key files and a new
    /// expiry. Use it to extend the root's lifetime or after replacing an online key file; it
    /// does not rotate the root key itself. Returns the new root version.
    pub fn renew_root(
        data_dir: &Path,
        password: &KeyPassword,
        config: &TufConfig,
        clock: &dyn Clock,
    ) -> Result<u64, TufError> {
        let root_signer = load_signer(data_dir, ROOT_KEY_PATH, password)?;
        let online = OnlineKeys::load(data_dir, password)?;
        let (current_version, current) = latest_root(&data_dir.join(TUF_DIR))?;
        if !role_accepts(&current.signed, "root", &root_signer) {
            return Err(TufError::Key(format!(
                "{} is not the root key of root version {current_version}",
                data_dir.join(ROOT_KEY_PATH).display()
            )));
        }
        let version = current_version + 1;
        let root = root_metadata(
            version,
            &root_signer,
            &online,
            clock.now() + config.expiry().root,
        );
        let path = data_dir.join(TUF_DIR).join(format!("{version}.root.json"));
        write_json(&path, &root_signer.sign(root)?)?;
        tracing::info!(root_version = version, "signed a new TUF root version");
        Ok(version)
    }

    /// Returns the `expires` time of `timestamp.json`, or `None` before the first publish.
    pub fn timestamp_expires(&self) -> Result<Option<SystemTime>, TufError> {
        let path = self.tuf_dir().join(TIMESTAMP_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let timestamp: Envelope<MetaIndex> = read_json(&path)?;
        parse_expires(&timestamp.signed.expires).map(Some)
    }

    fn read_state(&self) -> Result<State, TufError> {
        let tuf_dir = self.tuf_dir();
        let (_, root) = latest_root(&tuf_dir)?;
        let timestamp_path = tuf_dir.join(TIMESTAMP_FILE);
        if !timestamp_path.exists() {
            return Ok(State {
                root,
                targets: None,
                snapshot: None,
                timestamp: None,
            });
        }
        let timestamp: Envelope<MetaIndex> = read_json(&timestamp_path)?;
        let snapshot_version = meta_version(&timestamp.signed, "snapshot.json")?;
        let snapshot: Envelope<MetaIndex> =
            read_json(&tuf_dir.join(format!("{snapshot_version}.snapshot.json")))?;
        let targets_version = meta_version(&snapshot.signed, "targets.json")?;
        let targets: Envelope<Targets> =
            read_json(&tuf_dir.join(format!("{targets_version}.targets.json")))?;
        Ok(State {
            root,
            targets: Some(targets),
            snapshot: Some(snapshot),
            timestamp: Some(timestamp),
        })
    }

    /// Writes a new targets version listing `entries`, then new snapshot and timestamp versions.
    fn write_targets(
        &self,
        state: &State,
        entries: BTreeMap<String, TargetFile>,
        now: SystemTime,
    ) -> Result<SignedVersions, TufError> {
        let version = state
            .targets
            .as_ref()
            .map_or(1, |targets| targets.signed.version + 1);
        let targets = Targets {
            kind: "targets".to_owned(),
            spec_version: SPEC_VERSION.to_owned(),
            version,
            expires: format_expires(now + self.expiry.targets),
            targets: entries,
        };
        let path = self.tuf_dir().join(format!("{version}.targets.json"));
        write_json(&path, &self.keys.targets.sign(targets)?)?;
        let snapshot_version = self.write_snapshot(state, version, now)?;
        let timestamp_version = self.write_timestamp(state, snapshot_version, now)?;
        Ok(SignedVersions {
            targets: Some(version),
            snapshot: Some(snapshot_version),
            timestamp: Some(timestamp_version),
        })
    }

    fn write_snapshot(
        &self,
        state: &State,
        targets_version: u64,
        now: SystemTime,
    ) -> Result<u64, TufError> {
        let version = state
            .snapshot
            .as_ref()
            .map_or(1, |snapshot| snapshot.signed.version + 1);
        let snapshot = MetaIndex {
            kind: "snapshot".to_owned(),
            spec_version: SPEC_VERSION.to_owned(),
            version,
            expires: format_expires(now + self.expiry.snapshot),
            meta: BTreeMap::from([(
                "targets.json".to_owned(),
                MetaFile {
                    version: targets_version,
                    length: None,
                    hashes: None,
                },
            )]),
        };
        let path = self.tuf_dir().join(format!("{version}.snapshot.json"));
        write_json(&path, &self.keys.snapshot.sign(snapshot)?)?;
        Ok(version)
    }

    fn write_timestamp(
        &self,
        state: &State,
        snapshot_version: u64,
        now: SystemTime,
    ) -> Result<u64, TufError> {
        let snapshot_path = self
            .tuf_dir()
            .join(format!("{snapshot_version}.snapshot.json"));
        let snapshot_bytes = read_file(&snapshot_path)?;
        let version = state
            .timestamp
            .as_ref()
            .map_or(1, |timestamp| timestamp.signed.version + 1);
        let timestamp = MetaIndex {
            kind: "timestamp".to_owned(),
            spec_version: SPEC_VERSION.to_owned(),
            version,
            expires: format_expires(now + self.expiry.timestamp),
            meta: BTreeMap::from([(
                "snapshot.json".to_owned(),
                MetaFile {
                    version: snapshot_version,
                    length: Some(snapshot_bytes.len() as u64),
                    hashes: Some(sha256_hashes(&snapshot_bytes)),
                },
            )]),
        };
        write_json(
            &self.tuf_dir().join(TIMESTAMP_FILE),
            &self.keys.timestamp.sign(timestamp)?,
        )?;
        Ok(version)
    }

    fn target_path(&self, name: &str, entry: &TargetFile) -> PathBuf {
        let hash = entry.hashes.get("sha256").map_or("", String::as_str);
        self.tuf_dir()
            .join("targets")
            .join(format!("{hash}.{name}"))
    }
}

/// Returns whether less than half of `lifetime` is left before `expires`.
fn needs_signing(expires: &str, lifetime: Duration, now: SystemTime) -> Result<bool, TufError> {
    let expires = parse_expires(expires)?;
    Ok(expires
        .duration_since(now)
        .map_or(true, |left| left < lifetime / 2))
}

fn signed_by<T>(envelope: &Envelope<T>, signer: &RoleSigner) -> bool {
    envelope
        .signatures
        .iter()
        .any(|signature| signature.keyid == signer.keyid())
}

fn role_accepts(root: &Root, role: &str, signer: &RoleSigner) -> bool {
    root.roles
        .get(role)
        .is_some_and(|keys| keys.keyids.iter().any(|keyid| keyid == signer.keyid()))
        && root.keys.get(signer.keyid()) == Some(signer.public_key())
}

fn meta_version(index: &MetaIndex, name: &str) -> Result<u64, TufError> {
    index
        .meta
        .get(name)
        .map(|meta| meta.version)
        .ok_or_else(|| {
            TufError::Metadata(format!(
                "{} version {} does not list {name}",
                index.kind, index.version
            ))
        })
}

/// Returns the newest root version in `tuf_dir` and its metadata.
fn latest_root(tuf_dir: &Path) -> Result<(u64, Envelope<Root>), TufError> {
    let mut version = 0;
    while tuf_dir.join(format!("{}.root.json", version + 1)).exists() {
        version += 1;
    }
    if version == 0 {
        return Err(TufError::Metadata(format!(
            "{} has no 1.root.json: run init_repository first",
            tuf_dir.display()
        )));
    }
    let root = read_json(&tuf_dir.join(format!("{version}.root.json")))?;
    Ok((version, root))
}

/// Accepts target names that are one path segment of letters, digits, `.`, `_` and `-`, so a
/// name can never leave `targets/` and the HTTP service can serve every published file.
fn check_target_name(name: &str) -> Result<(), TufError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte));
    if valid {
        Ok(())
    } else {
        Err(TufError::Metadata(format!(
            "target name {name:?} is invalid: use letters, digits, '.', '_' and '-', not starting with '.'"
        )))
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TufError> {
    std::fs::read(path).map_err(|source| TufError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, TufError> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|error| {
        TufError::Metadata(format!("{} is not valid metadata: {error}", path.display()))
    })
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), TufError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| {
        TufError::Internal(format!("failed to encode {}: {error}", path.display()))
    })?;
    bytes.push(b'\n');
    write_atomically(path, &bytes)
}

/// Writes `contents` beside `path` and renames it into place, creating parent directories.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), TufError> {
    let write_error = |source| TufError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{file_name}.tmp"));
    let mut file = std::fs::File::create(&temporary).map_err(write_error)?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(write_error)
}
