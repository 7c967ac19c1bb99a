// Package buildcontext reads a Docker build the way the builder and pulumi-docker
// see it: the build context (the context directory filtered by .dockerignore), the
// sources the Dockerfile's COPY and ADD instructions take from it, and digests of
// both. infra keys the image tag on them; the image's tests check that the context
// holds exactly what the Dockerfile copies. Standard library only.
package buildcontext

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// File is one file of the build context.
type File struct {
	Rel  string      // slash-separated, relative to the context directory
	Mode fs.FileMode // as the walk sees it (permission bits included)
}

// Context is a build: the context directory, the Dockerfile and what they select.
type Context struct {
	Dir        string // absolute context directory
	Dockerfile string // absolute path of the Dockerfile
	// Files are the context's files after .dockerignore, sorted by Rel.
	Files []File
	// CopySources are the context sources of the Dockerfile's COPY/ADD
	// instructions (not those copying --from another stage), cleaned.
	CopySources []string
}

// Load reads the build with context dir and the given Dockerfile.
func Load(dir, dockerfile string) (*Context, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dockerfile, err = filepath.Abs(dockerfile)
	if err != nil {
		return nil, err
	}
	ignore, err := readIgnore(dockerfile, dir)
	if err != nil {
		return nil, err
	}
	sources, err := copySources(dockerfile)
	if err != nil {
		return nil, err
	}
	c := &Context{Dir: dir, Dockerfile: dockerfile, CopySources: sources}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if ignore.excludes(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		c.Files = append(c.Files, File{Rel: rel, Mode: info.Mode()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the build context %s: %w", dir, err)
	}
	slices.SortFunc(c.Files, func(a, b File) int { return strings.Compare(a.Rel, b.Rel) })
	return c, nil
}

// Copied reports whether the Dockerfile copies the context file rel.
func (c *Context) Copied(rel string) bool {
	for _, src := range c.CopySources {
		if src == "." || rel == src || strings.HasPrefix(rel, src+"/") {
			return true
		}
		// A glob source matches the file or one of its parent directories.
		for p := rel; p != "." && p != "/"; p = path.Dir(p) {
			if ok, _ := path.Match(src, p); ok {
				return true
			}
		}
	}
	return false
}

// NotCopied lists the context files the Dockerfile does not copy: they are sent
// to the builder and hashed by pulumi-docker, so editing one rebuilds the image
// for nothing.
func (c *Context) NotCopied() []string {
	var out []string
	for _, f := range c.Files {
		if !c.Copied(f.Rel) {
			out = append(out, f.Rel)
		}
	}
	return out
}

// SourceDigest hashes what goes into the image: the name and contents of every
// context file the Dockerfile copies, and the Dockerfile. Checkout directory and
// file modes do not enter it, so the same sources give the same digest anywhere.
func (c *Context) SourceDigest() (string, error) {
	h := sha256.New()
	for _, f := range c.Files {
		if !c.Copied(f.Rel) {
			continue
		}
		if err := hashFile(h, filepath.Join(c.Dir, f.Rel), f.Rel, ""); err != nil {
			return "", err
		}
	}
	if err := hashFile(h, c.Dockerfile, "Dockerfile", ""); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ContextDigest hashes everything pulumi-docker v4's context digest covers
// (provider/provider.go, hashContext: every context file's relative name, mode
// and contents, and the Dockerfile's contents), so it changes whenever that
// digest does; it may change more often, which only costs a rebuild.
func (c *Context) ContextDigest() (string, error) {
	h := sha256.New()
	if err := hashFile(h, c.Dockerfile, "Dockerfile", ""); err != nil {
		return "", err
	}
	for _, f := range c.Files {
		if err := hashFile(h, filepath.Join(c.Dir, f.Rel), f.Rel, f.Mode.String()); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h interface{ Write([]byte) (int, error) }, file, name, mode string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	fmt.Fprintf(h, "%s\x00%s\x00%x\x00", name, mode, sum)
	return nil
}

// copySources parses the Dockerfile's COPY and ADD instructions (continuation
// lines joined, comments dropped) and returns the sources they take from the
// build context. Forms it cannot read (JSON arrays, heredocs, URLs) are errors,
// so a Dockerfile change is never silently misread.
func copySources(dockerfile string) ([]string, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var instructions []string
	cur := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (cur == "" && line == "") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		instructions = append(instructions, cur+line)
		cur = ""
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var sources []string
	for _, instr := range instructions {
		fields := strings.Fields(instr)
		word := strings.ToUpper(fields[0])
		if word != "COPY" && word != "ADD" {
			continue
		}
		args := fields[1:]
		fromStage := false
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			fromStage = fromStage || strings.HasPrefix(args[0], "--from=")
			args = args[1:]
		}
		if fromStage {
			continue
		}
		if len(args) < 2 || strings.HasPrefix(args[0], "[") || strings.HasPrefix(args[0], "<<") {
			return nil, fmt.Errorf("%s: cannot read %q (only the plain form COPY [--flags] <src>... <dest> is understood); write it in that form", dockerfile, instr)
		}
		for _, src := range args[:len(args)-1] {
			if strings.Contains(src, "://") || strings.Contains(src, "$") {
				return nil, fmt.Errorf("%s: %q copies %q, which is not a path in the build context; copy context paths only", dockerfile, instr, src)
			}
			sources = append(sources, path.Clean(strings.TrimPrefix(src, "/")))
		}
	}
	return sources, nil
}

// ignorePattern is one line of a .dockerignore file.
type ignorePattern struct {
	re        *regexp.Regexp
	exception bool
}

type ignoreList []ignorePattern

// readIgnore reads <Dockerfile>.dockerignore if present, else the context's
// .dockerignore, with Docker's precedence (pulumi-docker v4 getIgnorePatterns).
func readIgnore(dockerfile, dir string) (ignoreList, error) {
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(dir, ".dockerignore")} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return parseIgnore(string(b))
	}
	return nil, nil
}

// parseIgnore follows Docker's .dockerignore rules (moby/patternmatcher):
// comments and blank lines skipped, a leading "!" makes an exception, paths are
// cleaned and relative to the context, "*" and "?" stay within one path element,
// "**" spans any number of them, and the last matching line decides.
func parseIgnore(text string) (ignoreList, error) {
	var out ignoreList
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exception := strings.HasPrefix(line, "!")
		line = strings.TrimSpace(strings.TrimPrefix(line, "!"))
		line = strings.TrimPrefix(path.Clean(filepath.ToSlash(line)), "/")
		re, err := patternRegexp(line)
		if err != nil {
			return nil, fmt.Errorf(".dockerignore line %q: %w", line, err)
		}
		out = append(out, ignorePattern{re: re, exception: exception})
	}
	return out, nil
}

func patternRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; {
		case ch == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			i++
			if i+1 < len(pattern) && pattern[i+1] == '/' {
				i++
				b.WriteString("(.*/)?")
			} else {
				b.WriteString(".*")
			}
		case ch == '*':
			b.WriteString("[^/]*")
		case ch == '?':
			b.WriteString("[^/]")
		case ch == '[' || ch == '\\':
			return nil, fmt.Errorf("character classes and escapes are not supported here; use * and **")
		default:
			b.WriteString(regexp.QuoteMeta(string(ch)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// excludes reports whether rel is left out of the context: the last pattern
// that matches rel or one of its parent directories decides.
func (l ignoreList) excludes(rel string) bool {
	excluded := false
	for _, p := range l {
		if p.matches(rel) {
			excluded = !p.exception
		}
	}
	return excluded
}

func (p ignorePattern) matches(rel string) bool {
	for q := rel; q != "." && q != "/" && q != ""; q = path.Dir(q) {
		if p.re.MatchString(q) {
			return true
		}
	}
	return false
}
