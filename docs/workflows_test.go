package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func workflowFiles(t *testing.T) []string {
	t.Helper()
	return globRel(t, ".github/workflows/*.yml")
}

func githubScripts(t *testing.T) []string {
	t.Helper()
	return globRel(t, ".github/scripts/*")
}

func globRel(t *testing.T, pattern string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(pattern)))
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) == 0 {
		t.Fatalf("no file matches %s", pattern)
	}
	var out []string
	for _, m := range matches {
		rel, _ := filepath.Rel(root, m)
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

var (
	usesLine    = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinnedUses  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	versionNote = regexp.MustCompile(`^\s*#\s*v\d+\.\d+\.\d+\b`)
	inputRef    = regexp.MustCompile(`\b(vars|secrets)\.([A-Z][A-Z0-9_]*)`)
	scriptCall  = regexp.MustCompile(`\bbash\s+(\.github/[^\s"']+)`)
	cliVersion  = regexp.MustCompile(`(?m)^\s*PULUMI_VERSION:\s*"?(\d+\.\d+\.\d+)"?`)
	sdkVersion  = regexp.MustCompile(`(?m)^\s*github\.com/pulumi/pulumi/sdk/v3 v(\d+\.\d+\.\d+)`)
)

// Every action runs at a reviewed commit: a tag can be moved, a commit cannot. The comment names
// the release, for people and for Dependabot.
func TestActionsArePinnedToCommits(t *testing.T) {
	for _, f := range workflowFiles(t) {
		matches := usesLine.FindAllStringSubmatch(read(t, f), -1)
		if len(matches) == 0 {
			t.Errorf("%s uses no action; the parser is probably broken", f)
		}
		seen := map[string]bool{}
		for _, m := range matches {
			ref, comment := m[1], m[2]
			if strings.HasPrefix(ref, "./") || seen[ref+comment] {
				continue
			}
			seen[ref+comment] = true
			if !pinnedUses.MatchString(ref) || !versionNote.MatchString(comment) {
				t.Errorf("%s: `uses: %s%s` must pin a full commit SHA followed by its release, e.g. `uses: owner/action@<40 hex> # v1.2.3`", f, ref, comment)
			}
		}
	}
}

// Every repository variable and secret the workflows read is documented for whoever sets up the
// repository (GITHUB_TOKEN is GitHub's own).
func TestWorkflowInputsAreDocumented(t *testing.T) {
	guide := read(t, "docs/operations.md")
	for _, f := range workflowFiles(t) {
		seen := map[string]bool{}
		for _, m := range inputRef.FindAllStringSubmatch(read(t, f), -1) {
			kind, name := m[1], m[2]
			if name == "GITHUB_TOKEN" || seen[name] {
				continue
			}
			seen[name] = true
			if !strings.Contains(guide, "`"+name+"`") {
				t.Errorf("%s reads %s.%s, which docs/operations.md does not document (as `%s`)", f, kind, name, name)
			}
		}
	}
}

func TestScriptsCalledByWorkflowsExist(t *testing.T) {
	for _, f := range workflowFiles(t) {
		for _, m := range scriptCall.FindAllStringSubmatch(read(t, f), -1) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s runs %s, which does not exist", f, m[1])
			}
		}
	}
}

// The Pulumi CLI the workflows install must not be older than the Go SDK the program is built
// with; bumping the SDK in go.mod means bumping PULUMI_VERSION in the workflows.
func TestPulumiCLINotOlderThanSDK(t *testing.T) {
	m := sdkVersion.FindStringSubmatch(read(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod does not require github.com/pulumi/pulumi/sdk/v3")
	}
	sdk := m[1]
	for _, f := range workflowFiles(t) {
		text := read(t, f)
		if !strings.Contains(text, "pulumi/actions@") {
			continue
		}
		v := cliVersion.FindStringSubmatch(text)
		if v == nil {
			t.Errorf("%s runs pulumi/actions without a PULUMI_VERSION: \"x.y.z\" to install", f)
			continue
		}
		if compareVersions(v[1], sdk) < 0 {
			t.Errorf("%s installs the Pulumi CLI %s, older than the Go SDK %s in go.mod: set PULUMI_VERSION to at least %s", f, v[1], sdk, sdk)
		}
	}
}

func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"3.190.0", "3.190.0", 0}, {"3.90.0", "3.190.0", -1}, {"3.191.0", "3.190.9", 1}, {"4.0.0", "3.999.0", 1}} {
		if got := compareVersions(c.a, c.b); got != c.want {
			t.Errorf("compareVersions(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// The drift check runs on a schedule, changes nothing (refresh --preview-only, the preview role,
// never the deploy role), fails on any difference, and keeps docker.Image out of the refresh,
// whose refresh would report drift on every run (pulumi/pulumi-docker#560).
func TestDriftWorkflow(t *testing.T) {
	wf := read(t, ".github/workflows/drift.yml")
	for _, want := range []string{
		"schedule:", "cron:", "pulumi refresh --preview-only --expect-no-changes",
		"--exclude '**docker:index/image:Image**'", "pulumi preview --expect-no-changes",
		"vars.AWS_PREVIEW_ROLE_ARN_PROD", "ref: ${{ matrix.stack }}", "gh issue create",
	} {
		if !strings.Contains(wf, want) {
			t.Errorf("drift.yml lacks %q", want)
		}
	}
	for _, forbidden := range []string{"AWS_DEPLOY_ROLE", "pulumi up", "command: refresh", "--yes"} {
		if strings.Contains(wf, forbidden) {
			t.Errorf("drift.yml contains %q: the drift check must not change anything", forbidden)
		}
	}
	if !regexp.MustCompile(`pulumi refresh[^\n]*\\\n[^\n]*--exclude '\*\*docker:index/image:Image\*\*'`).MatchString(wf) {
		t.Error("the refresh of drift.yml does not exclude docker.Image")
	}
}

// Prod is previewed only for pull requests into the prod branch, and every job that assumes a
// role runs in the GitHub environment whose OIDC subject that role trusts (ci/roles).
func TestPreviewsRunInTheirEnvironment(t *testing.T) {
	pr := read(t, ".github/workflows/pull-request.yml")
	for _, want := range []string{
		`stack: ${{ fromJSON(github.base_ref == 'prod' && '["prod"]' || '["dev"]') }}`,
		"environment: preview-${{ matrix.stack }}",
	} {
		if !strings.Contains(pr, want) {
			t.Errorf("pull-request.yml lacks %q", want)
		}
	}
	if strings.Contains(pr, "stack: [dev, prod]") {
		t.Error("pull-request.yml previews prod for every pull request")
	}
	if !strings.Contains(read(t, ".github/workflows/drift.yml"), "environment: preview-${{ matrix.stack }}") {
		t.Error("drift.yml does not run in the preview environment its role trusts")
	}
	if !strings.Contains(read(t, "ci/roles/roles.go"), `":environment:preview-" + stack`) {
		t.Error("the preview roles do not trust the preview-<stack> environment the workflows use")
	}
}
