// Command cost estimates a stack's monthly AWS cost from the resources the program declares (the
// synth JSON of `make synth`) and a dated, cited us-east-1 price table, and prints it side by side
// with today's CDK design at equal capacity.
//
//	make cost STACK=prod COST_FLAGS='[-synth build/synth/prod.json] [assumption flags]'
//	go -C tools run ./cmd/cost -h      # every assumption flag
package main

import (
	"os"

	"github.com/Sage-Bionetworks/synapse-docker-registry/tools/internal/cost"
)

func main() {
	os.Exit(cost.Main(os.Args[1:], os.Stdout, os.Stderr))
}
