package infra

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// taskDefinitionArn is what cmd/verifydeploy compares with the revision ECS runs: it must be the
// service's task definition.
func TestTaskDefinitionArnOutputIsTheServicesRevision(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		got := r.outputs["taskDefinitionArn"]
		if got == "" || got != r.one(t, tService, "registry").InputString("taskDefinition") {
			t.Errorf("taskDefinitionArn output %q, the service runs %q", got, r.one(t, tService, "registry").InputString("taskDefinition"))
		}
	})
}

// Every output is a field of the component, registered with it and exported under its README
// name (OutputMap is what both use), and the README's Outputs table lists exactly those.
func TestOutputsAreTheComponentsFieldsAndTheREADMEs(t *testing.T) {
	registry := &DockerRegistry{}
	outputs := registry.OutputMap()
	var fields []string
	typ := reflect.TypeFor[DockerRegistry]()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Type != reflect.TypeOf(pulumi.StringOutput{}) {
			continue
		}
		name := f.Tag.Get("pulumi")
		fields = append(fields, name)
		if _, ok := outputs[name]; !ok {
			t.Errorf("field %s (%s) is not in OutputMap: neither registered nor exported", f.Name, name)
		}
	}
	var mapped []string
	for name := range outputs {
		mapped = append(mapped, name)
	}
	sort.Strings(fields)
	sort.Strings(mapped)
	if !slices.Equal(fields, mapped) {
		t.Errorf("OutputMap %v, the component's output fields %v", mapped, fields)
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Outputs\n")
	if !ok {
		t.Fatal(`README.md has no "## Outputs" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, row := range regexp.MustCompile("(?m)^\\| (`[^|]+`) \\|").FindAllStringSubmatch(section, -1) {
		for _, name := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(row[1], -1) {
			documented = append(documented, name[1])
		}
	}
	sort.Strings(documented)
	if !slices.Equal(documented, mapped) {
		t.Errorf("README's Outputs table lists %v, the component has %v", documented, mapped)
	}
}

// The stack's outputs are those of its registry, resolved.
func TestEveryOutputResolves(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		for name := range (&DockerRegistry{}).OutputMap() {
			if r.outputs[name] == "" {
				t.Errorf("output %s is empty", name)
			}
		}
	})
}

func TestOutputs(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		if r.outputs["registryEndpoint"] != "https://"+r.config("registryHost") {
			t.Errorf("registryEndpoint %q", r.outputs["registryEndpoint"])
		}
		for _, name := range []string{"albDnsName", "bucketName", "ecrRepositoryUrl", "imageDigest", "secretArn", "clusterName", "serviceName", "logGroupName"} {
			if r.outputs[name] == "" {
				t.Errorf("output %s is empty", name)
			}
		}
		if r.outputs["logGroupName"] != "/ecs/"+project+"/"+r.Stack {
			t.Errorf("logGroupName %q", r.outputs["logGroupName"])
		}
	})
}
