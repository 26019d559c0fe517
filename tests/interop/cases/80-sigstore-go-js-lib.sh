# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

# --- sigstore-go and the sigstore-js library ---------------------------------------------------
# Neither has a command-line client of its own, so the suite carries two small programs:
# tests/interop/sigstore-go-verifier (Go, sigstore-go's verify package) and
# tests/interop/sigstore-js-lib (Node.js, the `sigstore` npm package).

install_sigstore_go() {
  local source="$INTEROP_DIR/sigstore-go-verifier" bin="$CACHE_DIR/go/bin-sigstore-go/sigstore-go-verifier"
  local stamp
  # Rebuild when the program or its pinned dependencies change.
  stamp=$(cat "$source/go.mod" "$source/go.sum" "$source"/*.go | sha256sum | cut -d' ' -f1)
  if [[ ! -x $bin || $(cat "$bin.source-hash" 2>/dev/null) != "$stamp" ]]; then
    command -v go >/dev/null || { echo "go is not installed, so the sigstore-go verifier cannot be built"; return 1; }
    echo "Building the sigstore-go verifier into $bin"
    (cd "$source" && GOMODCACHE="$CACHE_DIR/go/mod" GOCACHE="$WORK_DIR/go-build" GOFLAGS=-modcacherw \
      GOTOOLCHAIN="$GO_TOOLCHAIN" go build -trimpath -o "$bin" .) || return 1
    echo "$stamp" >"$bin.source-hash"
  fi
  SIGSTORE_GO_VERIFIER=$bin
  CLIENT_VERSIONS[sigstore-go]=$(grep -oE 'github.com/sigstore/sigstore-go v[^ ]+' "$source/go.mod" | sed 's|.*/||')
}

install_sigstore_js_lib() {
  local source="$INTEROP_DIR/sigstore-js-lib" prefix="$CACHE_DIR/npm-lib"
  if ! cmp -s "$source/package-lock.json" "$prefix/package-lock.json"; then
    echo "Installing the sigstore-js library from $source/package-lock.json into $prefix"
    mkdir -p "$prefix" && cp "$source/package.json" "$source/package-lock.json" "$prefix/" &&
      (cd "$prefix" && npm ci --no-audit --no-fund --silent) || { rm -f "$prefix/package-lock.json"; return 1; }
  fi
  # ES modules resolve packages next to the script, so the script runs from the install prefix.
  cp "$source/sigstore-lib.mjs" "$prefix/" || return 1
  SIGSTORE_JS_LIB="$prefix/sigstore-lib.mjs"
  SIGSTORE_JS_LIB_VERSION=$(node -p 'require(process.argv[1]).version' "$prefix/node_modules/sigstore/package.json")
}

sigstore_js_lib() {
  timeout "$COMMAND_TIMEOUT" env HOME="$WORK_DIR/js-home" node "$SIGSTORE_JS_LIB" "$@"
}
