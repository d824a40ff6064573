package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStory(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	t.Log("\n" + out.String())
	want := []string{
		"Dr Alice (care team, General)  TREAT   Observation       -> PERMIT",
		"Dr Alice (care team, General)  TREAT   DocumentReference -> DENY",
		"Dr Bob (care team)             TREAT   DocumentReference -> PERMIT",
		"Researcher (University)        HRESCH  Observation       -> DENY",
		"ER doctor                      BTG     DocumentReference -> PERMIT (break-glass",
	}
	require.GreaterOrEqual(t, len(lines), 1+len(want)+1+len(want))
	for i, w := range want {
		require.True(t, strings.HasPrefix(lines[1+i], w), "line %d: %q", 1+i, lines[1+i])
	}
	require.Contains(t, lines[0], "consent granted")
	require.Contains(t, lines[1], "redact PSY", "Alice's team read carries the redaction obligation")
	require.Equal(t, "access report: 5 entries", lines[6])
	require.Equal(t, 1, strings.Count(out.String(), "patient notified\n"))
}
