package registryconfig

import (
	"net/url"
	"strings"
)

// EnvECSAgentURI is set by ECS in every container of a task (the container agent's endpoint,
// AWS "Amazon ECS task scale-in protection endpoint"). When it is set the registry protects its task from
// scale-in and deployments while uploads are in flight (image/taskprotection); local runs and
// tests without it are unchanged.
const EnvECSAgentURI = "ECS_AGENT_URI"

// TaskProtectionMiddleware and TaskProtectionAgentURIOption are the repository middleware's name
// and option (image/taskprotection: Name, OptionAgentURI; that package is not imported here, the
// entrypoint does not link the registry).
const (
	TaskProtectionMiddleware     = "taskprotection"
	TaskProtectionAgentURIOption = "agenturi"
)

// ecsAgentURI returns ECS_AGENT_URI from environ when it is an http URL, else "". ECS sets it; a
// malformed value cannot come from ECS, and refusing to start over it would stop the registry
// for a protection it can live without, so it only turns the protection off (the startup log
// says so).
func ecsAgentURI(environ []string) string {
	for _, kv := range environ {
		if name, value, _ := strings.Cut(kv, "="); name == EnvECSAgentURI {
			if u, err := url.Parse(value); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
				return value
			}
		}
	}
	return ""
}

// taskProtection says, for the startup log, whether the task protection is on.
func (s *Settings) taskProtection() string {
	if s.ECSAgentURI == "" {
		return "off (no usable " + EnvECSAgentURI + ": not running on ECS)"
	}
	return "on, through " + s.ECSAgentURI
}
