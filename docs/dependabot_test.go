package docs

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Dependabot keeps every Go module current (the deploy module and tools/) and the Dockerfile's
// base images; a new go.mod that .github/dependabot.yml does not list would silently age.
func TestDependabotCoversEveryModuleAndTheDockerfile(t *testing.T) {
	var cfg struct {
		Updates []struct {
			Ecosystem   string   `yaml:"package-ecosystem"`
			Directory   string   `yaml:"directory"`
			Directories []string `yaml:"directories"`
		} `yaml:"updates"`
	}
	if err := yaml.Unmarshal([]byte(read(t, ".github/dependabot.yml")), &cfg); err != nil {
		t.Fatalf(".github/dependabot.yml: %v", err)
	}
	covered := map[string][]string{}
	for _, u := range cfg.Updates {
		dirs := u.Directories
		if u.Directory != "" {
			dirs = append(dirs, u.Directory)
		}
		covered[u.Ecosystem] = append(covered[u.Ecosystem], dirs...)
	}
	modules := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		modules++
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		dir := "/" + strings.TrimPrefix(filepath.ToSlash(rel), ".")
		if !slices.Contains(covered["gomod"], dir) {
			t.Errorf("%s is a Go module that Dependabot does not update: add %s to the gomod directories of .github/dependabot.yml", filepath.ToSlash(filepath.Join(rel, "go.mod")), dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules < 2 {
		t.Errorf("found %d go.mod files; want the deploy module's and tools/go.mod", modules)
	}
	if !slices.Contains(covered["docker"], "/image") {
		t.Errorf(".github/dependabot.yml does not update the base images of image/Dockerfile: add a docker update for /image")
	}
}
