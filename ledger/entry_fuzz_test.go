package ledger

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// FuzzUnmarshalEntry checks that every accepted input re-encodes to the
// identical bytes (one encoding per entry) and that every rejection is a
// typed *FieldError wrapping a package sentinel.
func FuzzUnmarshalEntry(f *testing.F) {
	data, err := os.ReadFile(entryVectorsFile)
	if err != nil {
		f.Fatal(err)
	}
	var vs entryVectors
	if err := json.Unmarshal(data, &vs); err != nil {
		f.Fatal(err)
	}
	for _, v := range vs.Valid {
		b, _ := hex.DecodeString(v.Encoding)
		f.Add(b)
	}
	for _, v := range vs.Invalid {
		b, _ := hex.DecodeString(v.Encoding)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := UnmarshalEntry(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownVersion) &&
				!errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("error wraps no entry sentinel: %v", err)
			}
			return
		}
		again, err := e.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded entry does not encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip changed the encoding:\n in  %x\n out %x", data, again)
		}
		if _, err := e.SignedMessage(); err != nil {
			t.Fatalf("decoded entry has no signed message: %v", err)
		}
	})
}
