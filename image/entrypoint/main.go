// Command entrypoint is the image's entrypoint: it turns the SYNAPSE_REGISTRY_*
// environment variables into the registry's configuration and files (see
// image/README.md) and replaces itself with the registry. It exits non-zero,
// naming every missing or malformed variable, when it cannot. Started with
// registryconfig.RelayArg it is the notification relay's supervisor, and with
// relay.WorkerArg the relay (image/relay).
package main

import (
	"os"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/image/relay"
)

func main() {
	if len(os.Args) == 2 {
		if code, ok := relay.Main(os.Args[1], os.Stdin, os.Stderr); ok {
			os.Exit(code)
		}
	}
	os.Exit(registryconfig.Main(os.Args[1:], os.Environ(), os.Stderr))
}
