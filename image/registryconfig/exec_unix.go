//go:build linux || darwin

package registryconfig

import (
	"fmt"
	"syscall"
)

// execRegistry replaces the current process with the registry, keeping its
// process id (so the container's stop signal reaches the registry directly),
// after pointing its stdout and stderr at a log redactor that removes secrets.
func execRegistry(path string, argv, env, secrets []string) error {
	stdout, stderr, err := startRedactor(secrets)
	if err != nil {
		return fmt.Errorf("starting the log redactor: %w", err)
	}
	if err := dupOnto(stdout, 1); err != nil {
		return fmt.Errorf("redirecting stdout to the log redactor: %w", err)
	}
	if err := dupOnto(stderr, 2); err != nil {
		return fmt.Errorf("redirecting stderr to the log redactor: %w", err)
	}
	stdout.Close()
	stderr.Close()
	return syscall.Exec(path, argv, env)
}
