package identity

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Contexts of the documents this package produces.
const (
	contextDIDv1    = "https://www.w3.org/ns/did/v1"
	contextMultikey = "https://w3id.org/security/multikey/v1"
)

// DocumentVerificationMethod is a verificationMethod of a DID document. Keys
// are of type "Multikey" (publicKeyMultibase); ParseDocument also accepts
// "JsonWebKey" / "JsonWebKey2020" with publicKeyJwk.
type DocumentVerificationMethod struct {
	// ID is the method's DID URL, "<did>#<fragment>".
	ID string `json:"id"`
	// Type is "Multikey" (or "JsonWebKey"/"JsonWebKey2020" when parsed).
	Type string `json:"type"`
	// Controller is the DID that controls the key: the document's id.
	Controller string `json:"controller"`
	// PublicKeyMultibase is the key of a Multikey method.
	PublicKeyMultibase string `json:"publicKeyMultibase,omitempty"`
	// PublicKeyJwk is the key of a JsonWebKey method.
	PublicKeyJwk *JWK `json:"publicKeyJwk,omitempty"`
}

// DocumentService is a service of a DID document.
type DocumentService struct {
	// ID is the service's DID URL, "<did>#<fragment>".
	ID string `json:"id"`
	// Type is the service type.
	Type string `json:"type"`
	// ServiceEndpoint is the endpoint URI.
	ServiceEndpoint string `json:"serviceEndpoint"`
}

// Document is a W3C DID Core document. Relationship lists hold the full IDs
// of entries of VerificationMethod (references only; embedded methods are
// not produced and not accepted).
type Document struct {
	// Context is the JSON-LD @context; it includes the DID v1 context.
	Context []string `json:"@context"`
	// ID is the DID.
	ID string `json:"id"`
	// AlsoKnownAs are other URIs of the subject.
	AlsoKnownAs []string `json:"alsoKnownAs,omitempty"`
	// VerificationMethod are the document's keys.
	VerificationMethod []DocumentVerificationMethod `json:"verificationMethod"`
	// Authentication lists the methods that may authenticate the subject.
	Authentication []string `json:"authentication"`
	// AssertionMethod lists the methods that may sign statements (consents,
	// ledger entries) for the subject.
	AssertionMethod []string `json:"assertionMethod"`
	// CapabilityInvocation lists the methods that may invoke capabilities.
	CapabilityInvocation []string `json:"capabilityInvocation"`
	// CapabilityDelegation lists the methods that may delegate capabilities.
	CapabilityDelegation []string `json:"capabilityDelegation"`
	// Service are the document's services.
	Service []DocumentService `json:"service,omitempty"`
}

// NewDocument builds the DID document of did with state s.
func NewDocument(did string, s *State) *Document {
	d := &Document{
		Context:              []string{contextDIDv1, contextMultikey},
		ID:                   did,
		AlsoKnownAs:          slices.Clone(s.AlsoKnownAs),
		VerificationMethod:   []DocumentVerificationMethod{},
		Authentication:       []string{},
		AssertionMethod:      []string{},
		CapabilityInvocation: []string{},
		CapabilityDelegation: []string{},
	}
	for _, vm := range s.VerificationMethods {
		id := did + "#" + vm.ID
		d.VerificationMethod = append(d.VerificationMethod, DocumentVerificationMethod{
			ID: id, Type: "Multikey", Controller: did, PublicKeyMultibase: vm.Key.Multibase(),
		})
		for _, r := range []Relationship{Authentication, AssertionMethod, CapabilityInvocation, CapabilityDelegation} {
			if vm.Relationships&r != 0 {
				*d.list(r) = append(*d.list(r), id)
			}
		}
	}
	for _, sv := range s.Services {
		d.Service = append(d.Service, DocumentService{ID: did + "#" + sv.ID, Type: sv.Type, ServiceEndpoint: sv.Endpoint})
	}
	return d
}

// didKeyDocument builds the document of a did:key DID, following the
// did:key method: one verification method "did:key:z...#z..." in every
// relationship.
func didKeyDocument(did string, k PublicKey) *Document {
	id := did + "#" + k.Multibase()
	return &Document{
		Context:              []string{contextDIDv1, contextMultikey},
		ID:                   did,
		VerificationMethod:   []DocumentVerificationMethod{{ID: id, Type: "Multikey", Controller: did, PublicKeyMultibase: k.Multibase()}},
		Authentication:       []string{id},
		AssertionMethod:      []string{id},
		CapabilityInvocation: []string{id},
		CapabilityDelegation: []string{id},
	}
}

func (d *Document) list(r Relationship) *[]string {
	switch r {
	case Authentication:
		return &d.Authentication
	case AssertionMethod:
		return &d.AssertionMethod
	case CapabilityInvocation:
		return &d.CapabilityInvocation
	case CapabilityDelegation:
		return &d.CapabilityDelegation
	default:
		return nil
	}
}

