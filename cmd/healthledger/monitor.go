package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/monitor"
)

type monitorResult struct {
	Size       uint64            `json:"size"`
	Checkpoint string            `json:"checkpoint"`
	Witnessed  map[string]uint64 `json:"witnessed,omitempty"`
	Findings   []monitor.Finding `json:"findings"`
}

func cmdMonitor(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("monitor")
	var vf verifierFlags
	vf.register(fs, false)
	follow := fs.Bool("follow", false, "keep following the log until interrupted")
	interval := fs.Duration("interval", 30*time.Second, "time between checks with --follow")
	every := fs.Bool("every-checkpoint", false, "the monitor sees every checkpoint: check entry times in both directions against the first checkpoint that includes them")
	metricsAddr := fs.String("metrics-addr", "", "with --follow, serve the monitor's counters at GET /metrics on this address (Prometheus text format), e.g. 127.0.0.1:9464")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want the log's URL")
	}
	logKey, ws, err := vf.keys()
	if err != nil {
		return err
	}
	if *metricsAddr != "" && !*follow {
		return usagef("--metrics-addr needs --follow")
	}
	metrics := newPromProvider()
	if *metricsAddr != "" {
		stop, err := serveMetrics(e, *metricsAddr, metrics)
		if err != nil {
			return err
		}
		defer stop()
	}
	var last time.Time
	m, err := monitor.New(monitor.Config{URL: pos[0], Origin: vf.origin, LogKey: logKey, Witnesses: ws,
		MaxClockSkew: vf.skew, EveryCheckpoint: *every, MeterProvider: metrics,
		Progress: func(checked, size uint64) {
			if checked == size || time.Since(last) > time.Second {
				last = time.Now()
				e.progress("checked %d/%d entries", checked, size)
			}
		}})
	if err != nil {
		return usagef("%v", err)
	}
	var all []monitor.Finding
	for {
		fs, err := m.Step(ctx)
		for _, f := range fs {
			if e.json && *follow {
				json.NewEncoder(e.stdout).Encode(f) // one JSON line per finding as found
			} else if !e.json {
				fmt.Fprintln(e.stdout, f.String())
			}
		}
		all = append(all, fs...)
		var ie *ledger.InconsistencyError
		switch {
		case errors.As(err, &ie):
			return finishMonitor(e, m, all, *follow)
		case err != nil && !*follow:
			if isVerificationError(err) {
				return err
			}
			return &ioError{err}
		case err != nil:
			fmt.Fprintf(e.stderr, "healthledger monitor: %v (retrying)\n", err)
		}
		if !*follow {
			return finishMonitor(e, m, all, *follow)
		}
		select {
		case <-ctx.Done():
			return finishMonitor(e, m, all, *follow)
		case <-time.After(*interval):
		}
	}
}

func finishMonitor(e *env, m *monitor.Monitor, all []monitor.Finding, follow bool) error {
	st := m.Status()
	res := monitorResult{Size: st.Size, Checkpoint: string(st.Checkpoint), Witnessed: st.Witnessed, Findings: all}
	if res.Findings == nil {
		res.Findings = []monitor.Finding{}
	}
	if e.json && follow {
		res.Findings = nil // already printed line by line
	}
	if err := e.output(res, func(w io.Writer) {
		fmt.Fprintf(w, "checked %d entries; %d finding(s)\n", st.Size, len(all))
		for name, size := range st.Witnessed {
			fmt.Fprintf(w, "witness %s cosigned up to size %d\n", name, size)
		}
	}); err != nil {
		return err
	}
	if len(all) > 0 {
		return &failure{fmt.Sprintf("%d finding(s)", len(all))}
	}
	return nil
}

// serveMetrics serves p at GET /metrics on addr until stop is called.
func serveMetrics(e *env, addr string, p *promProvider) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, &ioError{err}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", p)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(e.stderr, "metrics on http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}
