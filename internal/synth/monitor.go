package synth

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

// monitor is the pulumi.MockResourceMonitor: it answers like AWS would and
// records every registration.
type monitor struct {
	project, stack string
	mocks          *Mocks
	defaultRegion  string

	mu        sync.Mutex
	resources map[string]Resource             // by URN
	providers map[string]resource.PropertyMap // provider URN -> inputs
}

var (
	_ pulumi.MockResourceMonitor               = (*monitor)(nil)
	_ pulumi.MockResourceMonitorWithMethodCall = (*monitor)(nil)
)

func newMonitor(project, stack string, mocks *Mocks, defaultRegion string) *monitor {
	if defaultRegion == "" {
		defaultRegion = MockRegion
	}
	return &monitor{
		project:       project,
		stack:         stack,
		mocks:         mocks,
		defaultRegion: defaultRegion,
		resources:     map[string]Resource{},
		providers:     map[string]resource.PropertyMap{},
	}
}

func (m *monitor) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rec, raw, err := m.describe(args)
	if err != nil {
		return "", nil, err
	}
	r := &MockResource{
		Type:    args.TypeToken,
		Name:    args.Name,
		Inputs:  args.Inputs,
		Custom:  args.Custom || args.ReadRPC != nil,
		Remote:  args.RegisterRPC.GetRemote(),
		Region:  m.region(args.Provider),
		Account: MockAccountID,
		ID:      args.ID,
	}
	if r.Inputs == nil {
		r.Inputs = resource.PropertyMap{}
	}
	genericResource(r)
	if fn, ok := m.mocks.Resources[args.TypeToken]; ok {
		if err := fn(r); err != nil {
			return "", nil, fmt.Errorf("mock for %s %q: %w", args.TypeToken, args.Name, err)
		}
	}
	if args.ID != "" { // import or read: the id is the one asked for
		r.ID = args.ID
	}
	// The engine, not the SDK, applies additionalSecretOutputs; mocks must too.
	for _, k := range args.RegisterRPC.GetAdditionalSecretOutputs() {
		if v, ok := r.Outputs[resource.PropertyKey(k)]; ok && !v.IsSecret() {
			r.Outputs[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.resources[rec.urn]; dup {
		//lint:ignore ST1005 the Pulumi engine's own wording for this error
		return "", nil, fmt.Errorf("Duplicate resource URN '%s'; try giving it a unique name", rec.urn)
	}
	m.resources[rec.urn] = rec.Resource
	if strings.HasPrefix(args.TypeToken, "pulumi:providers:") {
		m.providers[rec.urn] = raw
	}
	return r.ID, r.Outputs, nil
}

func (m *monitor) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	fn, ok := m.mocks.Invokes[args.Token]
	if !ok {
		return nil, fmt.Errorf("synth: no mock for invoke %s: add one to the mock tables in internal/synth", args.Token)
	}
	return fn(m.call(args))
}

func (m *monitor) MethodCall(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	fn, ok := m.mocks.Methods[args.Token]
	if !ok {
		return nil, fmt.Errorf("synth: no mock for method call %s: add one to the mock tables in internal/synth", args.Token)
	}
	return fn(m.call(args))
}

func (m *monitor) call(args pulumi.MockCallArgs) MockCall {
	a := args.Args
	if a == nil {
		a = resource.PropertyMap{}
	}
	return MockCall{Token: args.Token, Args: a, Region: m.region(args.Provider), Account: MockAccountID}
}

// region of the provider behind ref ("urn::id"), else the default.
func (m *monitor) region(ref string) string {
	urn := providerURN(ref)
	m.mu.Lock()
	in := m.providers[urn]
	m.mu.Unlock()
	if r := str(in["region"]); r != "" {
		return r
	}
	return m.defaultRegion
}

func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i >= 0 {
		return ref[:i]
	}
	return ref
}

type recorded struct {
	Resource
	urn string
}

