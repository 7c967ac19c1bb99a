package infra

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
)

func TestTaskDefinition(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		td := r.one(t, tTaskDefinition, "registry")
		if td.InputString("cpu") != r.config("cpu") || td.InputString("memory") != r.config("memory") {
			t.Errorf("task size %s/%s, config %s/%s", td.InputString("cpu"), td.InputString("memory"), r.config("cpu"), r.config("memory"))
		}
		if td.InputString("runtimePlatform.cpuArchitecture") != "ARM64" || td.InputString("networkMode") != "awsvpc" {
			t.Errorf("task platform %v", td.Inputs["runtimePlatform"])
		}
		c := r.containers(t)[0]
		memory, _ := strconv.Atoi(r.config("memory"))
		expectLike(t, "container", c, map[string]any{
			// The task's memory as the hard limit: the entrypoint sizes GOMEMLIMIT from the
			// container's cgroup.
			"memory":                 memory,
			"readonlyRootFilesystem": true,
			"privileged":             false,
			"user": satisfies("a non-root user", func(v any) bool {
				user, _ := v.(string)
				uid := strings.Split(user, ":")[0]
				return uid != "" && uid != "0" && uid != "root"
			}),
			"linuxParameters": map[string]any{"capabilities": map[string]any{"drop": []any{"ALL"}}},
			// The only writable path.
			"mountPoints": []any{map[string]any{"containerPath": scratchPath}},
			// A new secret value is a new task definition revision, so the service restarts its
			// tasks and they read it (ECS resolves secrets only at task start).
			"dockerLabels":     map[string]any{secretVersionLabel: testSecretVersionID},
			"logConfiguration": map[string]any{"logDriver": "awslogs", "options": map[string]any{"awslogs-group": r.outputs["logGroupName"]}},
			"portMappings":     []any{map[string]any{"containerPort": RegistryPort}, map[string]any{"containerPort": HealthPort}},
		})
		env := nameValues(t, c, "environment", "value")
		if env[registryconfig.EnvScratchDir] != scratchPath {
			t.Errorf("scratch dir %q, mounted %q", env[registryconfig.EnvScratchDir], scratchPath)
		}
		secrets := nameValues(t, c, "secrets", "valueFrom")
		// Exactly the variables the image requires, the secret ones only from Secrets Manager.
		var required, fed []string
		for _, v := range registryconfig.RequiredVariables(registryconfig.StorageS3) {
			required = append(required, v.Name)
		}
		for name := range env {
			fed = append(fed, name)
		}
		for name := range secrets {
			fed = append(fed, name)
		}
		for _, name := range required {
			if !slices.Contains(fed, name) {
				t.Errorf("task does not set required variable %s", name)
			}
		}
		for _, name := range fed {
			if _, ok := registryconfig.Lookup(name); !ok {
				t.Errorf("task sets %s, which the image does not read", name)
			}
		}
		for _, v := range registryconfig.SecretVariables() {
			if _, plain := env[v.Name]; plain {
				t.Errorf("secret %s is in the plain environment", v.Name)
			}
			want := map[string]string{
				registryconfig.EnvNotificationAuth: SecretKeyNotificationAuth,
				registryconfig.EnvHTTPSecret:       SecretKeyHTTPSecret,
			}[v.Name]
			if secrets[v.Name] != fmt.Sprintf("%s:%s::", r.outputs["secretArn"], want) {
				t.Errorf("secret %s comes from %q, want key %s of the stack's secret", v.Name, secrets[v.Name], want)
			}
		}
		if env[registryconfig.EnvTokenService] != r.config("registryHost") || env[registryconfig.EnvS3Bucket] != r.outputs["bucketName"] ||
			env[registryconfig.EnvTokenRealm] != r.config("tokenRealm") || env[registryconfig.EnvNotificationURL] != r.config("notificationUrl") ||
			env[registryconfig.EnvTokenCertificates] != strings.TrimSpace(r.config("tokenSigningCertificates")) {
			t.Errorf("registry settings do not match the stack config: %v", env)
		}
		retention, _ := strconv.Atoi(r.config("logRetentionDays"))
		expectLike(t, "logGroup", r.one(t, tLogGroup, "registry").Inputs, map[string]any{"retentionInDays": retention})
	})
}

