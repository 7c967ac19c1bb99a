package synth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UpdateEnv is the environment variable that makes CompareGolden rewrite
// snapshots instead of comparing them.
const UpdateEnv = "UPDATE_SNAPSHOTS"

// RefreshCommand is the one-liner CompareGolden's failures tell people to run.
var RefreshCommand = "make snapshots"

// TB is the part of testing.TB that CompareGolden uses.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
}

// CompareGolden compares got with the snapshot at path. With
// UPDATE_SNAPSHOTS=1 it writes got there instead (creating directories).
// On a mismatch it fails t with the first differing lines and the command
// that refreshes the snapshot. It returns whether got matched (or was written).
func CompareGolden(t TB, path string, got []byte) bool {
	t.Helper()
	if os.Getenv(UpdateEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Errorf("updating snapshot: %v", err)
			return false
		}
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, got) {
			return true
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Errorf("updating snapshot: %v", err)
			return false
		}
		t.Logf("updated snapshot %s", path)
		return true
	}
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Errorf("snapshot %s does not exist; create it with `%s` (or %s=1 go test ...) and commit it",
			path, RefreshCommand, UpdateEnv)
		return false
	}
	if err != nil {
		t.Errorf("reading snapshot: %v", err)
		return false
	}
	want = bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n")) // a checkout with autocrlf
	if bytes.Equal(want, got) {
		return true
	}
	t.Errorf("the infrastructure differs from snapshot %s:\n%s\n"+
		"If the change is intended, refresh the snapshot with `%s` (or %s=1 go test ...) "+
		"and commit it, so reviewers see the difference.",
		path, Diff(string(want), string(got), 40), RefreshCommand, UpdateEnv)
	return false
}

// Diff returns a unified diff of want (-) and got (+), showing at most
// maxLines changed lines. Each hunk header names the line numbers and, for
// synth JSON, the resource the change is in.
func Diff(want, got string, maxLines int) string {
	a, b := splitLines(want), splitLines(got)
	// Common prefix and suffix; what is between them has changed.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	del, add := a[pre:len(a)-suf], b[pre:len(b)-suf]

	var ops []diffOp
	for i := 0; i < pre; i++ {
		ops = append(ops, diffOp{kind: ' ', text: a[i]})
	}
	// Match lines inside the changed region by longest common subsequence
	// when it is small enough, so a one-line change reads as one line.
	if len(del)*len(add) <= 4_000_000 {
		ops = append(ops, lcsDiff(del, add)...)
	} else {
		for _, l := range del {
			ops = append(ops, diffOp{kind: '-', text: l})
		}
		for _, l := range add {
			ops = append(ops, diffOp{kind: '+', text: l})
		}
	}
	for i := len(a) - suf; i < len(a); i++ {
		ops = append(ops, diffOp{kind: ' ', text: a[i]})
	}
	// Line numbers.
	ai, bi := 1, 1
	for i := range ops {
		ops[i].a, ops[i].b = ai, bi
		if ops[i].kind != '+' {
			ai++
		}
		if ops[i].kind != '-' {
			bi++
		}
	}

	const context = 3
	var out strings.Builder
	out.WriteString("--- snapshot (want)\n+++ synth (got)\n")
	shown, changed := 0, 0
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: changes no more than 2*context equal lines apart.
		first, last := i, i
		for j := i; j < len(ops) && j <= last+2*context; j++ {
			if ops[j].kind != ' ' {
				last = j
			}
		}
		from, to := max(0, first-context), min(len(ops), last+context+1)
		for _, op := range ops[first : last+1] {
			if op.kind != ' ' {
				changed++
			}
		}
		if shown < maxLines {
			fmt.Fprintf(&out, "@@ -%d +%d @@%s\n", ops[from].a, ops[from].b, resourceAt(b, ops[first].b-1))
			for _, op := range ops[from:to] {
				if op.kind != ' ' {
					if shown == maxLines {
						continue
					}
					shown++
				}
				out.WriteString(string(op.kind) + line(op.text))
			}
		}
		i = last + 1
	}
	if changed > shown {
		fmt.Fprintf(&out, "... and %d more changed lines\n", changed-shown)
	}
	return strings.TrimRight(out.String(), "\n")
}

// resourceAt names the synth resource that line i of a JSON snapshot
// belongs to: " <type> <name>", or "".
func resourceAt(lines []string, i int) string {
	for j := min(i, len(lines)-1); j >= 0; j-- {
		l := strings.TrimSpace(lines[j])
		typ, ok := strings.CutPrefix(l, `"type": "`)
		if !ok || j+1 >= len(lines) {
			continue
		}
		name, ok := strings.CutPrefix(strings.TrimSpace(lines[j+1]), `"name": "`)
		if !ok {
			continue
		}
		return " " + strings.TrimSuffix(typ, `",`) + " " + strings.TrimSuffix(name, `",`)
	}
	return ""
}

func splitLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	text string
	a, b int // line numbers in want and got
}

func line(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n\\ no newline at end\n"
}

func lcsDiff(a, b []string) []diffOp {
	n, m := len(a), len(b)
	// lcs[i][j] = LCS length of a[i:], b[j:]
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{kind: ' ', text: a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{kind: '-', text: a[i]})
			i++
		default:
			ops = append(ops, diffOp{kind: '+', text: b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{kind: '-', text: a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{kind: '+', text: b[j]})
	}
	return ops
}
