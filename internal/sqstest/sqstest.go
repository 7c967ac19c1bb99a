// Package sqstest is an in-process stand-in for Amazon SQS that speaks the
// service's JSON protocol (AWS JSON 1.0, "X-Amz-Target: AmazonSQS.<Action>",
// what aws-sdk-go 1.55 and aws-sdk-go-v2 send), so the notification relay is
// tested against the wire protocol and the queue semantics it relies on, not a
// mock. It models, each cited where implemented:
//
//   - the visibility timeout: a received message is hidden for the queue's (or
//     the request's) VisibilityTimeout and comes back if not deleted;
//     ChangeMessageVisibility restarts that timer;
//   - the redrive policy: a message received maxReceiveCount times and not
//     deleted moves to the dead-letter queue instead of being received again;
//   - at-least-once delivery: with DuplicateSends a standard queue's occasional
//     second copy of a message is delivered too;
//   - long polling (WaitTimeSeconds up to 20) and the MD5 digests the SDKs verify.
//
// It does not model FIFO queues, message retention or size limits.
package sqstest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccountID is the account in the stand-in's queue URLs and ARNs.
const AccountID = "000000000000"

// Server is a running stand-in.
type Server struct {
	// URL is the endpoint to give the SDK ("http://127.0.0.1:<port>").
	URL string
	// DuplicateSends stores every sent message twice (same MessageId), as a
	// standard queue occasionally delivers a message more than once:
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html
	// ("at-least-once delivery").
	DuplicateSends bool

	srv    *http.Server
	ln     net.Listener
	mu     sync.Mutex
	queues map[string]*queue // by name
	wake   chan struct{}
	calls  map[string]int
}

type queue struct {
	name              string
	visibilityTimeout time.Duration
	deadLetterARN     string
	maxReceiveCount   int
	messages          []*message
}

type message struct {
	id, body      string
	receiptHandle string
	receiveCount  int
	visibleAt     time.Time
	sentAt        time.Time
}

// Start serves a stand-in on a free loopback port until Close.
func Start() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{ln: ln, queues: map[string]*queue{}, wake: make(chan struct{}), calls: map[string]int{}}
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// QueueURL is the URL of the queue name on this server.
func (s *Server) QueueURL(name string) string { return s.URL + "/" + AccountID + "/" + name }

// QueueARN is the ARN of the queue name, as a redrive policy names it.
func QueueARN(name string) string { return "arn:aws:sqs:us-east-1:" + AccountID + ":" + name }

// CreateQueues creates a queue and its dead-letter queue (named name+"-dlq")
// with a redrive policy after maxReceiveCount receives, and returns both URLs.
func (s *Server) CreateQueues(name string, visibility time.Duration, maxReceiveCount int) (queueURL, dlqURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dlq := name + "-dlq"
	s.queues[dlq] = &queue{name: dlq, visibilityTimeout: visibility}
	s.queues[name] = &queue{name: name, visibilityTimeout: visibility, deadLetterARN: QueueARN(dlq), maxReceiveCount: maxReceiveCount}
	return s.QueueURL(name), s.QueueURL(dlq)
}

// Bodies returns the bodies of every message in the queue, visible or not.
func (s *Server) Bodies(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return nil
	}
	var out []string
	for _, m := range q.messages {
		out = append(out, m.body)
	}
	return out
}

// Calls returns how many requests of an action (e.g. "SendMessageBatch") were served.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

type apiError struct {
	status    int
	code, msg string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "AmazonSQS.")
	if r.Method != http.MethodPost || !ok {
		writeError(w, &apiError{400, "InvalidAction", "only the JSON protocol (X-Amz-Target: AmazonSQS.<Action>) is served"})
		return
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, &apiError{400, "MalformedQueryString", err.Error()})
		return
	}
	s.mu.Lock()
	s.calls[action]++
	s.mu.Unlock()
	var out any
	var aerr *apiError
	switch action {
	case "GetQueueUrl":
		out, aerr = s.getQueueURL(in)
	case "GetQueueAttributes":
		out, aerr = s.getQueueAttributes(in)
	case "SendMessage":
		out, aerr = s.sendMessage(in)
	case "SendMessageBatch":
		out, aerr = s.sendMessageBatch(in)
	case "ReceiveMessage":
		out, aerr = s.receiveMessage(r, in)
	case "DeleteMessage":
		out, aerr = s.deleteMessage(in)
	case "ChangeMessageVisibility":
		out, aerr = s.changeVisibility(in)
	default:
		aerr = &apiError{400, "InvalidAction", "the stand-in does not serve " + action}
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("x-amzn-query-error", "AWS.SimpleQueueService."+e.code+";Sender")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + e.code, "message": e.msg})
}

