package buildcontext

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The .dockerignore rules of Docker's documentation
// (https://docs.docker.com/build/concepts/context/#dockerignore-files) and of
// moby/patternmatcher's tests that this repository's .dockerignore relies on.
func TestIgnoreRules(t *testing.T) {
	cases := []struct {
		patterns string
		path     string
		excluded bool
	}{
		{"*", "go.mod", true},
		{"*", "image/README.md", true},
		{"*\n!go.mod", "go.mod", false},
		{"*\n!image/", "image/entrypoint/main.go", false},
		{"*\n!image/entrypoint/", "image/README.md", true},
		{"*\n!image/entrypoint/\nimage/**/*_test.go", "image/entrypoint/main_test.go", true},
		{"*\n!image/registryconfig/\nimage/**/testdata/", "image/registryconfig/testdata/key.pem", true},
		{"**/*.md", "docs/a/b.md", true},
		{"**/*.md", "b.md", true},
		{"*/temp*", "somedir/temporary.txt", true},
		{"*/temp*", "somedir/sub/temporary.txt", false},
		{"temp?", "temp1", true},
		{"temp?", "temp12", false},
		{"# comment\n\n/build", "build/x", true},
		{"*.md\n!README*.md\nREADME-secret.md", "README-secret.md", true},
		{"*.md\n!README*.md\nREADME-secret.md", "README-public.md", false},
	}
	for _, c := range cases {
		l, err := parseIgnore(c.patterns)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.excludes(c.path); got != c.excluded {
			t.Errorf("patterns %q: %s excluded=%v, want %v", c.patterns, c.path, got, c.excluded)
		}
	}
	if _, err := parseIgnore("[abc]"); err == nil {
		t.Error("a character class was accepted; it is not implemented")
	}
}

func TestCopySourcesAndContext(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM x AS build\nCOPY a.txt \\\n  src/ /dst/\nCOPY --chown=1:1 lib/*.go /lib/\nCOPY --from=build /out /out\n# COPY ignored.txt /\n")
	write(".dockerignore", "*\n!a.txt\n!src/\n!lib/\n!extra.txt\n")
	write("a.txt", "a")
	write("src/x/y.go", "y")
	write("lib/one.go", "1")
	write("lib/doc.md", "doc")
	write("extra.txt", "e")
	write("README.md", "r")
	c, err := Load(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.txt", "src", "lib/*.go"}; !slices.Equal(c.CopySources, want) {
		t.Errorf("sources %q, want %q", c.CopySources, want)
	}
	var rels []string
	for _, f := range c.Files {
		rels = append(rels, f.Rel)
	}
	if want := []string{"a.txt", "extra.txt", "lib/doc.md", "lib/one.go", "src/x/y.go"}; !slices.Equal(rels, want) {
		t.Errorf("context %q, want %q", rels, want)
	}
	if got := c.NotCopied(); !slices.Equal(got, []string{"extra.txt", "lib/doc.md"}) {
		t.Errorf("not copied %q", got)
	}

	digest := func() (string, string) {
		c, err := Load(dir, filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.SourceDigest()
		if err != nil {
			t.Fatal(err)
		}
		x, err := c.ContextDigest()
		if err != nil {
			t.Fatal(err)
		}
		return s, x
	}
	s0, x0 := digest()
	write("README.md", "edited, outside the context")
	if s, x := digest(); s != s0 || x != x0 {
		t.Error("a file outside the context changed a digest")
	}
	write("extra.txt", "edited, in the context but not copied")
	if s, x := digest(); s != s0 || x == x0 {
		t.Error("a context file the Dockerfile does not copy: the source digest must keep, the context digest (pulumi-docker's) must change")
	}
	_, x1 := digest()
	if err := os.Chmod(filepath.Join(dir, "a.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if s, x := digest(); s != s0 || x == x1 {
		t.Error("a mode change: the source digest must keep, the context digest must change (pulumi-docker hashes modes)")
	}
	write("src/x/y.go", "changed")
	if s, _ := digest(); s == s0 {
		t.Error("a copied file changed and the source digest did not")
	}

	write("Dockerfile", "FROM x\nCOPY [\"a.txt\", \"/\"]\n")
	if _, err := Load(dir, filepath.Join(dir, "Dockerfile")); err == nil {
		t.Error("the JSON form of COPY was accepted; it is not parsed")
	}
}
