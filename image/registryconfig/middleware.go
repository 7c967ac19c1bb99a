package registryconfig

// TagListMiddleware is the repository middleware that pages tag listings in name order
// (image/taglist: Name; not imported here, the entrypoint does not link the registry).
const TagListMiddleware = "taglist"

// middlewareConfig is one entry of the configuration's middleware section.
type middlewareConfig struct {
	Name    string         `yaml:"name"`
	Options map[string]any `yaml:"options,omitempty"`
}

// middleware is the configuration's middleware section: tag listings in name order always, and
// the task protection when ECS runs the task (taskprotection.go).
func (s *Settings) middleware() map[string][]middlewareConfig {
	repository := []middlewareConfig{{Name: TagListMiddleware}}
	if s.ECSAgentURI != "" {
		repository = append(repository, middlewareConfig{
			Name:    TaskProtectionMiddleware,
			Options: map[string]any{TaskProtectionAgentURIOption: s.ECSAgentURI},
		})
	}
	return map[string][]middlewareConfig{"repository": repository}
}