func str(in map[string]any, k string) string { v, _ := in[k].(string); return v }
func num(in map[string]any, k string) (int, bool) {
	v, ok := in[k].(float64)
	return int(v), ok
}

// queueOf resolves QueueUrl; the caller holds s.mu.
func (s *Server) queueOf(in map[string]any) (*queue, *apiError) {
	u := str(in, "QueueUrl")
	name := u[strings.LastIndex(u, "/")+1:]
	q := s.queues[name]
	if q == nil {
		return nil, &apiError{400, "QueueDoesNotExist", fmt.Sprintf("queue %q does not exist", u)}
	}
	return q, nil
}

func (s *Server) getQueueURL(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := str(in, "QueueName")
	if s.queues[name] == nil {
		return nil, &apiError{400, "QueueDoesNotExist", fmt.Sprintf("queue %q does not exist", name)}
	}
	return map[string]string{"QueueUrl": s.QueueURL(name)}, nil
}

func (s *Server) getQueueAttributes(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, aerr := s.queueOf(in)
	if aerr != nil {
		return nil, aerr
	}
	now := time.Now()
	visible, hidden := 0, 0
	for _, m := range q.messages {
		if m.visibleAt.After(now) {
			hidden++
		} else {
			visible++
		}
	}
	return map[string]any{"Attributes": map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(visible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(hidden),
		"VisibilityTimeout":                     strconv.Itoa(int(q.visibilityTimeout / time.Second)),
		"QueueArn":                              QueueARN(q.name),
	}}, nil
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// enqueue stores body (twice with DuplicateSends); the caller holds s.mu.
func (s *Server) enqueue(q *queue, body string) string {
	id := newID()
	copies := 1
	if s.DuplicateSends {
		copies = 2
	}
	for range copies {
		q.messages = append(q.messages, &message{id: id, body: body, sentAt: time.Now()})
	}
	close(s.wake)
	s.wake = make(chan struct{})
	return id
}

func (s *Server) sendMessage(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, aerr := s.queueOf(in)
	if aerr != nil {
		return nil, aerr
	}
	body := str(in, "MessageBody")
	if body == "" {
		return nil, &apiError{400, "MissingParameter", "MessageBody is required"}
	}
	return map[string]string{"MessageId": s.enqueue(q, body), "MD5OfMessageBody": md5Hex(body)}, nil
}

func (s *Server) sendMessageBatch(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, aerr := s.queueOf(in)
	if aerr != nil {
		return nil, aerr
	}
	entries, _ := in["Entries"].([]any)
	// At most 10 entries per batch:
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
	if len(entries) == 0 || len(entries) > 10 {
		return nil, &apiError{400, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", fmt.Sprintf("%d entries; a batch holds 1 to 10", len(entries))}
	}
	var ok []map[string]string
	for _, e := range entries {
		m, _ := e.(map[string]any)
		body := str(m, "MessageBody")
		ok = append(ok, map[string]string{"Id": str(m, "Id"), "MessageId": s.enqueue(q, body), "MD5OfMessageBody": md5Hex(body)})
	}
	return map[string]any{"Successful": ok, "Failed": []any{}}, nil
}

func (s *Server) receiveMessage(r *http.Request, in map[string]any) (any, *apiError) {
	max, ok := num(in, "MaxNumberOfMessages")
	if !ok {
		max = 1
	}
	wait, _ := num(in, "WaitTimeSeconds")
	if max < 1 || max > 10 || wait < 0 || wait > 20 {
		return nil, &apiError{400, "InvalidParameterValue", "MaxNumberOfMessages is 1 to 10, WaitTimeSeconds 0 to 20"}
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		s.mu.Lock()
		q, aerr := s.queueOf(in)
		if aerr != nil {
			s.mu.Unlock()
			return nil, aerr
		}
		visibility := q.visibilityTimeout
		if v, ok := num(in, "VisibilityTimeout"); ok {
			visibility = time.Duration(v) * time.Second
		}
		msgs := s.take(q, max, visibility)
		wake := s.wake
		s.mu.Unlock()
		if len(msgs) > 0 || !time.Now().Before(deadline) {
			return map[string]any{"Messages": msgs}, nil
		}
		// Long polling: wait for a send, a message becoming visible again, or the deadline.
		select {
		case <-wake:
		case <-time.After(min(time.Until(deadline), 100*time.Millisecond)):
		case <-r.Context().Done():
			return map[string]any{"Messages": []any{}}, nil
		}
	}
}

// take receives up to max visible messages; the caller holds s.mu.
func (s *Server) take(q *queue, max int, visibility time.Duration) []map[string]any {
	now := time.Now()
	var out []map[string]any
	kept := q.messages[:0]
	var moved []*message
	for _, m := range q.messages {
		if len(out) >= max || m.visibleAt.After(now) {
			kept = append(kept, m)
			continue
		}
		// Redrive: "If the source queue has a redrive policy and the message's
		// ReceiveCount exceeds maxReceiveCount, Amazon SQS moves the message to the
		// dead-letter queue" instead of delivering it again:
		// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
		if q.maxReceiveCount > 0 && m.receiveCount >= q.maxReceiveCount {
			moved = append(moved, m)
			continue
		}
		// Visibility timeout: a received message is hidden from other consumers for
		// the timeout and becomes visible again unless deleted:
		// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html
		m.receiveCount++
		m.visibleAt = now.Add(visibility)
		// Each receive returns a new receipt handle; only the latest one deletes
		// or changes the message (same page: "you must provide the most recently
		// received receipt handle").
		m.receiptHandle = newID()
		out = append(out, map[string]any{
			"MessageId": m.id, "ReceiptHandle": m.receiptHandle, "Body": m.body, "MD5OfBody": md5Hex(m.body),
			"Attributes": map[string]string{
				"ApproximateReceiveCount": strconv.Itoa(m.receiveCount),
				"SentTimestamp":           strconv.FormatInt(m.sentAt.UnixMilli(), 10),
			},
		})
		kept = append(kept, m)
	}
	q.messages = kept
	if len(moved) > 0 {
		dlq := s.queues[q.deadLetterARN[strings.LastIndex(q.deadLetterARN, ":")+1:]]
		for _, m := range moved {
			m.visibleAt, m.receiptHandle = time.Time{}, ""
			dlq.messages = append(dlq.messages, m)
		}
	}
	return out
}

func (s *Server) byHandle(in map[string]any) (*queue, int, *apiError) {
	q, aerr := s.queueOf(in)
	if aerr != nil {
		return nil, 0, aerr
	}
	h := str(in, "ReceiptHandle")
	for i, m := range q.messages {
		if h != "" && m.receiptHandle == h {
			return q, i, nil
		}
	}
	return nil, 0, &apiError{400, "ReceiptHandleIsInvalid", "the receipt handle is not the latest of a message in this queue"}
}

func (s *Server) deleteMessage(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, i, aerr := s.byHandle(in)
	if aerr != nil {
		return nil, aerr
	}
	q.messages = append(q.messages[:i], q.messages[i+1:]...)
	return map[string]any{}, nil
}

func (s *Server) changeVisibility(in map[string]any) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, i, aerr := s.byHandle(in)
	if aerr != nil {
		return nil, aerr
	}
	v, _ := num(in, "VisibilityTimeout")
	// The new timeout counts from now, at most 12 hours:
	// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
	if v < 0 || v > 43200 {
		return nil, &apiError{400, "InvalidParameterValue", "VisibilityTimeout is 0 to 43200 seconds"}
	}
	q.messages[i].visibleAt = time.Now().Add(time.Duration(v) * time.Second)
	return map[string]any{}, nil
}
