# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- Cross-verification matrix ------------------------------------------------------------------
# Every bundle that a client produces is checked by every verifier that reads its format. A
# producer is a fixture that writes one bundle and records, in $FIXTURES/bundles/NAME.env:
#   BUNDLE, ARTIFACT   the bundle and the artifact it signs (for DSSE, the statement's subject)
#   IDENTITY           the signer's email
#   KIND               message (a message signature) or dsse (an in-toto statement in DSSE)
#   PREDICATE_TYPE     the in-toto predicate type, for DSSE bundles
# A verifier is a function `verify_with_<name> NAME` that reads that record and must accept the
# bundle. The matrix in docs/interop.md is built from the cases that register_cross adds.

declare -a CROSS_PRODUCERS=() CROSS_VERIFIERS=()
declare -A CROSS_PRODUCER_CLIENTS=() CROSS_PRODUCER_LABELS=() CROSS_CASE_INDEX=()

record_bundle() { # NAME BUNDLE ARTIFACT IDENTITY KIND [PREDICATE_TYPE]
  mkdir -p "$FIXTURES/bundles"
  printf 'BUNDLE=%q\nARTIFACT=%q\nIDENTITY=%q\nKIND=%q\nPREDICATE_TYPE=%q\n' \
    "$2" "$3" "$4" "$5" "${6:-}" >"$FIXTURES/bundles/$1.env"
}

# Produce the bundle of producer NAME (once) and load its record into the case's shell.
load_bundle() { # NAME
  [[ -s $FIXTURES/bundles/$1.env ]] || "produce_${1//-/_}"
  [[ -s $FIXTURES/bundles/$1.env ]] || fail "producer $1 recorded no bundle"
  # shellcheck disable=SC1090 # the record is written by record_bundle above
  source "$FIXTURES/bundles/$1.env"
}

# Cells where the verifying client itself cannot check the bundle, whatever the stack does. Each
# records the client's own error (an extended regex over its output) and the reason. The case
# passes as "client limitation" only when the client fails with exactly that error.
declare -A CLIENT_LIMITATION_ERRORS=() CLIENT_LIMITATION_REASONS=()
# Exit status of a case that ended on its recorded client limitation.
LIMITATION_STATUS=3

register_client_limitation() { # VERIFIER PRODUCER ERROR_REGEX REASON
  CLIENT_LIMITATION_ERRORS[$1/$2]=$3
  CLIENT_LIMITATION_REASONS[$1/$2]=$4
}

cross_verify() { # VERIFIER PRODUCER
  load_bundle "$2"
  echo "bundle: $BUNDLE ($KIND${PREDICATE_TYPE:+, $PREDICATE_TYPE}), artifact: $ARTIFACT, identity: $IDENTITY"
  local limitation=${CLIENT_LIMITATION_ERRORS[$1/$2]:-}
  if [[ -z $limitation ]]; then
    "verify_with_${1//-/_}"
    return
  fi
  if ("verify_with_${1//-/_}"); then
    echo "NOTE: verified, although a client limitation is recorded for this cell; remove it"
    return 0
  fi
  grep -qE -- "$limitation" "$OUTPUT" || fail "failed, but not with the recorded client error: $limitation"
  echo "CLIENT LIMITATION: ${CLIENT_LIMITATION_REASONS[$1/$2]}"
  exit "$LIMITATION_STATUS"
}

# Register one producer (a row of the matrix) with the client whose version the row names.
register_producer() { # NAME CLIENT LABEL
  CROSS_PRODUCERS+=("$1")
  CROSS_PRODUCER_CLIENTS[$1]=$2
  CROSS_PRODUCER_LABELS[$1]="$3 ($2)"
}

