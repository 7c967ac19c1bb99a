package cost

import (
	"regexp"
	"strings"
	"testing"
)

var tieringLines = []string{"s3-it-frequent", "s3-it-infrequent", "s3-it-archive-instant", "s3-it-monitoring", "s3-it-transitions"}

var tieringPrices = []string{PriceS3ITFrequent, PriceS3ITInfrequent, PriceS3ITArchiveInstant, PriceS3ITMonitoring, PriceS3ITTransition}

// imageBucket returns the inventory's image bucket.
func imageBucket(t *testing.T, inv Inventory) Bucket {
	t.Helper()
	for _, b := range inv.Buckets {
		if b.Role == BucketImages {
			return b
		}
	}
	t.Fatalf("%s has no image bucket: %+v", inv.Label, inv.Buckets)
	return Bucket{}
}

// imageRules returns the lifecycle rules declared for the image bucket, found by the bucket they
// configure, to change in place.
func imageRules(t *testing.T, s *Synth) (*SynthResource, []interface{}) {
	t.Helper()
	bucket := imageBucket(t, FromSynth(s)).Name
	for i := range s.Resources {
		r := &s.Resources[i]
		if r.Type == "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2" && r.Str("bucket") == bucket {
			return r, r.List("rules")
		}
	}
	t.Fatalf("no lifecycle configuration for %q", bucket)
	return nil, nil
}

// tieringRule returns the image bucket's rule that transitions to INTELLIGENT_TIERING.
func tieringRule(t *testing.T, s *Synth) map[string]interface{} {
	t.Helper()
	_, rules := imageRules(t, s)
	for _, rule := range rules {
		m := rule.(map[string]interface{})
		for _, tr := range listOf(m["transitions"]) {
			if tr.(map[string]interface{})["storageClass"] == StorageIntelligentTiering {
				return m
			}
		}
	}
	t.Fatal("the fixture's image bucket declares no transition to INTELLIGENT_TIERING")
	return nil
}

// withoutTieringRule removes the Intelligent-Tiering rule and keeps the others.
func withoutTieringRule(t *testing.T, s *Synth) {
	t.Helper()
	withoutRule(t, s, tieringRule(t, s))
}

// withoutRule removes one of the image bucket's lifecycle rules and keeps the others.
func withoutRule(t *testing.T, s *Synth, rule map[string]interface{}) {
	t.Helper()
	r, rules := imageRules(t, s)
	var kept []interface{}
	for _, other := range rules {
		if other.(map[string]interface{})["id"] != rule["id"] {
			kept = append(kept, other)
		}
	}
	if len(kept) != len(rules)-1 {
		t.Fatalf("removing rule %v left %d of %d rules", rule["id"], len(kept), len(rules))
	}
	r.Inputs["rules"] = kept
}

// inStandard checks that an estimate prices all the image data in S3 Standard, with no
// Intelligent-Tiering line.
func inStandard(t *testing.T, what string, e Estimate, a Assumptions) {
	t.Helper()
	if l := line(t, e, "s3-images"); !near(l.Quantity, a.StoredGB) || l.Price.Key != PriceS3Standard {
		t.Errorf("%s: image data %v GB at %s, want all %v GB in Standard", what, l.Quantity, l.Price.Key, a.StoredGB)
	}
	for _, key := range tieringLines {
		if _, ok := e.Line(key); ok {
			t.Errorf("%s: line %s priced", what, key)
		}
	}
}

