package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/healthledger/healthledger/ledger"
	"github.com/healthledger/healthledger/ledger/pebblestore"
	"github.com/healthledger/healthledger/ledger/tileserver"
	"github.com/healthledger/healthledger/ledger/witness"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/mod/sumdb/note"
)

type serveResult struct {
	URL     string `json:"url"`
	Size    uint64 `json:"size"`
	Witness bool   `json:"witness"`
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("serve")
	dir := fs.String("dir", "", "the Pebble ledger directory whose read path to serve")
	origin := fs.String("origin", "", "the log's origin (required with --dir)")
	logKey := fs.String("log-key", "", "the log's public verifier key, or a file holding it (required with --dir)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	witnessKey := fs.String("witness-key", "", "a witness cosigner private key file: also serve POST /add-checkpoint (C2SP tlog-witness)")
	var witnessLogs stringList
	fs.Var(&witnessLogs, "witness-log", "ORIGIN=KEY: a log the witness cosigns for, KEY its verifier key or a file (repeatable; default the served log)")
	witnessState := fs.String("witness-state", "", "file keeping the witness's latest cosigned checkpoints (default WITNESS-KEY.state)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *dir == "" && *witnessKey == "" {
		return usagef("give --dir, --witness-key or both")
	}
	mux := http.NewServeMux()
	metrics := newPromProvider()
	mux.Handle("GET /metrics", metrics)
	res := serveResult{}
	if *dir != "" {
		store, size, err := openVerifiedStore(ctx, *dir, *origin, *logKey)
		if err != nil {
			return err
		}
		defer store.Close()
		h, err := tileserver.New(tileserver.Config{Log: store, MeterProvider: metrics})
		if err != nil {
			return err
		}
		mux.Handle("/", h)
		res.Size = size
	}
	if *witnessKey != "" {
		logs := witnessLogs
		if len(logs) == 0 && *dir != "" {
			logs = stringList{*origin + "=" + *logKey}
		}
		h, err := newWitnessHandler(*witnessKey, *witnessState, logs, metrics)
		if err != nil {
			return err
		}
		mux.Handle("/add-checkpoint", h)
		res.Witness = true
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return &ioError{err}
	}
	res.URL = "http://" + ln.Addr().String() + "/"
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(e.stderr, "serving on %s\n", res.URL)
	if err := e.output(res, func(w io.Writer) {
		if *dir != "" {
			fmt.Fprintf(w, "read path of %s (size %d) at %s\n", *dir, res.Size, res.URL)
		}
		if res.Witness {
			fmt.Fprintf(w, "witness at %sadd-checkpoint\n", res.URL)
		}
	}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return &ioError{err}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// openVerifiedStore opens a Pebble ledger directory (which must exist) and
// checks that its checkpoint is the log's, signed by logKey.
func openVerifiedStore(ctx context.Context, dir, origin, logKeyArg string) (*pebblestore.Store, uint64, error) {
	if err := required([2]string{"origin", origin}, [2]string{"log-key", logKeyArg}); err != nil {
		return nil, 0, err
	}
	logKey, err := keyArg(logKeyArg)
	if err != nil {
		return nil, 0, err
	}
	v, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, 0, usagef("--log-key: malformed verifier key")
	}
	if err := isPebbleDir(dir); err != nil {
		return nil, 0, err
	}
	store, err := pebblestore.Open(ctx, pebblestore.Config{Dir: dir})
	if err != nil {
		if errors.Is(err, ledger.ErrCorrupt) {
			return nil, 0, err
		}
		return nil, 0, &ioError{err}
	}
	signed, err := store.Checkpoint(ctx)
	if errors.Is(err, ledger.ErrEmptyLog) {
		return store, 0, nil
	}
	if err == nil {
		var cp ledger.Checkpoint
		if cp, _, err = ledger.OpenCheckpoint(signed, origin, v); err == nil {
			return store, cp.Size, nil
		}
	}
	store.Close()
	return nil, 0, err
}

// newWitnessHandler returns a tlog-witness handler for a cosigner key file
// and logs "ORIGIN=KEY", keeping its state in a JSON file (origin to
// latest cosigned checkpoint), written atomically before each cosignature.
func newWitnessHandler(keyFile, stateFile string, logs []string, mp metric.MeterProvider) (http.Handler, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, &ioError{err}
	}
	cs, err := ledger.NewCosigner(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, usagef("--witness-key: %v", err)
	}
	if len(logs) == 0 {
		return nil, usagef("--witness-log is required without --dir")
	}
	if stateFile == "" {
		stateFile = keyFile + ".state"
	}
	state := map[string]string{}
	if b, err := os.ReadFile(stateFile); err == nil {
		if err := json.Unmarshal(b, &state); err != nil {
			return nil, &ioError{fmt.Errorf("witness state %s: %w", stateFile, err)}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, &ioError{err}
	}
	var wl []ledger.WitnessedLog
	for _, l := range logs {
		origin, key, ok := strings.Cut(l, "=")
		if !ok || origin == "" {
			return nil, usagef("--witness-log %q: want ORIGIN=KEY", l)
		}
		k, err := keyArg(key)
		if err != nil {
			return nil, err
		}
		wl = append(wl, ledger.WitnessedLog{Origin: origin, LogKey: k, Latest: []byte(state[origin])})
	}
	persist := func(origin string, signed []byte) error {
		old, had := state[origin] // Persist calls are serialized by the Witness
		state[origin] = string(signed)
		b, err := json.MarshalIndent(state, "", "  ")
		if err == nil {
			err = writeAtomic(stateFile, b)
		}
		if err != nil && had {
			state[origin] = old
		} else if err != nil {
			delete(state, origin)
		}
		return err
	}
	w, err := ledger.NewWitness(ledger.WitnessConfig{Cosigner: cs, Logs: wl, Persist: persist})
	if err != nil {
		return nil, usagef("witness: %v", err)
	}
	return witness.NewHandler(witness.HandlerConfig{Witness: w, MeterProvider: mp})
}

// writeAtomic replaces path with data: a synced temporary file renamed
// over it.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	return err
}

// isPebbleDir reports an error unless dir holds a Pebble database (so that
// a mistyped path is not silently created as an empty ledger).
func isPebbleDir(dir string) error {
	m, err := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	if err == nil && len(m) == 0 {
		_, err = os.Stat(dir)
		if err == nil {
			err = os.ErrNotExist
		}
	}
	if err != nil {
		return &ioError{fmt.Errorf("%s is not a Pebble ledger directory: %w", dir, err)}
	}
	return nil
}
