// Command sigstore-go-verifier checks one Sigstore bundle with sigstore-go against a trusted root.
//
// The interop suite runs it on the bundle of every client, so that each bundle made with the stack
// must also pass sigstore-go's verifier, not only the client that made it.
//
// Policy, all of which must hold:
//   - The leaf certificate chains to a certificate authority of the trusted root at a verified
//     observer time, and carries at least one SCT from a CT log of the trusted root.
//   - At least one transparency log entry of the trusted root verifies (inclusion proof and/or
//     signed entry timestamp) and matches the bundle's signature, key and content.
//   - At least one observer timestamp verifies: an RFC 3161 timestamp from a TSA of the trusted
//     root, or the log's integrated time covered by its signed entry timestamp.
//   - The signature covers the given artifact. For a DSSE envelope, the artifact's digest must be
//     one of the in-toto statement's subjects.
//   - The certificate's SAN and OIDC issuer match the expected identity.
//   - Every RFC 3161 timestamp in the bundle verifies. sigstore-go alone would accept a broken
//     token when the log's integrated time meets the threshold. This suite tests the stack's TSA,
//     so a broken token fails here.
//
// Exit status: 0 verified, 1 not verified, 2 usage error.
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

type options struct {
	trustedRoot    string
	bundle         string
	artifact       string
	artifactDigest string
	identity       string
	identityRegexp string
	oidcIssuer     string
}

// usageError marks a problem with the command line, which exits 2 rather than 1.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stdout)
	var s *summary
	if err == nil {
		s, err = verifyBundle(opts, stderr)
	}
	var usage usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "sigstore-go-verifier: %v\n%s", err, synopsis)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "FAILED: %v\n", err)
		return 1
	}
	out, err := json.Marshal(s)
	if err != nil {
		fmt.Fprintf(stderr, "FAILED: failed to encode the summary: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %s\n%s\n", opts.bundle, out)
	return 0
}

const synopsis = `usage: sigstore-go-verifier --trusted-root FILE --bundle FILE
       (--artifact FILE | --artifact-digest ALGORITHM:HEX)
       --certificate-identity SAN [--certificate-identity-regexp RE] --certificate-oidc-issuer URL
`

// parseArgs reads the command line. For -h it prints the help to helpOut and returns flag.ErrHelp.
func parseArgs(args []string, helpOut io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sigstore-go-verifier", flag.ContinueOnError)
	// Silence the flag package, so that its errors are printed like every other usage error.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.StringVar(&o.trustedRoot, "trusted-root", "", "trusted_root.json of the stack (required)")
	fs.StringVar(&o.bundle, "bundle", "", "Sigstore bundle to verify (required)")
	fs.StringVar(&o.artifact, "artifact", "", "signed artifact; for a DSSE bundle, a subject of its statement")
	fs.StringVar(&o.artifactDigest, "artifact-digest", "", "digest of the signed artifact, as ALGORITHM:HEX (sha256:...)")
	fs.StringVar(&o.identity, "certificate-identity", "", "expected certificate SAN, matched exactly")
	fs.StringVar(&o.identityRegexp, "certificate-identity-regexp", "", "regular expression the certificate SAN must match")
	fs.StringVar(&o.oidcIssuer, "certificate-oidc-issuer", "", "expected OIDC issuer in the certificate (required)")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(helpOut, synopsis)
			fs.SetOutput(helpOut)
			fs.PrintDefaults()
			return o, err
		}
		return o, usageError{err.Error()}
	}

	switch {
	case fs.NArg() > 0:
		return o, usageError{fmt.Sprintf("unexpected argument %q: every input is given by a flag", fs.Arg(0))}
	case o.trustedRoot == "":
		return o, usageError{"missing --trusted-root: give the trusted_root.json of the stack"}
	case o.bundle == "":
		return o, usageError{"missing --bundle: give the bundle to verify"}
	case (o.artifact == "") == (o.artifactDigest == ""):
		return o, usageError{"give exactly one of --artifact and --artifact-digest"}
	case o.identity == "" && o.identityRegexp == "":
		return o, usageError{"missing --certificate-identity: give the expected SAN (or a --certificate-identity-regexp)"}
	case o.oidcIssuer == "":
		return o, usageError{"missing --certificate-oidc-issuer: give the expected OIDC issuer URL"}
	}
	return o, nil
}

