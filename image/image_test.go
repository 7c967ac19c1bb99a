package image_test

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/Sage-Bionetworks/synapse-docker-registry/image/registryconfig"
	"github.com/Sage-Bionetworks/synapse-docker-registry/internal/buildcontext"
)

const distributionModule = "github.com/distribution/distribution/v3"

// dockerfile returns the instructions of image/Dockerfile (continuation lines
// joined, comments dropped), split into stages.
func dockerfile(t *testing.T) [][]string {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		instr := strings.Join(strings.Fields(cur+trimmed), " ")
		cur = ""
		if strings.HasPrefix(instr, "FROM ") || len(stages) == 0 {
			stages = append(stages, nil)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], instr)
	}
	return stages
}

// The image's registry release and the distribution/v3 module the tests run
// must be the same version.
func TestRegistryReleaseMatchesTestedModule(t *testing.T) {
	stages := dockerfile(t)
	final := stages[len(stages)-1]
	m := regexp.MustCompile(`^FROM registry:(\d+\.\d+\.\d+)(?:@sha256:[0-9a-f]{64})?$`).FindStringSubmatch(final[0])
	if m == nil {
		t.Fatalf("final stage %q is not FROM registry:<exact x.y.z release>", final[0])
	}
	image := "v" + m[1]
	if !strings.HasPrefix(image, "v3.") {
		t.Errorf("registry %s is not a 3.x release", image)
	}

	// The version linked into this test binary, as the build recorded it, or
	// as the go command selects it.
	linked := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == distributionModule {
				linked = d.Version
				if d.Replace != nil {
					linked = d.Replace.Version
				}
			}
		}
	}
	if linked == "" {
		cmd := exec.Command(goTool(), "list", "-m", "-f", "{{.Version}}", distributionModule)
		cmd.Dir = ".."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -m %s: %v", distributionModule, err)
		}
		linked = strings.TrimSpace(string(out))
	}
	if linked != image {
		t.Errorf("image/Dockerfile runs registry %s but the tests run %s %s; change both together", image, distributionModule, linked)
	}

	gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	req := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(distributionModule) + `\s+(\S+)`).FindSubmatch(gomod)
	if req == nil || string(req[1]) != image {
		t.Errorf("go.mod requires %s %s, the image runs %s", distributionModule, req, image)
	}
}

func TestDockerfile(t *testing.T) {
	stages := dockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("want a build stage and a final stage, got %d stages", len(stages))
	}
	var build []string
	for _, s := range stages[:len(stages)-1] {
		if strings.Contains(s[0], " AS build") {
			build = s
		}
	}
	if build == nil || !strings.Contains(build[0], "--platform=$BUILDPLATFORM") || !strings.Contains(build[0], "golang:") {
		t.Fatalf("no golang build stage on $BUILDPLATFORM: %q", stages[0])
	}
	var goBuild string
	for _, instr := range build {
		if strings.HasPrefix(instr, "RUN ") && strings.Contains(instr, "go build") {
			goBuild = instr
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "./image/entrypoint", "./image/registry"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the build stage's go build %q lacks %s", goBuild, want)
		}
	}

	final := stages[len(stages)-1]
	var user, entrypoint, expose, volume string
	var copyChown []string
	registryFromSource := false
	for _, instr := range final {
		word, rest, _ := strings.Cut(instr, " ")
		switch word {
		case "RUN":
			t.Errorf("the final stage runs %q: it would need emulation to build for another architecture", instr)
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		case "EXPOSE":
			expose = rest
		case "VOLUME":
			volume = rest
		case "COPY":
			// The release's /bin/registry is replaced by the one built here
			// (with s3-concurrent), the code the tests run.
			if f := strings.Fields(rest); len(f) == 3 && f[0] == "--from=build" && f[1] == "/out/registry" && f[2] == "/bin/registry" {
				registryFromSource = true
			}
			if m := regexp.MustCompile(`--chown=(\S+)`).FindStringSubmatch(rest); m != nil {
				copyChown = append(copyChown, m[1])
			}
			if strings.Contains(strings.ToLower(rest), ".key") || strings.Contains(strings.ToLower(rest), ".pem") {
				t.Errorf("the image copies key material: %q", instr)
			}
		}
	}
	if !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(user) {
		t.Errorf("USER %q is not a numeric non-root user:group", user)
	}
	for _, c := range copyChown {
		if c != user {
			t.Errorf("COPY --chown=%s differs from USER %s", c, user)
		}
	}
	if !regexp.MustCompile(`^\["/[^"]+"\]$`).MatchString(entrypoint) {
		t.Errorf("ENTRYPOINT %q is not the exec form of one absolute path", entrypoint)
	}
	if f := strings.Fields(expose); !slices.Contains(f, "5000") || !slices.Contains(f, "5001") {
		t.Errorf("EXPOSE %q, want 5000 and 5001", expose)
	}
	scratch, _ := registryconfig.Lookup(registryconfig.EnvScratchDir)
	if volume != `["`+scratch.Default+`"]` {
		t.Errorf("VOLUME %q, want the scratch directory %s (ECS copies its owner into the task's mount)", volume, scratch.Default)
	}
	binary, _ := registryconfig.Lookup(registryconfig.EnvBinary)
	if binary.Default != "/bin/registry" {
		t.Errorf("the entrypoint execs %s by default; the image's registry is /bin/registry", binary.Default)
	}
	if !registryFromSource {
		t.Error("the final stage does not COPY --from=build /out/registry /bin/registry: the image would run the release's registry, which has no s3-concurrent driver")
	}
}

