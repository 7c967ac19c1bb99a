package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// root is the repository root, seen from this package's directory (go test runs tests there).
const root = ".."

// readmeOperationsLink is the line README.md must carry so operators find docs/operations.md.
const readmeOperationsLink = "- [docs/operations.md](docs/operations.md): first-time setup, migration from the CDK stack, rotations, scaling, logs and metrics."

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

// docFiles are the Markdown files whose commands must be real: README.md and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	matches, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 2 {
		t.Fatalf("no docs/*.md found next to this test; docs/operations.md is expected")
	}
	return files
}

var (
	fence         = regexp.MustCompile("(?ms)^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*(```|~~~)[ \t]*$")
	inlineCode    = regexp.MustCompile("`([^`\n]+)`")
	shellComment  = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	makeCall      = regexp.MustCompile(`(?:^|[\s;&|(])make\s+([a-z][a-z0-9_-]*)`)
	configCall    = regexp.MustCompile(`pulumi\s+config\s+(?:set|get|rm)\s+((?:--(?:secret|plaintext|path)\s+)*)([A-Za-z][A-Za-z0-9_:.-]*)`)
	makeRule      = regexp.MustCompile(`(?m)^([A-Za-z0-9_.-]+)[ \t]*:([^=]|$)`)
	pulumiYAMLKey = regexp.MustCompile(`(?m)^  ([A-Za-z][A-Za-z0-9_]*):[ \t]*$`)
)

// codeOf returns the code of a Markdown document, the only place commands are written: fenced
// blocks (shell comments removed) and inline code spans. Prose such as "make sure" is ignored.
func codeOf(markdown string) []string {
	var code []string
	rest := fence.ReplaceAllStringFunc(markdown, func(block string) string {
		m := fence.FindStringSubmatch(block)
		code = append(code, shellComment.ReplaceAllString(m[2], ""))
		return ""
	})
	for _, m := range inlineCode.FindAllStringSubmatch(rest, -1) {
		code = append(code, m[1])
	}
	return code
}

// workflowCommands returns the shell lines of a workflow that can call make: `run: …` lines and
// the lines of `run: |` blocks, without comments.
func workflowCommands(yml string) []string {
	var lines []string
	for _, line := range strings.Split(yml, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		trimmed = strings.TrimPrefix(trimmed, "- ")
		trimmed = strings.TrimPrefix(trimmed, "run:")
		lines = append(lines, shellComment.ReplaceAllString(trimmed, ""))
	}
	return lines
}

func makeTargetsIn(code []string) []string {
	var targets []string
	for _, c := range code {
		for _, m := range makeCall.FindAllStringSubmatch(c, -1) {
			targets = append(targets, m[1])
		}
	}
	return targets
}

// configKeysIn returns the keys of `pulumi config set|get|rm [--secret] <key>` commands, without
// the project's namespace.
func configKeysIn(code []string) []string {
	var keys []string
	for _, c := range code {
		for _, m := range configCall.FindAllStringSubmatch(c, -1) {
			keys = append(keys, strings.TrimPrefix(m[2], "synapse-docker-registry:"))
		}
	}
	return keys
}

func makefileTargets(makefile string) map[string]bool {
	targets := map[string]bool{}
	for _, m := range makeRule.FindAllStringSubmatch(makefile, -1) {
		if !strings.HasPrefix(m[1], ".") {
			targets[m[1]] = true
		}
	}
	return targets
}

func pulumiConfigKeys(pulumiYAML string) map[string]bool {
	i := strings.Index(pulumiYAML, "\nconfig:")
	if i < 0 {
		return nil
	}
	keys := map[string]bool{}
	for _, m := range pulumiYAMLKey.FindAllStringSubmatch(pulumiYAML[i:], -1) {
		keys[m[1]] = true
	}
	return keys
}

func TestMakeTargetsInDocsAndWorkflowsExist(t *testing.T) {
	targets := makefileTargets(read(t, "Makefile"))
	if !targets["test"] || !targets["synth"] {
		t.Fatalf("found no make rules in the Makefile (parsed %v)", targets)
	}
	check := func(file string, code []string) {
		reported := map[string]bool{}
		for _, target := range makeTargetsIn(code) {
			if !targets[target] && !reported[target] {
				reported[target] = true
				t.Errorf("%s runs `make %s`, but the Makefile has no %q target: add it to the Makefile or fix %s", file, target, target, file)
			}
		}
	}
	for _, f := range docFiles(t) {
		check(f, codeOf(read(t, f)))
	}
	for _, f := range workflowFiles(t) {
		check(f, workflowCommands(read(t, f)))
	}
}

