// Package synth runs the Pulumi program under deterministic mocks, with a
// stack's configuration loaded exactly the way the Pulumi CLI loads it, and
// records every resource the program registers. It needs no cloud
// credentials, no Pulumi CLI and no plugins.
package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"
	"github.com/pulumi/pulumi/sdk/v3/go/common/encoding"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// DefaultPlaceholder is the value a secret config value gets when the caller
// names no placeholder for its key and the key is not declared as an
// integer or boolean.
const DefaultPlaceholder = "synth-placeholder"

// LoadOptions control how LoadStack treats secrets.
type LoadOptions struct {
	// Strict leaves keys that Pulumi.yaml declares `secret: true` but the
	// stack file does not set unset, so loading fails exactly as
	// `pulumi preview` does. Without it they get a placeholder and a warning.
	Strict bool
	// Placeholders maps config keys to the value that replaces their
	// encrypted value. Keys are "key" (project namespace), "ns:key", or a
	// path into structured config such as "key.password" or "key.list[0]".
	// A value must look like what the program expects (e.g. base64).
	Placeholders map[string]string
	// DefaultPlaceholder replaces secrets with no entry in Placeholders;
	// empty means DefaultPlaceholder ("synth-placeholder"), or "0"/"false"
	// for keys declared as integer/boolean.
	DefaultPlaceholder string
}

// StackConfig is what pulumi.RunInfo needs to run a program for one stack.
type StackConfig struct {
	// Project is Pulumi.yaml's name; Stack is the stack's name.
	Project string
	Stack   string
	// Dir is the directory that holds Pulumi.yaml.
	Dir string
	// Config maps namespaced keys ("project:key", "aws:region") to values as
	// the CLI passes them to the program: structured values JSON-encoded,
	// booleans and numbers in their string form, secrets as placeholders.
	Config map[string]string
	// SecretKeys lists the keys whose values are secret, sorted.
	SecretKeys []string
	// Placeholders maps the path of each secret ("ns:key", or
	// "ns:key.field" inside structured config) to the placeholder it got.
	// Run uses it to find secrets the program passes on as plain text.
	Placeholders map[string]string
}

// Warning is something LoadStack wants the operator to know without failing.
type Warning struct {
	// Key is the config key concerned, if any.
	Key     string
	Message string
}

func (w Warning) String() string { return w.Message }

