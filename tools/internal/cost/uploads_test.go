package cost

import (
	"strings"
	"testing"
)

// uploadDataRule returns the image bucket's rule that expires noncurrent versions under a prefix.
func uploadDataRule(t *testing.T, s *Synth) map[string]interface{} {
	t.Helper()
	_, rules := imageRules(t, s)
	for _, rule := range rules {
		m := rule.(map[string]interface{})
		_, _, partial := ruleScope(m)
		if m["noncurrentVersionExpiration"] != nil && partial != "" {
			return m
		}
	}
	t.Fatal("the fixture's image bucket declares no noncurrent expiration limited to a prefix")
	return nil
}

// noncurrentMonths is the noncurrent line's quantity for a number of days: S3 expires at the
// midnight UTC after them.
func noncurrentMonths(a Assumptions, days float64) float64 {
	return a.PushedGB * (days + 0.5) / (a.Hours / 24)
}

func TestDeletedUploadDataExpiresSoonerOnlyInOurs(t *testing.T) {
	for _, stack := range []string{"prod", "dev"} {
		a := Defaults(stack)
		inv := FromSynth(fixture(t, stack))
		b := imageBucket(t, inv)
		if b.UploadData.Rule == "" || b.UploadData.Days != 1 || b.NoncurrentDays != 30 {
			t.Fatalf("%s image bucket: upload data %+v, bucket-wide %d days", stack, b.UploadData, b.NoncurrentDays)
		}
		ours, today := EstimateOf(inv, a), EstimateOf(TodaysDesign(inv, a), a)
		if l := line(t, ours, "s3-noncurrent"); !near(l.Quantity, noncurrentMonths(a, 1)) || !strings.Contains(l.Basis, b.UploadData.Rule) {
			t.Errorf("%s ours: noncurrent %v GB-month (%s), want a day and a half of the pushed GB", stack, l.Quantity, l.Basis)
		}
		// Today's bucket declares no such rule: its deleted uploads stay the bucket-wide 30 days.
		if l := line(t, today, "s3-noncurrent"); !near(l.Quantity, noncurrentMonths(a, 30)) {
			t.Errorf("%s today: noncurrent %v GB-month, want 30.5 days of the pushed GB", stack, l.Quantity)
		}
		if !hasNote(TodaysDesign(inv, a).Notes, b.UploadData.Rule) {
			t.Errorf("%s today: no note says ours' rule %q is not today's: %v", stack, b.UploadData.Rule, TodaysDesign(inv, a).Notes)
		}

		// Whether today's bucket is versioned at all is an assumption: unversioned, today's
		// deleted uploads cost nothing, and ours' estimate does not move.
		b0 := a
		b0.TodayNoncurrentDays = 0
		unversioned := TodaysDesign(inv, b0)
		if ib := imageBucket(t, unversioned); ib.Versioned {
			t.Errorf("%s today with -today-noncurrent-days 0: bucket %+v is versioned", stack, ib)
		}
		if _, ok := EstimateOf(unversioned, b0).Line("s3-noncurrent"); ok {
			t.Errorf("%s today unversioned: noncurrent versions priced", stack)
		}
		if got := EstimateOf(inv, b0).Total(); !near(got, ours.Total()) {
			t.Errorf("%s ours: total %v with today's bucket unversioned, %v versioned", stack, got, ours.Total())
		}

		// Without the rule ours pays the 30 days too, and today's estimate does not move.
		s := fixture(t, stack)
		withoutRule(t, s, uploadDataRule(t, s))
		inv = FromSynth(s)
		if l := line(t, EstimateOf(inv, a), "s3-noncurrent"); !near(l.Quantity, noncurrentMonths(a, 30)) {
			t.Errorf("%s without the rule: noncurrent %v GB-month, want 30.5 days", stack, l.Quantity)
		}
		if got := EstimateOf(TodaysDesign(inv, a), a).Total(); !near(got, today.Total()) {
			t.Errorf("%s: today's total %v without ours' rule, %v with it", stack, got, today.Total())
		}
	}

	// Found by what the rule covers: only a rule whose prefix holds the upload keys and whose size
	// filter keeps layers counts; anything narrower is noted and priced at the bucket-wide days.
	for name, c := range map[string]struct {
		filter map[string]interface{}
		counts bool
	}{
		"renamed, same filter": {map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/repositories/", "objectSizeGreaterThan": 131072.0}}, true},
		"a shorter prefix":     {map[string]interface{}{"prefix": "docker/registry/"}, true},
		"the blobs' prefix":    {map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/blobs/", "objectSizeGreaterThan": 131072.0}}, false},
		"tags":                 {map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/repositories/", "tags": map[string]interface{}{"k": "v"}}}, false},
		"an upper size bound":  {map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/repositories/", "objectSizeLessThan": 1048576.0}}, false},
		"layers excluded":      {map[string]interface{}{"and": map[string]interface{}{"prefix": "docker/registry/v2/repositories/", "objectSizeGreaterThan": 1073741824.0}}, false},
	} {
		s := fixture(t, "prod")
		rule := uploadDataRule(t, s)
		rule["id"], rule["filter"] = "other-name", c.filter
		inv := FromSynth(s)
		b := imageBucket(t, inv)
		if got := b.UploadData.Rule == "other-name"; got != c.counts {
			t.Errorf("rule with %s: counted as upload data %v, want %v (%+v)", name, got, c.counts, b.UploadData)
		}
		if !c.counts && !hasNote(inv.Notes, "not modelled") {
			t.Errorf("rule with %s: no note says it is not modelled: %v", name, inv.Notes)
		}
		if b.NoncurrentDays != 30 {
			t.Errorf("rule with %s: the bucket-wide expiration became %d days", name, b.NoncurrentDays)
		}
	}
}
