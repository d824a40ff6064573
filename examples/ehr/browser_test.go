package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportInHeadlessChromium loads the patient's HTML report in a real
// headless Chromium (Debian's package; .ci/records-browser.sh installs it
// when missing and sets HEALTHLEDGER_BROWSER=1, which makes a missing
// browser a failure rather than a skip). The page must load with no
// console message (a script error or console call would show), and the
// rendered DOM must show
// every event with its proof status. With HEALTHLEDGER_SCREENSHOT set to a
// path it also writes a PNG screenshot there (docs/patient-report.png).
func TestReportInHeadlessChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("HEALTHLEDGER_BROWSER") != "" {
			t.Fatal("chromium not found; run .ci/records-browser.sh")
		}
		t.Skip("chromium not installed; .ci/records-browser.sh installs it")
	}
	var out, page, js bytes.Buffer
	require.NoError(t, run(context.Background(), &out, &page, &js))
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	require.NoError(t, os.WriteFile(file, page.Bytes(), 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + filepath.Join(dir, "profile"),
		"--enable-logging=stderr", "--v=0", "--disable-background-networking", "--disable-component-update"}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", "file://"+file)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	require.NoError(t, err, stderr.String())

	require.NotContains(t, stderr.String(), "CONSOLE", "the page logs nothing to the console")
	require.NotContains(t, stderr.String(), "Uncaught")
	// The page's Content-Security-Policy forbids every load. Headless
	// --dump-dom does not log CSP violations, so the absence of external
	// resources is checked on the HTML itself (records.TestHTMLPage).
	require.Contains(t, string(dom), `default-src 'none'`)

	rows := regexp.MustCompile(`<tr id="entry-\d+" data-index="\d+" data-status="([a-z-]+)"`).FindAllStringSubmatch(string(dom), -1)
	require.Len(t, rows, 11, "the browser shows every event")
	for _, r := range rows {
		require.Contains(t, []string{"verified", "verified-sealed", "verified-erased"}, r[1])
	}
	require.Equal(t, "verified-erased", rows[0][1], "the misfiled letter's row")
	require.Contains(t, string(dom), "(details erased)")
	require.Contains(t, string(dom), "emergency (break-glass)")
	require.Contains(t, string(dom), "recorded on your behalf")
	require.Equal(t, 11, strings.Count(string(dom), "✓ verified"))

	if shot := os.Getenv("HEALTHLEDGER_SCREENSHOT"); shot != "" {
		abs, err := filepath.Abs(shot)
		require.NoError(t, err)
		cmd := exec.CommandContext(ctx, bin, append(args[:4], "--user-data-dir="+filepath.Join(dir, "profile2"), "--hide-scrollbars",
			"--window-size=1280,900", "--screenshot="+abs, "file://"+file)...)
		b, err := cmd.CombinedOutput()
		require.NoError(t, err, string(b))
		st, err := os.Stat(abs)
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(10_000))
	}
}
