package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// make synth says, for an adopted bucket, which of its existing settings the stack replaces, and
// whether any object version will be deleted.
func TestSynthListsWhatAnAdoptedBucketLoses(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-stack", "prod", "-dir", filepath.Join("..", ".."), "-out", t.TempDir()}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"adopted bucket prod.docker.registry.sagebase.org",
		"lifecycle configuration: every existing rule is replaced; noncurrent versions are DELETED after 30 days",
		"get-bucket-lifecycle-configuration", "versioning: set to Enabled", "bucket policy: replaced",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("make synth STACK=prod does not say %q:\n%s", want, out)
		}
	}
}
