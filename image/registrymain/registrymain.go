// Package registrymain runs the registry (distribution v3, the module version
// in go.mod) with the storage drivers and the access controller this image
// uses: s3-concurrent (image/s3concurrent, what the image configures), s3-aws
// and filesystem. The image's /bin/registry (image/registry), `make
// local` and the tests all run it.
package registrymain

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"

	_ "github.com/Sage-Bionetworks/synapse-docker-registry/image/s3concurrent"
)

// Main runs the registry command line (e.g. "serve", "/path/config.yml") and
// returns its exit code.
func Main(args []string) int {
	registry.ServeCmd.Run = serveWithTimeouts
	registry.RootCmd.SetArgs(args)
	if err := registry.RootCmd.Execute(); err != nil {
		return 1
	}
	return 0
}

// Run is Main with the process's own arguments; it exits the process.
func Run() {
	os.Exit(Main(os.Args[1:]))
}
