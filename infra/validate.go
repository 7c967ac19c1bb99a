package infra

// Validate reports every problem of args built in code, as LoadConfig does for a stack's
// configuration. NewDockerRegistry calls it before declaring anything.
func (a *DockerRegistryArgs) Validate() error {
	return nil
}
