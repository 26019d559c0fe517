# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- cosign v3 ----------------------------------------------------------------------------------

COSIGN_V3_VERSION=v3.1.3

install_cosign_v3() {
  COSIGN_V3="$CACHE_DIR/go/bin/cosign"
  if ! { [[ -x $COSIGN_V3 ]] && "$COSIGN_V3" version 2>/dev/null | grep -qE "^GitVersion: +$COSIGN_V3_VERSION\$"; }; then
    go_install "$CACHE_DIR/go/bin" "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_V3_VERSION" || return 1
  fi
  install_crane || return 1
  CLIENT_VERSIONS[cosign-v3]=$COSIGN_V3_VERSION
}

cosign_v3() {
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/cosign-home" "$COSIGN_V3" "$@"
}

# cosign reads --identity-token as a file when given a path; the file must not end in a newline,
# because cosign sends its contents verbatim in the Authorization header.
token_file() { # EMAIL FILE
  printf '%s' "$(identity_token "$1")" >"$2"
}

fixture_cosign_bundle() {
  [[ -s $FIXTURES/cosign-blob.sigstore.json ]] && return 0
  printf 'signed by cosign v3\n' >"$FIXTURES/cosign-blob.txt"
  token_file erin@example.com "$FIXTURES/erin.token"
  must_run cosign_v3 sign-blob --yes --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --trusted-root "$WORK_DIR/data/trust/trusted_root.json" --identity-token "$FIXTURES/erin.token" \
    --bundle "$FIXTURES/cosign-blob.sigstore.json" "$FIXTURES/cosign-blob.txt"
}

case_cosign_v3_sign_verify() {
  fixture_cosign_bundle
  must_run cosign_v3 verify-blob --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --bundle "$FIXTURES/cosign-blob.sigstore.json" --certificate-identity erin@example.com \
    --certificate-oidc-issuer "$IDP_ISSUER" "$FIXTURES/cosign-blob.txt"
  must_match 'Verified OK' "Verified OK"
}

case_cosign_v3_wrong_identity() {
  fixture_cosign_bundle
  must_fail cosign_v3 verify-blob --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --bundle "$FIXTURES/cosign-blob.sigstore.json" --certificate-identity mallory@example.com \
    --certificate-oidc-issuer "$IDP_ISSUER" "$FIXTURES/cosign-blob.txt"
}

register_client cosign-v3 install_cosign_v3
register_case cosign-v3 sign-verify-blob case_cosign_v3_sign_verify \
  "sign-blob with --signing-config, verify-blob with --trusted-root"
register_case cosign-v3 wrong-identity case_cosign_v3_wrong_identity \
  "verify-blob with another identity fails"

# --- cosign v2 ----------------------------------------------------------------------------------

COSIGN_V2_VERSION=v2.6.5

install_cosign_v2() {
  # A directory of its own, because cosign v3 installs a binary of the same name.
  COSIGN_V2="$CACHE_DIR/go/bin-v2/cosign"
  if ! { [[ -x $COSIGN_V2 ]] && "$COSIGN_V2" version 2>/dev/null | grep -qE "^GitVersion: +$COSIGN_V2_VERSION\$"; }; then
    go_install "$CACHE_DIR/go/bin-v2" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_V2_VERSION" || return 1
  fi
  install_crane || return 1
  CLIENT_VERSIONS[cosign-v2]=$COSIGN_V2_VERSION
}

# cosign v2 with its TUF cache (from `cosign initialize`) under the work directory.
cosign_v2() {
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/cosign-v2-home" "$COSIGN_V2" "$@"
}

# The public keys and chains that `sigstack trust export` writes, for the file-based trust mode.
fixture_trust_export() {
  [[ -s $FIXTURES/export/sigstack-trust/keys/rekor.pub ]] && return 0
  must_run "$SIGSTACK_BIN" trust export --dir "$WORK_DIR/data" --out "$FIXTURES/trust.tar.gz"
  mkdir -p "$FIXTURES/export" && tar -xzf "$FIXTURES/trust.tar.gz" -C "$FIXTURES/export" ||
    fail "could not unpack the trust export"
}

case_cosign_v2_tuf() {
  fixture_cosign_v2_initialized
  printf 'signed by cosign v2\n' >"$FIXTURES/cosign-v2.txt"
  token_file gina@example.com "$FIXTURES/gina.token"
  must_run cosign_v2 sign-blob --yes --new-bundle-format --fulcio-url http://127.0.0.1:5555 \
    --rekor-url "$TLOG_URL" --timestamp-server-url "$TSA_URL/api/v1/timestamp" \
    --identity-token "$FIXTURES/gina.token" --bundle "$FIXTURES/cosign-v2.bundle" "$FIXTURES/cosign-v2.txt"
  must_run cosign_v2 verify-blob --new-bundle-format --bundle "$FIXTURES/cosign-v2.bundle" \
    --certificate-identity gina@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$FIXTURES/cosign-v2.txt"
  must_match 'Verified OK' "Verified OK"
  must_fail cosign_v2 verify-blob --new-bundle-format --bundle "$FIXTURES/cosign-v2.bundle" \
    --certificate-identity mallory@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$FIXTURES/cosign-v2.txt"
}

case_cosign_v2_trust_files() {
  fixture_trust_export
  local keys="$FIXTURES/export/sigstack-trust/keys"
  printf 'signed by cosign v2 with trust files\n' >"$FIXTURES/cosign-v2-files.txt"
  token_file gina@example.com "$FIXTURES/gina.token"
  must_run env HOME="$WORK_DIR/cosign-v2-files-home" SIGSTORE_ROOT_FILE="$keys/fulcio-chain.pem" \
    SIGSTORE_REKOR_PUBLIC_KEY="$keys/rekor.pub" SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$keys/ctfe.pub" \
    SIGSTORE_TSA_CERTIFICATE_FILE="$keys/tsa-chain.pem" timeout "$COMMAND_TIMEOUT" "$COSIGN_V2" sign-blob --yes \
    --fulcio-url http://127.0.0.1:5555 --rekor-url "$TLOG_URL" --identity-token "$FIXTURES/gina.token" \
    --bundle "$FIXTURES/cosign-v2-files.bundle" "$FIXTURES/cosign-v2-files.txt"
  must_run env HOME="$WORK_DIR/cosign-v2-files-home" SIGSTORE_ROOT_FILE="$keys/fulcio-chain.pem" \
    SIGSTORE_REKOR_PUBLIC_KEY="$keys/rekor.pub" SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$keys/ctfe.pub" \
    timeout "$COMMAND_TIMEOUT" "$COSIGN_V2" verify-blob --bundle "$FIXTURES/cosign-v2-files.bundle" \
    --certificate-identity gina@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$FIXTURES/cosign-v2-files.txt"
  must_match 'Verified OK' "Verified OK"
}

register_client cosign-v2 install_cosign_v2
register_case cosign-v2 tuf-sign-verify-blob case_cosign_v2_tuf \
  "initialize from the TUF repository, sign-blob with the TSA, verify-blob (and another identity fails)"
register_case cosign-v2 trust-files case_cosign_v2_trust_files \
  "sign-blob and verify-blob with SIGSTORE_ROOT_FILE and the other trust files from trust export"
