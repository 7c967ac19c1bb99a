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
		if m, _ := c["memory"].(float64); strconv.Itoa(int(m)) != r.config("memory") {
			t.Errorf("container memory limit %v, want the task's %s: the entrypoint sizes GOMEMLIMIT from the container's cgroup", c["memory"], r.config("memory"))
		}
		if c["readonlyRootFilesystem"] != true {
			t.Error("root filesystem is writable")
		}
		if c["privileged"] == true {
			t.Error("container is privileged")
		}
		user, _ := c["user"].(string)
		if uid := strings.Split(user, ":")[0]; uid == "" || uid == "0" || uid == "root" {
			t.Errorf("container user %q is root", user)
		}
		drop := fmt.Sprint(c["linuxParameters"].(map[string]any)["capabilities"].(map[string]any)["drop"])
		if drop != "[ALL]" {
			t.Errorf("capabilities dropped: %s", drop)
		}
		mounts := c["mountPoints"].([]any)
		if len(mounts) != 1 || mounts[0].(map[string]any)["containerPath"] != scratchPath {
			t.Errorf("writable mounts %v, want only the scratch path", mounts)
		}
		env := map[string]string{}
		for _, e := range c["environment"].([]any) {
			m := e.(map[string]any)
			env[m["name"].(string)] = m["value"].(string)
		}
		if env[registryconfig.EnvScratchDir] != scratchPath {
			t.Errorf("scratch dir %q, mounted %q", env[registryconfig.EnvScratchDir], scratchPath)
		}
		secrets := map[string]string{}
		for _, e := range c["secrets"].([]any) {
			m := e.(map[string]any)
			secrets[m["name"].(string)] = m["valueFrom"].(string)
		}
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
		// A new secret value is a new task definition revision, so the service restarts its tasks
		// and they read it (ECS resolves secrets only at task start).
		if labels, _ := c["dockerLabels"].(map[string]any); labels[secretVersionLabel] != testSecretVersionID {
			t.Errorf("task definition does not follow the secret's version: labels %v", c["dockerLabels"])
		}
		logs := c["logConfiguration"].(map[string]any)
		if logs["logDriver"] != "awslogs" || logs["options"].(map[string]any)["awslogs-group"] != r.outputs["logGroupName"] {
			t.Errorf("logs go to %v, want the stack's log group", logs)
		}
		lg := r.one(t, tLogGroup, "registry")
		if strconv.Itoa(int(lg.Inputs["retentionInDays"].(float64))) != r.config("logRetentionDays") {
			t.Errorf("log retention %v, config %s", lg.Inputs["retentionInDays"], r.config("logRetentionDays"))
		}
		ports := map[float64]bool{}
		for _, p := range c["portMappings"].([]any) {
			ports[p.(map[string]any)["containerPort"].(float64)] = true
		}
		if !ports[RegistryPort] || !ports[HealthPort] || len(ports) != 2 {
			t.Errorf("container ports %v", ports)
		}
	})
}

func TestService(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		cluster := r.one(t, tCluster, "registry")
		if cluster.InputString("settings[0].name") != "containerInsights" || cluster.InputString("settings[0].value") != "enabled" {
			t.Errorf("Container Insights: %v", cluster.Inputs["settings"])
		}
		svc := r.one(t, tService, "registry")
		if v, _ := svc.Input("networkConfiguration.assignPublicIp"); v != false {
			t.Error("tasks get a public IP")
		}
		if subnets := stringList(svc.Inputs["networkConfiguration"].(map[string]any)["subnets"]); len(subnets) != 2 ||
			!dependsOnAll(svc, "registry-private-1", "registry-private-2") || dependsOnAny(svc, "registry-public-1", "registry-public-2") {
			t.Errorf("service subnets %v (depends on %v), want the two private ones", subnets, svc.DependsOn)
		}
		desired, _ := svc.Input("desiredCount")
		if strconv.Itoa(int(desired.(float64))) != r.config("desiredCount") {
			t.Errorf("desired count %v", desired)
		}
		if r.Stack == "prod" && desired.(float64) < 2 {
			t.Errorf("prod runs %v tasks, want at least 2", desired)
		}
		if svc.InputString("availabilityZoneRebalancing") != "ENABLED" || len(stringList(svc.Inputs["networkConfiguration"].(map[string]any)["subnets"])) < 2 {
			t.Error("tasks are not spread across AZs")
		}
		if v, _ := svc.Input("deploymentCircuitBreaker.enable"); v != true {
			t.Error("circuit breaker off")
		}
		if v, _ := svc.Input("deploymentCircuitBreaker.rollback"); v != true {
			t.Error("circuit breaker does not roll back")
		}
		if v, _ := svc.Input("deploymentMinimumHealthyPercent"); v != float64(100) {
			t.Errorf("minimum healthy %v%%", v)
		}
		if v, _ := svc.Input("healthCheckGracePeriodSeconds"); v == nil || v.(float64) <= 0 {
			t.Error("no health check grace period")
		}
		if v, _ := svc.Input("waitForSteadyState"); v != true {
			t.Error("update does not wait for steady state")
		}
		if svc.InputString("loadBalancers[0].containerName") != containerName || svc.Inputs["loadBalancers"].([]any)[0].(map[string]any)["containerPort"] != float64(RegistryPort) {
			t.Errorf("service load balancer %v", svc.Inputs["loadBalancers"])
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
