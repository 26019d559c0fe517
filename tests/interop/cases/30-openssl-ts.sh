# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- openssl ts (RFC 3161) ----------------------------------------------------------------------

install_openssl() {
  command -v openssl >/dev/null || { echo "openssl is not installed"; return 1; }
  CLIENT_VERSIONS[openssl-ts]=$(openssl version | cut -d' ' -f1-2)
}

# Sends an RFC 3161 query file to the TSA and writes the reply to REPLY.
tsa_request() { # QUERY REPLY
  http_request 200 "$2" -H 'Content-Type: application/timestamp-query' --data-binary "@$1" \
    "$TSA_URL/api/v1/timestamp"
  [[ $(header_value "$2" content-type) == application/timestamp-reply ]] ||
    fail "reply Content-Type is not application/timestamp-reply"
}

# The TSA chain, split into the root (trust anchor) and the rest (untrusted intermediates).
fixture_tsa_chain() {
  [[ -s $FIXTURES/tsa-root.pem ]] && return 0
  http_request 200 "$FIXTURES/tsa-chain.pem" "$TSA_URL/api/v1/timestamp/certchain"
  awk -v dir="$FIXTURES" '/BEGIN CERTIFICATE/ { n++ } { print > (dir "/tsa-cert-" n ".pem") }' \
    "$FIXTURES/tsa-chain.pem"
  local last
  last=$(ls "$FIXTURES"/tsa-cert-*.pem | sort -V | tail -n 1)
  cp "$last" "$FIXTURES/tsa-root.pem"
  cat "$FIXTURES/tsa-chain.pem" >"$FIXTURES/tsa-untrusted.pem"
}

case_openssl_ts_verify() {
  fixture_tsa_chain
  printf 'artifact to timestamp\n' >"$FIXTURES/ts-data.txt"
  must_run openssl ts -query -data "$FIXTURES/ts-data.txt" -sha256 -cert -out "$FIXTURES/ts.tsq"
  tsa_request "$FIXTURES/ts.tsq" "$FIXTURES/ts.tsr"
  must_run openssl ts -verify -in "$FIXTURES/ts.tsr" -data "$FIXTURES/ts-data.txt" \
    -CAfile "$FIXTURES/tsa-root.pem" -untrusted "$FIXTURES/tsa-untrusted.pem"
  must_match '^Verification: OK$' "Verification: OK"
  must_run openssl ts -reply -in "$FIXTURES/ts.tsr" -text
  must_match 'Status: Granted' "a granted status"
  must_match 'Nonce: 0x' "the echoed nonce"
}

case_openssl_ts_tampered() {
  fixture_tsa_chain
  [[ -s $FIXTURES/ts.tsr ]] || fail "needs the reply of openssl-ts/verify"
  printf 'a different artifact\n' >"$FIXTURES/ts-other.txt"
  echo "\$ openssl ts -verify ... -data ts-other.txt (must fail)"
  if openssl ts -verify -in "$FIXTURES/ts.tsr" -data "$FIXTURES/ts-other.txt" \
    -CAfile "$FIXTURES/tsa-root.pem" -untrusted "$FIXTURES/tsa-untrusted.pem" >"$OUTPUT" 2>&1; then
    sed 's/^/  | /' "$OUTPUT"
    fail "a token verified against different data"
  fi
  sed 's/^/  | /' "$OUTPUT"
  must_match 'message imprint mismatch' "the imprint mismatch error"
}

register_client openssl-ts install_openssl
register_case openssl-ts verify case_openssl_ts_verify \
  "query, reply and verify a timestamp against the TSA chain"
register_case openssl-ts tampered case_openssl_ts_tampered \
  "a timestamp does not verify against other data"
