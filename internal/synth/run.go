package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Option adjusts a Run.
type Option func(*runOptions)

type runOptions struct {
	mocks  *Mocks
	dryRun bool
	org    string
}

// WithMocks replaces the mock tables (start from DefaultMocks()).
func WithMocks(m *Mocks) Option { return func(o *runOptions) { o.mocks = m } }

// WithResourceMock adds or replaces the mock for one resource type.
func WithResourceMock(token string, fn ResourceMockFunc) Option {
	return func(o *runOptions) { o.mocks.Resources[token] = fn }
}

// WithInvokeMock adds or replaces the mock for one invoke token.
func WithInvokeMock(token string, fn InvokeMockFunc) Option {
	return func(o *runOptions) { o.mocks.Invokes[token] = fn }
}

// WithDryRun runs with ctx.DryRun() true, as `pulumi preview` does: outputs
// the mocks do not return become unknown instead of empty.
func WithDryRun() Option { return func(o *runOptions) { o.dryRun = true } }

// WithOrganization sets ctx.Organization() (default "organization", what
// self-managed backends report).
func WithOrganization(org string) Option { return func(o *runOptions) { o.org = org } }

// Result is what a program registered, in a stable order (type, then name).
type Result struct {
	Stack     string     `json:"stack"`
	Resources []Resource `json:"resources"`
	// Warnings found while running: secrets the program passed on as
	// plain text. Not part of the JSON.
	Warnings []string `json:"-"`
}

// PanicError is returned when the program panics, as config.Require does for
// a missing key; its message is the panic's.
type PanicError struct {
	Value interface{}
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprint(e.Value) }

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Run runs program under the mocks with cfg's configuration and records
// every resource it registers. If the program returns an error, Run returns
// exactly that error (not Pulumi's multierror around it), together with
// what was recorded so far; a panic comes back as a *PanicError.
func Run(program func(ctx *pulumi.Context) error, cfg *StackConfig, opts ...Option) (*Result, error) {
	o := runOptions{mocks: DefaultMocks(), org: "organization"}
	for _, opt := range opts {
		opt(&o)
	}
	project, stack := "project", "stack"
	var conf map[string]string
	var secretKeys []string
	if cfg != nil {
		project, stack, conf, secretKeys = cfg.Project, cfg.Stack, cfg.Config, cfg.SecretKeys
	}
	region := ""
	if conf != nil {
		region = conf["aws:region"]
	}
	mon := newMonitor(project, stack, o.mocks, region)

	var bodyErr error
	body := func(ctx *pulumi.Context) error {
		bodyErr = program(ctx)
		return bodyErr
	}
	setInfo := func(info *pulumi.RunInfo) {
		info.Config = map[string]string{}
		for k, v := range conf {
			info.Config[k] = v
		}
		info.ConfigSecretKeys = append([]string(nil), secretKeys...)
		info.DryRun = o.dryRun
		info.Organization = o.org
		if cfg != nil {
			info.RootDirectory = cfg.Dir
		}
	}
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &PanicError{Value: p, Stack: debug.Stack()}
			}
		}()
		return pulumi.RunErr(body, pulumi.WithMocks(project, stack, mon), setInfo)
	}()

	res := &Result{Stack: stack, Resources: mon.snapshot()}
	if cfg != nil {
		res.Warnings = findLeaks(res.Resources, cfg)
		if cfg.Dir != "" {
			for i := range res.Resources {
				res.Resources[i].Inputs = relativize(res.Resources[i].Inputs, filepath.Clean(cfg.Dir)).(map[string]interface{})
			}
		}
	}
	if _, panicked := runErr.(*PanicError); panicked {
		return res, runErr
	}
	if bodyErr != nil {
		return res, bodyErr
	}
	return res, runErr
}

// relativize rewrites the project directory inside strings as "." (the
// program sees an absolute ctx.RootDirectory(), as under the CLI), so that
// the JSON is the same on every machine and checkout.
func relativize(v interface{}, root string) interface{} {
	switch v := v.(type) {
	case string:
		if v == root {
			return "."
		}
		return strings.ReplaceAll(v, root+string(filepath.Separator), "."+string(filepath.Separator))
	case []interface{}:
		for i, e := range v {
			v[i] = relativize(e, root)
		}
		return v
	case map[string]interface{}:
		for k, e := range v {
			v[k] = relativize(e, root)
		}
		return v
	default:
		return v
	}
}

// findLeaks reports inputs that carry a secret's placeholder in plain text:
// the program read a secret without keeping it secret.
func findLeaks(resources []Resource, cfg *StackConfig) []string {
	type ph struct{ key, value string }
	var phs []ph
	for k, v := range cfg.Placeholders {
		if len(v) >= 6 { // "0" and "false" would match everywhere
			phs = append(phs, ph{k, v})
		}
	}
	if len(phs) == 0 {
		return nil
	}
	sort.Slice(phs, func(i, j int) bool { return phs[i].key < phs[j].key })
	var out []string
	for _, r := range resources {
		walkStrings("", r.Inputs, func(path, s string) {
			for _, p := range phs {
				if strings.Contains(s, p.value) {
					out = append(out, fmt.Sprintf(
						"%s %q: input %s holds secret config %s in plain text; "+
							"read it with config.RequireSecret/GetSecret or wrap it in pulumi.ToSecret",
						r.Type, r.Name, path, p.key))
				}
			}
		})
	}
	return out
}

func walkStrings(path string, v interface{}, fn func(path, s string)) {
	switch v := v.(type) {
	case string:
		fn(path, v)
	case []interface{}:
		for i, e := range v {
			walkStrings(fmt.Sprintf("%s[%d]", path, i), e, fn)
		}
	case map[string]interface{}:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walkStrings(p, v[k], fn)
		}
	}
}

// JSON renders the result: sorted keys, 2-space indent, no HTML escaping,
// trailing newline; the same resources always give the same bytes.
func (r *Result) JSON() ([]byte, error) {
	out := struct {
		Stack     string     `json:"stack"`
		Resources []Resource `json:"resources"`
	}{r.Stack, r.Resources}
	if out.Resources == nil {
		out.Resources = []Resource{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ByType returns the resources of one type, ordered by name.
func (r *Result) ByType(token string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == token {
			out = append(out, res)
		}
	}
	return out
}

// Get returns the resource of that type and name (the first, should
// several parents use the name).
func (r *Result) Get(token, name string) (Resource, bool) {
	for _, res := range r.Resources {
		if res.Type == token && res.Name == name {
			return res, true
		}
	}
	return Resource{}, false
}
