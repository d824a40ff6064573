package records

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHTMLPage checks the page with the standard library only
// (golang.org/x/net/html is not in go.sum): structure, accessibility
// markers, no external resources, one row per event with its proof status.
func TestHTMLPage(t *testing.T) {
	r := newRig(t)
	rep := r.day(t)
	res := rep.Verify(context.Background(), r.verifier, r.keys)
	// Break one row's proof so that the page must show a failure.
	bad := 3
	res[bad].Err = fmt.Errorf("%w: test", ErrInvalidProof)
	var buf bytes.Buffer
	require.NoError(t, rep.WriteHTML(&buf, res))
	page := buf.String()

	require.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	require.Contains(t, page, `<html lang="en">`)
	require.Contains(t, page, "<title>")
	require.Contains(t, page, "<caption>")
	require.Contains(t, page, `content="default-src 'none'; style-src 'unsafe-inline'"`)
	require.Equal(t, 8, strings.Count(page, `<th scope="col">`))
	for _, banned := range []string{"<script", "src=", "href=", "@import", "url("} {
		require.NotContains(t, page, banned, "self-contained: no %s", banned)
	}
	rows := regexp.MustCompile(`<tr id="entry-(\d+)" data-index="\d+" data-status="([a-z-]+)"`).FindAllStringSubmatch(page, -1)
	require.Len(t, rows, len(rep.Events), "one row per event")
	for i, m := range rows {
		require.Equal(t, fmt.Sprint(rep.Events[i].Index), m[1])
		want := "verified"
		switch {
		case i == bad:
			want = "failed"
		case !rep.Events[i].ContentBound():
			want = "verified-sealed"
		}
		require.Equal(t, want, m[2], "row %d", i)
	}
	require.Contains(t, page, "FAILED: records: invalid proof")
	require.Contains(t, page, "emergency (break-glass)")
	require.Equal(t, 2, strings.Count(page, `class="break-glass"`), "the break-glass decision and access rows")

	// Values from the ledger are escaped.
	rep.Events[0].Writer = `<img src=x onerror=alert(1)>`
	buf.Reset()
	require.NoError(t, rep.WriteHTML(&buf, nil))
	require.NotContains(t, buf.String(), "<img")
	require.Contains(t, buf.String(), "not verified")
}