// The build context (the repository root filtered by .dockerignore) holds exactly
// what the Dockerfile's COPY lines take: pulumi-docker hashes every context file, so
// an extra one (image/README.md, a dev tool) would rebuild the image and roll the
// tasks when edited. Every COPY source is in the context, and the cross-compile
// test below builds from nothing else.
func TestBuildContextIsExactlyWhatTheDockerfileCopies(t *testing.T) {
	c, err := buildcontext.Load("..", "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if extra := c.NotCopied(); len(extra) > 0 {
		t.Errorf("the build context holds files the Dockerfile does not copy (add them to .dockerignore): %q", extra)
	}
	for _, src := range c.CopySources {
		if !slices.ContainsFunc(c.Files, func(f buildcontext.File) bool { return f.Rel == src || strings.HasPrefix(f.Rel, src+"/") }) {
			t.Errorf("the Dockerfile copies %s, which .dockerignore leaves out of the context", src)
		}
	}
	// The entrypoint's packages and the registry's (built from source with the
	// s3-concurrent driver and the middleware), as go lists them.
	cmd := exec.Command(goTool(), "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.ImportPath}}{{end}}{{end}}", "./entrypoint", "./registry")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	var built []string
	for _, pkg := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(pkg, "github.com/Sage-Bionetworks/synapse-docker-registry/"); ok {
			built = append(built, rel+"/")
		}
	}
	if !slices.Contains(built, "image/s3concurrent/") || !slices.Contains(built, "image/taglist/") {
		t.Fatalf("go list finds the image's packages %q, without the registry's driver or middleware", built)
	}
	for _, f := range c.Files {
		if strings.HasPrefix(f.Rel, "image/") && !slices.ContainsFunc(built, func(p string) bool { return strings.HasPrefix(f.Rel, p) }) {
			t.Errorf("%s is in the build context; only the entrypoint's and the registry's packages are built into the image", f.Rel)
		}
		if strings.HasSuffix(f.Rel, "_test.go") || strings.Contains(f.Rel, "/testdata/") {
			t.Errorf("%s is in the build context; tests and their data are not part of the image", f.Rel)
		}
	}
}

// goTool is the go command that runs these tests (go test puts its GOROOT's
// bin first in PATH).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// The build stage's cross-compilation yields a static ARM64 binary on any build
// machine, from nothing but the Docker build context (as .dockerignore leaves it).
func TestBinariesCrossCompileToStaticARM64(t *testing.T) {
	t.Parallel()
	context := t.TempDir()
	c, err := buildcontext.Load("..", "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Files {
		copyFile(t, filepath.Join("..", filepath.FromSlash(f.Rel)), filepath.Join(context, filepath.FromSlash(f.Rel)))
	}
	outDir := t.TempDir()
	cmd := exec.Command(goTool(), "build", "-trimpath", "-ldflags=-s -w", "-o", outDir+"/", "./image/entrypoint", "./image/registry")
	cmd.Dir = context
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cross-compiling the entrypoint and the registry from the build context: %v\n%s", err, b)
	}
	for _, name := range []string{"entrypoint", "registry"} {
		f, err := elf.Open(filepath.Join(outDir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s: machine %v, want AArch64", name, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (%v); the registry image has no matching loader guarantee", name, p.Type)
			}
		}
	}
}

// Both READMEs (the image's and the project's) document exactly the variables of
// registryconfig.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	for _, readme := range []string{"README.md", filepath.Join("..", "README.md")} {
		t.Run(readme, func(t *testing.T) { checkReadmeVariables(t, readme) })
	}
}

func checkReadmeVariables(t *testing.T, readme string) {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\| `(SYNAPSE_REGISTRY_[A-Z0-9_]+)` \\|([^|]*)\\|([^|]*)\\|([^|]*)\\|")
	documented := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = []string{strings.TrimSpace(m[2]), strings.TrimSpace(m[3]), strings.TrimSpace(m[4])}
		}
	}
	for _, v := range registryconfig.Variables() {
		cols, ok := documented[v.Name]
		if !ok {
			t.Errorf("%s does not document %s", readme, v.Name)
			continue
		}
		delete(documented, v.Name)
		required := "no"
		if v.Required {
			required = "yes"
			if v.RequiredWhen != "" {
				required = "with `" + v.RequiredWhen + "`"
			}
		}
		secret := "no"
		if v.Secret {
			secret = "yes"
		}
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		if cols[0] != required || cols[1] != secret || cols[2] != def {
			t.Errorf("%s row for %s says required %q, secret %q, default %q; want %q, %q, %q", readme, v.Name, cols[0], cols[1], cols[2], required, secret, def)
		}
	}
	for name := range documented {
		t.Errorf("%s documents %s, which the entrypoint does not read", readme, name)
	}
}

// No private key is part of the image's sources (the build context).
func TestNoKeyMaterialInTheBuildContext(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir // excluded by .dockerignore
		}
		if d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`).Match(b) {
			t.Errorf("%s contains a private key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
