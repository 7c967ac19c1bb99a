package synth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records what CompareGolden reports.
type fakeTB struct {
	errors, logs []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Logf(format string, args ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func numbered(n int, change map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if s, ok := change[i]; ok {
			b.WriteString(s + "\n")
			continue
		}
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestCompareGoldenMatch(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "dev.json")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var tb fakeTB
	if !CompareGolden(&tb, path, []byte("same\n")) || len(tb.errors) != 0 {
		t.Errorf("errors = %v", tb.errors)
	}
}

func TestCompareGoldenMismatchShowsDiffAndRefreshCommand(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "dev.json")
	want := numbered(200, nil)
	got := numbered(200, map[int]string{120: `      "retentionInDays": 365`})
	if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
		t.Fatal(err)
	}
	var tb fakeTB
	if CompareGolden(&tb, path, []byte(got)) || len(tb.errors) != 1 {
		t.Fatalf("errors = %v", tb.errors)
	}
	msg := tb.errors[0]
	for _, s := range []string{
		"-line 120\n",
		"+      \"retentionInDays\": 365\n",
		" line 119\n", // context
		"@@ -117 +117 @@",
		"`make snapshots`",
		path,
	} {
		if !strings.Contains(msg, s) {
			t.Errorf("message lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "line 100\n") || strings.Contains(msg, "line 150\n") {
		t.Errorf("message shows unchanged lines far from the change:\n%s", msg)
	}
	// The file is untouched.
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Error("snapshot changed without UPDATE_SNAPSHOTS")
	}
}

func TestCompareGoldenLimitsTheDiff(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "dev.json")
	change := map[int]string{}
	for i := 10; i < 110; i++ {
		change[i] = fmt.Sprintf("changed %d", i)
	}
	if err := os.WriteFile(path, []byte(numbered(200, nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	var tb fakeTB
	CompareGolden(&tb, path, []byte(numbered(200, change)))
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "... and 160 more changed lines") ||
		strings.Count(tb.errors[0], "\n+changed")+strings.Count(tb.errors[0], "\n-line") != 40 {
		t.Errorf("errors = %v", tb.errors)
	}
}

func TestCompareGoldenUpdate(t *testing.T) {
	t.Setenv(UpdateEnv, "1")
	path := filepath.Join(t.TempDir(), "testdata", "dev.json")
	var tb fakeTB
	if !CompareGolden(&tb, path, []byte("new\n")) || len(tb.errors) != 0 {
		t.Fatalf("errors = %v", tb.errors)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "new\n" {
		t.Errorf("snapshot = %q, %v", b, err)
	}
	if len(tb.logs) != 1 {
		t.Errorf("logs = %v", tb.logs)
	}
}

func TestCompareGoldenMissing(t *testing.T) {
	t.Setenv(UpdateEnv, "")
	var tb fakeTB
	CompareGolden(&tb, filepath.Join(t.TempDir(), "nope.json"), []byte("x\n"))
	if len(tb.errors) != 1 || !strings.Contains(tb.errors[0], "does not exist") || !strings.Contains(tb.errors[0], "make snapshots") {
		t.Errorf("errors = %v", tb.errors)
	}
}

func TestDiffAddedAndRemovedLines(t *testing.T) {
	d := Diff("a\nb\nc\n", "a\nc\nd\n", 10)
	for _, s := range []string{"-b\n", "+d", " a\n", " c\n"} {
		if !strings.Contains(d, s) {
			t.Errorf("diff lacks %q:\n%s", s, d)
		}
	}
}

func TestDiffNamesTheResourceOfEachHunk(t *testing.T) {
	res := &Result{Stack: "dev", Resources: []Resource{
		{Type: "aws:s3/bucketV2:BucketV2", Name: "images", Inputs: map[string]interface{}{"bucket": "a"}, DependsOn: []string{}},
		{Type: "aws:cloudwatch/logGroup:LogGroup", Name: "logs", Inputs: map[string]interface{}{
			"retentionInDays": 30.0, "a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0, "f": 6.0, "g": 7.0}, DependsOn: []string{}},
	}}
	want, _ := res.JSON()
	res.Resources[0].Inputs["bucket"] = "b"
	res.Resources[1].Inputs["retentionInDays"] = 365.0
	got, _ := res.JSON()
	d := Diff(string(want), string(got), 40)
	for _, s := range []string{
		"@@ -6 +6 @@ aws:s3/bucketV2:BucketV2 images\n",
		"-        \"bucket\": \"a\"\n+        \"bucket\": \"b\"\n",
		" aws:cloudwatch/logGroup:LogGroup logs\n",
		"+        \"retentionInDays\": 365\n",
	} {
		if !strings.Contains(d, s) {
			t.Errorf("diff lacks %q:\n%s", s, d)
		}
	}
	if strings.Count(d, "@@ -") != 2 {
		t.Errorf("want two hunks:\n%s", d)
	}
}
