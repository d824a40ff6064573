package identity

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixture is a DID with three rotation keys (k[0] highest priority) and a
// device key in authentication and assertionMethod.
type fixture struct {
	t       testing.TB
	k       []*PrivateKey
	device  *PrivateKey
	t0      time.Time
	genesis *Operation
	did     string
}

var baseTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, t0: baseTime}
	for _, kt := range []KeyType{KeyTypeEd25519, KeyTypeP256, KeyTypeEd25519} {
		f.k = append(f.k, mustKey(t, kt))
	}
	f.device = mustKey(t, KeyTypeP256)
	var err error
	f.genesis, f.did, err = NewGenesis(f.state(f.device), f.t0, f.k[1])
	require.NoError(t, err)
	return f
}

// state returns a state with the fixture's rotation keys and one
// verification method "key-1" for device.
func (f *fixture) state(device *PrivateKey) State {
	s := State{
		VerificationMethods: []VerificationMethod{{ID: "key-1", Key: device.Public(), Relationships: Authentication | AssertionMethod}},
		Services:            []Service{{ID: "records", Type: "FhirEndpoint", Endpoint: "https://ehr.example.org/fhir"}},
		AlsoKnownAs:         []string{"https://patients.example.org/p/7"},
	}
	for _, k := range f.k {
		s.RotationKeys = append(s.RotationKeys, k.Public())
	}
	return s
}

// next returns a signed operation after prev, dt after the fixture's t0.
func (f *fixture) next(typ OpType, prev *Operation, signer *PrivateKey, dt time.Duration, s State) *Operation {
	f.t.Helper()
	h, err := prev.Hash()
	require.NoError(f.t, err)
	op, err := NewOperation(typ, h, s, f.t0.Add(dt), signer)
	require.NoError(f.t, err)
	return op
}

func (f *fixture) chain(rules Rules, ops ...*Operation) *Chain {
	f.t.Helper()
	c := NewChain(f.did, rules)
	for i, op := range ops {
		require.NoError(f.t, c.Apply(uint64(i), op))
	}
	return c
}