// describe turns a registration into the record that ends up in the JSON,
// and returns the inputs with unknowns kept (MockResourceArgs.Inputs drops
// them).
func (m *monitor) describe(args pulumi.MockResourceArgs) (recorded, resource.PropertyMap, error) {
	var (
		parent string
		deps   []string
		obj    *structpb.Struct
	)
	r := Resource{Type: args.TypeToken, Name: args.Name, Provider: nameFromURN(providerURN(args.Provider))}
	switch {
	case args.RegisterRPC != nil:
		rpc := args.RegisterRPC
		parent, deps, obj = rpc.GetParent(), rpc.GetDependencies(), rpc.GetObject()
		r.Component = !rpc.GetCustom()
		r.Protect = rpc.GetProtect()
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.Import = rpc.GetImportId()
		r.IgnoreChanges = sortedCopy(rpc.GetIgnoreChanges())
		r.ReplaceOnChanges = sortedCopy(rpc.GetReplaceOnChanges())
		r.DeleteBeforeReplace = rpc.GetDeleteBeforeReplace()
		r.DeletedWith = nameFromURN(rpc.GetDeletedWith())
		if ct := rpc.GetCustomTimeouts(); ct != nil && (ct.GetCreate() != "" || ct.GetUpdate() != "" || ct.GetDelete() != "") {
			r.CustomTimeouts = &CustomTimeouts{Create: ct.GetCreate(), Update: ct.GetUpdate(), Delete: ct.GetDelete()}
		}
		for pkg, ref := range rpc.GetProviders() {
			if r.Providers == nil {
				r.Providers = map[string]string{}
			}
			r.Providers[pkg] = nameFromURN(providerURN(ref))
		}
	case args.ReadRPC != nil:
		rpc := args.ReadRPC
		parent, deps, obj = rpc.GetParent(), rpc.GetDependencies(), rpc.GetProperties()
		r.Read = args.ID
	default:
		return recorded{}, nil, errors.New("synth: registration without RPC details")
	}

	raw, err := plugin.UnmarshalProperties(obj, plugin.MarshalOptions{
		KeepUnknowns:     true,
		KeepSecrets:      true,
		KeepResources:    true,
		KeepOutputValues: true,
	})
	if err != nil {
		return recorded{}, nil, fmt.Errorf("synth: reading inputs of %s %q: %w", args.TypeToken, args.Name, err)
	}
	r.Inputs = plainMap(raw)

	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		r.Parent = p.Name()
	}
	seen := map[string]bool{}
	r.DependsOn = []string{}
	for _, d := range deps {
		n := nameFromURN(d)
		if n != "" && !seen[n] {
			seen[n] = true
			r.DependsOn = append(r.DependsOn, n)
		}
	}
	sort.Strings(r.DependsOn)

	// The URN exactly as the mock monitor (and the engine) forms it.
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	urn := resource.NewURN(tokens.QName(m.stack), tokens.PackageName(m.project), parentType,
		tokens.Type(args.TypeToken), args.Name)
	r.URN = string(urn)
	if args.RegisterRPC != nil {
		r.Aliases = m.aliasURNs(args.RegisterRPC.GetAliases(), args.TypeToken, args.Name, parentType)
	}
	return recorded{Resource: r, urn: string(urn)}, raw, nil
}

// aliasURNs resolves alias specs as the engine does: a field left empty is the resource's own
// (name, type, project, stack, parent).
func (m *monitor) aliasURNs(aliases []*pulumirpc.Alias, typ, name string, parentType tokens.Type) []string {
	var urns []string
	for _, a := range aliases {
		if u := a.GetUrn(); u != "" {
			urns = append(urns, u)
			continue
		}
		spec := a.GetSpec()
		if spec == nil {
			continue
		}
		aliasName, aliasType, project, stack, aliasParentType := spec.GetName(), spec.GetType(), spec.GetProject(), spec.GetStack(), parentType
		if aliasName == "" {
			aliasName = name
		}
		if aliasType == "" {
			aliasType = typ
		}
		if project == "" {
			project = m.project
		}
		if stack == "" {
			stack = m.stack
		}
		switch p := resource.URN(spec.GetParentUrn()); {
		case spec.GetNoParent():
			aliasParentType = ""
		case p != "" && p.QualifiedType() != resource.RootStackType:
			aliasParentType = p.QualifiedType()
		case p != "":
			aliasParentType = ""
		}
		urns = append(urns, string(resource.NewURN(tokens.QName(stack), tokens.PackageName(project), aliasParentType,
			tokens.Type(aliasType), aliasName)))
	}
	sort.Strings(urns)
	return urns
}

func nameFromURN(u string) string {
	if u == "" {
		return ""
	}
	urn := resource.URN(u)
	if !urn.IsValid() {
		return u
	}
	return urn.Name()
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// snapshot returns the recorded resources in a stable order.
func (m *monitor) snapshot() []Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	type entry struct {
		urn string
		r   Resource
	}
	all := make([]entry, 0, len(m.resources))
	for urn, r := range m.resources {
		all = append(all, entry{urn, r})
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.r.Type != b.r.Type {
			return a.r.Type < b.r.Type
		}
		if a.r.Name != b.r.Name {
			return a.r.Name < b.r.Name
		}
		return a.urn < b.urn
	})
	out := make([]Resource, len(all))
	for i, e := range all {
		out[i] = e.r
	}
	return out
}
