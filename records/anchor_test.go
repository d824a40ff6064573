package records

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/healthledger/healthledger/ledger"
	"github.com/stretchr/testify/require"
)

func readVector(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestAnchorVerify(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	obs := readVector(t, "observation-glucose.json")
	a, err := r.svc.Anchor(ctx, r.patient.DID(), obs)
	require.NoError(t, err)
	require.Equal(t, "Observation", a.Statement.ResourceType)
	require.Equal(t, "f001", a.Statement.ID)
	require.Equal(t, "3", a.Statement.Version)
	require.NoError(t, VerifyAnchored(obs, a, r.verifier))
	require.NoError(t, a.VerifyWriter(ctx, r.keys))

	// The log holds the salted commitment, never the plain digest.
	e, err := r.verifier.VerifyReceipt(a.Receipt)
	require.NoError(t, err)
	require.Equal(t, ledger.KindRecordAnchored, e.Kind)
	require.NotEqual(t, a.Statement.Digest, e.Digest)
	plain := a.Statement.Digest
	require.NotContains(t, string(a.Receipt.Leaf), string(plain[:]))
	c, err := a.Statement.Commitment(a.Salt)
	require.NoError(t, err)
	require.Equal(t, c, e.Digest)
	tag, err := r.reg.SubjectTag(r.patient.DID())
	require.NoError(t, err)
	require.Equal(t, tag, e.Subject, "anchors are filed under the patient's keyed consent tag")
	require.NotContains(t, string(a.Receipt.Leaf), "Observation")
	require.NotContains(t, string(a.Receipt.Leaf), "f001")

	// The same version written differently verifies; meta.lastUpdated and
	// text are not part of it.
	require.NoError(t, VerifyAnchored(readVector(t, "observation-glucose-reordered.json"), a, r.verifier))

	// A proof survives JSON.
	j, err := json.Marshal(a)
	require.NoError(t, err)
	var back Anchor
	require.NoError(t, json.Unmarshal(j, &back))
	require.NoError(t, VerifyAnchored(obs, &back, r.verifier))

	mism := func(t *testing.T, err error, field string) {
		t.Helper()
		var me *MismatchError
		require.ErrorAs(t, err, &me)
		require.Equal(t, field, me.Field)
		require.ErrorIs(t, err, ErrNotAnchored)
	}
	t.Run("a changed decimal is another version", func(t *testing.T) {
		mism(t, VerifyAnchored(readVector(t, "observation-glucose-6.30.json"), a, r.verifier), "content")
	})
	t.Run("another id", func(t *testing.T) {
		mism(t, VerifyAnchored([]byte(strings.Replace(string(obs), `"id": "f001"`, `"id": "f002"`, 1)), a, r.verifier), "id")
	})
	t.Run("another type", func(t *testing.T) {
		mism(t, VerifyAnchored([]byte(strings.Replace(string(obs), `"Observation"`, `"Condition"`, 1)), a, r.verifier), "resourceType")
	})
	t.Run("another version id", func(t *testing.T) {
		mism(t, VerifyAnchored([]byte(strings.Replace(string(obs), `"versionId": "3"`, `"versionId": "4"`, 1)), a, r.verifier), "version")
	})
	t.Run("a statement the log does not hold", func(t *testing.T) {
		forged := *a
		forged.Statement.Digest = sha256.Sum256(obs)
		mism(t, VerifyAnchored(obs, &forged, r.verifier), "commitment")
		forged = *a
		forged.Salt[0] ^= 1
		mism(t, VerifyAnchored(obs, &forged, r.verifier), "commitment")
	})
	t.Run("a receipt that does not verify", func(t *testing.T) {
		bad := *a
		rc := *a.Receipt
		rc.Leaf = append([]byte(nil), rc.Leaf...)
		rc.Leaf[len(rc.Leaf)-1] ^= 1
		bad.Receipt = &rc
		require.ErrorIs(t, VerifyAnchored(obs, &bad, r.verifier), ErrInvalidProof)
	})
	t.Run("not an anchor entry", func(t *testing.T) {
		rc := r.grantTreatment(t)
		bad := *a
		bad.Receipt = rc
		mism(t, VerifyAnchored(obs, &bad, r.verifier), "kind")
	})
	t.Run("resources that are not FHIR are refused", func(t *testing.T) {
		_, err := r.svc.Anchor(ctx, r.patient.DID(), []byte(`{"resourceType":"Observation","id":"x"}`))
		require.ErrorIs(t, err, ErrNotFHIR)
		_, err = r.svc.Anchor(ctx, r.patient.DID(), []byte(`{"resourceType":"Observation","id":"x","id":"y","meta":{"versionId":"1"}}`))
		require.ErrorIs(t, err, ErrNotCanonicalizable)
	})
}

func TestAnchorDocument(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	pdf := []byte("%PDF-1.7\n% discharge letter\n")
	a, err := r.svc.AnchorDocument(ctx, r.patient.DID(), "application/pdf", "letter-9", "1", pdf)
	require.NoError(t, err)
	require.Equal(t, FormatRaw, a.Statement.Format)
	require.Equal(t, ledger.Digest(sha256.Sum256(pdf)), a.Statement.Digest)
	require.NoError(t, VerifyAnchored(pdf, a, r.verifier))
	// Raw documents are bytes: one more byte is another document.
	var me *MismatchError
	require.ErrorAs(t, VerifyAnchored(append(pdf, '\n'), a, r.verifier), &me)
	require.Equal(t, "content", me.Field)
}
