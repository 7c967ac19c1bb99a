//go:build linux || darwin

package registryconfig

import (
	"fmt"
	"os"
	"syscall"
)

// relayHoldFD is the registry's descriptor that keeps the relay running.
const relayHoldFD = 3

// execRegistry replaces the current process with the registry, keeping its
// process id (so the container's stop signal reaches the registry directly),
// after pointing its stdout and stderr at a log redactor that removes secrets.
func execRegistry(path string, argv, env, secrets []string, relay *RelayConfig) error {
	var lifeline *os.File
	if relay != nil {
		// The relay runs until the registry, which inherits the write end of
		// its stdin as descriptor 3, has exited.
		w, err := startRelay(relay)
		if err != nil {
			return fmt.Errorf("starting the notification relay: %w", err)
		}
		lifeline = w
	}
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
	if lifeline != nil {
		// Last, right before exec: descriptor 3 may be one of this runtime's own.
		if err := dupOnto(lifeline, relayHoldFD); err != nil {
			return fmt.Errorf("handing the relay's lifeline to the registry: %w", err)
		}
	}
	return syscall.Exec(path, argv, env)
}