// JSON returns the document as indented JSON.
func (d *Document) JSON() ([]byte, error) { return json.MarshalIndent(d, "", "  ") }

// Key returns the public key of the verification method with the full id
// (DID URL) keyID, if it is in relationship r. It fails with
// ErrWrongRelationship if the method exists but is not in r, and with
// ErrBadSignature (unknown key) if there is no such method.
func (d *Document) Key(keyID string, r Relationship) (PublicKey, error) {
	for _, vm := range d.VerificationMethod {
		if vm.ID != keyID {
			continue
		}
		l := d.list(r)
		if l == nil {
			return PublicKey{}, fmt.Errorf("%w: unknown relationship", ErrWrongRelationship)
		}
		if !slices.Contains(*l, keyID) {
			return PublicKey{}, fmt.Errorf("%w: %s", ErrWrongRelationship, r)
		}
		return vm.publicKey()
	}
	return PublicKey{}, fmt.Errorf("%w: no verification method with that id", ErrBadSignature)
}

// Keys returns the keys in relationship r, in document order.
func (d *Document) Keys(r Relationship) ([]PublicKey, error) {
	l := d.list(r)
	if l == nil {
		return nil, fmt.Errorf("%w: unknown relationship", ErrWrongRelationship)
	}
	var out []PublicKey
	for _, vm := range d.VerificationMethod {
		if slices.Contains(*l, vm.ID) {
			k, err := vm.publicKey()
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	return out, nil
}

func (vm *DocumentVerificationMethod) publicKey() (PublicKey, error) {
	switch vm.Type {
	case "Multikey":
		if vm.PublicKeyJwk != nil {
			return PublicKey{}, fmt.Errorf("%w: Multikey with publicKeyJwk", ErrMalformedDocument)
		}
		return ParseMultibase(vm.PublicKeyMultibase)
	case "JsonWebKey", "JsonWebKey2020":
		if vm.PublicKeyJwk == nil || vm.PublicKeyMultibase != "" {
			return PublicKey{}, fmt.Errorf("%w: %s needs publicKeyJwk only", ErrMalformedDocument, vm.Type)
		}
		return vm.PublicKeyJwk.PublicKey()
	default:
		return PublicKey{}, fmt.Errorf("%w: verification method type", ErrUnknownKeyType)
	}
}

// maxDocumentSize bounds the documents ParseDocument accepts.
const maxDocumentSize = 64 << 10

// ParseDocument parses and validates a DID document: the id is a did:hl or
// did:key DID; every verification method has a unique id "<did>#<fragment>",
// controller equal to the id, and a supported key; every relationship entry
// references one of them; unknown top-level members are refused. Failures
// wrap ErrMalformedDocument (or ErrMalformedDID, ErrUnknownKeyType,
// ErrMalformedKey).
func ParseDocument(b []byte) (*Document, error) {
	if len(b) > maxDocumentSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedDocument, maxDocumentSize)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedDocument, jsonErrorKind(err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedDocument)
	}
	if err := d.validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// jsonErrorKind describes a JSON error without quoting input (which could
// hold anything).
func jsonErrorKind(err error) string {
	switch err.(type) {
	case *json.SyntaxError:
		return "invalid JSON"
	case *json.UnmarshalTypeError:
		return "wrong JSON type for a member"
	default:
		return "invalid document JSON"
	}
}

func (d *Document) validate() error {
	if _, err := ParseDID(d.ID); err != nil {
		return err
	}
	if !slices.Contains(d.Context, contextDIDv1) {
		return fmt.Errorf("%w: @context lacks the DID v1 context", ErrMalformedDocument)
	}
	ids := map[string]bool{}
	for i := range d.VerificationMethod {
		vm := &d.VerificationMethod[i]
		frag, ok := strings.CutPrefix(vm.ID, d.ID+"#")
		if !ok || frag == "" || ids[vm.ID] || len(frag) > 128 {
			return fmt.Errorf("%w: verification method id must be a unique <did>#<fragment>", ErrMalformedDocument)
		}
		ids[vm.ID] = true
		if vm.Controller != d.ID {
			return fmt.Errorf("%w: verification method controller must be the document id", ErrMalformedDocument)
		}
		if _, err := vm.publicKey(); err != nil {
			return err
		}
	}
	for _, r := range []Relationship{Authentication, AssertionMethod, CapabilityInvocation, CapabilityDelegation} {
		for _, ref := range *d.list(r) {
			if !ids[ref] {
				return fmt.Errorf("%w: %s references an unknown verification method", ErrMalformedDocument, r)
			}
		}
	}
	for _, s := range d.Service {
		if !strings.HasPrefix(s.ID, d.ID+"#") || s.Type == "" || s.ServiceEndpoint == "" {
			return fmt.Errorf("%w: service needs id <did>#<fragment>, type and endpoint", ErrMalformedDocument)
		}
	}
	return nil
}
