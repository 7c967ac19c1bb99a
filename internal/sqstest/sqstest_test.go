package sqstest_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/sqs"

	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/sqstest"
)

// Through the real SDK: a received message is hidden for the visibility timeout and comes
// back; after maxReceiveCount receives it is in the dead-letter queue; an old receipt handle
// no longer deletes; with DuplicateSends a message is delivered twice.
func TestQueueSemantics(t *testing.T) {
	srv, err := sqstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sess := session.Must(session.NewSession(aws.NewConfig().WithRegion("us-east-1").WithEndpoint(srv.URL).
		WithCredentials(credentials.NewStaticCredentials("test", "test", ""))))
	c := sqs.New(sess)
	q, dlq := srv.CreateQueues("q", time.Second, 2)
	if _, err := c.SendMessage(&sqs.SendMessageInput{QueueUrl: aws.String(q), MessageBody: aws.String("one")}); err != nil {
		t.Fatal(err)
	}
	receive := func(url string) []*sqs.Message {
		out, err := c.ReceiveMessage(&sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: aws.Int64(10),
			MessageSystemAttributeNames: []*string{aws.String("All")}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Messages
	}
	first := receive(q)
	if len(first) != 1 || *first[0].Body != "one" || *first[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("first receive %v", first)
	}
	if again := receive(q); len(again) != 0 {
		t.Fatalf("a received message is visible within its visibility timeout: %v", again)
	}
	time.Sleep(1100 * time.Millisecond)
	second := receive(q)
	if len(second) != 1 || *second[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the visibility timeout: %v", second)
	}
	if _, err := c.DeleteMessage(&sqs.DeleteMessageInput{QueueUrl: aws.String(q), ReceiptHandle: first[0].ReceiptHandle}); err == nil {
		t.Error("a superseded receipt handle deleted the message")
	}
	if _, err := c.ChangeMessageVisibility(&sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(q), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: aws.Int64(0)}); err != nil {
		t.Fatal(err)
	}
	if third := receive(q); len(third) != 0 {
		t.Fatalf("received %d times with maxReceiveCount 2: %v", 3, third)
	}
	if dead := receive(dlq); len(dead) != 1 || *dead[0].Body != "one" {
		t.Fatalf("dead-letter queue %v", dead)
	}

	srv.DuplicateSends = true
	if _, err := c.SendMessageBatch(&sqs.SendMessageBatchInput{QueueUrl: aws.String(q), Entries: []*sqs.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("two")}}}); err != nil {
		t.Fatal(err)
	}
	if got := receive(q); len(got) != 2 || *got[0].MessageId != *got[1].MessageId {
		t.Errorf("with DuplicateSends: %v", got)
	}
}
