package docs

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	// makeVariable is a documented variable of the Makefile: a "## what it does" line, then
	// NAME ?= default (what `make help` prints).
	makeVariable = regexp.MustCompile(`(?m)^(?:## (.*)\n)?([A-Z][A-Z0-9_]*) \?=[ \t]*(.*)$`)
	// readmeVariableTable is the header of the README's table of make variables; its rows are
	// | `NAME` | default | meaning |.
	readmeVariableTable = "| variable | default | what it does |"
	readmeVariableRow   = regexp.MustCompile("^\\| `([A-Z][A-Z0-9_]*)` \\| ([^|]*) \\|")
	// makeArgs are the NAME=value arguments of a make command (values quoted or not).
	makeArgs = regexp.MustCompile(`(?:^|[\s;&|(])make\s+[a-z][a-z0-9_-]*((?:\s+` + makeArgPattern + `)+)`)
	makeArg  = regexp.MustCompile(makeArgPattern)
)

// makefileVariables returns the Makefile's ?= variables with their defaults, and those that
// have no "##" line (make help would list them without saying what they do).
func makefileVariables(makefile string) (defaults map[string]string, undocumented []string) {
	defaults = map[string]string{}
	for _, m := range makeVariable.FindAllStringSubmatch(makefile, -1) {
		defaults[m[2]] = strings.TrimSpace(m[3])
		if strings.TrimSpace(m[1]) == "" {
			undocumented = append(undocumented, m[2])
		}
	}
	return defaults, undocumented
}

const makeArgPattern = `([A-Z][A-Z0-9_]*)=(?:'[^']*'|"[^"]*"|[^\s'"]*)`

// readmeVariables returns the rows of the README's variable table (nil without the table).
func readmeVariables(readme string) map[string]string {
	i := strings.Index(readme, readmeVariableTable+"\n")
	if i < 0 {
		return nil
	}
	rows := map[string]string{}
	for _, line := range strings.Split(readme[i:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		m := readmeVariableRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d := strings.Trim(strings.TrimSpace(m[2]), "`")
		if d == "(empty)" {
			d = ""
		}
		rows[m[1]] = d
	}
	return rows
}

func makeVariablesIn(code []string) []string {
	var vars []string
	for _, c := range code {
		for _, m := range makeArgs.FindAllStringSubmatch(c, -1) {
			for _, v := range makeArg.FindAllStringSubmatch(m[1], -1) {
				vars = append(vars, v[1])
			}
		}
	}
	return vars
}

// Every variable of the Makefile says what it does (make help prints it), the README's table
// lists exactly those with their defaults, and the docs pass make no variable it lacks.
func TestMakeVariablesAreDocumented(t *testing.T) {
	defaults, undocumented := makefileVariables(read(t, "Makefile"))
	for _, v := range []string{"STACK", "LOCAL_FLAGS", "COST_FLAGS", "BENCH_FLAGS", "WRITE"} {
		if _, ok := defaults[v]; !ok {
			t.Errorf("the Makefile has no %s ?= default; the README and make help document it", v)
		}
	}
	for _, v := range undocumented {
		t.Errorf("Makefile variable %s has no \"## what it does\" line above it, so make help cannot explain it", v)
	}
	rows := readmeVariables(read(t, "README.md"))
	if rows == nil {
		t.Fatalf("README.md has no table of make variables; add one under the commands, headed\n%s", readmeVariableTable)
	}
	for v, def := range defaults {
		got, ok := rows[v]
		switch {
		case !ok:
			t.Errorf("README.md's variable table has no row for %s; add | `%s` | %s | ... |", v, v, orEmpty(def))
		case got != def:
			t.Errorf("README.md gives %s the default %q; the Makefile says %q", v, orEmpty(got), orEmpty(def))
		}
	}
	for v := range rows {
		if _, ok := defaults[v]; !ok {
			t.Errorf("README.md documents make variable %s, which the Makefile does not define", v)
		}
	}
	seen := 0
	for _, f := range docFiles(t) {
		reported := map[string]bool{}
		for _, v := range makeVariablesIn(codeOf(read(t, f))) {
			seen++
			if _, ok := defaults[v]; !ok && !reported[v] {
				reported[v] = true
				t.Errorf("%s passes make %s=, which the Makefile does not define: fix %s or define it (with a ## line)", f, v, f)
			}
		}
	}
	if seen == 0 {
		t.Error("no `make <target> NAME=value` found in README.md or docs/*.md; the parser is probably broken")
	}
}

func orEmpty(s string) string {
	if s == "" {
		return "(empty)"
	}
	return s
}

func TestMakeVariableCheckersCatchMistakes(t *testing.T) {
	defaults, undocumented := makefileVariables("SHELL := bash\n## the stack\nSTACK ?= dev\nSECRET ?=\n## x\nGO ?= go\n")
	if len(defaults) != 3 || defaults["STACK"] != "dev" || defaults["SECRET"] != "" || strings.Join(undocumented, ",") != "SECRET" {
		t.Errorf("defaults %v, undocumented %v; want STACK=dev, SECRET=, GO=go and SECRET undocumented", defaults, undocumented)
	}
	rows := readmeVariables("| `OTHER` | x | y |\n\n" + readmeVariableTable + "\n|---|---|---|\n| `STACK` | `dev` | x |\n| `WRITE` | (empty) | y |\n\n| `AFTER` | x | y |\n")
	if len(rows) != 2 || rows["STACK"] != "dev" || rows["WRITE"] != "" {
		t.Errorf("README rows = %v, want STACK=dev and WRITE empty", rows)
	}
	vars := makeVariablesIn(codeOf("```sh\nSYNAPSE_REGISTRY_LISTEN_ADDR=x make local LOCAL_FLAGS='-dir d'\nmake bench WRITE=1 BENCH_FLAGS='-registry-env GOMEMLIMIT=1GiB' # make up TYPO=1\n```\nRun `make cost STACK=prod`.\n"))
	sort.Strings(vars)
	if got := strings.Join(vars, ","); got != "BENCH_FLAGS,LOCAL_FLAGS,STACK,WRITE" {
		t.Errorf("make variables of the sample = %q, want BENCH_FLAGS,LOCAL_FLAGS,STACK,WRITE", got)
	}
}

// The README's commands and CI's entry point both run the tests and the linters.
func TestReadmeAndCIRunTestAndLint(t *testing.T) {
	i := strings.Index(read(t, "README.md"), "## The commands")
	if i < 0 {
		t.Fatal(`README.md has no "## The commands" section`)
	}
	section := read(t, "README.md")[i:]
	if j := strings.Index(section[1:], "\n## "); j >= 0 {
		section = section[:j+1]
	}
	commands := strings.Join(makeTargetsIn(codeOf(section)), ",")
	ci := strings.Join(makeTargetsIn(workflowCommands(read(t, ".ci/run"))), ",")
	for _, target := range []string{"test", "lint"} {
		if !strings.Contains(","+commands+",", ","+target+",") {
			t.Errorf("README.md's commands (%s) do not include make %s", commands, target)
		}
		if !strings.Contains(","+ci+",", ","+target+",") {
			t.Errorf(".ci/run (make %s) does not run make %s", ci, target)
		}
	}
}
