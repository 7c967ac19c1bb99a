package infra

import "testing"

// taskDefinitionArn is what cmd/verifydeploy compares with the revision ECS runs: it must be the
// service's task definition.
func TestTaskDefinitionArnOutputIsTheServicesRevision(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		got := r.outputs["taskDefinitionArn"]
		if got == "" || got != r.one(t, tService, "registry").InputString("taskDefinition") {
			t.Errorf("taskDefinitionArn output %q, the service runs %q", got, r.one(t, tService, "registry").InputString("taskDefinition"))
		}
	})
}