func TestConfigKeysInDocsExist(t *testing.T) {
	keys := pulumiConfigKeys(read(t, "Pulumi.yaml"))
	if len(keys) < 10 {
		t.Fatalf("parsed only %d config keys from Pulumi.yaml: %v", len(keys), keys)
	}
	keys["aws:region"] = true
	// The CI roles program (ci/roles) has its own project and keys.
	for k := range pulumiConfigKeys(read(t, "ci/roles/Pulumi.yaml")) {
		keys[k] = true
	}
	seen := 0
	for _, f := range docFiles(t) {
		for _, key := range configKeysIn(codeOf(read(t, f))) {
			seen++
			if !keys[key] {
				t.Errorf("%s configures %q, which Pulumi.yaml does not declare (nor is it aws:region): fix the key in %s", f, key, f)
			}
		}
	}
	if seen == 0 {
		t.Errorf("no `pulumi config set` command found in README.md or docs/*.md; the parser is probably broken")
	}
}

func TestReadmeLinksOperationsGuide(t *testing.T) {
	if _, err := os.Stat(filepath.Join(root, "docs", "operations.md")); err != nil {
		t.Fatalf("docs/operations.md is missing: %v", err)
	}
	if !strings.Contains(read(t, "README.md"), "](docs/operations.md)") {
		t.Errorf("README.md does not link docs/operations.md. Add this line under \"## More\" in README.md:\n%s", readmeOperationsLink)
	}
}

// sectionRef is how the workflows and scripts point operators at a section of the guide:
// docs/operations.md, "Section title".
var sectionRef = regexp.MustCompile(`docs/operations\.md, \\?"([^"\\]+)\\?"`)

func TestSectionsNamedByWorkflowsExist(t *testing.T) {
	guide := read(t, "docs/operations.md")
	headings := map[string]bool{}
	for _, line := range strings.Split(guide, "\n") {
		if strings.HasPrefix(line, "#") {
			headings[strings.TrimSpace(strings.TrimLeft(line, "#"))] = true
		}
	}
	files := append(workflowFiles(t), githubScripts(t)...)
	found := 0
	for _, f := range files {
		seen := map[string]bool{}
		for _, m := range sectionRef.FindAllStringSubmatch(read(t, f), -1) {
			found++
			if !headings[m[1]] && !seen[m[1]] {
				seen[m[1]] = true
				t.Errorf("%s sends operators to the section %q of docs/operations.md, which has no such heading", f, m[1])
			}
		}
	}
	if found == 0 {
		t.Errorf("no workflow or script names a section of docs/operations.md; the parser is probably broken")
	}
}

// The checks above must catch what they are for; a parser that finds nothing would pass them.
func TestCheckersCatchMistakes(t *testing.T) {
	doc := "Run `make nonexistent STACK=dev`, make sure it works.\n\n```sh\nmake up STACK=prod # make comment\npulumi config set --secret notAKey \"x\" --stack dev\npulumi config set cpu 2048 --stack prod\n```\n"
	code := codeOf(doc)
	if got, want := strings.Join(makeTargetsIn(code), ","), "up,nonexistent"; got != want {
		t.Errorf("make targets of the sample = %q, want %q", got, want)
	}
	if got, want := strings.Join(configKeysIn(code), ","), "notAKey,cpu"; got != want {
		t.Errorf("config keys of the sample = %q, want %q", got, want)
	}
	targets := makefileTargets("SHELL := bash\nSTACK ?= dev\n.PHONY: a\nup: check ## x\n\tpulumi up\ncheck:\n")
	if got := sortedKeys(targets); strings.Join(got, ",") != "check,up" {
		t.Errorf("makefile targets of the sample = %v, want [check up]", got)
	}
	keys := pulumiConfigKeys("name: x\nconfig:\n  cpu:\n    type: integer\n    description: 'x: y'\n  memory:\n    type: integer\n")
	if got := sortedKeys(keys); strings.Join(got, ",") != "cpu,memory" {
		t.Errorf("Pulumi.yaml keys of the sample = %v, want [cpu memory]", got)
	}
	wf := "      - run: make lint\n      # make nothing\n      - name: x\n        run: |\n          make synth STACK=\"$STACK\"\n"
	if got := strings.Join(makeTargetsIn(workflowCommands(wf)), ","); got != "lint,synth" {
		t.Errorf("make targets of the sample workflow = %q, want \"lint,synth\"", got)
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