func hasNote(notes []string, part string) bool {
	for _, n := range notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func TestTieringIsReadFromTheDeclaredLifecycleRule(t *testing.T) {
	for _, stack := range []string{"prod", "dev"} {
		b := imageBucket(t, FromSynth(fixture(t, stack)))
		if want := (Tiering{Enabled: true, Rule: "intelligent-tiering-for-layers", MinBytes: 131072, Days: 0}); b.Tiering != want {
			t.Errorf("%s image bucket tiering %+v, want %+v", stack, b.Tiering, want)
		}
	}
	// Found by what the rule does, not by its name or the resource's.
	s := fixture(t, "prod")
	tieringRule(t, s)["id"] = "cold-layers"
	r, _ := imageRules(t, s)
	r.Name = "renamed"
	if b := imageBucket(t, FromSynth(s)); !b.Tiering.Enabled || b.Tiering.Rule != "cold-layers" {
		t.Errorf("renamed rule and resource: tiering %+v", b.Tiering)
	}
	// A size filter inside "and" counts too.
	s = fixture(t, "prod")
	tieringRule(t, s)["filter"] = map[string]interface{}{"and": map[string]interface{}{"objectSizeGreaterThan": 1048576.0}}
	if b := imageBucket(t, FromSynth(s)); !b.Tiering.Enabled || b.Tiering.MinBytes != 1048576 {
		t.Errorf("and-filter over 1 MiB: tiering %+v", b.Tiering)
	}
	// What does not move the whole bucket's layers to Intelligent-Tiering is not priced as
	// tiering, and says why.
	for name, change := range map[string]func(rule map[string]interface{}){
		"disabled": func(rule map[string]interface{}) { rule["status"] = "Disabled" },
		"another storage class": func(rule map[string]interface{}) {
			rule["transitions"] = []interface{}{map[string]interface{}{"days": 0.0, "storageClass": "GLACIER_IR"}}
		},
		"a prefix": func(rule map[string]interface{}) {
			rule["filter"] = map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/repositories/", "objectSizeGreaterThan": 131072.0}}
		},
		"an upper size bound": func(rule map[string]interface{}) {
			rule["filter"] = map[string]interface{}{"objectSizeGreaterThan": 131072.0, "objectSizeLessThan": 1048576.0}
		},
	} {
		s := fixture(t, "prod")
		change(tieringRule(t, s))
		inv := FromSynth(s)
		if b := imageBucket(t, inv); b.Tiering.Enabled {
			t.Errorf("rule with %s: priced as tiering %+v", name, b.Tiering)
		}
		if name != "disabled" && !hasNote(inv.Notes, "not") {
			t.Errorf("rule with %s: no note says it is not modelled: %v", name, inv.Notes)
		}
		if _, ok := EstimateOf(inv, Defaults("prod")).Line("s3-it-frequent"); ok {
			t.Errorf("rule with %s: Intelligent-Tiering lines priced", name)
		}
	}
}

func TestTieringLinesOnlyWhenTheRuleIsDeclared(t *testing.T) {
	for _, stack := range []string{"prod", "dev"} {
		a := Defaults(stack)
		with := EstimateOf(FromSynth(fixture(t, stack)), a)
		large := a.StoredGB * a.LargeObjectShare

		// With the rule: small objects in Standard, layers in the three tiers by the idle shares.
		if l := line(t, with, "s3-images"); !near(l.Quantity, a.StoredGB-large) || l.Price.Key != PriceS3Standard {
			t.Errorf("%s: Standard image data %v GB, want the %v GB in objects of 128 KiB or less", stack, l.Quantity, a.StoredGB-large)
		}
		for i, key := range tieringLines {
			if l := line(t, with, key); l.Price.Key != tieringPrices[i] {
				t.Errorf("%s: line %s priced with %s, want %s", stack, key, l.Price.Key, tieringPrices[i])
			}
		}
		f, ia, aia := line(t, with, "s3-it-frequent").Quantity, line(t, with, "s3-it-infrequent").Quantity, line(t, with, "s3-it-archive-instant").Quantity
		if !near(f+ia+aia, large) || !near(ia, large*a.Idle30Share) || !near(aia, large*a.Idle90Share) {
			t.Errorf("%s: tiers %v / %v / %v GB of %v GB, want the idle shares %v and %v", stack, f, ia, aia, large, a.Idle30Share, a.Idle90Share)
		}
		if l := line(t, with, "s3-it-monitoring"); !near(l.Quantity, large*1024/a.LayerMB) {
			t.Errorf("%s: %v objects monitored, want %v GB ÷ %v MB", stack, l.Quantity, large, a.LayerMB)
		}
		if l := line(t, with, "s3-it-transitions"); !near(l.Quantity, a.PushedGB*a.LargeObjectShare*1024/a.LayerMB) {
			t.Errorf("%s: %v transitions a month, want one per new layer", stack, l.Quantity)
		}
		// The transition of the objects already stored is one-off, not monthly.
		if len(with.OneOff) != 1 || !near(with.OneOff[0].Quantity, large*1024/a.LayerMB) || with.OneOff[0].Price.Key != PriceS3ITTransition {
			t.Errorf("%s: one-off lines %+v", stack, with.OneOff)
		}
		if _, ok := with.Line(with.OneOff[0].Key); ok {
			t.Errorf("%s: the one-off transition is also a monthly line", stack)
		}
		if len(with.OneOffNotes) != 1 || !strings.Contains(with.OneOffNotes[0], "90 days") {
			t.Errorf("%s: ramp-up note %v", stack, with.OneOffNotes)
		}
		// The noncurrent versions are not transitioned.
		if l := line(t, with, "s3-noncurrent"); l.Price.Key != PriceS3Standard || !strings.Contains(l.Basis, "current versions only") {
			t.Errorf("%s: noncurrent versions %+v", stack, l)
		}

		// Without the rule (a copy of the inventory): Standard pricing comes back, nothing else.
		s := fixture(t, stack)
		withoutTieringRule(t, s)
		inv := FromSynth(s)
		if b := imageBucket(t, inv); b.Tiering.Enabled || b.NoncurrentDays != 30 {
			t.Errorf("%s without the rule: bucket %+v", stack, b)
		}
		without := EstimateOf(inv, a)
		inStandard(t, stack+" without the rule", without, a)
		if len(without.OneOff) != 0 || len(without.OneOffNotes) != 0 {
			t.Errorf("%s without the rule: one-off %v %v", stack, without.OneOff, without.OneOffNotes)
		}
		// Only the image data lines differ, and tiering is the cheaper at the defaults.
		saving := without.Total() - with.Total()
		tiered := 0.0
		for _, key := range append([]string{"s3-images"}, tieringLines...) {
			tiered += line(t, with, key).Monthly()
		}
		if !near(saving, a.StoredGB*PriceOf(PriceS3Standard).USD-tiered) || saving <= 0 {
			t.Errorf("%s: the rule saves %v a month; image data costs %v tiered, %v in Standard", stack, saving, tiered, a.StoredGB*PriceOf(PriceS3Standard).USD)
		}
	}
}

func TestTodaysDesignStaysInStandard(t *testing.T) {
	for _, stack := range []string{"prod", "dev"} {
		a := Defaults(stack)
		ours := FromSynth(fixture(t, stack))
		today := TodaysDesign(ours, a)
		if !imageBucket(t, ours).Tiering.Enabled {
			t.Fatalf("%s: ours declares no tiering, the test proves nothing", stack)
		}
		if b := imageBucket(t, today); b.Tiering.Enabled {
			t.Errorf("%s: today's image bucket inherits ours' tiering: %+v", stack, b.Tiering)
		}
		e := EstimateOf(today, a)
		inStandard(t, stack+" today", e, a)
		if len(e.OneOff) != 0 {
			t.Errorf("%s: today's design has one-off lines %v", stack, e.OneOff)
		}
		// Today's total does not depend on whether ours declares the rule.
		s := fixture(t, stack)
		withoutTieringRule(t, s)
		if base := EstimateOf(TodaysDesign(FromSynth(s), a), a).Total(); !near(base, e.Total()) {
			t.Errorf("%s: today's total %v with ours' rule, %v without", stack, e.Total(), base)
		}
		// Everything else of the buckets is still taken from ours (but ours' rule for deleted
		// upload data, uploads_test.go).
		for i, b := range today.Buckets {
			o := ours.Buckets[i]
			o.Tiering, o.UploadData = Tiering{}, UploadDataExpiration{}
			if b != o {
				t.Errorf("%s: today's bucket %+v differs from ours %+v beyond tiering and upload data", stack, b, o)
			}
		}
	}
}

func TestTieringAssumptionFlagsChangeTheResult(t *testing.T) {
	path := writeFixture(t, "prod")
	base, _, code := run(t, "-stack", "prod", "-synth", path)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	d := Defaults("prod")
	for flag, want := range map[string]float64{"large-object-share": d.LargeObjectShare, "idle-30-90-share": d.Idle30Share, "idle-90-share": d.Idle90Share, "layer-mb": d.LayerMB} {
		if got := tableRow(t, base, "`-"+flag+"`"); got[1] != FormatNumber(want) {
			t.Errorf("default %s row %v", flag, got)
		}
	}
	for _, tc := range []struct {
		args []string
		row  string
		col  int
		want string
	}{
		{[]string{"-idle-30-90-share", "0.1", "-idle-90-share", "0.8"}, "S3 Intelligent-Tiering, Archive Instant Access", 2, "3,960"},
		{[]string{"-idle-30-90-share", "0.1", "-idle-90-share", "0.8"}, "S3 Intelligent-Tiering, Frequent Access", 2, "495"},
		{[]string{"-large-object-share", "0.9"}, "S3 Standard, image data", 2, "500"},
		{[]string{"-large-object-share", "0.9"}, "S3 Standard, image data", 4, "5,000"},
		{[]string{"-layer-mb", "5"}, "S3 Intelligent-Tiering monitoring", 2, "1,013,760"},
		{[]string{"-layer-mb", "5"}, "S3 lifecycle transitions into Intelligent-Tiering", 2, "60,826"},
	} {
		out, _, code := run(t, append([]string{"-stack", "prod", "-synth", path}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d", tc.args, code)
		}
		if got := tableRow(t, out, tc.row); got[tc.col] != tc.want {
			t.Errorf("%v: row %q = %v, want %s in column %d", tc.args, tc.row, got, tc.want, tc.col)
		}
		if got := tableRow(t, out, "**total**"); got[3] == tableRow(t, base, "**total**")[3] {
			t.Errorf("%v: ours' total unchanged at %s", tc.args, got[3])
		}
		if got := tableRow(t, out, "**total**"); got[5] != tableRow(t, base, "**total**")[5] {
			t.Errorf("%v: today's total changed to %s: its image data is in Standard", tc.args, got[5])
		}
	}
	// More bytes idle for longer cost less.
	a := d
	a.Idle30Share, a.Idle90Share = 0.1, 0.8
	inv := FromSynth(fixture(t, "prod"))
	if colder, dflt := EstimateOf(inv, a).Total(), EstimateOf(inv, d).Total(); colder >= dflt {
		t.Errorf("80 %% idle over 90 days costs %v, not less than the default %v", colder, dflt)
	}
}

func TestRecentLayersStayInFrequentAccess(t *testing.T) {
	a := Defaults("prod")
	large := a.StoredGB * a.LargeObjectShare
	if s := SplitTiers(large, a); s.Adjusted != "" || !near(s.Frequent, large*(1-a.Idle30Share-a.Idle90Share)) {
		t.Errorf("defaults adjusted: %+v", s)
	}
	// 2 TB pushed a month: the last 30 days' layers (about 1.95 TB) cannot have gone 30 days
	// unread, the last 90 days' (all 4.95 TB) cannot be 90 days idle.
	a.PushedGB = 2000
	s := SplitTiers(large, a)
	young := a.PushedGB * a.LargeObjectShare * 30 / (a.Hours / 24)
	if !near(s.Frequent, young) || s.ArchiveInstant != 0 || !near(s.Frequent+s.Infrequent+s.ArchiveInstant, large) || s.Adjusted == "" {
		t.Errorf("2 TB pushed a month: %+v, want Frequent %v and nothing in Archive Instant", s, young)
	}
	e := EstimateOf(FromSynth(fixture(t, "prod")), a)
	if !hasNote(e.Notes, "written in the last 30 days") {
		t.Errorf("no note on the corrected shares: %v", e.Notes)
	}
	// Nothing stored, nothing tiered.
	a.StoredGB = 0
	if s := SplitTiers(0, a); s.Frequent != 0 || s.Infrequent != 0 || s.ArchiveInstant != 0 {
		t.Errorf("no data: %+v", s)
	}
}

func TestTieringPricesAreDatedAndCited(t *testing.T) {
	date := regexp.MustCompile(`\b20\d\d-\d\d-\d\d\b`)
	for _, key := range tieringPrices {
		p := PriceOf(key)
		if p.Source != "https://aws.amazon.com/s3/pricing/" {
			t.Errorf("%s: source %q, want the S3 pricing page", key, p.Source)
		}
		if !date.MatchString(p.Checked) || !strings.Contains(p.Checked, "read 2026-") {
			t.Errorf("%s: Checked names no dated source and reading date: %q", key, p.Checked)
		}
	}
	// The table's own relations: Frequent Access is S3 Standard's rate, each colder tier cheaper.
	fa, ia, aia := PriceOf(PriceS3ITFrequent).USD, PriceOf(PriceS3ITInfrequent).USD, PriceOf(PriceS3ITArchiveInstant).USD
	if fa != PriceOf(PriceS3Standard).USD || !(aia < ia && ia < fa) {
		t.Errorf("tier rates %v / %v / %v against Standard %v", fa, ia, aia, PriceOf(PriceS3Standard).USD)
	}
	if p := PriceOf(PriceS3ITMonitoring); p.Per != 1000 || PriceOf(PriceS3ITTransition).Per != 1000 {
		t.Errorf("monitoring and transitions are priced per 1,000: %+v", p)
	}
}

func TestReportShowsOneOffSeparately(t *testing.T) {
	out, _, code := run(t, "-stack", "prod", "-synth", writeFixture(t, "prod"))
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	section, _, ok := strings.Cut(out[strings.Index(out, "#### One-off"):], "#### Assumptions")
	if !ok || !strings.Contains(section, "ours (prod): S3 lifecycle transitions of the layers already stored") ||
		!strings.Contains(section, "today's CDK design: none") || !strings.Contains(section, "ramp-up") {
		t.Errorf("one-off section:\n%s", section)
	}
	r := NewReport(fixture(t, "prod"), "x", Defaults("prod"))
	sum := 0.0
	for _, l := range r.Comparison.Ours.Lines {
		sum += l.Monthly()
	}
	if r.Comparison.Ours.OneOffTotal() <= 0 || !near(r.Comparison.Ours.Total(), sum) {
		t.Errorf("one-off %v, total %v, lines %v", r.Comparison.Ours.OneOffTotal(), r.Comparison.Ours.Total(), sum)
	}
}
