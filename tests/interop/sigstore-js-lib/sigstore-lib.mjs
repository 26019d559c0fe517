// Drives the `sigstore` npm library (not @sigstore/cli) for tests/interop/run.
//
//   node sigstore-lib.mjs sign   --signing-config FILE --identity-token-file FILE --artifact FILE --bundle OUT
//   node sigstore-lib.mjs attest --signing-config FILE --identity-token-file FILE --statement FILE --bundle OUT
//   node sigstore-lib.mjs verify --bundle FILE [--artifact FILE] --tuf-mirror-url URL --tuf-root-path FILE
//                                [--tuf-cache-path DIR] --certificate-identity-email EMAIL --certificate-issuer URL
//
// sign and attest choose the CA, Rekor and TSA from a signing config (v0.2) because the top-level
// `sigstore` package (4.1.1) takes service URLs only, not a signing config. Its dependency
// @sigstore/sign 4.1.1 has bundleBuilderFromSigningConfig(), but that picks services whose
// validFor.start is still in the future and accepts Rekor v2, so it is not used here. verify fetches
// the trusted root through the TUF repository. Every failure prints a message and exits with status 1.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as sigstore from 'sigstore';

const SIGNING_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.signingconfig.v0.2+json';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

// Major API versions that sigstore 4.1.1's sign() and attest() support: the CA's /api/v2/signingCert
// (majorApiVersion 1 in signing configs, as in @sigstore/sign 4.1.1), Rekor's /api/v1/log/entries
// and the TSA's RFC 3161 endpoint. sigstore.sign() has no option for Rekor v2.
const SUPPORTED_API_VERSIONS = { caUrls: [1], rekorTlogUrls: [1], tsaUrls: [1] };

// Thrown for problems with the command line or the input files, so that main() prints the message
// alone instead of a stack trace.
class UsageError extends Error {}

// Thrown when the artifact given to verify is not a subject of the attested in-toto statement.
class SubjectMismatchError extends Error {
  name = 'SubjectMismatchError';
}

function readText(path, description) {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${description} ${path}: ${error.message}`);
  }
}

function readJSON(path, description) {
  const text = readText(path, description);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${description} ${path} is not valid JSON: ${error.message}`);
  }
}

function readBytes(path, description) {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`cannot read ${description} ${path}: ${error.message}`);
  }
}

function requireOptions(values, names) {
  const missing = names.filter((name) => values[name] === undefined);
  if (missing.length > 0) {
    throw new UsageError(`missing option(s): ${missing.map((name) => `--${name}`).join(', ')}`);
  }
}

// Parses a validFor timestamp (RFC 3339, as protobuf JSON writes google.protobuf.Timestamp).
function parseTime(value, where) {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) {
    throw new UsageError(`${where}: invalid timestamp ${JSON.stringify(value)}`);
  }
  return time;
}

// Returns the services of one signing config list that this program can use now, best first, by
// the v0.2 rule in protobuf-specs: a supported majorApiVersion, validFor containing now (both ends
// inclusive), then the highest API version and the newest validFor.start. Ties keep list order,
// because the spec says a config SHOULD list services newest first. An entry without a start is
// treated as started.
function usableServices(config, field, now) {
  const services = config[field] ?? [];
  if (!Array.isArray(services)) {
    throw new UsageError(`signing config: ${field} is not a list`);
  }
  const supported = SUPPORTED_API_VERSIONS[field];
  const candidates = services
    .map((service, index) => {
      const where = `signing config ${field}[${index}]`;
      if (typeof service.url !== 'string' || service.url === '') {
        throw new UsageError(`${where}: url is missing`);
      }
      const start = service.validFor?.start ? parseTime(service.validFor.start, where) : new Date(0);
      const end = service.validFor?.end ? parseTime(service.validFor.end, where) : undefined;
      return { ...service, index, start, end };
    })
    .filter(
      (service) =>
        supported.includes(service.majorApiVersion) &&
        service.start <= now &&
        (service.end === undefined || now <= service.end)
    );
  if (services.length > 0 && candidates.length === 0) {
    const listed = services
      .map((service) => `${service.url} (majorApiVersion ${service.majorApiVersion}, validFor ${JSON.stringify(service.validFor)})`)
      .join('; ');
    throw new UsageError(
      `signing config: no entry in ${field} is valid at ${now.toISOString()} with majorApiVersion ` +
        `${supported.join(' or ')}. Listed: ${listed}`
    );
  }
  return candidates.sort(
    (a, b) => b.majorApiVersion - a.majorApiVersion || b.start - a.start || a.index - b.index
  );
}

