//go:build !linux && !darwin

package registryconfig

import "errors"

func execRegistry(path string, argv, env, secrets []string, relay *RelayConfig) error {
	return errors.New("starting the registry needs Linux or macOS")
}
