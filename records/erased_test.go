package records

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthledger/healthledger/consent"
	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

const erasureGround = "GDPR Art. 17(1)(a)"

// erase has the EHR erase, with the real ledger's Log.Erase, the payloads
// of the entries under tag below before.
func (r *rig) erase(t testing.TB, tag ledger.SubjectTag, before uint64) *ledger.Receipt {
	ex, err := ledger.NewErasureEntry(tag, before, erasureGround, r.ehr.DID(), time.Now().UTC())
	require.NoError(t, err)
	require.NoError(t, r.ehr.SignEntry(ex))
	rc, err := r.log.Erase(context.Background(), ex)
	require.NoError(t, err)
	return rc
}

func (r *rig) size(t testing.TB) uint64 {
	signed, err := r.log.Checkpoint(context.Background())
	require.NoError(t, err)
	cp, err := r.verifier.VerifyCheckpoint(signed)
	require.NoError(t, err)
	return cp.Size
}

// TestReportShowsErasedEntries: after the patient's payloads are erased
// (first up to a decision, then everything), the report still lists every
// entry, erased ones as EventErased with the leaf's kind, time and writer
// and the erasure's receipt, and every row verifies offline.
func TestReportShowsErasedEntries(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	day := r.day(t)
	tag, err := r.reg.SubjectTag(r.patient.DID())
	require.NoError(t, err)

	// First erasure: up to and including the first decision, so that the
	// access it allowed stays readable.
	decision := day.Events[find(day, EventDecision)].Index
	e1 := r.erase(t, tag, decision+1)
	mid, err := r.svc.Report(ctx, r.patient.DID())
	require.NoError(t, err, "a report after an erasure does not fail")
	require.Len(t, mid.Events, len(day.Events), "nothing is dropped")
	erased := 0
	for i, ev := range mid.Events {
		require.Equal(t, day.Events[i].Index, ev.Index)
		if ev.Index <= decision {
			require.Equal(t, EventErased, ev.Type, "index %d", ev.Index)
			erased++
		} else {
			require.Equal(t, day.Events[i].Type, ev.Type)
		}
	}
	require.Equal(t, 4, erased, "the grant, two anchors and the decision")
	for _, v := range mid.Verify(ctx, r.verifier, r.keys) {
		require.NoError(t, v.Err, "index %d", v.Index)
	}

	// Second erasure: everything; then an erasure of another subject.
	e2 := r.erase(t, tag, r.size(t))
	e3 := r.erase(t, ledger.DeriveSubjectTag("test", "someone-else"), r.size(t))
	rep, err := r.svc.Report(ctx, r.patient.DID())
	require.NoError(t, err)
	require.Len(t, rep.Events, len(day.Events))
	for i, ev := range rep.Events {
		was := &day.Events[i]
		require.Equal(t, EventErased, ev.Type)
		require.Equal(t, was.Index, ev.Index)
		require.Equal(t, eventKinds[was.Type], ev.ErasedKind, "the leaf's kind")
		require.True(t, was.Time.Equal(ev.Time))
		require.Equal(t, was.Writer, ev.Writer)
		require.Nil(t, ev.Anchor)
		require.Nil(t, ev.Access)
		require.Nil(t, ev.Decision)
		require.Nil(t, ev.Granted)
		require.Empty(t, ev.Consent)
		want := e2.Index
		if ev.Index <= decision {
			want = e1.Index
		}
		require.Equal(t, want, ev.Erasure.Index, "index %d", ev.Index)
	}
	res := rep.Verify(ctx, r.verifier, r.keys)
	for _, v := range res {
		require.NoError(t, v.Err, "index %d", v.Index)
		require.False(t, v.ContentBound)
	}

	t.Run("JSON round trip keeps both receipts", func(t *testing.T) {
		j, err := rep.MarshalJSON()
		require.NoError(t, err)
		require.Contains(t, string(j), `"type": "erased"`)
		back, err := ParseReport(j)
		require.NoError(t, err)
		require.Equal(t, len(rep.Events), len(back.Events))
		for i := range back.Events {
			require.Equal(t, rep.Events[i].ErasedKind, back.Events[i].ErasedKind)
			require.Equal(t, rep.Events[i].Erasure.Index, back.Events[i].Erasure.Index)
		}
		for _, v := range back.Verify(ctx, r.verifier, r.keys) {
			require.NoError(t, v.Err)
		}
	})

	t.Run("an erasure that does not cover the entry fails", func(t *testing.T) {
		after := -1 // an entry erased by e2, above e1's bound
		for i := range rep.Events {
			if rep.Events[i].Index > decision {
				after = i
				break
			}
		}
		require.GreaterOrEqual(t, after, 0)
		first := find(rep, EventErased)
		tamper := []struct {
			name  string
			mut   func(*Report) int
			field string
		}{
			{"an erasure whose bound is below the entry", func(r *Report) int { r.Events[after].Erasure = e1; return after }, "before"},
			{"another subject's erasure", func(r *Report) int { r.Events[first].Erasure = e3; return first }, "subject"},
			{"an entry that is not an erasure", func(r *Report) int {
				r.Events[first].Erasure = r.Events[after].Receipt
				return first
			}, "erasure"},
			{"no erasure", func(r *Report) int { r.Events[first].Erasure = nil; return first }, "erasure"},
		}
		for _, tc := range tamper {
			t.Run(tc.name, func(t *testing.T) {
				j, err := rep.MarshalJSON()
				require.NoError(t, err)
				cp, err := ParseReport(j)
				require.NoError(t, err)
				i := tc.mut(cp)
				res := cp.Verify(ctx, r.verifier, r.keys)
				var ee *ErasureError
				require.ErrorAs(t, res[i].Err, &ee)
				require.Equal(t, tc.field, ee.Field)
				require.ErrorIs(t, res[i].Err, ErrNotErased)
			})
		}
		t.Run("another kind than the leaf's", func(t *testing.T) {
			j, err := rep.MarshalJSON()
			require.NoError(t, err)
			cp, err := ParseReport(j)
			require.NoError(t, err)
			cp.Events[first].ErasedKind = ledger.KindRecordAccessed
			if rep.Events[first].ErasedKind == ledger.KindRecordAccessed {
				cp.Events[first].ErasedKind = ledger.KindRecordAnchored
			}
			res := cp.Verify(ctx, r.verifier, r.keys)
			require.ErrorIs(t, res[first].Err, ErrNotAnchored)
		})
	})

	t.Run("the erasure's writer must be known", func(t *testing.T) {
		grant := find(rep, EventErased) // the patient's grant, first in time
		require.Equal(t, consent.KindConsentGranted, rep.Events[grant].ErasedKind)
		keys := KeyRing{r.patient.DID(): r.keys[r.patient.DID()]}
		res := rep.Verify(ctx, r.verifier, keys)
		require.ErrorIs(t, res[grant].Err, ErrUnknownWriter, "the grant's leaf verifies, the EHR's erasure does not")
	})

	t.Run("the page shows each erased row with its proof status", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, rep.WriteHTML(&buf, res))
		page := buf.String()
		rows := regexp.MustCompile(`<tr id="entry-\d+" data-index="\d+" data-status="verified-erased" class="erased">`).FindAllString(page, -1)
		require.Len(t, rows, len(rep.Events))
		require.Equal(t, len(rep.Events), strings.Count(page, "<strong>(details erased)</strong>"))
		require.Contains(t, page, "erasure ground: "+erasureGround)
		require.Contains(t, page, "Entry erased: consent granted")
		require.Contains(t, page, "Entry erased: record version anchored")
		require.Contains(t, page, "details erased on "+time.Now().UTC().Format("2006-01-02"))
		require.Contains(t, page, "by ledger entry #"+itoa(e2.Index))
		require.Contains(t, page, "event(s) had their details erased")
		for _, banned := range []string{"<script", "src=", "href=", "Observation", "letter-1"} {
			require.NotContains(t, page, banned)
		}
	})

	t.Run("the AuditEvent is the erasure, naming no content", func(t *testing.T) {
		b, err := rep.AuditBundle(AuditConfig{})
		require.NoError(t, err)
		require.NotContains(t, string(b), "Observation", "no data about the erased content")
		require.NotContains(t, string(b), "letter-1")
		var bundle js
		require.NoError(t, json.Unmarshal(b, &bundle))
		require.Len(t, arr(bundle["entry"]), len(rep.Events))
		for i, en := range arr(bundle["entry"]) {
			ae := o(o(en)["resource"])
			checkR4(t, ae)
			checkPatientEntity(t, ae)
			require.Equal(t, "D", ae["action"], "AuditEvent.action D: delete")
			require.True(t, hasCoding(arr(ae["subtype"])[0], systemLifecycle, "destroy"))
			require.Nil(t, ae["meta"], "no BALP profile is claimed")
			require.Equal(t, r.ehr.DID(), o(o(o(ae["source"])["observer"])["identifier"])["value"], "the erasure's writer")
			ent := slice(ae["entity"], systemEntityType, "2")
			require.Len(t, ent, 1)
			require.Equal(t, "urn:healthledger:entry:"+itoa(rep.Events[i].Index), o(o(ent[0]["what"])["identifier"])["value"])
			details := map[string]string{}
			for _, d := range arr(ent[0]["detail"]) {
				details[o(d)["type"].(string)] = o(d)["valueString"].(string)
			}
			require.Equal(t, erasureGround, details["erasure-ground"])
			require.Equal(t, itoa(rep.Events[i].Erasure.Index), details["erased-by"])
			require.Equal(t, KindName(rep.Events[i].ErasedKind), details["erased-kind"])
		}
	})
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// TestAccessReportSurvivesErasure: consent's access report, which the
// patient report builds on, lists erased decisions rather than failing.
func TestAccessReportSurvivesErasure(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.day(t)
	tag, err := r.reg.SubjectTag(r.patient.DID())
	require.NoError(t, err)
	r.erase(t, tag, r.size(t))
	acc, err := r.reg.AccessReport(ctx, r.patient.DID())
	require.NoError(t, err)
	require.Len(t, acc, 5, "every decision, the denied one too")
	for _, a := range acc {
		require.NotNil(t, a.Erased)
		require.Nil(t, a.Record)
		require.Equal(t, consent.KindAccessDecided, a.Erased.Kind)
	}
}
