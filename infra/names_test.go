package infra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// beforeComponentNames is a stack as it was deployed before the component took a name (its
// children then had fixed names): each resource's URN and the physical names it set itself.
// testdata/urns-before-component-names-<stack>.json was written from the snapshots of that
// program (commit 9eeca90) and must never be regenerated: it is what the deployed stacks hold.
type beforeComponentNames struct {
	Resources []struct {
		URN           string            `json:"urn"`
		PhysicalNames map[string]string `json:"physicalNames"`
	} `json:"resources"`
}

// physicalNameInputs are the inputs that name a resource in AWS when the program sets them;
// without them the provider auto-names it from the logical name. (A bucket's "bucket" is its
// name too, but on its hardening resources a reference to it; no created bucket sets it.)
var physicalNameInputs = []string{"name", "namePrefix", "bucketPrefix", "family", "dashboardName", "alarmName"}

// declaredSinceTheFreeze are the children added after the frozen URNs were written (their
// logical base names): no deployed stack holds them, so they are created, never replaced.
// Add a child here only when it is really new, never to silence a rename.
var declaredSinceTheFreeze = []string{"task-protection-policy", "notification-relay-restarts"}

// `pulumi up` after the component took a name must replace nothing in a deployed stack: every
// resource in its state is found again under its old URN, through an alias, and names itself in
// AWS as it did. An auto-named resource keeps the name in state: the provider reuses it on an update
// (pulumi-terraform-bridge, ComputeAutoNameDefault: "respects the prior state of the resource").
func TestStackInstanceKeepsItsURNsAndPhysicalNames(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		data, err := os.ReadFile(filepath.Join("testdata", "urns-before-component-names-"+r.Stack+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var before beforeComponentNames
		if err := json.Unmarshal(data, &before); err != nil {
			t.Fatal(err)
		}
		claimed := map[string]string{} // current URN -> the old URN it answers to
		for _, old := range before.Resources {
			var found []synth.Resource
			for _, res := range r.raw.Resources {
				if res.URN == old.URN || slices.Contains(res.Aliases, old.URN) {
					found = append(found, res)
				}
			}
			if len(found) != 1 {
				t.Errorf("%s: %d resources answer to it, want 1; `pulumi up` would delete it and create its successor", old.URN, len(found))
				continue
			}
			res := found[0]
			claimed[res.URN] = old.URN
			for key, was := range old.PhysicalNames {
				if now := res.InputString(key); now != was {
					t.Errorf("%s: %s %q, was %q; a changed name replaces the resource", res.URN, key, now, was)
				}
			}
			for _, key := range physicalNameInputs {
				if _, had := old.PhysicalNames[key]; !had && res.InputString(key) != "" && !slices.Contains(res.IgnoreChanges, key) {
					t.Errorf("%s: now sets %s %q where it was auto-named, without ignoring changes to it; the resource would be replaced", res.URN, key, res.InputString(key))
				}
			}
		}
		for _, res := range r.raw.Resources {
			isNew := slices.ContainsFunc(declaredSinceTheFreeze, func(base string) bool { return strings.HasSuffix(res.URN, "-"+r.Stack+"-"+base) })
			if _, ok := claimed[res.URN]; !ok && !isNew {
				t.Errorf("%s is new in a deployed stack", res.URN)
			}
		}
	})
}

// The aliases themselves: each child of the stack's instance answers to its name of before, under
// the same parent; the component and the provider never changed URN.
func TestStackInstanceAliasesEachChildToItsOldName(t *testing.T) {
	r := stackRun(t, "prod")
	prefix := "urn:pulumi:prod::synapse-docker-registry::synapse:registry:DockerRegistry$"
	want := map[string][]string{
		"urn:pulumi:prod::synapse-docker-registry::synapse:registry:DockerRegistry::synapse-docker-registry-prod": nil,
		"urn:pulumi:prod::synapse-docker-registry::pulumi:providers:aws::aws":                                     nil,
		// The retained audit data.
		prefix + "aws:s3/bucketV2:BucketV2::synapse-docker-registry-prod-alb-access-logs":  {prefix + "aws:s3/bucketV2:BucketV2::alb-access-logs"},
		prefix + "aws:cloudwatch/logGroup:LogGroup::synapse-docker-registry-prod-registry": {prefix + "aws:cloudwatch/logGroup:LogGroup::registry"},
		prefix + "aws:secretsmanager/secret:Secret::synapse-docker-registry-prod-registry": {prefix + "aws:secretsmanager/secret:Secret::registry"},
	}
	for urn, aliases := range want {
		i := slices.IndexFunc(r.raw.Resources, func(res synth.Resource) bool { return res.URN == urn })
		if i < 0 {
			t.Errorf("no resource %s", urn)
			continue
		}
		got := r.raw.Resources[i].Aliases
		if len(aliases) == 0 && len(got) != 0 {
			t.Errorf("%s aliases %v, want none: its URN never changed", urn, got)
		}
		for _, alias := range aliases {
			if !slices.Contains(got, alias) {
				t.Errorf("%s aliases %v, want %s among them", urn, got, alias)
			}
		}
	}
	// Every child; the SDK adds aliases of its own for resource types renamed in a provider
	// (aws:elasticloadbalancingv2 → aws:lb), which are no concern here.
	for _, res := range r.raw.Resources {
		old := strings.Replace(res.URN, "::"+res.Name, "::"+strings.TrimPrefix(res.Name, "synapse-docker-registry-prod-"), 1)
		if res.Parent != "" && !slices.Contains(res.Aliases, old) {
			t.Errorf("%s has aliases %v, want %s", res.URN, res.Aliases, old)
		}
	}
}

