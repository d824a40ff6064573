package records

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/healthledger/healthledger/consent"
)

// HTMLRow is one row of the HTML page, as shown.
type htmlRow struct {
	Index      uint64
	Time       string
	Event      string
	Who        string
	What       string
	Why        string
	Outcome    string
	Custodial  bool // recorded by a custodian on the patient's behalf
	UnderCust  bool // a decision that relied on such a consent
	BreakGlass bool
	Erased     bool   // the entry's details were erased
	Status     string // "verified", "verified-sealed", "verified-erased", "failed", "unverified"
	StatusText string
}

type htmlPage struct {
	Patient    string
	Generated  string
	Rows       []htmlRow
	Verified   int
	Failed     int
	BreakGlass int
	Custodial  int
	Erased     int
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Your health record activity report</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1b1b1b;background:#fff;line-height:1.4}
h1{font-size:1.5rem;margin:0 0 .25rem}
p.meta{margin:.1rem 0;color:#444}
.summary{margin:1rem 0;padding:.75rem 1rem;border:1px solid #bbb;border-radius:.4rem;background:#f6f7f9}
.alert{border-color:#b35c00;background:#fff4e5}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.5rem 0}
th,td{border:1px solid #ccc;padding:.4rem .5rem;vertical-align:top;text-align:left}
th{background:#e9edf2}
tr.break-glass td{background:#fff4e5}
tr.erased td{background:#f3f3f3}
.status-verified{color:#0b6b2b;font-weight:600}
.status-verified-sealed{color:#0b4f6b;font-weight:600}
.status-verified-erased{color:#0b4f6b;font-weight:600}
.status-failed{color:#a4001d;font-weight:700}
.status-unverified{color:#555}
code{font-size:.85em;word-break:break-all}
</style>
</head>
<body>
<main>
<h1>Your health record activity report</h1>
<p class="meta">Patient: <code>{{.Patient}}</code></p>
<p class="meta">Generated: <time datetime="{{.Generated}}">{{.Generated}}</time></p>
<section class="summary{{if .BreakGlass}} alert{{end}}" aria-label="Summary">
<p><strong>{{len .Rows}}</strong> events; <strong>{{.Verified}}</strong> proofs verified; <strong>{{.Failed}}</strong> failed.</p>
{{if .BreakGlass}}<p role="alert"><strong>{{.BreakGlass}} emergency (break-glass) event(s)</strong> overrode your consent choices. They are marked below.</p>{{end}}
{{if .Erased}}<p><strong>{{.Erased}} event(s) had their details erased</strong>, marked below: the ledger no longer holds what they said, and still proves that they existed, when, who wrote them, and which erasure deleted their details and why.</p>{{end}}
{{if .Custodial}}<p><strong>{{.Custodial}} consent event(s) were recorded on your behalf</strong> by your care provider (a paper form, or consent you gave by voice), marked below. You can revoke such a consent, and your own signed consents always take precedence over it.</p>{{end}}
</section>
<table>
<caption>Every anchored record, access, consent, decision and erasure about you, oldest first</caption>
<thead><tr><th scope="col">#</th><th scope="col">When (UTC)</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Why</th><th scope="col">Outcome</th><th scope="col">Proof</th></tr></thead>
<tbody>
{{range .Rows}}<tr id="entry-{{.Index}}" data-index="{{.Index}}" data-status="{{.Status}}"{{if .BreakGlass}} class="break-glass"{{else if .Erased}} class="erased"{{end}}>
<td>{{.Index}}</td><td><time datetime="{{.Time}}">{{.Time}}</time></td><td>{{.Event}}{{if .BreakGlass}} <strong>(emergency override)</strong>{{end}}{{if .Custodial}} <strong>(recorded on your behalf)</strong>{{end}}{{if .UnderCust}} <strong>(under a consent recorded on your behalf)</strong>{{end}}{{if .Erased}} <strong>(details erased)</strong>{{end}}</td><td><code>{{.Who}}</code></td><td>{{.What}}</td><td>{{.Why}}</td><td>{{.Outcome}}</td><td class="status-{{.Status}}">{{.StatusText}}</td>
</tr>
{{end}}</tbody>
</table>
<p class="meta">"Verified" means the entry's receipt was checked against the ledger's public key and its writer's signature against the writer's public key; for record and access events the details shown were also checked against the ledger. "Verified (details sealed)" means the details are encrypted on the ledger and were checked by the ledger's operator, not on this page. "Verified (details erased)" means the entry's receipt and signature and the erasure's receipt and signature were checked, and that the erasure covers the entry; what the entry said is no longer on the ledger.</p>
</main>
</body>
</html>
`))

// WriteHTML writes the report as one self-contained, accessible HTML page
// a patient portal can show: no script, no external resource (its
// Content-Security-Policy forbids loading any), a table
// with a caption and column headers, status in words as well as colour,
// break-glass rows marked. results are the report's verifications (one
// per event, from [Report.Verify]); with nil results every row shows
// "not verified".
func (r *Report) WriteHTML(w io.Writer, results []Verification) error {
	if results != nil && len(results) != len(r.Events) {
		return fmt.Errorf("%w: one verification per event", ErrInvalidRequest)
	}
	p := htmlPage{Patient: r.Patient, Generated: r.Generated.UTC().Format(time.RFC3339)}
	for i := range r.Events {
		row := r.Events[i].htmlRow()
		switch {
		case results == nil:
			row.Status, row.StatusText = "unverified", "not verified"
		case results[i].Err != nil:
			row.Status, row.StatusText = "failed", "FAILED: "+results[i].Err.Error()
			p.Failed++
		case row.Erased:
			row.Status, row.StatusText = "verified-erased", "✓ verified (details erased)"
			p.Verified++
		case results[i].ContentBound:
			row.Status, row.StatusText = "verified", "✓ verified"
			p.Verified++
		default:
			row.Status, row.StatusText = "verified-sealed", "✓ verified (details sealed)"
			p.Verified++
		}
		if row.BreakGlass {
			p.BreakGlass++
		}
		if row.Custodial {
			p.Custodial++
		}
		if row.Erased {
			p.Erased++
		}
		p.Rows = append(p.Rows, row)
	}
	return pageTemplate.Execute(w, p)
}

func (ev *Event) htmlRow() htmlRow {
	row := htmlRow{Index: ev.Index, Time: ev.Time.UTC().Format("2006-01-02 15:04:05"), Who: ev.Writer}
	switch {
	case ev.Type == EventErased:
		ev.erasedRow(&row)
	case ev.Anchor != nil:
		a := ev.Anchor
		row.Event = "Record version anchored"
		row.What = fmt.Sprintf("%s %s, version %s (digest %s…)", a.ResourceType, a.ID, a.Version, a.Digest.String()[:12])
		row.Outcome = "recorded"
	case ev.Access != nil:
		a := ev.Access
		row.Event = "Record " + a.Action.String()
		row.Who = a.Actor
		row.What = a.ResourceType + refSuffix(a.ID)
		if a.Action == ActionQuery {
			row.What = "search of " + a.ResourceType
		}
		row.Why = a.Purpose
		row.Outcome = fmt.Sprintf("allowed by decision #%d", a.DecisionIndex)
		row.BreakGlass = a.BreakGlass
	case ev.Decision != nil:
		d := ev.Decision
		row.Event = "Access decision"
		row.Who = d.Request.Actor.DID
		row.What = d.Request.Action.String() + " " + d.Request.Resource.Type + refSuffix(d.Request.Resource.ID)
		row.Why = d.Request.Purpose.String()
		row.Outcome = "denied (" + d.Decision.Reason.String() + ")"
		if d.Decision.Allowed {
			row.Outcome = "allowed (" + d.Decision.Reason.String() + ")"
		}
		row.BreakGlass = d.Decision.BreakGlass
		row.UnderCust = d.Decision.Custodial()
	case ev.Type == EventConsentRevoke || ev.Type == EventCustodialRevoke:
		row.Event = "Consent revoked"
		row.What = "consent " + short(ev.Consent)
		row.Outcome = "revoked"
		row.Custodial = ev.Type == EventCustodialRevoke
	case ev.Custodial != nil:
		c := ev.Custodial
		row.Event = "Consent granted"
		row.Custodial = true
		row.What = fmt.Sprintf("consent %s, %s", short(ev.Consent), captureText(c))
		if ev.Granted != nil {
			row.What += fmt.Sprintf(" (base decision %s, %d provision(s))", ev.Granted.Decision, len(ev.Granted.Provisions))
		}
		row.Outcome = "in effect until revoked; you can revoke it"
	default:
		row.Event = "Consent granted"
		row.What = "consent " + short(ev.Consent)
		if ev.Granted != nil {
			row.What += fmt.Sprintf(" (base decision %s, %d provision(s))", ev.Granted.Decision, len(ev.Granted.Provisions))
		}
		row.Outcome = "in effect until revoked"
	}
	return row
}

// erasedRow fills the row of an erased entry: what its leaf says (kind,
// time, writer) and the erasure's date, ground and index. Nothing is said
// of the erased content.
func (ev *Event) erasedRow(row *htmlRow) {
	row.Erased = true
	row.Event = "Entry erased: " + KindName(ev.ErasedKind)
	row.What = "details erased"
	row.Outcome = "details erased (erasure record missing)"
	if x, ex := ev.erasure(); x != nil {
		row.Why = "erasure ground: " + x.Ground
		row.Outcome = fmt.Sprintf("details erased on %s UTC by ledger entry #%d", ex.Time.UTC().Format("2006-01-02 15:04"), ev.Erasure.Index)
	}
}

// captureText says how a custodial consent was captured.
func captureText(c *consent.CustodialStatement) string {
	var how string
	switch c.Method {
	case consent.CapturePaper:
		how = "paper form"
	case consent.CaptureVerbal:
		how = "verbal consent"
	case consent.CaptureTelephone:
		how = "consent by telephone"
	default:
		how = "form signed on the provider's device"
	}
	s := fmt.Sprintf("%s captured %s (%s, digest %s…)", how, c.CapturedAt.UTC().Format("2006-01-02 15:04"), c.MediaType, c.FormDigest.String()[:12])
	if c.Witness != "" {
		s += ", witnessed by " + c.Witness
	}
	return s
}

func refSuffix(id string) string {
	if id == "" {
		return ""
	}
	return " " + id
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return strings.Clone(s)
}