// Selects the Rekor log or TSA for signing under the list's ServiceConfiguration (rekorTlogConfig or
// tsaConfig). The spec counts services per operator, and ALL or EXACT may ask for several of
// them, but sigstore.sign() and sigstore.attest() take one URL each. So a config that needs more
// than one service is rejected instead of being met in part. A missing configuration counts as ANY.
// Returns undefined when the list is empty.
function selectWithConfiguration(config, listField, configField, now) {
  const candidates = usableServices(config, listField, now);
  if (candidates.length === 0) {
    return undefined;
  }
  // The best service of each operator, in the order of the best service overall.
  const operators = new Map();
  for (const service of candidates) {
    if (!operators.has(service.operator)) {
      operators.set(service.operator, service);
    }
  }
  const selector = config[configField]?.selector ?? 'ANY';
  const required = { ANY: 1, ALL: operators.size, EXACT: config[configField]?.count }[selector];
  if (!Number.isInteger(required) || required < 1) {
    throw new UsageError(
      `signing config: ${configField} has selector ${JSON.stringify(selector)} and count ` +
        `${JSON.stringify(config[configField]?.count)}, expected ANY, ALL, or EXACT with a count of 1 or more`
    );
  }
  if (required > operators.size) {
    throw new UsageError(
      `signing config: ${configField} requires ${required} services from distinct operators, ` +
        `but ${listField} has ${operators.size} usable now`
    );
  }
  if (required > 1) {
    throw new UsageError(
      `signing config: ${configField} requires ${required} services (selector ${selector}), ` +
        'but the sigstore library signs with one'
    );
  }
  return operators.values().next().value;
}

// Removes trailing slashes, because the library appends paths such as /api/v1/log/entries to the
// Fulcio, Rekor and TUF base URLs.
function baseURL(url) {
  return url.replace(/\/+$/, '');
}

// Reads the signing config and returns the sigstore.sign() options for the selected services.
function signOptionsFromConfig(path, identityToken) {
  const config = readJSON(path, 'signing config');
  if (config.mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
    throw new UsageError(
      `signing config ${path}: mediaType is ${JSON.stringify(config.mediaType)}, expected ${SIGNING_CONFIG_MEDIA_TYPE}`
    );
  }

  const now = new Date();
  const ca = usableServices(config, 'caUrls', now)[0];
  const rekor = selectWithConfiguration(config, 'rekorTlogUrls', 'rekorTlogConfig', now);
  const tsa = selectWithConfiguration(config, 'tsaUrls', 'tsaConfig', now);
  if (ca === undefined) {
    throw new UsageError(`signing config ${path}: caUrls is empty`);
  }
  // sigstack always runs a transparency log, so an empty rekorTlogUrls points at a broken config
  // rather than a request to sign without a log. An empty tsaUrls means signing without a timestamp.
  if (rekor === undefined) {
    throw new UsageError(`signing config ${path}: rekorTlogUrls is empty`);
  }

  console.log(`CA: ${ca.url}`);
  console.log(`Rekor: ${rekor.url}`);
  console.log(`TSA: ${tsa ? tsa.url : 'none'}`);
  return {
    fulcioURL: baseURL(ca.url),
    rekorURL: baseURL(rekor.url),
    // The library sends requests to a TSA URL that has a path unchanged and appends /api/v1/timestamp
    // only to a bare host, so the full URL from the signing config is passed as it is.
    tsaServerURL: tsa?.url,
    identityToken,
    // false makes attest() upload a dsse entry. true would upload the older intoto entry, and
    // sign() uploads a hashedrekord entry either way.
    legacyCompatibility: false,
  };
}

function readIdentityToken(path) {
  const token = readText(path, 'identity token file').trim();
  if (token === '') {
    throw new UsageError(`identity token file ${path} is empty`);
  }
  return token;
}

function writeBundle(path, bundle) {
  writeFileSync(path, `${JSON.stringify(bundle, null, 2)}\n`);
  const entry = bundle.verificationMaterial?.tlogEntries?.[0];
  console.log(`Rekor entry: kind ${entry?.kindVersion?.kind}, log index ${entry?.logIndex}`);
  console.log(`Wrote bundle ${path}`);
}

