package cost

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Synth is what `make synth` writes to build/synth/<stack>.json (and what the snapshots in
// infra/testdata hold): every resource the program declares, with its inputs. Only the fields the
// estimate reads are decoded; this package deliberately does not import internal/synth, which
// pulls in the Pulumi SDK.
type Synth struct {
	Stack     string          `json:"stack"`
	Resources []SynthResource `json:"resources"`
}

// SynthResource is one declared resource.
type SynthResource struct {
	Type      string                 `json:"type"`
	Name      string                 `json:"name"`
	Parent    string                 `json:"parent"`
	Inputs    map[string]interface{} `json:"inputs"`
	Component bool                   `json:"component,omitempty"`
	Import    string                 `json:"import,omitempty"`
	Read      string                 `json:"read,omitempty"`
}

// ReadSynth decodes a synth JSON document.
func ReadSynth(r io.Reader) (*Synth, error) {
	var s Synth
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode synth JSON: %w", err)
	}
	if len(s.Resources) == 0 {
		return nil, fmt.Errorf("the synth JSON declares no resources")
	}
	return &s, nil
}

// LoadSynth reads a synth JSON file.
func LoadSynth(path string) (*Synth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ReadSynth(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// ByType returns the resources of one type token, in file order.
func (s *Synth) ByType(token string) []SynthResource {
	var out []SynthResource
	for _, r := range s.Resources {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// In returns the input at a dotted path ("natGateways.strategy", "subnets"), or nil.
func (r SynthResource) In(path string) interface{} {
	var cur interface{} = r.Inputs
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// Str returns the input at path as a string ("" when absent or not a string).
func (r SynthResource) Str(path string) string {
	s, _ := r.In(path).(string)
	return s
}

// Num returns the input at path as a number; numeric strings ("2048") count too.
func (r SynthResource) Num(path string) (float64, bool) { return number(r.In(path)) }

// Bool returns the input at path as a bool (false when absent).
func (r SynthResource) Bool(path string) bool {
	b, _ := r.In(path).(bool)
	return b
}

// List returns the input at path as a list (nil when absent).
func (r SynthResource) List(path string) []interface{} {
	l, _ := r.In(path).([]interface{})
	return l
}
