package docs

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The README's configuration reference is the second place every key is documented (Pulumi.yaml
// is the first): same keys, same types, same defaults. Pulumi.yaml declares no `type` (the CLI
// would enforce it before the program runs and hide the program's other checks): a key's type
// is its default's, and a required key defaults to "" with a description starting "Required".
func TestReadmeConfigTableMatchesPulumiYAML(t *testing.T) {
	var project struct {
		Config map[string]struct {
			Type        string `yaml:"type"`
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
			Secret      bool   `yaml:"secret"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal([]byte(read(t, "Pulumi.yaml")), &project); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Za-z:]+)` \\| ([a-z]*) \\| ([^|]*) \\|")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(read(t, "README.md"), -1) {
		documented[m[1]] = []string{m[2], strings.TrimSpace(m[3])}
	}
	for key, decl := range project.Config {
		if decl.Description == "" {
			t.Errorf("Pulumi.yaml: %s has no description", key)
		}
		if decl.Type != "" {
			t.Errorf("Pulumi.yaml: %s declares type %s; the CLI would check it before the program and hide the program's other problems. Remove it (the default gives the type)", key, decl.Type)
		}
		var typ, want string
		switch v := decl.Default.(type) {
		case nil:
			t.Errorf("Pulumi.yaml: %s has no default; the CLI would report it missing before the program runs. Give it default \"\" and start its description with \"Required\"", key)
			continue
		case bool:
			typ, want = "boolean", fmt.Sprintf("`%v`", v)
		case int:
			typ, want = "integer", fmt.Sprintf("`%v`", v)
		case string:
			typ, want = "string", "`"+v+"`"
			switch {
			case v == "" && strings.HasPrefix(decl.Description, "Required"):
				want = "**required**"
			case v == "":
				want = "`\"\"`"
			}
		default:
			t.Errorf("Pulumi.yaml: %s has a default of type %T; use a string, integer or boolean", key, v)
			continue
		}
		got, ok := documented[key]
		if !ok {
			t.Errorf("README.md's configuration reference has no row for %s; add `| \\`%s\\` | %s | ... |`", key, key, typ)
			continue
		}
		delete(documented, key)
		if got[0] != typ || got[1] != want {
			t.Errorf("README.md documents %s as %s, default %s; Pulumi.yaml says %s, default %s", key, got[0], got[1], typ, want)
		}
	}
	delete(documented, "aws:region") // the provider's key, set by each stack file
	for key := range documented {
		t.Errorf("README.md documents config key %s, which Pulumi.yaml does not declare", key)
	}
}
