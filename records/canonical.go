package records

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// CanonicalizationV1 names the canonical form of SPEC.md, "FHIR canonical
// form v1": FHIR's JSON canonicalization (members sorted, no insignificant
// whitespace, numbers and strings exactly as received) with
// Resource.meta.versionId, Resource.meta.lastUpdated and Resource.text left
// out at the top level.
const CanonicalizationV1 = "healthledger/fhir-json/v1"

// MaxResourceSize bounds the JSON a resource may have.
const MaxResourceSize = 16 << 20

// maxDepth bounds the nesting of objects and arrays.
const maxDepth = 128

// value is a parsed JSON value that keeps numbers as their literal text.
type value struct {
	kind    byte // 'o' object, 'a' array, 's' string, 'n' number, 't' true, 'f' false, '0' null
	str     string
	members []member
	items   []value
}

type member struct {
	name string
	val  value
}

// Canonicalize returns the canonical form v1 of a FHIR JSON resource (see
// SPEC.md): object members sorted by the UTF-16 code units of their names,
// no whitespace outside strings, strings re-escaped minimally (RFC 8785
// section 3.2.2.2), numbers byte for byte as received (6.10 stays 6.10),
// and, at the top level only, meta.versionId, meta.lastUpdated and text
// removed (meta too if nothing else is left in it). It never converts a
// number to a float. Input that is not one valid JSON value, is not UTF-8,
// has a duplicate member name or holds U+FFFD (which is what an unpaired
// surrogate escape decodes to) fails with a *CanonicalError.
func Canonicalize(resource []byte) ([]byte, error) {
	v, err := parse(resource)
	if err != nil {
		return nil, err
	}
	if v.kind == 'o' {
		v = stripVersioning(v)
	}
	return appendValue(make([]byte, 0, len(resource)), v), nil
}

// CanonicalDigest returns SHA-256 of the canonical form of resource.
func CanonicalDigest(resource []byte) ([32]byte, error) {
	c, err := Canonicalize(resource)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(c), nil
}

func parse(b []byte) (value, error) {
	if len(b) > MaxResourceSize {
		return value{}, &CanonicalError{Offset: MaxResourceSize, Reason: "resource too large"}
	}
	if !utf8.Valid(b) {
		return value{}, &CanonicalError{Offset: -1, Reason: "not UTF-8"}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := parseValue(d, 0)
	if err != nil {
		return value{}, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "data after the value"}
	}
	return v, nil
}

func parseValue(d *json.Decoder, depth int) (value, error) {
	tok, err := d.Token()
	if err != nil {
		return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "invalid JSON"}
	}
	return parseFrom(d, tok, depth)
}

func parseFrom(d *json.Decoder, tok json.Token, depth int) (value, error) {
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "nested too deep"}
		}
		if t == '{' {
			return parseObject(d, depth+1)
		}
		if t == '[' {
			return parseArray(d, depth+1)
		}
		return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "unexpected delimiter"}
	case string:
		if strings.ContainsRune(t, utf8.RuneError) {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "U+FFFD or an unpaired surrogate in a string"}
		}
		return value{kind: 's', str: t}, nil
	case json.Number:
		return value{kind: 'n', str: string(t)}, nil
	case bool:
		if t {
			return value{kind: 't'}, nil
		}
		return value{kind: 'f'}, nil
	case nil:
		return value{kind: '0'}, nil
	}
	return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "unexpected token"}
}

func parseObject(d *json.Decoder, depth int) (value, error) {
	v := value{kind: 'o'}
	seen := map[string]bool{}
	for {
		tok, err := d.Token()
		if err != nil {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "invalid JSON"}
		}
		if tok == json.Delim('}') {
			break
		}
		name, ok := tok.(string)
		if !ok {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "member name is not a string"}
		}
		if strings.ContainsRune(name, utf8.RuneError) {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "U+FFFD or an unpaired surrogate in a name"}
		}
		if seen[name] {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "duplicate member name"}
		}
		seen[name] = true
		mv, err := parseValue(d, depth)
		if err != nil {
			return value{}, err
		}
		v.members = append(v.members, member{name: name, val: mv})
	}
	slices.SortFunc(v.members, func(a, b member) int { return compareUTF16(a.name, b.name) })
	return v, nil
}

func parseArray(d *json.Decoder, depth int) (value, error) {
	v := value{kind: 'a', items: []value{}}
	for {
		tok, err := d.Token()
		if err != nil {
			return value{}, &CanonicalError{Offset: d.InputOffset(), Reason: "invalid JSON"}
		}
		if tok == json.Delim(']') {
			return v, nil
		}
		iv, err := parseFrom(d, tok, depth)
		if err != nil {
			return value{}, err
		}
		v.items = append(v.items, iv)
	}
}

// compareUTF16 orders names by UTF-16 code units, as RFC 8785 does.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

// stripVersioning removes what SPEC.md excludes from the top level.
func stripVersioning(v value) value {
	out := value{kind: 'o'}
	for _, m := range v.members {
		switch {
		case m.name == "text":
			continue
		case m.name == "meta" && m.val.kind == 'o':
			meta := value{kind: 'o'}
			for _, mm := range m.val.members {
				if mm.name != "versionId" && mm.name != "lastUpdated" {
					meta.members = append(meta.members, mm)
				}
			}
			if len(meta.members) == 0 {
				continue
			}
			m.val = meta
		}
		out.members = append(out.members, m)
	}
	return out
}

func appendValue(b []byte, v value) []byte {
	switch v.kind {
	case 'o':
		b = append(b, '{')
		for i, m := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.name)
			b = append(b, ':')
			b = appendValue(b, m.val)
		}
		return append(b, '}')
	case 'a':
		b = append(b, '[')
		for i, it := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, it)
		}
		return append(b, ']')
	case 's':
		return appendString(b, v.str)
	case 'n':
		return append(b, v.str...)
	case 't':
		return append(b, "true"...)
	case 'f':
		return append(b, "false"...)
	}
	return append(b, "null"...)
}

// appendString writes s as RFC 8785 does: '"' and '\' escaped, control
// characters as \b \t \n \f \r or \u00xx (lower-case hex), every other
// character as its UTF-8 bytes.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// fhirHeader returns the resourceType, id and meta.versionId of a parsed
// resource ("" where absent or not a string).
func fhirHeader(v value) (typ, id, version string) {
	if v.kind != 'o' {
		return
	}
	for _, m := range v.members {
		switch {
		case m.name == "resourceType" && m.val.kind == 's':
			typ = m.val.str
		case m.name == "id" && m.val.kind == 's':
			id = m.val.str
		case m.name == "meta" && m.val.kind == 'o':
			for _, mm := range m.val.members {
				if mm.name == "versionId" && mm.val.kind == 's' {
					version = mm.val.str
				}
			}
		}
	}
	return
}
