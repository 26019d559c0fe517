# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- Container images on a local OCI registry ---------------------------------------------------

CRANE_VERSION=v0.22.1
# `crane registry serve` listens here during the image cases. go-containerregistry, which cosign
# uses, speaks plain HTTP to a registry on a loopback address.
REGISTRY=127.0.0.1:5001

install_crane() {
  CRANE="$CACHE_DIR/go/bin-crane/crane"
  if ! { [[ -x $CRANE ]] && [[ $("$CRANE" version 2>/dev/null) == "$CRANE_VERSION" ]]; }; then
    go_install "$CACHE_DIR/go/bin-crane" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" || return 1
  fi
}

# Start the in-memory registry once; cleanup stops it through its PID file.
fixture_registry() {
  [[ -s $WORK_DIR/registry.pid ]] && return 0
  echo "Starting crane registry serve on $REGISTRY"
  setsid "$CRANE" registry serve --address "$REGISTRY" </dev/null >"$WORK_DIR/registry.log" 2>&1 &
  echo $! >"$WORK_DIR/registry.pid"
  local waited=0
  until curl -sS --max-time 2 -o /dev/null "http://$REGISTRY/v2/" 2>/dev/null; do
    ((waited++ < 30)) || fail "the registry did not answer on $REGISTRY within 30s: $(cat "$WORK_DIR/registry.log")"
    sleep 1
  done
}

stop_registry() {
  [[ -s ${WORK_DIR:-}/registry.pid ]] || return 0
  kill -TERM "$(cat "$WORK_DIR/registry.pid")" 2>/dev/null
  rm -f "$WORK_DIR/registry.pid"
}

# A one-layer image pushed as $REGISTRY/interop/NAME:v1; NAME.image holds its digest reference.
fixture_image() { # NAME
  local name=$1
  fixture_registry
  [[ -s $FIXTURES/$name.image ]] && return 0
  mkdir -p "$FIXTURES/$name-layer"
  printf 'sigstack interop image %s %s\n' "$name" "$(date -u +%s%N)" >"$FIXTURES/$name-layer/hello.txt"
  tar -C "$FIXTURES/$name-layer" -cf "$FIXTURES/$name-layer.tar" hello.txt
  must_run timeout "$COMMAND_TIMEOUT" "$CRANE" append --new_layer "$FIXTURES/$name-layer.tar" \
    --new_tag "$REGISTRY/interop/$name:v1"
  must_run timeout "$COMMAND_TIMEOUT" "$CRANE" digest "$REGISTRY/interop/$name:v1"
  echo "$REGISTRY/interop/$name@$(tail -n 1 "$OUTPUT")" >"$FIXTURES/$name.image"
}

# The SLSA provenance predicate that the attestation cases sign.
fixture_predicate() {
  [[ -s $FIXTURES/provenance.json ]] && return 0
  cat >"$FIXTURES/provenance.json" <<'JSON'
{"buildDefinition":{"buildType":"https://example.com/build","externalParameters":{}},"runDetails":{"builder":{"id":"https://example.com/builder"}}}
JSON
}

# Fail the case unless the last command printed a DSSE envelope (one JSON object per line, as
# `cosign verify-attestation` prints them) whose in-toto statement has PREDICATE_TYPE and the
# image digest of IMAGE (a reference ending in @sha256:...) as its subject.
must_print_attestation() { # PREDICATE_TYPE IMAGE
  "$PYTHON" - "$OUTPUT" "$1" "${2##*@sha256:}" <<'PYTHON' || fail "no verified attestation with predicate type $1 for $2"
import base64, json, sys

output, predicate_type, digest = sys.argv[1:4]
for line in open(output):
    line = line.strip().removeprefix("| ").strip()
    if not line.startswith("{"):
        continue
    statement = json.loads(base64.b64decode(json.loads(line)["payload"]))
    subjects = [s.get("digest", {}).get("sha256") for s in statement.get("subject", [])]
    if statement.get("predicateType") == predicate_type and digest in subjects:
        print(f"attestation: {predicate_type} for sha256:{digest}")
        sys.exit(0)
sys.exit(1)
PYTHON
}