# Add one case per producer for VERIFIER (a column of the matrix), under the verifier's client.
register_verifier() { # VERIFIER CLIENT
  local verifier=$1 client=$2 producer
  CROSS_VERIFIERS+=("$verifier")
  for producer in "${CROSS_PRODUCERS[@]}"; do
    CROSS_CASE_INDEX[$verifier/$producer]=${#CASE_NAMES[@]}
    CASE_ALSO_NEEDS[${#CASE_NAMES[@]}]=${CROSS_PRODUCER_CLIENTS[$producer]}
    register_case "$client" "verify-$producer" "cross_verify $verifier $producer" \
      "$verifier verifies the bundle of ${CROSS_PRODUCER_LABELS[$producer]}"
  done
}

TRUSTED_ROOT_REL=data/trust/trusted_root.json

# Producers --------------------------------------------------------------------------------------

produce_cosign_v3_blob() {
  fixture_cosign_bundle
  record_bundle cosign-v3-blob "$FIXTURES/cosign-blob.sigstore.json" "$FIXTURES/cosign-blob.txt" \
    erin@example.com message
}

produce_cosign_v3_attest_blob() {
  fixture_predicate
  printf 'attested by cosign v3\n' >"$FIXTURES/cosign-v3-attested.txt"
  token_file erin@example.com "$FIXTURES/erin.token"
  must_run cosign_v3 attest-blob --yes --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --trusted-root "$WORK_DIR/$TRUSTED_ROOT_REL" --identity-token "$FIXTURES/erin.token" \
    --type slsaprovenance1 --predicate "$FIXTURES/provenance.json" \
    --bundle "$FIXTURES/cosign-v3-attested.sigstore.json" "$FIXTURES/cosign-v3-attested.txt"
  record_bundle cosign-v3-attest-blob "$FIXTURES/cosign-v3-attested.sigstore.json" \
    "$FIXTURES/cosign-v3-attested.txt" erin@example.com dsse https://slsa.dev/provenance/v1
}

produce_cosign_v2_blob() {
  fixture_cosign_v2_initialized
  printf 'signed by cosign v2 for the matrix\n' >"$FIXTURES/cosign-v2-matrix.txt"
  token_file gina@example.com "$FIXTURES/gina.token"
  must_run cosign_v2 sign-blob --yes --new-bundle-format "${COSIGN_V2_SIGNING_FLAGS[@]}" \
    --identity-token "$FIXTURES/gina.token" --bundle "$FIXTURES/cosign-v2-matrix.sigstore.json" \
    "$FIXTURES/cosign-v2-matrix.txt"
  record_bundle cosign-v2-blob "$FIXTURES/cosign-v2-matrix.sigstore.json" \
    "$FIXTURES/cosign-v2-matrix.txt" gina@example.com message
}

produce_sigstore_python_sign() {
  fixture_python_bundle
  record_bundle sigstore-python-sign "$FIXTURES/py-artifact.txt.sigstore.json" \
    "$FIXTURES/py-artifact.txt" alice@example.com message
}

produce_sigstore_python_attest() {
  fixture_predicate
  printf 'attested by sigstore-python for the matrix\n' >"$FIXTURES/py-matrix-attested.txt"
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" attest \
    --predicate-type https://slsa.dev/provenance/v1 --predicate "$FIXTURES/provenance.json" \
    --identity-token "$(identity_token dave@example.com)" "$FIXTURES/py-matrix-attested.txt"
  record_bundle sigstore-python-attest "$FIXTURES/py-matrix-attested.txt.sigstore.json" \
    "$FIXTURES/py-matrix-attested.txt" dave@example.com dsse https://slsa.dev/provenance/v1
}

# @sigstore/cli attest writes an intoto entry; the statement's subject is js-subject.txt.
# An in-toto Statement v1 with the SLSA predicate and one subject, the artifact SUBJECT.
write_statement() { # SUBJECT OUTPUT
  fixture_predicate
  printf '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"%s","digest":{"sha256":"%s"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":%s}\n' \
    "$(basename "$1")" "$(sha256sum "$1" | cut -d' ' -f1)" "$(cat "$FIXTURES/provenance.json")" >"$2"
}

produce_sigstore_js_cli_attest() {
  printf 'attested by the sigstore-js CLI\n' >"$FIXTURES/js-subject.txt"
  write_statement "$FIXTURES/js-subject.txt" "$FIXTURES/js-subject.statement.json"
  must_run env CI=true SIGSTORE_ID_TOKEN="$(identity_token carol@example.com)" HOME="$WORK_DIR/js-home" \
    timeout "$COMMAND_TIMEOUT" "$SIGSTORE_JS" attest "$FIXTURES/js-subject.statement.json" \
    --fulcio-url http://127.0.0.1:5555 --rekor-url "$TLOG_URL" --tsa-server-url "$TSA_URL" \
    -o "$FIXTURES/js-subject.sigstore.json"
  record_bundle sigstore-js-cli-attest "$FIXTURES/js-subject.sigstore.json" "$FIXTURES/js-subject.txt" \
    carol@example.com dsse https://slsa.dev/provenance/v1
}

produce_sigstore_js_lib_sign() {
  printf 'signed by the sigstore-js library\n' >"$FIXTURES/js-lib.txt"
  token_file carol@example.com "$FIXTURES/carol.token"
  must_run sigstore_js_lib sign --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --identity-token-file "$FIXTURES/carol.token" --artifact "$FIXTURES/js-lib.txt" \
    --bundle "$FIXTURES/js-lib.sigstore.json"
  record_bundle sigstore-js-lib-sign "$FIXTURES/js-lib.sigstore.json" "$FIXTURES/js-lib.txt" \
    carol@example.com message
}

produce_sigstore_js_lib_attest() {
  printf 'attested by the sigstore-js library\n' >"$FIXTURES/js-lib-subject.txt"
  write_statement "$FIXTURES/js-lib-subject.txt" "$FIXTURES/js-lib.statement.json"
  token_file carol@example.com "$FIXTURES/carol.token"
  must_run sigstore_js_lib attest --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --identity-token-file "$FIXTURES/carol.token" --statement "$FIXTURES/js-lib.statement.json" \
    --bundle "$FIXTURES/js-lib-attested.sigstore.json"
  record_bundle sigstore-js-lib-attest "$FIXTURES/js-lib-attested.sigstore.json" \
    "$FIXTURES/js-lib-subject.txt" carol@example.com dsse https://slsa.dev/provenance/v1
}

# Verifiers ----------------------------------------------------------------------------------------

# cosign v2 and v3 take the same verification flags; v2 reads bundles only with
# --new-bundle-format, which v3 always does.
verify_with_cosign() { # COSIGN_FUNCTION [EXTRA_FLAG ...]
  local cosign=$1
  shift
  local flags=("$@" --trusted-root "$WORK_DIR/$TRUSTED_ROOT_REL" --bundle "$BUNDLE"
    --certificate-identity "$IDENTITY" --certificate-oidc-issuer "$IDP_ISSUER")
  if [[ $KIND == dsse ]]; then
    must_run "$cosign" verify-blob-attestation "${flags[@]}" --type "$PREDICATE_TYPE" "$ARTIFACT"
  else
    must_run "$cosign" verify-blob "${flags[@]}" "$ARTIFACT"
  fi
  must_match 'Verified OK' "Verified OK"
}

verify_with_cosign_v3() {
  verify_with_cosign cosign_v3
}

verify_with_cosign_v2() {
  verify_with_cosign cosign_v2 --new-bundle-format
}

verify_with_sigstore_python() {
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" verify identity \
    --bundle "$BUNDLE" --cert-identity "$IDENTITY" --cert-oidc-issuer "$IDP_ISSUER" "$ARTIFACT"
  must_match '^OK: ' "OK"
}

verify_with_sigstore_js() {
  must_run sigstore_js_lib verify --bundle "$BUNDLE" --artifact "$ARTIFACT" \
    --tuf-mirror-url "$TUF_URL" --tuf-root-path "$WORK_DIR/data/trust/root.json" \
    --tuf-cache-path "$WORK_DIR/js-lib-tuf" --certificate-identity-email "$IDENTITY" \
    --certificate-issuer "$IDP_ISSUER"
  must_match 'Verification succeeded' "Verification succeeded"
}

verify_with_sigstore_go() {
  must_run timeout "$COMMAND_TIMEOUT" "$SIGSTORE_GO_VERIFIER" --trusted-root "$WORK_DIR/$TRUSTED_ROOT_REL" \
    --bundle "$BUNDLE" --artifact "$ARTIFACT" --certificate-identity "$IDENTITY" \
    --certificate-oidc-issuer "$IDP_ISSUER"
  must_match '^OK: ' "OK"
}

case_sigstore_js_lib_kinds() {
  load_bundle sigstore-js-lib-sign
  [[ $(json_value "$BUNDLE" "doc['verificationMaterial']['tlogEntries'][0]['kindVersion']['kind']") == hashedrekord ]] ||
    fail "the library's sign did not write a hashedrekord entry"
  load_bundle sigstore-js-lib-attest
  [[ $(json_value "$BUNDLE" "doc['verificationMaterial']['tlogEntries'][0]['kindVersion']['kind']") == dsse ]] ||
    fail "the library's attest did not write a dsse entry"
}

register_client sigstore-go install_sigstore_go
register_case sigstore-js library-entry-kinds case_sigstore_js_lib_kinds \
  "the sigstore library's sign and attest through the signing config write hashedrekord and dsse entries"

register_producer cosign-v3-blob cosign-v3 "cosign v3 sign-blob"
register_producer cosign-v3-attest-blob cosign-v3 "cosign v3 attest-blob"
register_producer cosign-v2-blob cosign-v2 "cosign v2 sign-blob"
register_producer sigstore-python-sign sigstore-python "sigstore-python sign"
register_producer sigstore-python-attest sigstore-python "sigstore-python attest"
register_producer sigstore-js-cli-attest sigstore-js "@sigstore/cli attest"
register_producer sigstore-js-lib-sign sigstore-js "sigstore-js library sign"
register_producer sigstore-js-lib-attest sigstore-js "sigstore-js library attest"
register_client_limitation sigstore-python cosign-v3-attest-blob \
  "Input should be 'https://in-toto.io/Statement/v1'" \
  "cosign attest-blob signs an in-toto Statement v0.1, and sigstore-python reads only Statement v1."
register_client_limitation sigstore-python sigstore-js-cli-attest \
  'Integrated time only supported for dsse/hashedrekord 0.0.1 types' \
  "@sigstore/cli attest writes an intoto 0.0.2 log entry, and sigstore-python refuses the integrated time of any entry kind other than dsse and hashedrekord 0.0.1."
register_verifier cosign-v3 cosign-v3
register_verifier cosign-v2 cosign-v2
register_verifier sigstore-python sigstore-python
register_verifier sigstore-js sigstore-js
register_verifier sigstore-go sigstore-go
