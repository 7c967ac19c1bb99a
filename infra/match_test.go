package infra

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// A partial matcher in the spirit of AWS CDK's Match.objectLike: a pattern describes only what a
// test is about, and a mismatch names the path to it and both values, instead of panicking on a
// chained type assertion.
//
// In a pattern, a map matches a map that has at least its keys (extra keys are fine, at every
// level); a slice matches a slice of the same length, element by element; a number matches the
// same number whatever its Go type (JSON decodes every number as float64); a matcher (absent,
// arrayWith, anyValue, satisfies) matches as it says; anything else must be equal.

// matcher is a pattern element that decides for itself.
type matcher interface {
	match(path string, got any, present bool) []string
}

type absentMatcher struct{}

// absent matches a key that is not there.
func absent() matcher { return absentMatcher{} }

func (absentMatcher) match(path string, got any, present bool) []string {
	if present {
		return []string{fmt.Sprintf("%s: got %s, want it absent", path, show(got))}
	}
	return nil
}

type anyValueMatcher struct{}

// anyValue matches any value, as long as the key is there.
func anyValue() matcher { return anyValueMatcher{} }

func (anyValueMatcher) match(path string, got any, present bool) []string {
	if !present || got == nil {
		return []string{fmt.Sprintf("%s: missing, want a value", path)}
	}
	return nil
}

type arrayWithMatcher struct{ elements []any }

// arrayWith matches a list that has, for each of elements, some element matching it (in any order).
func arrayWith(elements ...any) matcher { return arrayWithMatcher{elements} }

func (m arrayWithMatcher) match(path string, got any, present bool) []string {
	if !present {
		return []string{fmt.Sprintf("%s: missing, want a list with %s", path, show(m.elements))}
	}
	list, ok := asList(got)
	if !ok {
		return []string{fmt.Sprintf("%s: got %s, want a list with %s", path, show(got), show(m.elements))}
	}
	var problems []string
	for _, want := range m.elements {
		found := false
		for i, e := range list {
			if len(matchAt(fmt.Sprintf("%s[%d]", path, i), e, true, want)) == 0 {
				found = true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s: no element matches %s (have %s)", path, show(want), show(got)))
		}
	}
	return problems
}

type satisfiesMatcher struct {
	what string
	ok   func(any) bool
}

// satisfies matches a value for which ok is true; what says what it must be, for the message.
func satisfies(what string, ok func(any) bool) matcher { return satisfiesMatcher{what, ok} }

func (m satisfiesMatcher) match(path string, got any, present bool) []string {
	if !present || !m.ok(got) {
		return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), m.what)}
	}
	return nil
}

// matchLike returns one message per mismatch between got and the pattern want, each naming its
// path under root.
func matchLike(root string, got, want any) []string {
	return matchAt(root, got, true, want)
}

// expectLike fails the test, without stopping it, with every mismatch between got and want.
func expectLike(t *testing.T, root string, got, want any) bool {
	t.Helper()
	problems := matchLike(root, got, want)
	for _, p := range problems {
		t.Error(p)
	}
	return len(problems) == 0
}

func matchAt(path string, got any, present bool, want any) []string {
	if m, ok := want.(matcher); ok {
		return m.match(path, got, present)
	}
	if !present {
		return []string{fmt.Sprintf("%s: missing, want %s", path, show(want))}
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want an object like %s", path, show(got), show(want))}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var problems []string
		for _, k := range keys {
			v, ok := g[k]
			problems = append(problems, matchAt(path+"."+k, v, ok, w[k])...)
		}
		return problems
	case []any:
		g, ok := asList(got)
		if !ok {
			return []string{fmt.Sprintf("%s: got %s, want a list %s", path, show(got), show(want))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %d elements %s, want %d like %s", path, len(g), show(got), len(w), show(want))}
		}
		var problems []string
		for i := range w {
			problems = append(problems, matchAt(fmt.Sprintf("%s[%d]", path, i), g[i], true, w[i])...)
		}
		return problems
	case []string:
		list := make([]any, len(w))
		for i, s := range w {
			list[i] = s
		}
		return matchAt(path, got, present, list)
	}
	if wn, ok := number(want); ok {
		if gn, ok := number(got); ok && gn == wn {
			return nil
		}
		return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
	}
	if !reflect.DeepEqual(got, want) {
		return []string{fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want))}
	}
	return nil
}

// objects reads a list of objects, reporting (not panicking on) an element of another shape; a
// missing list is empty.
func objects(t *testing.T, path string, v any) []map[string]any {
	t.Helper()
	if v == nil {
		return nil
	}
	list, ok := asList(v)
	if !ok {
		t.Errorf("%s: got %s, want a list of objects", path, show(v))
		return nil
	}
	var out []map[string]any
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			t.Errorf("%s[%d]: got %s, want an object", path, i, show(e))
			continue
		}
		out = append(out, m)
	}
	return out
}

func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if str, ok := v.(string); ok {
		s = fmt.Sprintf("%q", str)
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ReplaceAll(s, "map[string]interface {}", "")
}

// The matcher itself: each kind of mismatch is reported with its path and both values, and a
// pattern that holds matches.
func TestMatchLike(t *testing.T) {
	got := map[string]any{
		"healthCheck": map[string]any{"path": "/debug/health", "port": "5001", "interval": float64(15)},
		"tags":        map[string]any{"Stack": "dev"},
		"ports":       []any{float64(80), float64(443)},
	}
	if p := matchLike("inputs", got, map[string]any{
		"healthCheck": map[string]any{"path": "/debug/health", "interval": 15},
		"ports":       arrayWith(443),
		"tags":        map[string]any{"Stack": anyValue()},
		"missing":     absent(),
	}); len(p) != 0 {
		t.Errorf("a matching pattern reports %v", p)
	}
	for _, c := range []struct {
		want any
		says string
	}{
		{map[string]any{"healthCheck": map[string]any{"path": "/health"}}, `inputs.healthCheck.path: got "/debug/health", want "/health"`},
		{map[string]any{"healthCheck": map[string]any{"timeout": 5}}, `inputs.healthCheck.timeout: missing, want 5`},
		{map[string]any{"tags": "dev"}, `inputs.tags: got {"Stack":"dev"}, want "dev"`},
		{map[string]any{"ports": []any{80}}, `inputs.ports: got 2 elements`},
		{map[string]any{"ports": arrayWith(22)}, `inputs.ports: no element matches 22`},
		{map[string]any{"tags": absent()}, `inputs.tags: got {"Stack":"dev"}, want it absent`},
		{map[string]any{"healthCheck": map[string]any{"port": satisfies("a port above 5001", func(v any) bool { return v == "6000" })}}, `inputs.healthCheck.port: got "5001", want a port above 5001`},
	} {
		p := matchLike("inputs", got, c.want)
		if len(p) != 1 || !strings.Contains(p[0], c.says) {
			t.Errorf("pattern %s: reports %q, want one message containing %q", show(c.want), p, c.says)
		}
	}
}
