package cost

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// TargetRatio is issue #6's target: prod at most 70 % of today's design's monthly cost at equal
// capacity.
const TargetRatio = 0.70

// Row is one line item of both designs.
type Row struct {
	Key, Item string
	Price     Price
	// Ours and Today are the designs' lines; Has* is false when a design has no such line.
	Ours, Today       Line
	HasOurs, HasToday bool
}

// Difference is ours minus today, per month.
func (r Row) Difference() float64 { return r.Ours.Monthly() - r.Today.Monthly() }

// Comparison puts two estimates side by side.
type Comparison struct {
	Ours, Today Estimate
	Rows        []Row
}

// Compare lines the estimates up by key, in the order of ours; a line only today's design has
// goes right after today's previous line.
func Compare(ours, today Estimate) Comparison {
	c := Comparison{Ours: ours, Today: today}
	find := func(key string) int {
		for i, r := range c.Rows {
			if r.Key == key {
				return i
			}
		}
		return -1
	}
	for _, l := range ours.Lines {
		c.Rows = append(c.Rows, Row{Key: l.Key, Item: l.Item, Price: l.Price, Ours: l, HasOurs: true})
	}
	after := -1
	for _, l := range today.Lines {
		i := find(l.Key)
		if i < 0 {
			i = after + 1
			c.Rows = append(c.Rows[:i], append([]Row{{Key: l.Key, Item: l.Item, Price: l.Price}}, c.Rows[i:]...)...)
		}
		c.Rows[i].Today, c.Rows[i].HasToday = l, true
		after = i
	}
	rank := func(key string) int {
		for i, k := range lineOrder {
			if k == key {
				return i
			}
		}
		return len(lineOrder)
	}
	sort.SliceStable(c.Rows, func(i, j int) bool { return rank(c.Rows[i].Key) < rank(c.Rows[j].Key) })
	return c
}

// Ratio is ours / today.
func (c Comparison) Ratio() float64 { return c.Ours.Total() / c.Today.Total() }

// TargetMet reports whether ours is at most TargetRatio of today's design.
func (c Comparison) TargetMet() bool { return c.Ratio() <= TargetRatio }

// Report is everything `make cost` prints.
type Report struct {
	Stack       string
	SynthPath   string
	Resources   int
	Assumptions Assumptions
	Ours, Today Inventory
	Comparison  Comparison
}

// NewReport estimates the stack's inventory and today's design under the assumptions.
func NewReport(s *Synth, synthPath string, a Assumptions) Report {
	ours := FromSynth(s)
	today := TodaysDesign(ours, a)
	return Report{
		Stack: s.Stack, SynthPath: synthPath, Resources: len(s.Resources), Assumptions: a,
		Ours: ours, Today: today,
		Comparison: Compare(EstimateOf(ours, a), EstimateOf(today, a)),
	}
}

