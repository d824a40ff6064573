package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/healthledger/healthledger/ledger"
)

type keygenResult struct {
	Name           string `json:"name"`
	Cosigner       bool   `json:"cosigner"`
	PrivateKeyFile string `json:"private_key_file"`
	PublicKeyFile  string `json:"public_key_file"`
	PublicKey      string `json:"public_key"`
}

func cmdKeygen(ctx context.Context, e *env, args []string) error {
	fs := e.newFlags("keygen")
	origin := fs.String("origin", "", "the log's origin, or with --cosigner the witness's name (required)")
	out := fs.String("out", "", "file to write the private key to (mode 0600); the public key goes to FILE.pub (required)")
	cosigner := fs.Bool("cosigner", false, "generate a witness cosigner key (C2SP tlog-cosignature) instead of a log key")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := required([2]string{"origin", *origin}, [2]string{"out", *out}); err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	gen := ledger.GenerateKey
	if *cosigner {
		gen = ledger.GenerateCosignerKey
	}
	skey, vkey, err := gen(*origin)
	if err != nil {
		return usagef("--origin: %v", err)
	}
	if err := writeNew(*out, skey+"\n", 0o600); err != nil {
		return err
	}
	if err := writeNew(*out+".pub", vkey+"\n", 0o644); err != nil {
		os.Remove(*out)
		return err
	}
	res := keygenResult{Name: *origin, Cosigner: *cosigner, PrivateKeyFile: *out, PublicKeyFile: *out + ".pub", PublicKey: vkey}
	return e.output(res, func(w io.Writer) {
		fmt.Fprintf(e.stderr, "private key written to %s (keep it secret), public key to %s.pub\n", *out, *out)
		fmt.Fprintln(w, vkey)
	})
}

// writeNew writes a new file, refusing to overwrite one, and syncs it.
func writeNew(path, data string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, os.ErrExist) {
		return &ioError{fmt.Errorf("%s exists; not overwriting a key", path)}
	}
	if err != nil {
		return &ioError{err}
	}
	if _, err = f.WriteString(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return &ioError{err}
	}
	return nil
}
