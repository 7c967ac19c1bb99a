package registryconfig_test

import (
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taglist"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/taskprotection"
)

// Every configuration pages tag listings in name order (the taglist repository middleware). On
// ECS (ECS_AGENT_URI set) it adds the taskprotection middleware with the agent's URI; without
// it, or with a value that is not an http URL, taglist is the only middleware.
func TestRepositoryMiddleware(t *testing.T) {
	if registryconfig.TaskProtectionMiddleware != taskprotection.Name || registryconfig.TaskProtectionAgentURIOption != taskprotection.OptionAgentURI {
		t.Fatalf("the entrypoint configures middleware %q option %q; the registry registers %q option %q",
			registryconfig.TaskProtectionMiddleware, registryconfig.TaskProtectionAgentURIOption, taskprotection.Name, taskprotection.OptionAgentURI)
	}
	if registryconfig.TagListMiddleware != taglist.Name {
		t.Fatalf("the entrypoint configures middleware %q; the registry registers %q", registryconfig.TagListMiddleware, taglist.Name)
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
	if len(mws) != 2 || mws[0].Name != taglist.Name || mws[1].Name != taskprotection.Name || mws[1].Options[taskprotection.OptionAgentURI] != agent {
		t.Errorf("repository middleware on ECS: %+v, want %s, then %s with %s %q", mws, taglist.Name, taskprotection.Name, taskprotection.OptionAgentURI, agent)
	}
	if len(cfg.Middleware) != 1 {
		t.Errorf("middleware sections %v, want only repository", cfg.Middleware)
	}

	for _, env := range [][]string{nil, {registryconfig.EnvECSAgentURI + "="}, {registryconfig.EnvECSAgentURI + "=169.254.170.2/api/x"}} {
		cfg := parseWithDistribution(t, parse(env...))
		if mws := cfg.Middleware["repository"]; len(cfg.Middleware) != 1 || len(mws) != 1 || mws[0].Name != taglist.Name {
			t.Errorf("with %q the configuration has middleware %v, want only repository: %s", env, cfg.Middleware, taglist.Name)
		}
	}
}