// Names AWS enforces lengths on. An auto-name is the logical name, a hyphen and 7 random
// characters (pulumi-terraform-bridge's AutoName; resource.NewUniqueName refuses a longer one).
func TestNamesFitAWSLimits(t *testing.T) {
	limits := map[string]int{tLoadBalancer: 32, tTargetGroup: 32, tRole: 64, tBucket: 63, "aws:sqs/queue:Queue": 80}
	forEachStack(t, func(t *testing.T, r *run) {
		for token, limit := range limits {
			for _, res := range r.raw.ByType(token) {
				name := res.InputString("name")
				switch {
				case token == tBucket && res.InputString("bucketPrefix") != "":
					// The provider appends a 26-character unique id to a prefix.
					name = res.InputString("bucketPrefix") + strings.Repeat("0", 26)
				case token == tBucket:
					name = res.InputString("bucket")
				}
				if name == "" {
					name = res.Name + "-1234567"
				}
				if len(name) > limit {
					t.Errorf("%s %q is named %q, beyond AWS's %d characters", token, res.Name, name, limit)
				}
			}
		}
		family := r.one(t, tTaskDefinition, "registry").InputString("family")
		if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`).MatchString(family) {
			t.Errorf("task family %q", family)
		}
	})
}

// The longest instance name still fits every auto-name; a longer one is refused before anything
// is declared, naming the limit.
func TestInstanceNames(t *testing.T) {
	longest := strings.Repeat("a", maxInstanceNameLength)
	if _, err := newInstanceNames(project, "dev", longest, false); err != nil {
		t.Fatalf("%d characters: %v", len(longest), err)
	}
	for _, bad := range []string{longest + "a", "Registry", "1registry", "registry-", "a", "reg_istry"} {
		if _, err := newInstanceNames(project, "dev", bad, false); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("name %q: %v, want an error naming it", bad, err)
		}
	}
	n, _ := newInstanceNames(project, "an-engineers-stack-name", longest, false)
	for _, kind := range []string{"alb", "tg"} {
		if s := n.short(kind); len(s) > 32 || strings.HasPrefix(s, "-") || !strings.Contains(s, "-"+kind+"-") {
			t.Errorf("short(%s) = %q", kind, s)
		}
	}
	for _, kind := range []string{"images", "alb-logs"} {
		if p := n.prefix(kind, 37); len(p) > 37 || !strings.HasSuffix(p, "-"+kind+"-") || strings.Contains(p, "--") {
			t.Errorf("prefix(%s) = %q", kind, p)
		}
	}
	odd, _ := newInstanceNames("My_Project.v2", "Dev_1", "registry", false)
	for _, name := range []string{odd.short("alb"), odd.prefix("images", 37)} {
		if !regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`).MatchString(name) {
			t.Errorf("a project and stack with other characters give the AWS name %q", name)
		}
	}
	other, _ := newInstanceNames(project, "an-engineers-stack-name", longest[:len(longest)-1]+"b", false)
	if n.short("alb") == other.short("alb") {
		t.Errorf("two instances share the load balancer name %q", n.short("alb"))
	}
}

// A stack whose name cannot prefix its resources' names is refused before anything is declared,
// naming the stack and the rule.
func TestStackNameThatCannotNameTheRegistry(t *testing.T) {
	for _, stack := range []string{"Engineer_Stack", "an-engineers-very-long-stack"} {
		cfg := loadStack(t, "dev", nil)
		cfg.Stack = stack
		res, err := synth.Run(func(ctx *pulumi.Context) error { _, err := Deploy(ctx); return err }, cfg)
		if err == nil || !strings.Contains(err.Error(), `stack "`+stack+`"`) || !strings.Contains(err.Error(), "lower-case") {
			t.Errorf("stack %q: %v, want an error naming the stack and the rule", stack, err)
		}
		if res != nil && len(res.Resources) != 0 {
			t.Errorf("stack %q: declared %d resources", stack, len(res.Resources))
		}
	}
}
