package registryconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// GoMemLimitPercent is the share of the container's memory limit the registry's Go runtime
// is told to stay under (GOMEMLIMIT). Each upload in flight holds up to S3PartsInFlight + 1
// chunk sizes (image/README.md); without a limit Go lets garbage grow the heap to twice what is live, so a task near its
// limit would be killed for memory the collector could have freed. The rest covers what Go
// does not count (the binary, thread stacks) and the log redactor.
const GoMemLimitPercent = 90

// cgroupMemoryFiles are where a container reads its memory limit: cgroup v2, then v1 (Fargate
// platform 1.4 and Docker mount the container's own cgroup there).
var cgroupMemoryFiles = []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"}

// noLimit: cgroup v1 reports "unlimited" as a number near the largest int64, rounded to pages.
const noLimit = 1 << 62

// MemoryLimit reads the container's memory limit under root ("/" in the image): the bytes and
// the file it came from, or 0 when no limit is set or none can be read.
func MemoryLimit(root string) (limit int64, source string) {
	for _, f := range cgroupMemoryFiles {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		// "max" (cgroup v2's "no limit") does not parse either.
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= noLimit {
			return 0, "/" + f
		}
		return n, "/" + f
	}
	return 0, ""
}

// WithGoMemLimit adds GOMEMLIMIT (GoMemLimitPercent of limit bytes, read from source) to the
// registry's environment, unless the environment sets it already or there is no limit. It
// returns the environment and what was decided, for the startup log.
func WithGoMemLimit(env []string, limit int64, source string) ([]string, string) {
	for _, kv := range env {
		if name, value, _ := strings.Cut(kv, "="); name == "GOMEMLIMIT" {
			return env, value + ", from the environment"
		}
	}
	if limit <= 0 {
		return env, "none: no container memory limit found"
	}
	value := fmt.Sprintf("%dMiB", limit/100*GoMemLimitPercent>>20)
	return append(env, "GOMEMLIMIT="+value), fmt.Sprintf("%s, %d%% of the %d MiB limit in %s", value, GoMemLimitPercent, limit>>20, source)
}
