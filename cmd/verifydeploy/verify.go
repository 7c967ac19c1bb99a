package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/request"
	"github.com/aws/aws-sdk-go/service/ecs"
)

// StackOutputs are the outputs verifydeploy reads (README, Outputs).
type StackOutputs struct {
	ClusterName       string `json:"clusterName"`
	ServiceName       string `json:"serviceName"`
	TaskDefinitionArn string `json:"taskDefinitionArn"`
	LogGroupName      string `json:"logGroupName"`
}

func (o StackOutputs) missing() []string {
	var out []string
	for name, v := range map[string]string{"clusterName": o.ClusterName, "serviceName": o.ServiceName, "taskDefinitionArn": o.TaskDefinitionArn} {
		if v == "" {
			out = append(out, name)
		}
	}
	return out
}

// ecsAPI is the part of ECS verifydeploy calls.
type ecsAPI interface {
	DescribeServicesWithContext(aws.Context, *ecs.DescribeServicesInput, ...request.Option) (*ecs.DescribeServicesOutput, error)
	ListTasksWithContext(aws.Context, *ecs.ListTasksInput, ...request.Option) (*ecs.ListTasksOutput, error)
	DescribeTasksWithContext(aws.Context, *ecs.DescribeTasksInput, ...request.Option) (*ecs.DescribeTasksOutput, error)
}

// Verify waits until the service has no deployment in progress (up to wait), then checks that the
// service, its primary deployment and every running task use the declared task definition. The
// error says what runs instead, why (the service's latest events) and where to look.
func Verify(ctx context.Context, api ecsAPI, out StackOutputs, wait, poll time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	var svc *ecs.Service
	for {
		resp, err := api.DescribeServicesWithContext(ctx, &ecs.DescribeServicesInput{
			Cluster: aws.String(out.ClusterName), Services: []*string{aws.String(out.ServiceName)},
		})
		if err != nil {
			return "", fmt.Errorf("ecs:DescribeServices of %s in cluster %s: %w", out.ServiceName, out.ClusterName, err)
		}
		if len(resp.Services) != 1 {
			return "", fmt.Errorf("ECS has no service %s in cluster %s (failures: %v); the stack outputs do not match the account", out.ServiceName, out.ClusterName, resp.Failures)
		}
		svc = resp.Services[0]
		if !inProgress(svc) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(poll):
		}
	}

	var problems []string
	if got := aws.StringValue(svc.TaskDefinition); got != out.TaskDefinitionArn {
		problems = append(problems, fmt.Sprintf("the service runs task definition %s", got))
	}
	for _, d := range svc.Deployments {
		td := aws.StringValue(d.TaskDefinition)
		switch {
		case aws.StringValue(d.Status) == "PRIMARY" && td != out.TaskDefinitionArn:
			problems = append(problems, fmt.Sprintf("its primary deployment %s is of %s (rollout %s)", aws.StringValue(d.Id), td, aws.StringValue(d.RolloutState)))
		case aws.StringValue(d.Status) == "PRIMARY" && aws.StringValue(d.RolloutState) != ecs.DeploymentRolloutStateCompleted:
			problems = append(problems, fmt.Sprintf("its primary deployment %s has not completed after %s (rollout %s: %s)", aws.StringValue(d.Id), wait, aws.StringValue(d.RolloutState), aws.StringValue(d.RolloutStateReason)))
		case td == out.TaskDefinitionArn && aws.StringValue(d.RolloutState) == ecs.DeploymentRolloutStateFailed:
			problems = append(problems, fmt.Sprintf("the deployment %s of the declared revision failed: %s", aws.StringValue(d.Id), aws.StringValue(d.RolloutStateReason)))
		}
	}
	running, err := runningTaskDefinitions(ctx, api, out)
	if err != nil {
		return "", err
	}
	other := 0
	for td, n := range running {
		if td != out.TaskDefinitionArn {
			other += n
			problems = append(problems, fmt.Sprintf("%d running task(s) are of %s", n, td))
		}
	}
	if running[out.TaskDefinitionArn] == 0 {
		problems = append(problems, "no running task is of the declared revision")
	}
	if len(problems) == 0 {
		return fmt.Sprintf("ECS service %s runs the declared task definition %s: %d task(s), deployment completed",
			out.ServiceName, out.TaskDefinitionArn, running[out.TaskDefinitionArn]), nil
	}

	var b strings.Builder
	fmt.Fprintf(&b, "the deployment did not take effect: the stack declared task definition %s, but %s.\n", out.TaskDefinitionArn, strings.Join(problems, "; "))
	b.WriteString("The deployment circuit breaker most likely rolled the service back to the last working revision (pulumi up reports success in that case: hashicorp/terraform-provider-aws#20858), so the registry runs the previous version and the Pulumi state does not describe it.\n")
	b.WriteString("The service's latest events:\n")
	for i, e := range svc.Events {
		if i == 8 {
			break
		}
		fmt.Fprintf(&b, "  %s %s\n", aws.TimeValue(e.CreatedAt).UTC().Format(time.RFC3339), aws.StringValue(e.Message))
	}
	fmt.Fprintf(&b, "Where to look: the new tasks' logs (aws logs tail %s --since 1h), why they stopped (aws ecs list-tasks --cluster %s --service-name %s --desired-status STOPPED, then aws ecs describe-tasks --cluster %s --tasks <arn> --query 'tasks[].[stoppedReason,containers[].reason]'), and docs/operations.md, Rolling back a deployment. Fix the cause and deploy again, or git revert the change.",
		logGroup(out), out.ClusterName, out.ServiceName, out.ClusterName)
	return "", fmt.Errorf("%s", b.String())
}

func logGroup(out StackOutputs) string {
	if out.LogGroupName != "" {
		return out.LogGroupName
	}
	return "<logGroupName output>"
}

// inProgress: a deployment is still rolling out (or being rolled back).
func inProgress(svc *ecs.Service) bool {
	for _, d := range svc.Deployments {
		if aws.StringValue(d.RolloutState) == ecs.DeploymentRolloutStateInProgress {
			return true
		}
	}
	return false
}

// runningTaskDefinitions counts the service's running tasks by task definition.
func runningTaskDefinitions(ctx context.Context, api ecsAPI, out StackOutputs) (map[string]int, error) {
	counts := map[string]int{}
	var token *string
	for {
		list, err := api.ListTasksWithContext(ctx, &ecs.ListTasksInput{
			Cluster: aws.String(out.ClusterName), ServiceName: aws.String(out.ServiceName),
			DesiredStatus: aws.String(ecs.DesiredStatusRunning), NextToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("ecs:ListTasks of %s: %w", out.ServiceName, err)
		}
		for i := 0; i < len(list.TaskArns); i += 100 { // DescribeTasks takes at most 100
			end := min(i+100, len(list.TaskArns))
			tasks, err := api.DescribeTasksWithContext(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(out.ClusterName), Tasks: list.TaskArns[i:end]})
			if err != nil {
				return nil, fmt.Errorf("ecs:DescribeTasks: %w", err)
			}
			for _, t := range tasks.Tasks {
				if aws.StringValue(t.LastStatus) == ecs.DesiredStatusRunning {
					counts[aws.StringValue(t.TaskDefinitionArn)]++
				}
			}
		}
		if token = list.NextToken; token == nil {
			return counts, nil
		}
	}
}
