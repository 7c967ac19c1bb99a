package registryconfig_test

import (
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taskprotection"
)

// On ECS (ECS_AGENT_URI set) the configuration adds the taskprotection repository middleware
// with the agent's URI; without it, or with a value that is not an http URL, the configuration
// has no middleware at all, as before.
func TestTaskProtectionOnlyOnECS(t *testing.T) {
	if registryconfig.TaskProtectionMiddleware != taskprotection.Name || registryconfig.TaskProtectionAgentURIOption != taskprotection.OptionAgentURI {
		t.Fatalf("the entrypoint configures middleware %q option %q; the registry registers %q option %q",
			registryconfig.TaskProtectionMiddleware, registryconfig.TaskProtectionAgentURIOption, taskprotection.Name, taskprotection.OptionAgentURI)
	}
	const agent = "http://169.254.170.2/api/0123456789abcdef-registry"
	parse := func(extra ...string) *registryconfig.Settings {
		t.Helper()
		s, err := registryconfig.ParseEnviron(append(environ(validEnv(t)), extra...))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	cfg := parseWithDistribution(t, parse(registryconfig.EnvECSAgentURI+"="+agent))
	mws := cfg.Middleware["repository"]
	if len(mws) != 1 || mws[0].Name != taskprotection.Name || mws[0].Options[taskprotection.OptionAgentURI] != agent {
		t.Errorf("repository middleware on ECS: %+v, want %s with %s %q", mws, taskprotection.Name, taskprotection.OptionAgentURI, agent)
	}
	if len(cfg.Middleware) != 1 {
		t.Errorf("middleware sections %v, want only repository", cfg.Middleware)
	}

	for _, env := range [][]string{nil, {registryconfig.EnvECSAgentURI + "="}, {registryconfig.EnvECSAgentURI + "=169.254.170.2/api/x"}} {
		if cfg := parseWithDistribution(t, parse(env...)); len(cfg.Middleware) != 0 {
			t.Errorf("with %q the configuration has middleware %v, want none", env, cfg.Middleware)
		}
	}
}
