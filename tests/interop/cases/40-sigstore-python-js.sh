# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- sigstore-python and sigstore-js -----------------------------------------------------------

SIGSTORE_PYTHON_VERSION=4.5.1
# The newest @sigstore/cli, 0.10.3, needs Node.js 22. 0.8.1 is the newest that runs on Node.js 20.
SIGSTORE_JS_CLI_VERSION=0.8.1
# Issuer of the development identity provider that `sigstack up` runs.
IDP_ISSUER=http://127.0.0.1:5556
TUF_URL=http://127.0.0.1:8080

install_sigstore_python() {
  local venv="$CACHE_DIR/venv"
  if ! "$venv/bin/sigstore" --version 2>/dev/null | grep -q "$SIGSTORE_PYTHON_VERSION"; then
    echo "Installing sigstore $SIGSTORE_PYTHON_VERSION into $venv"
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv" || return 1
    "$venv/bin/pip" install --quiet "sigstore==$SIGSTORE_PYTHON_VERSION" cryptography pytest || return 1
  fi
  SIGSTORE_PY="$venv/bin/sigstore"
  CLIENT_VERSIONS[sigstore-python]=$SIGSTORE_PYTHON_VERSION
}

install_sigstore_js() {
  local prefix="$CACHE_DIR/npm"
  SIGSTORE_JS="$prefix/node_modules/.bin/sigstore"
  if ! grep -q "\"version\": \"$SIGSTORE_JS_CLI_VERSION\"" "$prefix/node_modules/@sigstore/cli/package.json" 2>/dev/null; then
    echo "Installing @sigstore/cli $SIGSTORE_JS_CLI_VERSION into $prefix"
    mkdir -p "$prefix" && (cd "$prefix" && npm install --no-audit --no-fund --silent "@sigstore/cli@$SIGSTORE_JS_CLI_VERSION") || return 1
  fi
  install_sigstore_js_lib || return 1
  CLIENT_VERSIONS[sigstore-js]="@sigstore/cli $SIGSTORE_JS_CLI_VERSION, sigstore $SIGSTORE_JS_LIB_VERSION"
}

# An identity token from the stack's identity provider.
identity_token() { # EMAIL
  "$SIGSTACK_BIN" token --dir "$WORK_DIR/data" --subject "$1" 2>/dev/null | tail -n 1
}

# sigstore-python with its caches under the work directory.
# COLUMNS keeps rich from wrapping sigstore-python's messages, so each error stays on one line.
sigstore_py() {
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/python-home" COLUMNS=400 "$SIGSTORE_PY" "$@"
}

sigstore_js() {
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/js-home" "$SIGSTORE_JS" "$@"
}

# Runs a command that must fail; the case fails if it succeeds.
must_fail() {
  echo "\$ $* (must fail)"
  if "$@" >"$OUTPUT" 2>&1; then
    sed 's/^/  | /' "$OUTPUT"
    fail "succeeded but must fail: $1"
  fi
  sed 's/^/  | /' "$OUTPUT"
}

# A file signed by alice@example.com with sigstore-python through --trust-config.
fixture_python_bundle() {
  [[ -s $FIXTURES/py-artifact.txt.sigstore.json ]] && return 0
  printf 'signed by sigstore-python\n' >"$FIXTURES/py-artifact.txt"
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" sign \
    --identity-token "$(identity_token alice@example.com)" "$FIXTURES/py-artifact.txt"
}

case_sigstore_python_sign_trust_config() {
  fixture_python_bundle
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" verify identity \
    --cert-identity alice@example.com --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-artifact.txt"
  must_match '^OK: ' "OK"
}

case_sigstore_python_wrong_identity() {
  fixture_python_bundle
  must_fail sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" verify identity \
    --cert-identity mallory@example.com --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-artifact.txt"
}

case_sigstore_python_tuf() {
  must_run sigstore_py --instance "$TUF_URL" trust-instance "$WORK_DIR/data/trust/root.json"
  printf 'signed through the TUF repository\n' >"$FIXTURES/py-tuf.txt"
  must_run sigstore_py --instance "$TUF_URL" sign --identity-token "$(identity_token bob@example.com)" \
    "$FIXTURES/py-tuf.txt"
  must_run sigstore_py --instance "$TUF_URL" verify identity --cert-identity bob@example.com \
    --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-tuf.txt"
  must_match '^OK: ' "OK"
  fixture_predicate
  printf 'attested through the TUF repository\n' >"$FIXTURES/py-tuf-attested.txt"
  must_run sigstore_py --instance "$TUF_URL" attest --predicate-type https://slsa.dev/provenance/v1 \
    --predicate "$FIXTURES/provenance.json" --identity-token "$(identity_token bob@example.com)" \
    "$FIXTURES/py-tuf-attested.txt"
  must_run sigstore_py --instance "$TUF_URL" verify identity --cert-identity bob@example.com \
    --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-tuf-attested.txt"
  must_match '^OK: ' "OK"
}

