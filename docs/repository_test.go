package docs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedFileSize bounds what a source file can be: the largest tracked
// file (docs/performance.md) is under 1 MiB. A bigger one is build output or
// data that belongs elsewhere, and once committed it stays in every clone's
// history.
const maxTrackedFileSize = 5 << 20

// Executable formats whose first bytes name them: `go build ./examples/x` or
// `go build ./cmd/x` run at the root writes such a file next to the sources.
var executableMagic = []struct {
	kind  string
	magic []byte
}{
	{"an ELF executable", []byte("\x7fELF")},
	{"a Mach-O executable", []byte("\xcf\xfa\xed\xfe")},
	{"a Mach-O executable", []byte("\xfe\xed\xfa\xcf")},
}

// buildOutput says why a tracked file is not source, or "" when it may be.
func buildOutput(name string, head []byte, size int64) string {
	for _, e := range executableMagic {
		if bytes.HasPrefix(head, e.magic) {
			return fmt.Sprintf("%s is %s: remove it (git rm --cached %s) and build into build/ (go build -o build/ ...), which .gitignore keeps out", name, e.kind, name)
		}
	}
	if size > maxTrackedFileSize {
		return fmt.Sprintf("%s is %d MiB, more than any source file (%d MiB): remove it (git rm --cached %s) unless it must be in every clone", name, size>>20, maxTrackedFileSize>>20, name)
	}
	return ""
}

// No compiled binary or other build output is committed.
func TestNoBuildOutputIsTracked(t *testing.T) {
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout: there are no tracked files to check")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed: there are no tracked files to check")
	}
	cmd := exec.Command(git, "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	names := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(names) < 50 {
		t.Fatalf("git ls-files listed %d files; the repository has hundreds", len(names))
	}
	for _, name := range names {
		path := filepath.Join(root, name)
		info, err := os.Stat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree and not yet committed, or not a file
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4)
		n, _ := io.ReadFull(f, head)
		f.Close()
		if problem := buildOutput(name, head[:n], info.Size()); problem != "" {
			t.Error(problem)
		}
	}
}

func TestBuildOutputCheckerCatchesBinaries(t *testing.T) {
	for _, c := range []struct {
		name string
		head []byte
		size int64
		want string
	}{
		{"two-registries", []byte("\x7fELF"), 100 << 20, "is an ELF executable"},
		{"synth", []byte("\xcf\xfa\xed\xfe"), 1 << 20, "is a Mach-O executable"},
		{"testdata/dump.json", []byte("{\"a\""), 64 << 20, "is 64 MiB"},
		{"main.go", []byte("pack"), 1 << 10, ""},
	} {
		got := buildOutput(c.name, c.head, c.size)
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("buildOutput(%q) = %q, want it to contain %q", c.name, got, c.want)
		}
	}
}