func verifyBundle(o options, stderr io.Writer) (*summary, error) {
	// Build the policy first, so that a bad flag value is a usage error and not a failed bundle.
	artifactPolicy, closeArtifact, err := artifactPolicy(o)
	if err != nil {
		return nil, err
	}
	defer closeArtifact()
	// sigstore-go checks both SAN matchers when both are given, and skips an empty one.
	identity, err := verify.NewShortCertificateIdentity(o.oidcIssuer, "", o.identity, o.identityRegexp)
	if err != nil {
		return nil, usageError{fmt.Sprintf("invalid --certificate-identity-regexp: %v", err)}
	}

	trustedRoot, err := root.NewTrustedRootFromPath(o.trustedRoot)
	if err != nil {
		return nil, fmt.Errorf("failed to load trusted root %s: %w", o.trustedRoot, err)
	}
	b, err := bundle.LoadJSONFromPath(o.bundle)
	if err != nil {
		return nil, fmt.Errorf("failed to load bundle %s: %w", o.bundle, err)
	}

	verifier, err := verify.NewVerifier(trustedRoot,
		verify.WithSignedCertificateTimestamps(1),
		verify.WithTransparencyLog(1),
		verify.WithObserverTimestamps(1),
	)
	if err != nil {
		return nil, fmt.Errorf("failed to configure verifier: %w", err)
	}
	result, err := verifier.Verify(b, verify.NewPolicy(artifactPolicy, verify.WithCertificateIdentity(identity)))
	if err != nil {
		return nil, err
	}
	if err := checkEveryTimestamp(b, trustedRoot); err != nil {
		return nil, err
	}
	return summarize(b, result)
}

// artifactPolicy returns the artifact part of the policy and a function that closes the artifact.
func artifactPolicy(o options) (verify.ArtifactPolicyOption, func(), error) {
	if o.artifact != "" {
		f, err := os.Open(o.artifact)
		if err != nil {
			return nil, nil, usageError{fmt.Sprintf("invalid --artifact: %v", err)}
		}
		return verify.WithArtifact(f), func() { f.Close() }, nil
	}
	algorithm, hexDigest, ok := strings.Cut(o.artifactDigest, ":")
	digest, err := hex.DecodeString(hexDigest)
	if !ok || algorithm == "" || err != nil || len(digest) == 0 {
		return nil, nil, usageError{fmt.Sprintf("invalid --artifact-digest %q: expected ALGORITHM:HEX, for example sha256:<64 hex digits>", o.artifactDigest)}
	}
	return verify.WithArtifactDigest(algorithm, digest), func() {}, nil
}

// checkEveryTimestamp fails when any RFC 3161 timestamp of the bundle does not verify.
func checkEveryTimestamp(b *bundle.Bundle, trustedRoot root.TrustedMaterial) error {
	_, failures, err := verify.VerifySignedTimestamp(b, trustedRoot)
	if err != nil {
		return fmt.Errorf("RFC 3161 timestamps: %w", err)
	}
	if len(failures) > 0 {
		return fmt.Errorf("RFC 3161 timestamp not verified: %w", errors.Join(failures...))
	}
	return nil
}

type summary struct {
	MediaType          string          `json:"mediaType"`
	SignatureType      string          `json:"signatureType"`
	PredicateType      string          `json:"predicateType,omitempty"`
	SAN                string          `json:"san"`
	OIDCIssuer         string          `json:"oidcIssuer"`
	TlogEntries        []tlogEntry     `json:"tlogEntries"`
	RFC3161InBundle    int             `json:"rfc3161TimestampsInBundle"`
	VerifiedTimestamps []timestampInfo `json:"verifiedTimestamps"`
}

type tlogEntry struct {
	LogIndex         int64  `json:"logIndex"`
	Kind             string `json:"kind"`
	InclusionProof   bool   `json:"inclusionProof"`
	InclusionPromise bool   `json:"inclusionPromise"`
}

type timestampInfo struct {
	Type string    `json:"type"`
	URI  string    `json:"uri,omitempty"`
	Time time.Time `json:"time"`
}

func summarize(b *bundle.Bundle, result *verify.VerificationResult) (*summary, error) {
	s := &summary{MediaType: b.GetMediaType(), SignatureType: "messageSignature"}
	if result.Statement != nil {
		s.SignatureType = "dsse"
		s.PredicateType = result.Statement.GetPredicateType()
	}
	if cert := result.Signature.Certificate; cert != nil {
		s.SAN = cert.SubjectAlternativeName
		s.OIDCIssuer = cert.Issuer
	}
	entries, err := b.TlogEntries()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		body := e.TransparencyLogEntry().GetKindVersion()
		s.TlogEntries = append(s.TlogEntries, tlogEntry{
			LogIndex:         e.LogIndex(),
			Kind:             body.GetKind() + "/" + body.GetVersion(),
			InclusionProof:   e.HasInclusionProof(),
			InclusionPromise: e.HasInclusionPromise(),
		})
	}
	timestamps, err := b.Timestamps()
	if err != nil {
		return nil, err
	}
	s.RFC3161InBundle = len(timestamps)
	for _, t := range result.VerifiedTimestamps {
		s.VerifiedTimestamps = append(s.VerifiedTimestamps, timestampInfo{t.Type, t.URI, t.Timestamp.UTC()})
	}
	return s, nil
}