case_sigstore_python_attest() {
  printf 'attested by sigstore-python\n' >"$FIXTURES/py-attested.txt"
  fixture_predicate
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" attest \
    --predicate-type https://slsa.dev/provenance/v1 --predicate "$FIXTURES/provenance.json" \
    --identity-token "$(identity_token dave@example.com)" "$FIXTURES/py-attested.txt"
  [[ $(json_value "$FIXTURES/py-attested.txt.sigstore.json" \
    "doc['verificationMaterial']['tlogEntries'][0]['kindVersion']['kind']") == dsse ]] ||
    fail "the bundle's log entry is not a dsse entry"
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" verify identity \
    --cert-identity dave@example.com --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-attested.txt"
  must_match '^OK: ' "OK"
}

case_sigstore_python_other_trust_root() {
  fixture_python_bundle
  must_run "$SIGSTACK_BIN" init --dir "$WORK_DIR/other-stack"
  must_fail sigstore_py --trust-config "$WORK_DIR/other-stack/trust/trust_config.json" verify identity \
    --cert-identity alice@example.com --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-artifact.txt"
}

case_sigstore_python_after_restart() {
  fixture_python_bundle
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" verify identity \
    --cert-identity alice@example.com --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-artifact.txt"
  must_run sigstore_py --instance "$TUF_URL" verify identity --cert-identity bob@example.com \
    --cert-oidc-issuer "$IDP_ISSUER" "$FIXTURES/py-tuf.txt"
  printf 'signed after the restart\n' >"$FIXTURES/py-restart.txt"
  must_run sigstore_py --trust-config "$WORK_DIR/data/trust/trust_config.json" sign \
    --identity-token "$(identity_token alice@example.com)" "$FIXTURES/py-restart.txt"
}

case_sigstore_js_attest() {
  cat >"$FIXTURES/js-statement.json" <<'JSON'
{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"artifact","digest":{"sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}}],"predicateType":"https://example.com/test/v1","predicate":{"ok":true}}
JSON
  must_run env CI=true SIGSTORE_ID_TOKEN="$(identity_token carol@example.com)" "$SIGSTORE_JS" attest \
    "$FIXTURES/js-statement.json" --fulcio-url http://127.0.0.1:5555 --rekor-url "$TLOG_URL" \
    --tsa-server-url "$TSA_URL" -o "$FIXTURES/js-bundle.json"
  [[ $(json_value "$FIXTURES/js-bundle.json" \
    "doc['verificationMaterial']['tlogEntries'][0]['kindVersion']['kind']") == intoto ]] ||
    fail "the bundle's log entry is not an intoto entry"
}

case_sigstore_js_verify_tuf() {
  [[ -s $FIXTURES/js-bundle.json ]] || fail "needs the bundle of sigstore-js/attest"
  must_run sigstore_js verify "$FIXTURES/js-bundle.json" --tuf-mirror-url "$TUF_URL" \
    --tuf-root-path "$WORK_DIR/data/trust/root.json" --tuf-cache-path "$WORK_DIR/js-tuf" \
    --certificate-identity-email carol@example.com --certificate-issuer "$IDP_ISSUER"
  must_match 'Verification succeeded' "Verification succeeded"
}

case_sigstore_js_after_restart() {
  [[ -s $FIXTURES/js-bundle.json ]] || fail "needs the bundle of sigstore-js/attest"
  must_run sigstore_js verify "$FIXTURES/js-bundle.json" --tuf-mirror-url "$TUF_URL" \
    --tuf-root-path "$WORK_DIR/data/trust/root.json" --tuf-cache-path "$WORK_DIR/js-tuf-restart" \
    --certificate-identity-email carol@example.com --certificate-issuer "$IDP_ISSUER"
  must_match 'Verification succeeded' "Verification succeeded"
}

register_client sigstore-python install_sigstore_python
register_client sigstore-js install_sigstore_js
register_case sigstore-python sign-trust-config case_sigstore_python_sign_trust_config \
  "sign and verify identity through --trust-config"
register_case sigstore-python wrong-identity case_sigstore_python_wrong_identity \
  "verification with another identity fails"
register_case sigstore-python tuf case_sigstore_python_tuf \
  "trust-instance, then sign, attest and verify through the TUF repository (--instance)"
register_case sigstore-python attest case_sigstore_python_attest \
  "attest a SLSA predicate (dsse entry) and verify it"
register_case sigstore-python other-trust-root case_sigstore_python_other_trust_root \
  "a bundle does not verify with another stack's trust root"
register_case sigstore-js attest case_sigstore_js_attest \
  "@sigstore/cli attest with URL flags (intoto entry)"
register_case sigstore-js verify-tuf case_sigstore_js_verify_tuf \
  "@sigstore/cli verify through the TUF repository"
