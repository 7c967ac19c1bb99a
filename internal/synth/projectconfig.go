package synth

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
)

// applyProjectConfig does what `pulumi preview` does to a stack's config
// before the program runs: it fills in Pulumi.yaml's defaults and values,
// and rejects a missing required key, a value of the wrong type and a
// secret stored in plain text, in the CLI's words so synth's errors read
// like the CLI's.
//
// Pulumi SDK v3.190 exported this step as
// workspace.ValidateStackConfigAndApplyProjectConfig; later SDKs moved it
// out of the Go SDK into the CLI, so synth carries its own. Keys are
// visited in sorted order and the first bad value wins, as in the CLI;
// missing keys are reported together after every present value is valid.
func applyProjectConfig(stackName string, proj *workspace.Project, cfg config.Map, dec config.Decrypter) error {
	projectName := proj.Name.String()
	names := make([]string, 0, len(proj.Config))
	for k := range proj.Config {
		names = append(names, k)
	}
	sort.Strings(names)

	var missing []string
	for _, name := range names {
		decl := proj.Config[name]
		key, err := parseKey(projectName, name)
		if err != nil {
			return err
		}
		stackValue, set, err := cfg.Get(key, true)
		if err != nil {
			return fmt.Errorf("getting stack config value for key '%v': %w", key.String(), err)
		}
		if !set {
			var fallback any
			switch {
			case decl.Default != nil:
				fallback = decl.Default
			case decl.Value != nil:
				fallback = decl.Value
			default:
				// Keys of other namespaces (aws:region) are the provider's business.
				if key.Namespace() == projectName {
					missing = append(missing, name)
				}
				continue
			}
			v, err := configValueOf(fallback)
			if err != nil {
				return err
			}
			if err := cfg.Set(key, v, true); err != nil {
				return err
			}
			continue
		}
		if decl.Type == nil {
			continue
		}
		if decl.Secret && !stackValue.Secure() {
			//lint:ignore ST1005 the Pulumi CLI's own wording, kept so messages read the same
			return fmt.Errorf("Stack '%v' with configuration key '%v' must be encrypted as it's secret", stackName, name)
		}
		plain, err := stackValue.Value(dec)
		if err != nil {
			return err
		}
		var content any = plain
		if stackValue.Object() {
			if err := json.Unmarshal([]byte(plain), &content); err != nil {
				return err
			}
		}
		if !workspace.ValidateConfigValue(*decl.Type, decl.Items, content) {
			//lint:ignore ST1005 the Pulumi CLI's own wording, kept so messages read the same
			return fmt.Errorf("Stack '%v' with configuration key '%v' must be of type '%v'",
				stackName, name, workspace.InferFullTypeName(*decl.Type, decl.Items))
		}
	}
	if len(missing) > 0 {
		return missingKeysError(stackName, missing)
	}
	return nil
}

// missingKeysError words the list as the CLI does: 'a', 'b' and 'c'.
func missingKeysError(stackName string, keys []string) error {
	sort.Strings(keys)
	quoted := make([]string, len(keys))
	for i, k := range keys {
		quoted[i] = "'" + k + "'"
	}
	if len(keys) == 1 {
		//lint:ignore ST1005 the Pulumi CLI's own wording, kept so messages read the same
		return fmt.Errorf("Stack '%v' is missing configuration value %v", stackName, quoted[0])
	}
	list := strings.Join(quoted[:len(quoted)-1], ", ") + " and " + quoted[len(quoted)-1]
	//lint:ignore ST1005 the Pulumi CLI's own wording, kept so messages read the same
	return fmt.Errorf("Stack '%v' is missing configuration values %v", stackName, list)
}

// configValueOf turns a Pulumi.yaml default into a stack config value:
// scalars as their text, lists and maps as JSON objects.
func configValueOf(raw any) (config.Value, error) {
	switch raw.(type) {
	case string, bool, int, int64, uint64, float64:
		return config.NewValue(fmt.Sprintf("%v", raw)), nil
	}
	simple, err := workspace.SimplifyMarshalledValue(raw)
	if err != nil {
		return config.Value{}, err
	}
	b, err := json.Marshal(simple)
	if err != nil {
		return config.Value{}, err
	}
	return config.NewObjectValue(string(b)), nil
}
