package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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

type workflowStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Env  map[string]string `yaml:"env"`
}

type workflowJob struct {
	Environment any               `yaml:"environment"`
	Env         map[string]string `yaml:"env"`
	Steps       []workflowStep    `yaml:"steps"`
}

type workflow struct {
	Env  map[string]string      `yaml:"env"`
	Jobs map[string]workflowJob `yaml:"jobs"`
}

func parseWorkflow(t *testing.T, f string) (workflow, map[string]string) {
	t.Helper()
	var wf workflow
	if err := yaml.Unmarshal([]byte(read(t, f)), &wf); err != nil {
		t.Fatalf("%s: %v", f, err)
	}
	// Each job's own text, for references anywhere in it.
	var doc struct {
		Jobs map[string]yaml.Node `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(read(t, f)), &doc); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for name, node := range doc.Jobs {
		b, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = string(b)
	}
	if len(wf.Jobs) == 0 {
		t.Fatalf("%s has no jobs; the parser is probably broken", f)
	}
	return wf, texts
}

var (
	secretRef = regexp.MustCompile(`\bsecrets\.([A-Z][A-Z0-9_]*)`)
	// Per-stack inputs (..._DEV, ..._PROD) and the expression that picks one: it must name the
	// stack it is for, so a job of one stack never falls back to the other's (`a && X_PROD ||
	// X_DEV` takes X_DEV whenever X_PROD is empty).
	stackInputRef     = regexp.MustCompile(`\b(?:vars|secrets)\.[A-Z0-9_]+_(DEV|PROD)\b`)
	guardedStackInput = regexp.MustCompile(`== '(dev|prod)' && (?:vars|secrets)\.[A-Z0-9_]+_(DEV|PROD)\b`)
)

// Workflow secrets are scoped to their GitHub environment: a job reads a secret or a stack's
// variable only if it runs in an environment (which holds them, docs/operations.md "GitHub
// environments"); secrets appear only in the env of the step that uses them, never in a job's or
// the workflow's env, which every action of the job would see; and a stack's input is only ever
// read for that stack.
func TestSecretsAreScopedToTheirEnvironment(t *testing.T) {
	for _, f := range workflowFiles(t) {
		wf, texts := parseWorkflow(t, f)
		for k, v := range wf.Env {
			if secretRef.MatchString(v) || stackInputRef.MatchString(v) {
				t.Errorf("%s: the workflow's env %s reads %s; read it in the step that needs it", f, k, v)
			}
		}
		for name, job := range wf.Jobs {
			text := texts[name]
			uses := false
			for _, m := range secretRef.FindAllStringSubmatch(text, -1) {
				uses = uses || m[1] != "GITHUB_TOKEN"
			}
			uses = uses || stackInputRef.MatchString(text)
			if uses && job.Environment == nil {
				t.Errorf("%s: job %s reads secrets or a stack's variables but runs in no GitHub environment", f, name)
			}
			for k, v := range job.Env {
				if secretRef.MatchString(v) {
					t.Errorf("%s: job %s puts a secret in the job's env (%s); every step would see it: move it to the step that needs it", f, name, k)
				}
			}
			for _, m := range stackInputRef.FindAllStringIndex(text, -1) {
				ref := text[m[0]:m[1]]
				ok := false
				for _, g := range guardedStackInput.FindAllStringSubmatchIndex(text, -1) {
					stack, suffix := text[g[2]:g[3]], text[g[4]:g[5]]
					if g[1] == m[1] && strings.EqualFold(stack, suffix) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s: job %s reads %s without `== '<stack>' &&` naming its stack: a job of the other stack could fall back to it", f, name, ref)
				}
			}
		}
	}
}

// The jobs that assume an AWS role run in the environment that role trusts: deploys in the
// stack's environment, previews and drift checks in preview-<stack>.
func TestRoleJobsRunInTheTrustedEnvironment(t *testing.T) {
	for f, want := range map[string]string{
		".github/workflows/deploy.yml":       "${{ github.ref_name }}",
		".github/workflows/pull-request.yml": "preview-${{ matrix.stack }}",
		".github/workflows/drift.yml":        "preview-${{ matrix.stack }}",
	} {
		wf, _ := parseWorkflow(t, f)
		found := false
		for name, job := range wf.Jobs {
			assumes := false
			for _, s := range job.Steps {
				assumes = assumes || strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@")
			}
			if !assumes {
				continue
			}
			found = true
			env := job.Environment
			if m, ok := env.(map[string]any); ok {
				env = m["name"]
			}
			if env != want {
				t.Errorf("%s: job %s assumes a role in environment %v, want %s", f, name, env, want)
			}
		}
		if !found {
			t.Errorf("%s assumes no role; the parser is probably broken", f)
		}
	}
}
