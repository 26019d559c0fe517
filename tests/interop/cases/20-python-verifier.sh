# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- Independent Python verifier ----------------------------------------------------------------

install_python_verifier() {
  CLIENT_VERSIONS[python-verifier]="Python $("$PYTHON" -c 'import platform; print(platform.python_version())'), cryptography $("$PYTHON" -c 'import cryptography; print(cryptography.__version__)')"
}

# Fetch the log's public key and the origin host of its current checkpoint into $FIXTURES.
fetch_log_public_key() {
  [[ -s $FIXTURES/log.pub.pem ]] && return 0
  http_request 200 "$FIXTURES/log.pub.pem" "$TLOG_URL/api/v1/log/publicKey"
}


case_python_verifier_self_test() {
  must_run "$PYTHON" -m pytest -q -p no:cacheprovider "$INTEROP_DIR"
  must_match '^[0-9]+ passed' "the pytest summary"
  must_not_match 'failed|error' "a failed test"
}

case_python_verifier_entry_created() {
  fixture_key_pair signer
  fixture_signed_artifact curl-artifact signer
  fetch_log_public_key
  # The tree ID and the origin host of the current signed tree head are what the entry must carry.
  http_request 200 "$FIXTURES/loginfo.json" "$TLOG_URL/api/v1/log"
  local tree_id origin_host
  tree_id=$(json_value "$FIXTURES/loginfo.json" 'doc["treeID"]')
  origin_host=$(json_value "$FIXTURES/loginfo.json" \
    'doc["signedTreeHead"].split("\n")[0].rsplit(" - ", 1)[0]')
  write_hashedrekord_request "$FIXTURES/curl-artifact.txt" "$FIXTURES/curl-artifact.sig" \
    "$FIXTURES/signer.pub.pem" "$FIXTURES/curl-request.json" || fail "could not write the request"

  local response=$FIXTURES/curl-created.json
  http_request 201 "$response" -H 'Content-Type: application/json' \
    --data-binary "@$FIXTURES/curl-request.json" "$TLOG_URL/api/v1/log/entries"
  local entry_id etag location
  entry_id=$(json_value "$response" 'next(iter(doc))')
  etag=$(header_value "$response" ETag)
  location=$(header_value "$response" Location)
  echo "entry ID $entry_id, ETag $etag, Location $location"
  [[ $etag == "$entry_id" ]] || fail "ETag '$etag' does not equal the JSON key '$entry_id'"
  [[ $location == */api/v1/log/entries/"$entry_id" ]] ||
    fail "Location '$location' does not end with /api/v1/log/entries/$entry_id"
  echo "$entry_id" >"$FIXTURES/curl-artifact.entry-id"

  must_run verifier entry "$response" --public-key "$FIXTURES/log.pub.pem" \
    --expect-tree-id "$tree_id" --expect-origin-host "$origin_host"
}

case_python_verifier_entry_get() {
  fixture_key_entry
  fetch_log_public_key
  local entry_id index
  entry_id=$(cat "$FIXTURES/artifact.entry-id")
  index=$(cat "$FIXTURES/artifact.index")

  http_request 200 "$FIXTURES/get-by-id.json" "$TLOG_URL/api/v1/log/entries/$entry_id"
  must_run verifier entry "$FIXTURES/get-by-id.json" --public-key "$FIXTURES/log.pub.pem"
  [[ $(json_value "$FIXTURES/get-by-id.json" 'next(iter(doc))') == "$entry_id" ]] ||
    fail "GET by entry ID returned another entry"

  http_request 200 "$FIXTURES/get-by-index.json" "$TLOG_URL/api/v1/log/entries?logIndex=$index"
  must_run verifier entry "$FIXTURES/get-by-index.json" --public-key "$FIXTURES/log.pub.pem"
  [[ $(json_value "$FIXTURES/get-by-index.json" 'next(iter(doc))') == "$entry_id" ]] ||
    fail "GET by log index $index returned another entry"
}

case_python_verifier_loginfo() {
  fixture_key_entry
  fetch_log_public_key
  http_request 200 "$FIXTURES/loginfo-verify.json" "$TLOG_URL/api/v1/log"
  must_run verifier loginfo "$FIXTURES/loginfo-verify.json" --public-key "$FIXTURES/log.pub.pem"
}

case_python_verifier_consistency() {
  fixture_key_entry
  http_request 200 "$FIXTURES/consistency-old.json" "$TLOG_URL/api/v1/log"
  local old_size old_root
  old_size=$(json_value "$FIXTURES/consistency-old.json" 'doc["treeSize"]')
  old_root=$(json_value "$FIXTURES/consistency-old.json" 'doc["rootHash"]')

  fixture_signed_artifact consistency-artifact signer
  fixture_uploaded_entry consistency-artifact signer.pub.pem

  http_request 200 "$FIXTURES/consistency-new.json" "$TLOG_URL/api/v1/log"
  local new_size new_root
  new_size=$(json_value "$FIXTURES/consistency-new.json" 'doc["treeSize"]')
  new_root=$(json_value "$FIXTURES/consistency-new.json" 'doc["rootHash"]')

  http_request 200 "$FIXTURES/consistency-proof.json" \
    "$TLOG_URL/api/v1/log/proof?firstSize=$old_size&lastSize=$new_size"
  must_run verifier consistency --old-size "$old_size" --old-root "$old_root" \
    --new-size "$new_size" --new-root "$new_root" --proof-json "$FIXTURES/consistency-proof.json"
}

register_client python-verifier install_python_verifier
register_case python-verifier self-test case_python_verifier_self_test \
  "the verifier's own tests: a pure-Python log and each kind of tampering"
register_case python-verifier entry-created case_python_verifier_entry_created \
  "POST a hashedrekord with curl, check 201, ETag and Location, and verify the body"
register_case python-verifier entry-get case_python_verifier_entry_get \
  "GET an entry by entry ID and by log index with curl and verify both"
register_case python-verifier loginfo case_python_verifier_loginfo \
  "verify the signed tree head of GET /api/v1/log"
register_case python-verifier consistency case_python_verifier_consistency \
  "verify GET /api/v1/log/proof between tree heads before and after an upload"
