package image_test

import (
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/registrytest"
)

// TestMain lets this test binary also act as the entrypoint and the registry
// that registrytest starts as child processes.
func TestMain(m *testing.M) { registrytest.Main(m) }
