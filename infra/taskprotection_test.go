package infra

import (
	"fmt"
	"slices"
	"testing"
)

// The registry protects its own task from scale-in while uploads are in flight
// (image/taskprotection): the task role may call ecs:UpdateTaskProtection, which is all the
// agent's PUT needs (AWS, "Protect your Amazon ECS tasks from being terminated by scale-in
// events", IAM permissions), on this cluster's tasks only (the action's resource is the task,
// arn:aws:ecs:<region>:<account>:task/<cluster>/<id>), and the service starts only once the
// policy exists.
func TestTaskRoleMayProtectOnlyItsClustersTasks(t *testing.T) {
	forEachStack(t, func(t *testing.T, r *run) {
		rp := r.one(t, tRolePolicy, "task-protection-policy")
		if !slices.Contains(rp.DependsOn, "task") || slices.Contains(rp.DependsOn, "execution") {
			t.Errorf("the protection policy depends on %v: it must be the task role's, not the execution role's", rp.DependsOn)
		}
		doc := parsePolicy(t, "task protection policy", rp.InputString("policy"))
		want := fmt.Sprintf("arn:aws:ecs:%s:123456789012:task/%s/*", r.config("aws:region"), r.outputs["clusterName"])
		if len(doc.Statement) != 1 {
			t.Fatalf("statements %+v, want one", doc.Statement)
		}
		s := doc.Statement[0]
		if s.Effect != "Allow" || fmt.Sprint(stringList(s.Action)) != "[ecs:UpdateTaskProtection]" || fmt.Sprint(stringList(s.Resource)) != "["+want+"]" {
			t.Errorf("task protection statement %+v, want Allow ecs:UpdateTaskProtection on %s only", s, want)
		}
		if !slices.Contains(r.one(t, tService, "registry").DependsOn, rp.Name) {
			t.Error("the service does not wait for the task protection policy: the first tasks could start without it")
		}
	})
}
