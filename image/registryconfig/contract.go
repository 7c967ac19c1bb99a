package registryconfig

import "strconv"

// The container contract: what image/Dockerfile builds in (EXPOSE, VOLUME, USER) and the stack
// (infra) relies on — the target and health ports, security-group rules, the task's user and its
// one writable mount. This is the one place they are written; contract_test.go checks the
// Dockerfile's lines against them.
const (
	// RegistryPort serves the registry API over HTTPS; the load balancer's only traffic port.
	RegistryPort = 5000
	// HealthPort serves /debug/health and /metrics over plain HTTP, for health checks only.
	HealthPort = 5001
	// ScratchPath is the container's only writable path (TLS key, configuration, JWKS): a VOLUME
	// in the image, the task's one mount point.
	ScratchPath = "/tmp/registry"
	// UID and GID are the image's numeric non-root user, which the task definition enforces.
	UID = 65532
	GID = 65532
)

// ContainerUser is the user as the Dockerfile's USER line and ECS's `user` write it, "uid:gid".
var ContainerUser = strconv.Itoa(UID) + ":" + strconv.Itoa(GID)

// ListenAddr and HealthAddr are the listen addresses on the contract's ports.
var (
	ListenAddr = ":" + strconv.Itoa(RegistryPort)
	HealthAddr = ":" + strconv.Itoa(HealthPort)
)
