package main

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQuickstartRunsTwice runs the demo on a fresh directory and again on
// the same one, as a new user would: the second run must reopen the ledger,
// append after the first run's entries and prove consistency with them.
func TestQuickstartRunsTwice(t *testing.T) {
	dir := t.TempDir()
	stdout := os.Stdout
	devnull, err := os.Open(os.DevNull)
	require.NoError(t, err)
	defer devnull.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	err1 := run(context.Background(), dir)
	err2 := run(context.Background(), dir)
	w.Close()
	os.Stdout = stdout
	out := string(<-done)
	require.NoError(t, err1)
	require.NoError(t, err2)
	require.Contains(t, out, "Reopened an existing ledger of 2 entries.")
	require.Contains(t, out, "the tree of size 2 is a prefix of the tree of size 4")
	require.Contains(t, out, "-> rejected")
}
