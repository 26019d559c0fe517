# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- gitsign -----------------------------------------------------------------------------------

# The newest gitsign that the Go module proxy here serves. The proxy refuses gitsign's version
# list, and `go install module@version` reads that list for deprecation notices, so the runner
# downloads the module and builds it as the main module instead.
GITSIGN_VERSION=v0.14.0

install_gitsign() {
  GITSIGN="$CACHE_DIR/go/bin-gitsign/gitsign"
  if ! { [[ -x $GITSIGN ]] && "$GITSIGN" version 2>/dev/null | grep -qE "^gitsign version $GITSIGN_VERSION\$"; }; then
    command -v go >/dev/null || { echo "go is not installed, so gitsign cannot be built"; return 1; }
    echo "Installing gitsign $GITSIGN_VERSION into $CACHE_DIR/go/bin-gitsign"
    local source
    source=$(GOMODCACHE="$CACHE_DIR/go/mod" GOFLAGS=-modcacherw GOTOOLCHAIN="$GO_TOOLCHAIN" \
      go mod download -json "github.com/sigstore/gitsign@$GITSIGN_VERSION" |
      "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') || return 1
    (cd "$source" && GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$WORK_DIR/go-build" GOFLAGS=-modcacherw \
      GOTOOLCHAIN="$GO_TOOLCHAIN" go build -trimpath -o "$GITSIGN" \
      -ldflags "-X github.com/sigstore/gitsign/pkg/version.gitVersion=$GITSIGN_VERSION" .) || return 1
  fi
  CLIENT_VERSIONS[gitsign]=$GITSIGN_VERSION
}

# gitsign and git with the trust files from `sigstack trust export`, in gitsign's documented
# environment variables. gitsign reads the Rekor key and the Fulcio roots through the legacy TUF
# client, which `gitsign initialize` does not set up when the repository serves
# trusted_root.json, so the files are the way to give them to it.
gitsign_env() {
  local keys="$FIXTURES/export/sigstack-trust/keys"
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/gitsign-home" GITSIGN_LOG="$WORK_DIR/gitsign.log" \
    GITSIGN_FULCIO_ROOT="$keys/fulcio-chain.pem" SIGSTORE_REKOR_PUBLIC_KEY="$keys/rekor.pub" \
    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE="$keys/ctfe.pub" GITSIGN_TIMESTAMP_CERT_CHAIN="$keys/tsa-chain.pem" "$@"
}

gitsign_verify() { # IDENTITY
  gitsign_env sh -c 'cd "$1" && "$2" verify --certificate-identity "$3" --certificate-oidc-issuer "$4" HEAD' \
    gitsign-verify "$WORK_DIR/git-repo" "$GITSIGN" "$1" "$IDP_ISSUER"
}

case_gitsign_commit() {
  fixture_trust_export
  # Verification also reads the trusted root through sigstore-go's TUF client; without this it
  # would go to the public instance's repository.
  must_run gitsign_env "$GITSIGN" initialize --mirror "$TUF_URL" --root "$WORK_DIR/data/trust/root.json"
  local repo="$WORK_DIR/git-repo"
  mkdir -p "$repo"
  must_run git -C "$repo" init --quiet
  must_run git -C "$repo" config user.name Alice
  must_run git -C "$repo" config user.email alice@example.com
  must_run git -C "$repo" config commit.gpgsign true
  must_run git -C "$repo" config gpg.format x509
  must_run git -C "$repo" config gpg.x509.program "$GITSIGN"
  must_run git -C "$repo" config gitsign.fulcio http://127.0.0.1:5555
  must_run git -C "$repo" config gitsign.rekor "$TLOG_URL"
  must_run git -C "$repo" config gitsign.issuer "$IDP_ISSUER"
  must_run git -C "$repo" config gitsign.timestampServerURL "$TSA_URL/api/v1/timestamp"
  # gitsign's non-interactive path: cosign's token providers read SIGSTORE_ID_TOKEN.
  must_run gitsign_env SIGSTORE_ID_TOKEN="$(identity_token alice@example.com)" \
    git -C "$repo" commit --allow-empty --message "signed through sigstack"
  must_run gitsign_verify alice@example.com
  must_match 'Good signature from \[alice@example.com\]' "Good signature from [alice@example.com]"
  must_match 'Validated Rekor entry: true' "Validated Rekor entry: true"
  must_run gitsign_env git -C "$repo" log --show-signature -1
  must_match 'Good signature from \[alice@example.com\]' "Good signature from [alice@example.com]"
  must_fail gitsign_verify mallory@example.com
}

register_client gitsign install_gitsign
register_case gitsign commit-verify case_gitsign_commit \
  "sign a commit (with a TSA timestamp) from SIGSTORE_ID_TOKEN, gitsign verify, git log --show-signature (another identity fails)"
