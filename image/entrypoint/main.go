// Command entrypoint is the image's entrypoint: it turns the SYNAPSE_REGISTRY_*
// environment variables into the registry's configuration and files (see
// image/README.md) and replaces itself with the registry. It exits non-zero,
// naming every missing or malformed variable, when it cannot.
package main

import (
	"os"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

func main() {
	os.Exit(registryconfig.Main(os.Args[1:], os.Environ(), os.Stderr))
}
