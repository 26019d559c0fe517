# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- rekor-cli ---------------------------------------------------------------------------------

install_rekor_cli() {
  REKOR_CLI="$CACHE_DIR/go/bin/rekor-cli"
  if ! { [[ -x $REKOR_CLI ]] && "$REKOR_CLI" version 2>/dev/null | grep -qE "^GitVersion: +$REKOR_CLI_VERSION\$"; }; then
    go_install "$CACHE_DIR/go/bin" "github.com/sigstore/rekor/cmd/rekor-cli@$REKOR_CLI_VERSION" || return 1
  fi
  CLIENT_VERSIONS[rekor-cli]=$REKOR_CLI_VERSION
}

case_rekor_cli_upload() {
  fixture_key_entry
  [[ -e $FIXTURES/artifact.created ]] ||
    fail "no rekor-cli upload of the entry succeeded; an earlier case's log shows why"
  echo "entry $(cat "$FIXTURES/artifact.entry-id") at index $(cat "$FIXTURES/artifact.index")"
}

case_rekor_cli_upload_duplicate() {
  fixture_key_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  must_run rekor_cli upload --type hashedrekord --pki-format x509 \
    --artifact "$FIXTURES/artifact.txt" --signature "$FIXTURES/artifact.sig" \
    --public-key "$FIXTURES/signer.pub.pem"
  must_match "^Entry already exists; available at: $TLOG_URL/api/v1/log/entries/$entry_id\$" \
    "the existing entry's URL"
}

case_rekor_cli_get_uuid() {
  fixture_key_entry
  local entry_id index
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  index=$(cat "$FIXTURES/artifact.index")
  must_run rekor_cli get --uuid "$entry_id"
  must_match "^UUID: $entry_id\$" "the requested entry ID"
  must_match "^Index: $index\$" "the entry's index"
  must_match '"HashedRekordObj"' "the decoded hashedrekord body"
}

case_rekor_cli_get_short_uuid() {
  fixture_key_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  must_run rekor_cli get --uuid "${entry_id:16}"
  must_match "^UUID: $entry_id\$" "the 80-hex entry ID for a 64-hex request"
}

case_rekor_cli_get_log_index() {
  fixture_key_entry
  local entry_id index
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  index=$(cat "$FIXTURES/artifact.index")
  must_run rekor_cli get --log-index "$index"
  must_match "^Index: $index\$" "the requested index"
  must_match "^UUID: $entry_id\$" "the entry ID of the uploaded entry"
}

case_rekor_cli_verify() {
  fixture_key_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  must_run rekor_cli verify --type hashedrekord --pki-format x509 \
    --artifact "$FIXTURES/artifact.txt" --signature "$FIXTURES/artifact.sig" \
    --public-key "$FIXTURES/signer.pub.pem"
  must_match "^Entry Hash: ${entry_id:16}\$" "the entry's leaf hash"
  must_match '^Current Tree Size: [1-9][0-9]*$' "the tree size"
}

case_rekor_cli_verify_uuid() {
  fixture_key_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  must_run rekor_cli verify --uuid "$entry_id"
  must_match "^Entry Hash: ${entry_id:16}\$" "the entry's leaf hash"
}

case_rekor_cli_search_sha() {
  fixture_key_entry
  local entry_id digest
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  digest=$(sha256sum "$FIXTURES/artifact.txt" | cut -d' ' -f1)
  must_run rekor_cli search --sha "$digest"
  must_match "^$entry_id\$" "the entry ID"
}

case_rekor_cli_search_public_key() {
  fixture_key_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  must_run rekor_cli search --public-key "$FIXTURES/signer.pub.pem" --pki-format x509
  must_match "^$entry_id\$" "the entry ID"
}

case_rekor_cli_search_email() {
  fixture_certificate_entry
  local entry_id
  entry_id=$(cat "$FIXTURES/email-artifact.entry-id")
  must_run rekor_cli search --email "$INTEROP_EMAIL"
  must_match "^$entry_id\$" "the entry ID of the certificate entry"
}