// LoadStack reads Pulumi.yaml (searched for upwards from dir, as the CLI
// does) and Pulumi.<stack>.yaml beside it (or in its stackConfigDir), applies
// the project's defaults and validates the stack's values with the CLI's own
// code, so errors read exactly like `pulumi preview`'s ("validating stack
// config: ..."). Encrypted values are never decrypted: they become
// placeholders, and their keys are listed as secret.
func LoadStack(dir, stack string, opts LoadOptions) (*StackConfig, []Warning, error) {
	if stack == "" {
		return nil, nil, errors.New("no stack selected: pass the stack name (any stack with a Pulumi.<stack>.yaml, e.g. dev)")
	}
	// "org/project/dev" and "dev" name the same stack file.
	stackName := stack[strings.LastIndex(stack, "/")+1:]

	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	projPath, err := workspace.DetectProjectPathFrom(absDir)
	if err != nil {
		return nil, nil, err
	}
	proj, err := workspace.LoadProject(projPath)
	if err != nil {
		return nil, nil, err
	}
	projectName := proj.Name.String()

	stackDir := filepath.Dir(projPath)
	if proj.StackConfigDir != "" {
		stackDir = filepath.Join(stackDir, proj.StackConfigDir)
	}
	stackPath := filepath.Join(stackDir, "Pulumi."+stackName+filepath.Ext(projPath))
	if _, err := os.Stat(stackPath); err != nil {
		if os.IsNotExist(err) {
			// The CLI would need the stack to exist in a backend; synth only
			// has files, so a missing file is most likely a misspelt stack.
			return nil, nil, fmt.Errorf("no stack named '%s' found: %s does not exist", stackName, stackPath)
		}
		return nil, nil, err
	}

	var warnings []Warning
	var diagOut bytes.Buffer
	sink := diag.DefaultSink(&diagOut, &diagOut, diag.FormatOptions{Color: colors.Never})
	ps, err := workspace.LoadProjectStack(sink, proj, stackPath)
	if err != nil {
		return nil, nil, fmt.Errorf("could not load %s: %w", stackPath, err)
	}
	if msg := strings.TrimSpace(diagOut.String()); msg != "" {
		// The sink writes "warning: ..."; callers add their own prefix.
		warnings = append(warnings, Warning{Message: strings.TrimPrefix(msg, "warning: ")})
	}
	if imports := ps.Environment.Imports(); len(imports) > 0 {
		warnings = append(warnings, Warning{Message: fmt.Sprintf(
			"%s imports Pulumi ESC environments (%s); synth cannot open them without Pulumi Cloud "+
				"and runs the program without their values", filepath.Base(stackPath), strings.Join(imports, ", "))})
	}

	cfg := ps.Config
	if cfg == nil {
		cfg = config.Map{}
	}

	// Where each ciphertext sits, so the placeholder can depend on the key.
	cipherPaths, err := secureValuePaths(stackPath, projectName)
	if err != nil {
		return nil, nil, err
	}

	dec := &placeholderDecrypter{byCipher: map[string]string{}, paths: map[string]string{}, fallback: opts.DefaultPlaceholder}
	if dec.fallback == "" {
		dec.fallback = DefaultPlaceholder
	}
	for cipher, path := range cipherPaths {
		dec.byCipher[cipher] = placeholderFor(path, projectName, proj, opts)
		dec.paths[cipher] = path
	}

	// Declared secrets the operator has not set yet.
	if !opts.Strict {
		keys := make([]string, 0, len(proj.Config))
		for k := range proj.Config {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ct := proj.Config[k]
			// An empty default on a secret only moves the "missing" report from the CLI into
			// the program (which can name the fix); it is no value either.
			if !ct.Secret || ct.Value != nil || (ct.Default != nil && ct.Default != "") {
				continue
			}
			key, err := parseKey(projectName, k)
			if err != nil {
				return nil, nil, err
			}
			if key.Namespace() != projectName {
				continue
			}
			if _, found, err := cfg.Get(key, true); err != nil || found {
				continue
			}
			cipher := "synth-missing:" + key.String()
			dec.byCipher[cipher] = placeholderFor(key.String(), projectName, proj, opts)
			dec.paths[cipher] = key.String()
			if err := cfg.Set(key, config.NewSecureValue(cipher), true); err != nil {
				return nil, nil, err
			}
			warnings = append(warnings, Warning{Key: key.String(), Message: fmt.Sprintf(
				"config key '%s' is declared secret in %s but %s sets no value; using a placeholder. "+
					"Set it with: pulumi config set --secret %s <value> --stack %s",
				k, filepath.Base(projPath), filepath.Base(stackPath), k, stackName)})
		}
	}

	// The CLI's own merge and validation: defaults, namespaced values, types,
	// missing keys, "must be encrypted as it's secret".
	if err := applyProjectConfig(stackName, proj, cfg, dec); err != nil {
		return nil, warnings, fmt.Errorf("validating stack config: %w", err)
	}

	decrypted, err := cfg.Decrypt(dec)
	if err != nil {
		return nil, warnings, fmt.Errorf("failed to decrypt config: %w", err)
	}
	sc := &StackConfig{
		Project:      projectName,
		Stack:        stackName,
		Dir:          filepath.Dir(projPath),
		Config:       make(map[string]string, len(decrypted)),
		Placeholders: map[string]string{},
	}
	for k, v := range decrypted {
		sc.Config[k.String()] = v
	}
	for _, k := range cfg.SecureKeys() {
		sc.SecretKeys = append(sc.SecretKeys, k.String())
	}
	for cipher, path := range dec.paths {
		sc.Placeholders[path] = dec.byCipher[cipher]
	}
	sort.Strings(sc.SecretKeys)
	return sc, warnings, nil
}

