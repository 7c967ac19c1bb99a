package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Placeholders the JSON uses for values it must not or cannot show.
const (
	SecretValue  = "[secret]"
	UnknownValue = "[unknown]"
)

// Resource is one registration the program made.
type Resource struct {
	// Type is the Pulumi type token, e.g. aws:s3/bucketV2:BucketV2.
	Type string `json:"type"`
	// Name is the logical name.
	Name string `json:"name"`
	// Parent is the parent's logical name; empty for the stack.
	Parent string `json:"parent"`
	// URN is the resource's URN as the engine forms it.
	URN string `json:"-"`
	// Aliases are the URNs this resource also answers to (pulumi.Aliases, resolved the way the
	// engine resolves an alias spec): a resource in state under one of them is updated, not replaced.
	Aliases []string `json:"aliases,omitempty"`
	// Inputs are the input properties under their schema names, as plain
	// JSON values; secrets are "[secret]", unknowns "[unknown]", resource
	// references "[resource <type>::<name>]".
	Inputs map[string]interface{} `json:"inputs"`
	// DependsOn are the logical names of the resources this one depends on
	// (explicitly or through its inputs), sorted.
	DependsOn []string `json:"dependsOn"`

	// Provider is the logical name of the explicit provider, if any.
	Provider string `json:"provider,omitempty"`
	// Providers maps package to provider name for a component's children
	// (pulumi.Providers, or pulumi.Provider on a component).
	Providers map[string]string `json:"providers,omitempty"`
	// Component is true for component resources (local or remote).
	Component           bool     `json:"component,omitempty"`
	Protect             bool     `json:"protect,omitempty"`
	RetainOnDelete      bool     `json:"retainOnDelete,omitempty"`
	DeleteBeforeReplace bool     `json:"deleteBeforeReplace,omitempty"`
	IgnoreChanges       []string `json:"ignoreChanges,omitempty"`
	ReplaceOnChanges    []string `json:"replaceOnChanges,omitempty"`
	DeletedWith         string   `json:"deletedWith,omitempty"`
	// CustomTimeouts are the resource's create/update/delete timeouts, if set.
	CustomTimeouts *CustomTimeouts `json:"customTimeouts,omitempty"`
	// Import is the id of an existing resource to adopt.
	Import string `json:"import,omitempty"`
	// Read is the id of an existing resource that is only read (Get*).
	Read string `json:"read,omitempty"`
}

// CustomTimeouts are pulumi.Timeouts as registered (Go duration strings such as "90m").
type CustomTimeouts struct {
	Create string `json:"create,omitempty"`
	Update string `json:"update,omitempty"`
	Delete string `json:"delete,omitempty"`
}

// Input returns the input at a path such as "bucket", "healthCheck.path" or
// "ingress[0].fromPort".
func (r Resource) Input(path string) (interface{}, bool) {
	var cur interface{} = r.Inputs
	for _, part := range splitPath(path) {
		switch c := cur.(type) {
		case map[string]interface{}:
			v, ok := c[part]
			if !ok {
				return nil, false
			}
			cur = v
		case []interface{}:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// InputString returns the input at path if it is a string, else "".
func (r Resource) InputString(path string) string {
	v, _ := r.Input(path)
	s, _ := v.(string)
	return s
}

func splitPath(path string) []string {
	path = strings.ReplaceAll(path, "[", ".")
	path = strings.ReplaceAll(path, "]", "")
	return strings.Split(strings.Trim(path, "."), ".")
}

// plainMap converts a property map into JSON-able values.
func plainMap(m resource.PropertyMap) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[string(k)] = plain(v)
	}
	return out
}

// plain converts a property value into a JSON-able value; secrets, at any
// depth, become "[secret]".
func plain(v resource.PropertyValue) interface{} {
	switch {
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]interface{}, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsSecret():
		return SecretValue
	case v.IsComputed():
		return UnknownValue
	case v.IsOutput():
		o := v.OutputValue()
		switch {
		case o.Secret:
			return SecretValue
		case !o.Known:
			return UnknownValue
		default:
			return plain(o.Element)
		}
	case v.IsResourceReference():
		ref := v.ResourceReferenceValue()
		return fmt.Sprintf("[resource %s::%s]", ref.URN.Type(), ref.URN.Name())
	case v.IsAsset():
		a := v.AssetValue()
		switch {
		case a.Path != "":
			return "[asset file " + a.Path + "]"
		case a.URI != "":
			return "[asset uri " + a.URI + "]"
		default:
			h := sha256.Sum256([]byte(a.Text))
			return "[asset text sha256:" + hex.EncodeToString(h[:]) + "]"
		}
	case v.IsArchive():
		a := v.ArchiveValue()
		switch {
		case a.Path != "":
			return "[archive file " + a.Path + "]"
		case a.URI != "":
			return "[archive uri " + a.URI + "]"
		default:
			names := make([]string, 0, len(a.Assets))
			for n := range a.Assets {
				names = append(names, n)
			}
			sort.Strings(names)
			return "[archive " + strings.Join(names, ", ") + "]"
		}
	default:
		return fmt.Sprintf("[%T]", v.V)
	}
}
