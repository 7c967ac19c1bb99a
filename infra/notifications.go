package infra

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The notification queues (docs/synapse.md, "The notification relay"): the relay in each task
// enqueues the registry's events here before it answers the registry and delivers them to
// Synapse from here, so neither a task stop nor a Synapse outage loses a push.
const (
	// NotificationRetentionSeconds is SQS's maximum, 14 days, on both queues: an outage of
	// Synapse, or a dead letter nobody has looked at yet, loses nothing for two weeks.
	NotificationRetentionSeconds = 14 * 24 * 3600
	// NotificationMaxReceiveCount is how often a delivery is tried before the event moves to
	// the dead-letter queue. The relay backs off 10 s, 20 s, … up to 15 minutes between tries,
	// so 100 tries span about a day of Synapse failing.
	NotificationMaxReceiveCount = 100
	// notificationVisibilitySeconds hides a received message while the relay posts it
	// (Synapse gets 30 s); the relay sets the backoff itself after a failure.
	notificationVisibilitySeconds = 60
	// NotificationOldestAgeAlarmSeconds: an event older than this has not reached Synapse.
	NotificationOldestAgeAlarmSeconds = 300
	// RelayRestartsAlarmCount restarts of a task's notification relay within
	// RelayRestartsAlarmSeconds raise an alarm: one restart loses nothing (the registry retries its
	// events), but a relay that keeps dying holds every push of its task in the registry's memory.
	RelayRestartsAlarmCount   = 3
	RelayRestartsAlarmSeconds = 300
	// RelayRestartsPattern matches the log line the relay's supervisor writes at each restart
	// (image/relay, Supervise: component notification-relay with a restarts count).
	RelayRestartsPattern = `{ $.component = "notification-relay" && $.restarts >= 1 }`
)

// NotificationRelayActions are what the relay does on the queue (image/relay): send, receive,
// delete after Synapse answered, and change visibility to back off. On the dead-letter queue it
// only sends (events Synapse never accepts).
var (
	NotificationRelayActions = []string{"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
	NotificationDLQActions   = []string{"sqs:SendMessage"}
)

// NotificationQueues are the queue and dead-letter queue of the notification relay.
type NotificationQueues struct {
	QueueURL, QueueArn, DeadLetterURL, DeadLetterArn pulumi.StringOutput
}

// redrivePolicy is SQS's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// redriveAllowPolicy is SQS's RedriveAllowPolicy attribute.
type redriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueArns   []string `json:"sourceQueueArns"`
}

// newNotificationQueues declares both queues, encrypted (SSE-SQS), and the alarms on them.
// alarmTopicArn, if not nil, receives the alarms' notifications.
func newNotificationQueues(s *scope, alarmTopicArn pulumi.StringInput) (*NotificationQueues, error) {
	dlq, err := sqs.NewQueue(s.ctx, s.name("notifications-dlq"), &sqs.QueueArgs{
		SqsManagedSseEnabled:    pulumi.Bool(true),
		MessageRetentionSeconds: pulumi.Int(NotificationRetentionSeconds),
	}, s.opts("notifications-dlq")...)
	if err != nil {
		return nil, err
	}
	queue, err := sqs.NewQueue(s.ctx, s.name("notifications"), &sqs.QueueArgs{
		SqsManagedSseEnabled:     pulumi.Bool(true),
		MessageRetentionSeconds:  pulumi.Int(NotificationRetentionSeconds),
		VisibilityTimeoutSeconds: pulumi.Int(notificationVisibilitySeconds),
		ReceiveWaitTimeSeconds:   pulumi.Int(20),
		RedrivePolicy: dlq.Arn.ApplyT(func(arn string) (string, error) {
			b, err := json.Marshal(redrivePolicy{DeadLetterTargetArn: arn, MaxReceiveCount: NotificationMaxReceiveCount})
			return string(b), err
		}).(pulumi.StringOutput),
	}, s.opts("notifications")...)
	if err != nil {
		return nil, err
	}
	// Only the notification queue may use the dead-letter queue.
	if _, err := sqs.NewRedriveAllowPolicy(s.ctx, s.name("notifications-dlq"), &sqs.RedriveAllowPolicyArgs{
		QueueUrl: dlq.Url,
		RedriveAllowPolicy: queue.Arn.ApplyT(func(arn string) (string, error) {
			b, err := json.Marshal(redriveAllowPolicy{RedrivePermission: "byQueue", SourceQueueArns: []string{arn}})
			return string(b), err
		}).(pulumi.StringOutput),
	}, s.opts("notifications-dlq")...); err != nil {
		return nil, err
	}

	alarm := func(name, description string, q *sqs.Queue, metric string, threshold float64) error {
		return newAlarm(s, name, cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.String(description),
			Namespace:          pulumi.String("AWS/SQS"),
			MetricName:         pulumi.String(metric),
			Dimensions:         pulumi.StringMap{"QueueName": q.Name},
			Statistic:          pulumi.String("Maximum"),
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(1),
			Threshold:          pulumi.Float64(threshold),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			// SQS sends no data points for an idle queue: nothing to see is healthy.
			TreatMissingData: pulumi.String("notBreaching"),
		}, alarmTopicArn)
	}
	if err := alarm("notifications-dead-letters",
		"Registry events are in the notification dead-letter queue: pushes Synapse has not recorded. docs/operations.md: inspect and replay the dead-letter queue.",
		dlq, "ApproximateNumberOfMessagesVisible", 0); err != nil {
		return nil, err
	}
	if err := alarm("notifications-delayed",
		fmt.Sprintf("A registry event has waited more than %d s to reach Synapse: Synapse refuses or cannot be reached. docs/operations.md: notifications.", NotificationOldestAgeAlarmSeconds),
		queue, "ApproximateAgeOfOldestMessage", NotificationOldestAgeAlarmSeconds); err != nil {
		return nil, err
	}
	return &NotificationQueues{QueueURL: queue.Url, QueueArn: queue.Arn, DeadLetterURL: dlq.Url, DeadLetterArn: dlq.Arn}, nil
}