func parseKey(projectName, k string) (config.Key, error) {
	if strings.Contains(k, ":") {
		return config.ParseKey(k)
	}
	return config.MustMakeKey(projectName, k), nil
}

// placeholderFor picks the placeholder for a secret at path ("ns:key" or
// "ns:key.sub[0]"): the caller's value for the path or any enclosing key,
// else a default that fits the key's declared type.
func placeholderFor(path, projectName string, proj *workspace.Project, opts LoadOptions) string {
	candidates := []string{path}
	for p := path; ; {
		i := strings.LastIndexAny(p, ".[")
		if i <= strings.Index(p, ":") {
			break
		}
		p = p[:i]
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if v, ok := opts.Placeholders[c]; ok {
			return v
		}
		if rest, ok := strings.CutPrefix(c, projectName+":"); ok {
			if v, ok := opts.Placeholders[rest]; ok {
				return v
			}
		}
	}
	// Only a top-level secret can be typed; nested secrets are strings.
	if path == candidates[len(candidates)-1] {
		bare := strings.TrimPrefix(path, projectName+":")
		for _, name := range []string{bare, path} {
			if ct, ok := proj.Config[name]; ok {
				switch ct.TypeName() {
				case "integer":
					return "0"
				case "boolean":
					return "false"
				}
			}
		}
	}
	if opts.DefaultPlaceholder != "" {
		return opts.DefaultPlaceholder
	}
	return DefaultPlaceholder
}

// secureValuePaths maps each `secure:` ciphertext in the stack file to the
// config path where it sits ("ns:key", "ns:key.field", "ns:key[1]").
func secureValuePaths(stackPath, projectName string) (map[string]string, error) {
	m, _ := encoding.Detect(stackPath)
	if m == nil {
		return nil, fmt.Errorf("can not read '%s': unsupported file type", stackPath)
	}
	b, err := os.ReadFile(stackPath)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := m.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("could not unmarshal '%s': %w", stackPath, err)
	}
	out := map[string]string{}
	if raw == nil {
		return out, nil
	}
	simple, err := workspace.SimplifyMarshalledValue(raw)
	if err != nil {
		return nil, err
	}
	top, _ := simple.(map[string]interface{})
	cfg, _ := top["config"].(map[string]interface{})
	var walk func(path string, v interface{})
	walk = func(path string, v interface{}) {
		switch v := v.(type) {
		case map[string]interface{}:
			if s, ok := v["secure"].(string); ok && len(v) == 1 {
				out[s] = path
				return
			}
			for k, e := range v {
				walk(path+"."+k, e)
			}
		case []interface{}:
			for i, e := range v {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		}
	}
	for k, v := range cfg {
		if !strings.Contains(k, ":") {
			k = projectName + ":" + k
		}
		walk(k, v)
	}
	return out, nil
}

// placeholderDecrypter "decrypts" every ciphertext to a placeholder: synth
// never holds a key, so no real secret can reach its output.
type placeholderDecrypter struct {
	byCipher map[string]string // ciphertext -> placeholder
	paths    map[string]string // ciphertext -> config path
	fallback string
}

func (d *placeholderDecrypter) DecryptValue(_ context.Context, ciphertext string) (string, error) {
	if v, ok := d.byCipher[ciphertext]; ok {
		return v, nil
	}
	return d.fallback, nil
}

func (d *placeholderDecrypter) BatchDecrypt(ctx context.Context, ciphertexts []string) ([]string, error) {
	return config.DefaultBatchDecrypt(ctx, d, ciphertexts)
}
