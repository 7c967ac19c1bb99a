package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	controlRow = regexp.MustCompile(`(?m)^\| ([A-Za-z0-9]+\.[0-9]+)( \([a-z]+\))? \|(.*)\|[ \t]*$`)
	testName   = regexp.MustCompile("`(Test[A-Za-z0-9_]+)`")
)

// testFunctions returns the names of every Go test function in the repository.
func testFunctions(t *testing.T) map[string]bool {
	t.Helper()
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\)`)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				funcs[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

// Every control docs/security.md lists as met names at least one test, and every test it names
// exists; every control it lists as not met gives a reason.
func TestSecurityControlsNameExistingTests(t *testing.T) {
	doc := read(t, "docs/security.md")
	met, notMet, ok := strings.Cut(doc, "## Deliberately not met")
	if !ok {
		t.Fatal(`docs/security.md has no "## Deliberately not met" section`)
	}
	funcs := testFunctions(t)
	checkMet := func(section string) int {
		rows := controlRow.FindAllStringSubmatch(section, -1)
		for _, row := range rows {
			names := testName.FindAllStringSubmatch(row[3], -1)
			if len(names) == 0 {
				t.Errorf("control %s%s names no test (write `TestName` in its Test column)", row[1], row[2])
			}
			for _, n := range names {
				if !funcs[n[1]] {
					t.Errorf("control %s names %s, which no _test.go file declares", row[1], n[1])
				}
			}
		}
		return len(rows)
	}
	if n := checkMet(met); n < 10 {
		t.Errorf("only %d met controls found in docs/security.md; is the table still | Control | Resource | Setting | Test |?", n)
	}
	seen := map[string]bool{}
	for _, row := range controlRow.FindAllStringSubmatch(notMet, -1) {
		if strings.Trim(row[3], " |") == "" {
			t.Errorf("control %s is not met without a reason", row[1])
		}
		seen[row[1]+row[2]] = true
	}
	for _, row := range controlRow.FindAllStringSubmatch(met, -1) {
		if seen[row[1]+row[2]] {
			t.Errorf("control %s%s is listed both as met and as not met", row[1], row[2])
		}
	}
	for _, c := range []string{"EC2.2", "EC2.6", "EC2.15"} {
		if !regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(c) + ` \|`).MatchString(met) {
			t.Errorf("docs/security.md does not list %s as met", c)
		}
	}
}

// The checker catches a made-up test name.
func TestSecurityCheckerCatchesMissingTests(t *testing.T) {
	row := "| EC2.99 | x | y | `TestThatDoesNotExist` |"
	m := controlRow.FindStringSubmatch(row)
	if m == nil || testName.FindStringSubmatch(m[3])[1] != "TestThatDoesNotExist" {
		t.Fatalf("control row not parsed: %q", m)
	}
	if testFunctions(t)["TestThatDoesNotExist"] {
		t.Error("a test that does not exist was found")
	}
}

// Every test docs/security.md names anywhere (the CI roles' table too) exists.
func TestSecurityDocNamesExistingTests(t *testing.T) {
	funcs := testFunctions(t)
	names := testName.FindAllStringSubmatch(read(t, "docs/security.md"), -1)
	if len(names) == 0 {
		t.Fatal("docs/security.md names no test")
	}
	for _, m := range names {
		if !funcs[m[1]] {
			t.Errorf("docs/security.md names %s, which no _test.go file declares", m[1])
		}
	}
}

// The operations guide keeps no permission list of its own: every IAM action its "AWS roles"
// section names is one ci/roles declares.
func TestOperationsGuideRolesMatchCIRoles(t *testing.T) {
	guide := read(t, "docs/operations.md")
	_, section, ok := strings.Cut(guide, "### AWS roles")
	if !ok {
		t.Fatal(`docs/operations.md has no "### AWS roles" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var code strings.Builder
	for _, f := range globRel(t, "ci/roles/*.go") {
		if !strings.HasSuffix(f, "_test.go") {
			code.WriteString(read(t, f))
		}
	}
	action := regexp.MustCompile("`((?:iam|kms|s3|secretsmanager|ecs|ec2|ecr|elasticloadbalancing|cloudwatch|logs|sts):[A-Za-z]+)`")
	found := action.FindAllStringSubmatch(section, -1)
	if len(found) == 0 {
		t.Fatal("the AWS roles section names no IAM action; the pattern is probably broken")
	}
	for _, m := range found {
		if !strings.Contains(code.String(), `"`+m[1]+`"`) {
			t.Errorf("docs/operations.md's AWS roles section names %s, which ci/roles does not declare", m[1])
		}
	}
	if !strings.Contains(section, "ci/roles/permissions.go") {
		t.Error("the AWS roles section does not point to ci/roles/permissions.go, the list of the roles' permissions")
	}
}
