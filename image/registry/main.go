// Command registry is the image's /bin/registry: distribution v3 at the version in
// go.mod with this image's storage drivers (s3-concurrent among them) and
// access controller, through image/registrymain. The image's Dockerfile
// builds it as /bin/registry, `make local` runs it, and the tests run the same
// code (internal/registrytest):
//
//	registry serve /path/to/config.yml
package main

import "github.com/Sage-Bionetworks/synapse-docker-registry/image/registrymain"

func main() { registrymain.Run() }