case_cosign_v3_image() {
  fixture_image v3-signed
  local image
  image=$(cat "$FIXTURES/v3-signed.image")
  token_file erin@example.com "$FIXTURES/erin.token"
  must_run cosign_v3 sign --yes --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --trusted-root "$WORK_DIR/data/trust/trusted_root.json" --identity-token "$FIXTURES/erin.token" "$image"
  must_run cosign_v3 verify --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --certificate-identity erin@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
  must_match '"critical"' "the verified signature payload"
  must_fail cosign_v3 verify --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --certificate-identity mallory@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
}

case_cosign_v3_image_attest() {
  fixture_image v3-attested
  fixture_predicate
  local image
  image=$(cat "$FIXTURES/v3-attested.image")
  token_file erin@example.com "$FIXTURES/erin.token"
  must_run cosign_v3 attest --yes --signing-config "$WORK_DIR/data/trust/signing_config.v0.2.json" \
    --trusted-root "$WORK_DIR/data/trust/trusted_root.json" --identity-token "$FIXTURES/erin.token" \
    --type slsaprovenance1 --predicate "$FIXTURES/provenance.json" "$image"
  must_run cosign_v3 verify-attestation --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --type slsaprovenance1 --certificate-identity erin@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
  must_print_attestation https://slsa.dev/provenance/v1 "$image"
  must_fail cosign_v3 verify-attestation --trusted-root "$WORK_DIR/data/trust/trusted_root.json" \
    --type slsaprovenance1 --certificate-identity mallory@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
}

# cosign v2 with the trust root from `cosign initialize` against the TUF repository.
fixture_cosign_v2_initialized() {
  [[ -e $FIXTURES/cosign-v2.initialized ]] && return 0
  must_run cosign_v2 initialize --mirror "$TUF_URL" --root "$WORK_DIR/data/trust/root.json"
  touch "$FIXTURES/cosign-v2.initialized"
}

# The URL flags that cosign v2 signs with.
COSIGN_V2_SIGNING_FLAGS=(--fulcio-url http://127.0.0.1:5555 --rekor-url "$TLOG_URL"
  --timestamp-server-url "$TSA_URL/api/v1/timestamp")

case_cosign_v2_image() {
  fixture_cosign_v2_initialized
  fixture_image v2-signed
  local image
  image=$(cat "$FIXTURES/v2-signed.image")
  token_file gina@example.com "$FIXTURES/gina.token"
  must_run cosign_v2 sign --yes "${COSIGN_V2_SIGNING_FLAGS[@]}" --identity-token "$FIXTURES/gina.token" "$image"
  must_run cosign_v2 verify --certificate-identity gina@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
  must_match '"critical"' "the verified signature payload"
  must_fail cosign_v2 verify --certificate-identity mallory@example.com --certificate-oidc-issuer "$IDP_ISSUER" "$image"
}

case_cosign_v2_image_attest() {
  fixture_cosign_v2_initialized
  fixture_image v2-attested
  fixture_predicate
  local image
  image=$(cat "$FIXTURES/v2-attested.image")
  token_file gina@example.com "$FIXTURES/gina.token"
  must_run cosign_v2 attest --yes "${COSIGN_V2_SIGNING_FLAGS[@]}" --identity-token "$FIXTURES/gina.token" \
    --type slsaprovenance1 --predicate "$FIXTURES/provenance.json" "$image"
  must_run cosign_v2 verify-attestation --type slsaprovenance1 --certificate-identity gina@example.com \
    --certificate-oidc-issuer "$IDP_ISSUER" "$image"
  must_print_attestation https://slsa.dev/provenance/v1 "$image"
  must_fail cosign_v2 verify-attestation --type slsaprovenance1 --certificate-identity mallory@example.com \
    --certificate-oidc-issuer "$IDP_ISSUER" "$image"
}

register_case cosign-v3 image-sign-verify case_cosign_v3_image \
  "sign and verify an image on a local OCI registry (and another identity fails)"
register_case cosign-v3 image-attest case_cosign_v3_image_attest \
  "attest and verify-attestation of a SLSA predicate on an image (and another identity fails)"
register_case cosign-v2 image-sign-verify case_cosign_v2_image \
  "sign and verify an image with URL flags and the TUF trust root (and another identity fails)"
register_case cosign-v2 image-attest case_cosign_v2_image_attest \
  "attest and verify-attestation of a SLSA predicate on an image (and another identity fails)"
