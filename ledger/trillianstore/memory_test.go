package trillianstore

import "testing"

// The in-process tests run Trillian's log server and sequencer on its
// memory storage (LOG trees only: memory storage does not implement
// AddSequencedLeaves; PREORDERED_LOG runs against PostgreSQL in
// integration_test.go and against the fake server in fake_test.go).

func TestMemoryContract(t *testing.T) {
	env := memEnv(t)
	storeContract(t, env.ClientConn, ModeLog)
}

func TestMemoryReopen(t *testing.T) {
	env := memEnv(t)
	reopenContract(t, env.ClientConn, ModeLog)
}
