package registryconfig_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
)

// image/Dockerfile builds the container contract in: its EXPOSE, USER and VOLUME lines, the
// owner of the scratch directory and the directory it creates are the constants infra uses.
func TestDockerfileMatchesTheContainerContract(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(b)
	// Only the final stage describes the running container.
	final := dockerfile[strings.LastIndex(dockerfile, "\nFROM "):]
	instruction := func(name string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^`+name+` +(.+)$`).FindAllStringSubmatch(final, -1) {
			out = append(out, strings.TrimSpace(m[1]))
		}
		return out
	}
	want := map[string]string{
		"EXPOSE": strconv.Itoa(registryconfig.RegistryPort) + " " + strconv.Itoa(registryconfig.HealthPort),
		"USER":   registryconfig.ContainerUser,
		"VOLUME": `["` + registryconfig.ScratchPath + `"]`,
	}
	for name, w := range want {
		if got := instruction(name); len(got) != 1 || got[0] != w {
			t.Errorf("image/Dockerfile's final stage has %s %q, want exactly one %s %s (image/registryconfig/contract.go)", name, got, name, w)
		}
	}
	if !strings.Contains(final, "--chown="+registryconfig.ContainerUser+" ") {
		t.Errorf("image/Dockerfile must copy the scratch directory owned by %s (ECS copies the VOLUME's owner into the mount)", registryconfig.ContainerUser)
	}
	if !strings.Contains(dockerfile, "mkdir -p -m 0700 /out"+registryconfig.ScratchPath) {
		t.Errorf("image/Dockerfile must create %s (0700) in the build stage", registryconfig.ScratchPath)
	}
}

// The entrypoint's defaults are the contract's, so a task started without the stack's variables
// still listens where the load balancer and security groups expect.
func TestDefaultsFollowTheContainerContract(t *testing.T) {
	for name, want := range map[string]string{
		registryconfig.EnvListenAddr: registryconfig.ListenAddr,
		registryconfig.EnvHealthAddr: registryconfig.HealthAddr,
		registryconfig.EnvScratchDir: registryconfig.ScratchPath,
	} {
		if v, ok := registryconfig.Lookup(name); !ok || v.Default != want {
			t.Errorf("%s defaults to %q, want %q", name, v.Default, want)
		}
	}
}
