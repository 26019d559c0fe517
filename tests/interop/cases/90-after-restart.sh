# Sourced by tests/interop/run, which defines the helpers used here. Files are read in name order,
# which is the order of the cases in the matrix.

register_case_after_restart sigstore-python after-restart case_sigstore_python_after_restart \
  "after a restart of up: old bundles verify and signing works"
register_case sigstore-js after-restart case_sigstore_js_after_restart \
  "after a restart of up: the sigstore-js bundle still verifies"
