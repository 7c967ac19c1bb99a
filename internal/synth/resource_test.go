package synth

import (
	"reflect"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/asset"
)

// plain handles every kind of property value, including those the mock
// monitor only passes on in some configurations (output values).
func TestPlainValues(t *testing.T) {
	str := resource.NewStringProperty
	text, err := asset.FromText("hello")
	if err != nil {
		t.Fatal(err)
	}
	file := &asset.Asset{Sig: asset.AssetSig, Path: "image/Dockerfile"}
	arch, err := archive.FromAssets(map[string]interface{}{"b.txt": text, "a.txt": text})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   resource.PropertyValue
		want interface{}
	}{
		{"null", resource.NewNullProperty(), nil},
		{"number", resource.NewNumberProperty(443), 443.0},
		{"secret", resource.MakeSecret(str("s")), SecretValue},
		{"secret inside array", resource.NewArrayProperty([]resource.PropertyValue{str("a"), resource.MakeSecret(str("s"))}),
			[]interface{}{"a", SecretValue}},
		{"secret inside object", resource.NewObjectProperty(resource.PropertyMap{"k": resource.MakeSecret(str("s"))}),
			map[string]interface{}{"k": SecretValue}},
		{"computed", resource.MakeComputed(str("")), UnknownValue},
		{"known output", resource.NewOutputProperty(resource.Output{Element: str("v"), Known: true}), "v"},
		{"secret output", resource.NewOutputProperty(resource.Output{Element: str("v"), Known: true, Secret: true}), SecretValue},
		{"unknown output", resource.NewOutputProperty(resource.Output{}), UnknownValue},
		{"resource reference", resource.MakeCustomResourceReference(
			resource.URN("urn:pulumi:dev::proj::aws:s3/bucketV2:BucketV2::images"), "images", ""),
			"[resource aws:s3/bucketV2:BucketV2::images]"},
		{"text asset", resource.NewAssetProperty(text),
			"[asset text sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824]"},
		{"file asset", resource.NewAssetProperty(file), "[asset file image/Dockerfile]"},
		{"archive", resource.NewArchiveProperty(arch), "[archive a.txt, b.txt]"},
	}
	for _, tc := range cases {
		if got := plain(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: plain = %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

func TestResourceInputPaths(t *testing.T) {
	r := Resource{Inputs: map[string]interface{}{
		"healthCheck": map[string]interface{}{"path": "/debug/health"},
		"ingress":     []interface{}{map[string]interface{}{"fromPort": 443.0}},
	}}
	if got := r.InputString("healthCheck.path"); got != "/debug/health" {
		t.Errorf("healthCheck.path = %q", got)
	}
	if got, ok := r.Input("ingress[0].fromPort"); !ok || got != 443.0 {
		t.Errorf("ingress[0].fromPort = %v, %v", got, ok)
	}
	for _, missing := range []string{"nope", "ingress[1].fromPort", "healthCheck.path.deeper", "ingress[x]"} {
		if _, ok := r.Input(missing); ok {
			t.Errorf("%s found", missing)
		}
	}
}

func TestDisplayType(t *testing.T) {
	for in, want := range map[string]string{
		"aws:s3/bucketV2:BucketV2":             "aws:s3:BucketV2",
		"random:index/randomBytes:RandomBytes": "random:index:RandomBytes",
		"awsx:ec2:Vpc":                         "awsx:ec2:Vpc",
		"pulumi:providers:aws":                 "pulumi:providers:aws",
	} {
		if got := displayType(in); got != want {
			t.Errorf("displayType(%s) = %s, want %s", in, got, want)
		}
	}
}
