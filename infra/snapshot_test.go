package infra

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/synth"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestSnapshots compares what each stack declares with the reviewed snapshot in testdata/, so
// every infrastructure change shows up as a diff in the pull request. After an intended change:
// make snapshots.
func TestSnapshots(t *testing.T) {
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			// Exactly what `make synth` runs and writes: the stack file, secrets as placeholders,
			// the default mocks.
			cfg, _, err := synth.LoadStack("..", stack, synth.LoadOptions{Placeholders: SecretPlaceholders})
			if err != nil {
				t.Fatal(err)
			}
			got := synthJSON(t, cfg)
			if again := synthJSON(t, cfg); !bytes.Equal(got, again) {
				t.Fatal("two synth runs of the same stack differ; the snapshot would never be stable")
			}
			synth.CompareGolden(t, filepath.Join("testdata", "synth-"+stack+".json"), got)
		})
	}
}

func synthJSON(t *testing.T, cfg *synth.StackConfig) []byte {
	t.Helper()
	res, err := synth.Run(func(ctx *pulumi.Context) error { _, err := Deploy(ctx); return err }, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The image tag's keepers hold the build context's digest, which covers file modes as
	// pulumi-docker's does: a checkout made with another umask has another one. The snapshot
	// shows the tag's source hash instead (the image name), which is the same in every checkout.
	for _, r := range res.Resources {
		if keepers, ok := r.Inputs["keepers"].(map[string]interface{}); ok && r.Name == "registry-image-tag" {
			keepers["contextDigest"] = "(names, modes and contents of the build context: differs per checkout)"
		}
	}
	js, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return js
}
