package docs

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The README's configuration reference is the second place every key is documented (Pulumi.yaml
// is the first): same keys, same types, same defaults.
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
		got, ok := documented[key]
		if !ok {
			t.Errorf("README.md's configuration reference has no row for %s; add `| \\`%s\\` | %s | ... |`", key, key, decl.Type)
			continue
		}
		delete(documented, key)
		want := "**required**"
		switch v := decl.Default.(type) {
		case nil:
		case string:
			want = "`" + v + "`"
			if v == "" {
				want = "`\"\"`"
			}
		default:
			want = fmt.Sprintf("`%v`", v)
		}
		if got[0] != decl.Type || got[1] != want {
			t.Errorf("README.md documents %s as %s, default %s; Pulumi.yaml says %s, default %s", key, got[0], got[1], decl.Type, want)
		}
	}
	delete(documented, "aws:region") // the provider's key, set by each stack file
	for key := range documented {
		t.Errorf("README.md documents config key %s, which Pulumi.yaml does not declare", key)
	}
}