// newRelayRestartsAlarm counts the relay's restarts in the registry's log group and alarms when
// they repeat (docs/operations.md, "Notifications to Synapse").
func newRelayRestartsAlarm(s *scope, logGroupName pulumi.StringOutput, alarmTopicArn pulumi.StringInput) error {
	// Per registry: two registries in one stack must not count each other's restarts.
	namespace := "SynapseDockerRegistry/" + s.names.qualified()
	if _, err := cloudwatch.NewLogMetricFilter(s.ctx, s.name("notification-relay-restarts"), &cloudwatch.LogMetricFilterArgs{
		LogGroupName: logGroupName,
		Pattern:      pulumi.String(RelayRestartsPattern),
		MetricTransformation: &cloudwatch.LogMetricFilterMetricTransformationArgs{
			Name: pulumi.String("NotificationRelayRestarts"), Namespace: pulumi.String(namespace), Value: pulumi.String("1"),
		},
	}, s.opts("notification-relay-restarts")...); err != nil {
		return err
	}
	return newAlarm(s, "notification-relay-restarts", cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.String(fmt.Sprintf("A task's notification relay restarted %d times in %d s: pushes wait in the registry's memory instead of the queue. docs/operations.md: notifications.",
			RelayRestartsAlarmCount, RelayRestartsAlarmSeconds)),
		Namespace:          pulumi.String(namespace),
		MetricName:         pulumi.String("NotificationRelayRestarts"),
		Statistic:          pulumi.String("Sum"),
		Period:             pulumi.Int(RelayRestartsAlarmSeconds),
		EvaluationPeriods:  pulumi.Int(1),
		Threshold:          pulumi.Float64(RelayRestartsAlarmCount),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		// The filter publishes nothing while no relay restarts.
		TreatMissingData: pulumi.String("notBreaching"),
	}, alarmTopicArn)
}

// grantRelay lets the task role use exactly these two queues, as the relay does.
func (n *NotificationQueues) grantRelay(s *scope, taskRole pulumi.StringOutput) (pulumi.Resource, error) {
	return iam.NewRolePolicy(s.ctx, s.name("task-notifications-policy"), &iam.RolePolicyArgs{
		Role: taskRole,
		Name: pulumi.String(taskNotificationsPolicyName),
		Policy: policyJSONFrom(relayQueueInputs{QueueArn: n.QueueArn, DeadLetterArn: n.DeadLetterArn}, func(v relayQueueValues) PolicyDocument {
			return policy(allow(NotificationRelayActions, v.QueueArn), allow(NotificationDLQActions, v.DeadLetterArn))
		}),
	}, s.opts("task-notifications-policy")...)
}

// relayQueueInputs are the queues the relay's policy names, resolved into relayQueueValues.
type relayQueueInputs struct{ QueueArn, DeadLetterArn pulumi.StringInput }

type relayQueueValues struct{ QueueArn, DeadLetterArn string }

func (relayQueueInputs) ElementType() reflect.Type { return reflect.TypeFor[relayQueueValues]() }

const taskNotificationsPolicyName = "registry-notification-queues"
