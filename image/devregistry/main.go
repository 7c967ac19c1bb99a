// Command devregistry is the registry (distribution v3 at the version in
// go.mod, the same release as the image's base) for `make local` and for
// running the entrypoint outside the image:
//
//	devregistry serve /path/to/config.yml
package main

import "github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrymain"

func main() { registrymain.Run() }