# loginfo stores the last verified checkpoint under $HOME/.rekor and, on the next call, proves
# consistency from it with GET /api/v1/log/proof, so this case uses its own empty HOME.
case_rekor_cli_loginfo() {
  REKOR_HOME="$WORK_DIR/rekor-home-loginfo"
  mkdir -p "$REKOR_HOME"
  # rekor-cli stores no state for an empty log, so make sure the log has an entry first.
  fixture_key_entry

  must_run rekor_cli loginfo
  must_match '^Verification Successful!$' "the success line"
  must_match 'No previous log state stored' "the note that no earlier state existed"
  local first_size
  first_size=$(extract '^Total Tree Size: +([0-9]+)$')
  [[ -s $REKOR_HOME/.rekor/state.json ]] || fail "rekor-cli stored no state in $REKOR_HOME/.rekor"

  fixture_signed_artifact loginfo-artifact signer
  fixture_uploaded_entry loginfo-artifact signer.pub.pem

  must_run rekor_cli loginfo
  must_match '^Verification Successful!$' "the success line"
  must_not_match 'No previous log state stored' "the note that no earlier state existed"
  local second_size
  second_size=$(extract '^Total Tree Size: +([0-9]+)$')
  ((second_size > first_size)) ||
    fail "tree size did not grow across an upload: $first_size then $second_size"
  echo "consistency proved from size $first_size to $second_size"
}

# rekor-cli reads a pinned log key as PEM text from REKOR_REKOR_SERVER_PUBLIC_KEY.
rekor_cli_pinned() { # PUBLIC_KEY_FILE ARGUMENT...
  local key
  key=$(cat "$1")
  shift
  REKOR_REKOR_SERVER_PUBLIC_KEY=$key rekor_cli "$@"
}

case_rekor_cli_pinned_key() {
  REKOR_HOME="$WORK_DIR/rekor-home-pinned"
  mkdir -p "$REKOR_HOME"
  fixture_key_entry
  fixture_trust_export
  must_run rekor_cli_pinned "$FIXTURES/export/sigstack-trust/keys/rekor.pub" loginfo
  must_match '^Verification Successful!$' "the success line"
  # Any other key must fail the checkpoint signature.
  must_fail rekor_cli_pinned "$FIXTURES/signer.pub.pem" loginfo
  must_match 'signature on tree head did not verify' "the checkpoint signature error"
}

register_client rekor-cli install_rekor_cli
register_case rekor-cli upload case_rekor_cli_upload \
  "upload a hashedrekord signed with an ECDSA P-256 key (rekor-cli verifies the SET, proof and checkpoint)"
register_case rekor-cli upload-duplicate case_rekor_cli_upload_duplicate \
  "upload the same entry again and expect the existing entry's URL (409)"
register_case rekor-cli get-uuid case_rekor_cli_get_uuid "get an entry by its 80-hex entry ID"
register_case rekor-cli get-short-uuid case_rekor_cli_get_short_uuid \
  "get an entry by its 64-hex UUID"
register_case rekor-cli get-log-index case_rekor_cli_get_log_index "get an entry by log index"
register_case rekor-cli verify case_rekor_cli_verify \
  "verify the artifact, signature and key (search by entry, then proof, SET and checkpoint)"
register_case rekor-cli verify-uuid case_rekor_cli_verify_uuid "verify an entry by entry ID"
register_case rekor-cli search-sha case_rekor_cli_search_sha "search by the artifact's SHA-256"
register_case rekor-cli search-public-key case_rekor_cli_search_public_key \
  "search by PKIX public key"
register_case rekor-cli search-email case_rekor_cli_search_email \
  "search by the email SAN of a self-signed certificate entry"
register_case rekor-cli pinned-key case_rekor_cli_pinned_key \
  "loginfo with the log key from trust export pinned passes, and with another key fails"
register_case rekor-cli loginfo case_rekor_cli_loginfo \
  "verify the signed tree head twice with an upload between, proving consistency"
