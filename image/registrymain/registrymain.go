// Package registrymain runs the registry (distribution v3, the module version
// in go.mod, which a test keeps equal to the image's registry release) with the
// storage drivers and the access controller this image uses. Tests and `make
// local` use it where the official image runs /bin/registry.
package registrymain

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"
)

// Main runs the registry command line (e.g. "serve", "/path/config.yml") and
// returns its exit code.
func Main(args []string) int {
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
