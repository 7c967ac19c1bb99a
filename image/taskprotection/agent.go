package taskprotection

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// StatePath is the task scale-in protection endpoint under $ECS_AGENT_URI (AWS, "Amazon ECS task
// scale-in protection endpoint").
const StatePath = "/task-protection/v1/state"

// Limits of ExpiresInMinutes (AWS, UpdateTaskProtection: 1 minute to 2,880 minutes).
const (
	minExpiresInMinutes = 1
	maxExpiresInMinutes = 2880
)

// callTimeout bounds one request to the agent (which itself calls the ECS API).
const callTimeout = 15 * time.Second

// agentClient sets the task's protection through the agent endpoint.
type agentClient struct {
	state  string
	client *http.Client
}

// newAgentClient checks agentURI ($ECS_AGENT_URI) and returns a client for its endpoint.
func newAgentClient(agentURI string) (*agentClient, error) {
	u, err := url.Parse(agentURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent URI %q is not an http URL (ECS sets ECS_AGENT_URI, e.g. http://169.254.170.2/api/<container id>)", agentURI)
	}
	return &agentClient{state: strings.TrimSuffix(agentURI, "/") + StatePath, client: &http.Client{Timeout: callTimeout}}, nil
}

// request is the endpoint's PUT body.
type request struct {
	ProtectionEnabled bool
	ExpiresInMinutes  *int `json:",omitempty"`
}

// reply is the endpoint's answer: protection on success, failure (an ECS failure such as
// TASK_NOT_VALID) or error (an exception of the ECS call) otherwise.
type reply struct {
	Protection *struct {
		ProtectionEnabled bool
		ExpirationDate    *string
	} `json:"protection"`
	Failure *struct {
		Arn, Reason string
		Detail      *string
	} `json:"failure"`
	Error *struct {
		Code, Message string
	} `json:"error"`
}

// Set turns protection on for minutes, or off.
func (c *agentClient) Set(ctx context.Context, enabled bool, minutes int) error {
	body := request{ProtectionEnabled: enabled}
	if enabled {
		if minutes < minExpiresInMinutes || minutes > maxExpiresInMinutes {
			return fmt.Errorf("ExpiresInMinutes %d is outside %d..%d", minutes, minExpiresInMinutes, maxExpiresInMinutes)
		}
		body.ExpiresInMinutes = &minutes
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.state, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("PUT %s: %d, reading the answer: %w", c.state, resp.StatusCode, err)
	}
	var r reply
	decodeErr := json.Unmarshal(raw, &r)
	switch {
	case r.Error != nil:
		return fmt.Errorf("PUT %s: %d %s: %s", c.state, resp.StatusCode, r.Error.Code, r.Error.Message)
	case r.Failure != nil:
		return fmt.Errorf("PUT %s: %d failure %s", c.state, resp.StatusCode, r.Failure.Reason)
	case resp.StatusCode != http.StatusOK || decodeErr != nil || r.Protection == nil:
		return fmt.Errorf("PUT %s: %d %q", c.state, resp.StatusCode, bytes.TrimSpace(raw))
	case r.Protection.ProtectionEnabled != enabled:
		return fmt.Errorf("PUT %s: asked for ProtectionEnabled %v, the agent answered %v", c.state, enabled, r.Protection.ProtectionEnabled)
	}
	return nil
}