// Write prints the report as Markdown (tables padded to read in a terminal too).
func (r Report) Write(w io.Writer) {
	c := r.Comparison
	p := func(format string, args ...interface{}) { fmt.Fprintf(w, format+"\n", args...) }

	p("### Stack %s: monthly cost, ours vs today's design", r.Stack)
	p("")
	p("USD per month at %s on-demand prices as of %s (tools/internal/cost/prices_us_east_1.go). "+
		"Ours: the %d resources declared in %s. Today: the CDK design at equal capacity (2 NAT gateways, "+
		"two Linux/X86 tasks of 2 vCPU and 4 GB, an ALB in 2 AZs, a private API Gateway endpoint in 2 AZs, "+
		"no S3 gateway endpoint, image data in S3 Standard).", PriceRegion, PricesAsOf, r.Resources, r.SynthPath)
	p("")

	header := []string{"line item", "unit price", "ours: quantity", "ours", "today: quantity", "today", "ours − today"}
	var rows [][]string
	for _, row := range c.Rows {
		rows = append(rows, []string{
			row.Item, unitPrice(row.Price),
			quantity(row.Ours.Quantity, row.HasOurs, row.Price.Unit), money(row.Ours.Monthly(), row.HasOurs),
			quantity(row.Today.Quantity, row.HasToday, row.Price.Unit), money(row.Today.Monthly(), row.HasToday),
			signed(row.Difference()),
		})
	}
	rows = append(rows, []string{"**total**", "", "", "**" + dollars(c.Ours.Total()) + "**", "", "**" + dollars(c.Today.Total()) + "**", "**" + signed(c.Ours.Total()-c.Today.Total()) + "**"})
	table(w, header, rows, []bool{false, true, true, true, true, true, true})
	p("")

	if r.Stack == "prod" {
		verdict := "MET"
		if !c.TargetMet() {
			verdict = "NOT MET"
		}
		p("**ours / today = %.1f %%** (%s / %s); issue #6's target for prod: at most %.0f %% — **%s**.", 100*c.Ratio(), dollars(c.Ours.Total()), dollars(c.Today.Total()), 100*TargetRatio, verdict)
	} else {
		p("**ours / today = %.1f %%** (%s / %s); issue #6's %.0f %% target is set for prod, and today's design is priced at the capacity the issue fixes (prod's).", 100*c.Ratio(), dollars(c.Ours.Total()), dollars(c.Today.Total()), 100*TargetRatio)
	}
	p("")
	var differ, same []Row
	equal := 0.0
	for _, row := range c.Rows {
		if math.Abs(row.Difference()) >= 0.005 {
			differ = append(differ, row)
		} else if row.Today.Monthly() >= 0.005 {
			equal += row.Today.Monthly()
			same = append(same, row)
		}
	}
	sort.SliceStable(differ, func(i, j int) bool { return math.Abs(differ[i].Difference()) > math.Abs(differ[j].Difference()) })
	sort.SliceStable(same, func(i, j int) bool { return same[i].Today.Monthly() > same[j].Today.Monthly() })
	var parts []string
	for _, row := range differ {
		parts = append(parts, fmt.Sprintf("%s %s", row.Item, signed(row.Difference())))
	}
	var largest []string
	for i, row := range same {
		if i == 5 {
			break
		}
		largest = append(largest, fmt.Sprintf("%s %s", row.Item, dollars(row.Today.Monthly())))
	}
	p("- Lines that differ (ours − today): %s.", joinWith(parts, "; ", "none"))
	p("- Lines equal in both designs: %d, %s, %.1f %% of today's total; the largest: %s.", len(same), dollars(equal), 100*equal/c.Today.Total(), joinWith(largest, "; ", "none"))
	if r.Stack == "prod" && !c.TargetMet() {
		p("- Needed for the target: ours at most %s, %s less than now.", dollars(TargetRatio*c.Today.Total()), dollars(c.Ours.Total()-TargetRatio*c.Today.Total()))
	}
	p("")

	p("#### One-off, not in the monthly totals")
	p("")
	for _, e := range []Estimate{c.Ours, c.Today} {
		if len(e.OneOff) == 0 && len(e.OneOffNotes) == 0 {
			p("- %s: none.", e.Label)
			continue
		}
		for _, l := range e.OneOff {
			p("- %s: %s: %s %s = %s. %s.", e.Label, l.Item, thousands(l.Quantity), l.Price.Unit, dollars(l.Monthly()), l.Basis)
		}
		for _, n := range e.OneOffNotes {
			p("- %s: %s.", e.Label, n)
		}
	}
	p("")

	p("#### Assumptions (set each with its flag)")
	p("")
	var arows [][]string
	for _, d := range AssumptionList {
		arows = append(arows, []string{"`-" + d.Flag + "`", FormatNumber(d.Get(r.Assumptions)), d.Unit, d.Meaning})
	}
	table(w, []string{"flag", "value", "unit", "meaning"}, arows, []bool{false, true, false, false})
	p("")

	p("#### How each quantity is derived")
	for _, e := range []Estimate{c.Ours, c.Today} {
		p("")
		p("%s:", e.Label)
		p("")
		for _, l := range e.Lines {
			p("- %s: %s %s = %s. %s.", l.Item, thousands(l.Quantity), l.Price.Unit, dollars(l.Monthly()), l.Basis)
		}
		for _, n := range e.Notes {
			p("- note: %s", n)
		}
	}
	p("")
	p("#### Not priced")
	p("")
	var free []string
	total := 0
	for t, n := range r.Ours.Free {
		free = append(free, fmt.Sprintf("%s ×%d", t, n))
		total += n
	}
	sort.Strings(free)
	p("- %d declared resources have no monthly charge of their own: %s.", total, strings.Join(free, ", "))
	if len(r.Ours.Unknown) > 0 {
		p("- **Unknown to this estimate, not priced**: %s. Teach tools/internal/cost/inventory.go about them.", strings.Join(r.Ours.Unknown, ", "))
	} else {
		p("- Every declared resource type is known to the estimate.")
	}
	p("- Not modelled: the account-wide free tiers (100 GB/month data out, 5 GB logs, 10 metrics), cross-AZ traffic to a single NAT gateway, KMS requests for the AWS-managed keys, Route 53 hosted-zone charges, tax.")
}

func joinWith(parts []string, sep, empty string) string {
	if len(parts) == 0 {
		return empty
	}
	return strings.Join(parts, sep)
}

func unitPrice(p Price) string {
	per := p.Unit
	if p.Per != 1 {
		per = fmt.Sprintf("%s %s", thousands(p.Per), p.Unit)
	}
	usd := FormatNumber(p.USD)
	if _, frac, _ := strings.Cut(usd, "."); len(frac) < 2 && p.USD != 0 {
		usd = fmt.Sprintf("%.2f", p.USD)
	}
	return fmt.Sprintf("$%s / %s", usd, per)
}

func quantity(v float64, has bool, unit string) string {
	if !has {
		return "—"
	}
	return thousands(v)
}

func money(v float64, has bool) string {
	if !has {
		return "—"
	}
	return dollars(v)
}

func dollars(v float64) string {
	s := fmt.Sprintf("%.2f", math.Abs(v))
	whole, frac, _ := strings.Cut(s, ".")
	out := "$" + thousandsInt(whole) + "." + frac
	if v < -0.004 {
		out = "−" + out
	}
	return out
}

func signed(v float64) string {
	switch {
	case v > 0.004:
		return "+" + dollars(v)
	case v < -0.004:
		return dollars(v)
	}
	return "$0.00"
}

// thousands prints a quantity with thousands separators and at most two decimals.
func thousands(v float64) string {
	s := round(v)
	whole, frac, hasFrac := strings.Cut(s, ".")
	out := thousandsInt(whole)
	if hasFrac {
		out += "." + frac
	}
	return out
}

func thousandsInt(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// table writes a Markdown table with padded columns; right[i] right-aligns column i.
func table(w io.Writer, header []string, rows [][]string, right []bool) {
	width := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, cell := range r {
			if n := len([]rune(cell)); n > width[i] {
				width[i] = n
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, cell := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(cell)))
			if right[i] {
				b.WriteString(" " + pad + cell + " |")
			} else {
				b.WriteString(" " + cell + pad + " |")
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	sep := make([]string, len(header))
	for i := range header {
		dashes := strings.Repeat("-", width[i])
		if right[i] {
			dashes = dashes[:len(dashes)-1] + ":"
		}
		sep[i] = dashes
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
}
