package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	oldRevision = "arn:aws:ecs:us-east-1:123456789012:task-definition/synapse-docker-registry-prod:41"
	newRevision = "arn:aws:ecs:us-east-1:123456789012:task-definition/synapse-docker-registry-prod:42"
)

// fakeECS is a stand-in for the ECS API (JSON 1.1 protocol, X-Amz-Target
// AmazonEC2ContainerServiceV20141113.<Operation>) with one service being deployed from
// oldRevision to newRevision. It models the deployment circuit breaker with rollback
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html):
// when the new tasks keep failing, the new deployment's rolloutState becomes FAILED, and ECS
// starts a new PRIMARY deployment of the last completed revision, which completes; the service's
// taskDefinition is then the old revision again and only old tasks run. That is the state the AWS
// provider reports as a successful update (hashicorp/terraform-provider-aws#20858).
type fakeECS struct {
	mu sync.Mutex
	// rollback: the new tasks fail and the breaker rolls back; else the new revision completes.
	rollback bool
	// describesUntilDone: DescribeServices calls that still see the rollout in progress.
	describesUntilDone int
	calls              int
}

type jsonDeployment struct {
	ID                 string  `json:"id"`
	Status             string  `json:"status"`
	TaskDefinition     string  `json:"taskDefinition"`
	RolloutState       string  `json:"rolloutState"`
	RolloutStateReason string  `json:"rolloutStateReason,omitempty"`
	CreatedAt          float64 `json:"createdAt"`
}

func (f *fakeECS) service() map[string]any {
	now := float64(time.Now().Unix())
	inProgress := f.calls <= f.describesUntilDone
	svc := map[string]any{"serviceName": "registry-svc", "clusterArn": "cluster", "desiredCount": 2, "runningCount": 2}
	var deployments []jsonDeployment
	var events []map[string]any
	switch {
	case inProgress:
		svc["taskDefinition"] = newRevision
		deployments = []jsonDeployment{
			{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: newRevision, RolloutState: "IN_PROGRESS", CreatedAt: now},
			{ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: oldRevision, RolloutState: "COMPLETED", CreatedAt: now - 3600},
		}
	case f.rollback:
		svc["taskDefinition"] = oldRevision
		deployments = []jsonDeployment{
			{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: oldRevision, RolloutState: "COMPLETED", CreatedAt: now},
			{ID: "ecs-svc/2", Status: "ACTIVE", TaskDefinition: newRevision, RolloutState: "FAILED",
				RolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.", CreatedAt: now - 600},
		}
		events = []map[string]any{
			{"id": "e2", "createdAt": now, "message": "(service registry-svc) rolling back to deployment ecs-svc/1."},
			{"id": "e1", "createdAt": now - 60, "message": "(service registry-svc) deployment ecs-svc/2 deployment failed: tasks failed to start."},
		}
	default:
		svc["taskDefinition"] = newRevision
		deployments = []jsonDeployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: newRevision, RolloutState: "COMPLETED", CreatedAt: now}}
		events = []map[string]any{{"id": "e1", "createdAt": now, "message": "(service registry-svc) has reached a steady state."}}
	}
	svc["deployments"], svc["events"] = deployments, events
	return svc
}

func (f *fakeECS) runningRevision() string {
	if f.rollback && f.calls > f.describesUntilDone {
		return oldRevision
	}
	return newRevision
}

func (f *fakeECS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	json.NewDecoder(r.Body).Decode(&body)
	var out any
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "AmazonEC2ContainerServiceV20141113.DescribeServices":
		f.calls++
		out = map[string]any{"services": []any{f.service()}, "failures": []any{}}
	case "AmazonEC2ContainerServiceV20141113.ListTasks":
		out = map[string]any{"taskArns": []string{"arn:aws:ecs:us-east-1:123456789012:task/c/a", "arn:aws:ecs:us-east-1:123456789012:task/c/b"}}
	case "AmazonEC2ContainerServiceV20141113.DescribeTasks":
		td := f.runningRevision()
		out = map[string]any{"tasks": []any{
			map[string]any{"taskArn": "a", "lastStatus": "RUNNING", "taskDefinitionArn": td},
			map[string]any{"taskArn": "b", "lastStatus": "RUNNING", "taskDefinitionArn": td},
		}}
	default:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "UnknownOperationException", "message": target})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

func verifyAgainst(t *testing.T, f *fakeECS, outputs StackOutputs) (int, string, string) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	in, _ := json.Marshal(outputs)
	var stdout, stderr bytes.Buffer
	url := srv.URL
	code := run([]string{"-region", "us-east-1", "-poll", "10ms", "-wait", "1s"}, bytes.NewReader(in), &stdout, &stderr, &url)
	return code, stdout.String(), stderr.String()
}

var declared = StackOutputs{ClusterName: "registry-cluster", ServiceName: "registry-svc", TaskDefinitionArn: newRevision, LogGroupName: "/ecs/synapse-docker-registry/prod"}

// A circuit-breaker rollback is a failed deployment, reported with what runs, why and where to look.
func TestRollbackFailsTheDeploy(t *testing.T) {
	f := &fakeECS{rollback: true, describesUntilDone: 3}
	code, _, stderr := verifyAgainst(t, f, declared)
	if code != 1 {
		t.Fatalf("exit %d after a rollback, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{
		"did not take effect", newRevision, "the service runs task definition " + oldRevision,
		"2 running task(s) are of " + oldRevision, "rolling back to deployment", "circuit breaker",
		"aws logs tail /ecs/synapse-docker-registry/prod", "--desired-status STOPPED", "Rolling back a deployment",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the message lacks %q:\n%s", want, stderr)
		}
	}
	if f.calls <= f.describesUntilDone {
		t.Errorf("decided after %d DescribeServices calls, while the rollout was still in progress", f.calls)
	}
}

// A deployment that completed on the declared revision passes, after waiting for the rollout.
func TestCompletedDeploymentPasses(t *testing.T) {
	f := &fakeECS{describesUntilDone: 2}
	code, stdout, stderr := verifyAgainst(t, f, declared)
	if code != 0 || !strings.Contains(stdout, "runs the declared task definition") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// A rollout that does not finish within -wait fails rather than passing on a half-done deployment.
func TestUnfinishedDeploymentFails(t *testing.T) {
	f := &fakeECS{describesUntilDone: 1 << 30}
	code, _, stderr := verifyAgainst(t, f, declared)
	if code != 1 || !strings.Contains(stderr, "has not completed") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

func TestMissingOutputsAreNamed(t *testing.T) {
	code, _, stderr := verifyAgainst(t, &fakeECS{}, StackOutputs{ClusterName: "c", ServiceName: "s"})
	if code != 2 || !strings.Contains(stderr, "taskDefinitionArn") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
