package image_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synapsestub"
)

// Every documented value of every SYNAPSE_REGISTRY_* variable that takes a fixed
// set of values (registryconfig.Variable.Values, which the READMEs' rows name)
// starts the real registry, which then serves a push and a pull. A value added
// to Values that the registry refuses (as registry 3.1.2 refuses log level
// trace) fails here.
func TestEveryDocumentedValueStartsTheRegistry(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	ran := 0
	for _, v := range registryconfig.Variables() {
		for _, value := range v.Values {
			ran++
			t.Run(v.Name+"="+value, func(t *testing.T) {
				t.Parallel()
				opts := registrytest.Options{Synapse: sy, Env: map[string]string{v.Name: value}}
				if v.Name == registryconfig.EnvStorage && value == registryconfig.StorageS3 {
					opts.S3 = registrytest.StartS3(t, "")
				}
				reg := registrytest.StartRegistry(t, opts)
				img := randomImage(t, 512, 1)
				ref := reg.Host + "/" + repo + ":values"
				if err := push(t, ref, img, synapsestub.DevUser, reg.Transport()); err != nil {
					t.Fatalf("push: %v", err)
				}
				if got, err := pull(t, ref, synapsestub.DevUser, reg.Transport()); err != nil || got != digestOf(t, img) {
					t.Fatalf("pull: %v %v", got, err)
				}
			})
		}
	}
	if ran < 10 {
		t.Errorf("only %d documented values ran; Variables() lost its Values", ran)
	}
}

// Values the registry itself refuses are refused first by the entrypoint, with
// exit code 2 and the fix, so a task fails once with the reason instead of
// restarting in a loop.
func TestEntrypointRefusesWhatTheRegistryRefuses(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	refused := 0
	for _, v := range registryconfig.Variables() {
		for value, fix := range v.Refused {
			refused++
			t.Run(v.Name+"="+value, func(t *testing.T) {
				t.Parallel()
				scratch := t.TempDir()
				opts := registrytest.Options{Synapse: sy, FilesystemRoot: t.TempDir(), Env: map[string]string{v.Name: value}}
				code, out := registrytest.RunEntrypoint(t, opts.Environ(1, 2, scratch), 30*time.Second)
				if code != registryconfig.ExitConfig || !strings.Contains(out, v.Name) || !strings.Contains(out, fix) {
					t.Errorf("exit %d, want %d naming %s and the fix %q; output:\n%s", code, registryconfig.ExitConfig, v.Name, fix, out)
				}
			})
		}
	}
	if refused == 0 {
		t.Error("no refused values: log level trace must be among them")
	}
}

// The entries of Refused for the log level are really refused by the pinned
// registry (distribution v3.1.2, configuration.Loglevel.UnmarshalYAML): the
// registry is started on a configuration that carries each one. When a
// registry upgrade accepts one, this fails: move it to Values.
func TestRegistryRefusesTheRefusedLogLevels(t *testing.T) {
	t.Parallel()
	sy := registrytest.StartSynapse(t)
	v, _ := registryconfig.Lookup(registryconfig.EnvLogLevel)
	for value := range v.Refused {
		t.Run(value, func(t *testing.T) {
			t.Parallel()
			opts := registrytest.Options{Synapse: sy, FilesystemRoot: t.TempDir()}
			s, err := registryconfig.ParseEnviron(opts.Environ(1, 2, t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			s.LogLevel = value // what the entrypoint would have written without its check
			prepared, err := registryconfig.Prepare(s, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			self, _ := os.Executable()
			cmd := exec.Command(self, "serve", prepared.Paths.Config)
			cmd.Env = registrytest.ChildBaseEnv()
			done := make(chan struct{})
			var out []byte
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("the registry started with log level %q; it accepts it now, so move it from Refused to Values", value)
			}
			if err == nil || !strings.Contains(string(out), "invalid loglevel") {
				t.Errorf("the registry with log level %q: %v\n%s", value, err, out)
			}
		})
	}
}
