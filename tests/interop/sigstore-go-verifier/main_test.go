package main

import (
	"bytes"
	"strings"
	"testing"
)

// The suite distinguishes a broken command line (exit 2) from a bundle that does not verify
// (exit 1), so every usage mistake must exit 2 and name the flag at fault.
func TestExitStatus(t *testing.T) {
	complete := []string{"--trusted-root", "missing-root.json", "--bundle", "missing-bundle.json",
		"--artifact-digest", "sha256:00ff", "--certificate-identity", "alice@example.com",
		"--certificate-oidc-issuer", "http://127.0.0.1:5556"}
	without := func(flag string) []string {
		var args []string
		for i := 0; i < len(complete); i += 2 {
			if complete[i] != flag {
				args = append(args, complete[i], complete[i+1])
			}
		}
		return args
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"help", []string{"-h"}, 0, ""},
		{"unknown flag", append(complete, "--bogus"), 2, "-bogus"},
		{"positional argument", append(complete, "extra"), 2, `"extra"`},
		{"no trusted root", without("--trusted-root"), 2, "--trusted-root"},
		{"no bundle", without("--bundle"), 2, "--bundle"},
		{"no artifact", without("--artifact-digest"), 2, "--artifact"},
		{"artifact and digest", append(complete, "--artifact", "main.go"), 2, "--artifact-digest"},
		{"malformed digest", append(without("--artifact-digest"), "--artifact-digest", "00ff"), 2, "--artifact-digest"},
		{"no identity", without("--certificate-identity"), 2, "--certificate-identity"},
		{"bad identity regexp", append(complete, "--certificate-identity-regexp", "("), 2, "--certificate-identity-regexp"},
		{"no issuer", without("--certificate-oidc-issuer"), 2, "--certificate-oidc-issuer"},
		{"missing artifact file", append(without("--artifact-digest"), "--artifact", "no-such-file"), 2, "--artifact"},
		{"missing trusted root file", complete, 1, "FAILED: failed to load trusted root missing-root.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.status {
				t.Fatalf("exit status %d, want %d; stderr:\n%s", got, tt.status, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}