// nameValues reads a container's list of {name, <value>} pairs (environment, secrets) as a map,
// reporting an element of any other shape.
func nameValues(t *testing.T, container map[string]any, list, value string) map[string]string {
	t.Helper()
	out := map[string]string{}
	items, ok := container[list].([]any)
	if !ok {
		t.Errorf("container.%s: got %s, want a list", list, show(container[list]))
		return out
	}
	for i, item := range items {
		m, _ := item.(map[string]any)
		name, hasName := m["name"].(string)
		v, hasValue := m[value].(string)
		if !hasName || !hasValue {
			t.Errorf("container.%s[%d]: got %s, want name and %s strings", list, i, show(item), value)
			continue
		}
		out[name] = v
	}
	return out
}

func TestService(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cluster := r.one(t, tCluster, "registry")
		if cluster.InputString("settings[0].name") != "containerInsights" || cluster.InputString("settings[0].value") != "enabled" {
			t.Errorf("Container Insights: %v", cluster.Inputs["settings"])
		}
		svc := r.one(t, tService, "registry")
		desired, _ := strconv.Atoi(r.config("desiredCount"))
		if r.Stack == "prod" && desired < 2 {
			t.Errorf("prod runs %d tasks, want at least 2", desired)
		}
		expectLike(t, "service", svc.Inputs, map[string]any{
			// No public IP, and tasks in both AZs' private subnets.
			"networkConfiguration": map[string]any{
				"assignPublicIp": false,
				"subnets":        []any{anyValue(), anyValue()},
			},
			"availabilityZoneRebalancing": "ENABLED",
			"desiredCount":                desired,
			// A failed deployment rolls back, and an update never runs below the current capacity.
			"deploymentCircuitBreaker":        map[string]any{"enable": true, "rollback": true},
			"deploymentMinimumHealthyPercent": 100,
			"healthCheckGracePeriodSeconds":   satisfies("a grace period > 0", func(v any) bool { n, ok := number(v); return ok && n > 0 }),
			"waitForSteadyState":              true,
			"loadBalancers":                   []any{map[string]any{"containerName": containerName, "containerPort": RegistryPort}},
		})
		if !dependsOnAll(svc, "registry-private-1", "registry-private-2") || dependsOnAny(svc, "registry-public-1", "registry-public-2") {
			t.Errorf("service depends on %v, want the two private subnets and no public one", svc.DependsOn)
		}
		// Tasks must not start before the secret has a value, the roles can act and the listeners
		// route (each of these names is unique in the stack).
		for _, dep := range []string{"registry-secret-value", "execution-policy", "task-policy", "https", "http-redirect", "registry-host"} {
			if !slices.Contains(svc.DependsOn, dep) {
				t.Errorf("service depends on %v, missing %s", svc.DependsOn, dep)
			}
		}
		for _, unique := range []struct{ token, name string }{{tSecretVersion, "registry-secret-value"}, {tRolePolicy, "execution-policy"}, {tRolePolicy, "task-policy"}, {tListener, "https"}, {tListener, "http-redirect"}} {
			count := 0
			for _, res := range r.Resources {
				if res.Name == unique.name {
					count++
				}
			}
			if _, ok := r.Get(unique.token, unique.name); !ok || count != 1 {
				t.Errorf("%s must be the only resource named %q", unique.token, unique.name)
			}
		}
		if !slices.Contains(svc.IgnoreChanges, "desiredCount") {
			t.Error("updates would reset the autoscaled task count")
		}
		if r.outputs["clusterName"] == "" || r.outputs["serviceName"] == "" {
			t.Errorf("outputs %v", r.outputs)
		}
	})
}

// dependsOnAll reports whether r depends on every named resource.
func dependsOnAll(r synth.Resource, names ...string) bool {
	for _, n := range names {
		if !slices.Contains(r.DependsOn, n) {
			return false
		}
	}
	return true
}

// dependsOnAny reports whether r depends on any named resource.
func dependsOnAny(r synth.Resource, names ...string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return slices.Contains(r.DependsOn, n) })
}