async function signCommand(values) {
  requireOptions(values, ['signing-config', 'identity-token-file', 'artifact', 'bundle']);
  const options = signOptionsFromConfig(values['signing-config'], readIdentityToken(values['identity-token-file']));
  const artifact = readBytes(values.artifact, 'artifact');
  writeBundle(values.bundle, await sigstore.sign(artifact, options));
}

async function attestCommand(values) {
  requireOptions(values, ['signing-config', 'identity-token-file', 'statement', 'bundle']);
  const options = signOptionsFromConfig(values['signing-config'], readIdentityToken(values['identity-token-file']));
  // The statement is signed byte for byte as read. It is parsed only to reject a file that is not
  // an in-toto statement before a certificate and a log entry are spent on it.
  const statementBytes = readBytes(values.statement, 'statement');
  const statement = readJSON(values.statement, 'statement');
  if (typeof statement._type !== 'string' || !Array.isArray(statement.subject)) {
    throw new UsageError(`statement ${values.statement} has no _type and subject list, so it is not an in-toto statement`);
  }
  writeBundle(values.bundle, await sigstore.attest(statementBytes, IN_TOTO_PAYLOAD_TYPE, options));
}

// Checks that an in-toto statement in a DSSE bundle names the artifact among its subjects.
// sigstore.verify() ignores the artifact for DSSE bundles (4.1.1 verifies the envelope signature
// only), so without this check a modified artifact would still pass.
function checkStatementSubject(bundle, artifact) {
  const envelope = bundle.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new UsageError(`--artifact given, but the DSSE payload type is ${envelope.payloadType}, not an in-toto statement`);
  }
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
  const digest = createHash('sha256').update(artifact).digest('hex');
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((subject) => subject?.digest?.sha256?.toLowerCase() === digest)) {
    throw new SubjectMismatchError(`the artifact's sha256 digest ${digest} is not a subject of the signed in-toto statement`);
  }
}

async function verifyCommand(values) {
  requireOptions(values, ['bundle', 'tuf-mirror-url', 'tuf-root-path', 'certificate-identity-email', 'certificate-issuer']);
  const bundle = readJSON(values.bundle, 'bundle');
  const artifact = values.artifact === undefined ? undefined : readBytes(values.artifact, 'artifact');
  if (bundle.messageSignature && artifact === undefined) {
    throw new UsageError('the bundle signs an artifact directly (messageSignature), so verify needs --artifact');
  }
  const options = {
    tufMirrorURL: baseURL(values['tuf-mirror-url']),
    tufRootPath: values['tuf-root-path'],
    tufCachePath: values['tuf-cache-path'],
    certificateIdentityEmail: values['certificate-identity-email'],
    certificateIssuer: values['certificate-issuer'],
  };
  const signer =
    artifact === undefined ? await sigstore.verify(bundle, options) : await sigstore.verify(bundle, artifact, options);
  if (bundle.dsseEnvelope && artifact !== undefined) {
    checkStatementSubject(bundle, artifact);
  }
  console.log(`Signer: ${signer.identity?.subjectAlternativeName} (issuer ${signer.identity?.extensions?.issuer})`);
  console.log('Verification succeeded');
}

const COMMANDS = { sign: signCommand, attest: attestCommand, verify: verifyCommand };

const OPTIONS = Object.fromEntries(
  [
    'signing-config',
    'identity-token-file',
    'artifact',
    'statement',
    'bundle',
    'tuf-mirror-url',
    'tuf-root-path',
    'tuf-cache-path',
    'certificate-identity-email',
    'certificate-issuer',
  ].map((name) => [name, { type: 'string' }])
);

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!Object.hasOwn(COMMANDS, command ?? '')) {
    throw new UsageError(
      `unknown command ${JSON.stringify(command ?? '')}: expected sign, attest or verify (see the header of sigstore-lib.mjs)`
    );
  }
  let values;
  try {
    ({ values } = parseArgs({ args, options: OPTIONS, strict: true }));
  } catch (error) {
    throw new UsageError(error.message);
  }
  await COMMANDS[command](values);
}

try {
  await main();
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`error: ${error.message}`);
  } else {
    // Library errors (VerificationError, PolicyError, TUFError, InternalError) carry a code and,
    // for failed HTTP calls, a cause that names the request.
    const code = error.code ? ` [${error.code}]` : '';
    console.error(`error: ${error.name}${code}: ${error.message}`);
    for (let cause = error.cause; cause; cause = cause.cause) {
      console.error(`  caused by: ${cause.message ?? cause}`);
    }
  }
  process.exitCode = 1;
}
