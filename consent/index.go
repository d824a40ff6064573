package consent

import (
	"math/bits"
	"sync"
)

// The index routes a request to the few consents and top-level provisions
// that can make a patient's answer differ from the consents' base
// decisions, so that a decision costs in proportion to those, not to all
// of the patient's consents.
//
// Each consent owns a run of slots: one for the consent itself, then one
// per top-level provision, in order, so that slot order is the order of
// the linear evaluation. A decision sets, in a bitset over the slots, the
// slots that can matter (see mark) and visits them in order, evaluating
// the visited provisions exactly as the linear evaluation does. A consent
// none of whose slots is set is one the linear evaluation would skip (it
// has grantees and the actor is none of them) or one that applies (no
// period, no grantees) and answers its base decision with no redaction,
// since none of its top-level provisions matches or asks for one; those
// are combined in runs, from Basis values built once.
//
// A top-level provision is filed under one criterion that every request
// it can match, or make redact a label, must meet: an actor (reference,
// organization or role), a code, a data class, a label (only under a Deny
// consent: under a Permit, a provision that fails only on its labels still
// asks for a redaction), a purpose of use or an action. A provision with
// none of these (only labels under a Permit, periods, data periods or
// specific resources) is a wildcard: its slot is visited by every request.
// Period, data period and resources are never used to file: they are
// evaluated when the provision is visited, so a provision that cannot be
// evaluated still makes its consent deny. A consent with grantees is
// filed under each grantee; one with a period and no grantees is visited
// by every request. Nested provisions are not filed: a visited top-level
// provision evaluates its subtree as before.

// stackWords is the widest slot bitset (in 64-bit words) a decision keeps
// on its stack; patients with more slots borrow one from their index's pool.
const stackWords = 16

// smallKeys is the most keys a keyIndex compares one by one before it
// hashes: a few string comparisons cost less than hashing the key.
const smallKeys = 8

// keyIndex maps keys to slots.
type keyIndex[K comparable] struct {
	keys  []K
	slots [][]uint32
	m     map[K]int // position in keys, when there are more than smallKeys
}

func (ki *keyIndex[K]) add(k K, slot uint32) {
	i, ok := ki.find(k)
	if !ok {
		i = len(ki.keys)
		ki.keys = append(ki.keys, k)
		ki.slots = append(ki.slots, nil)
		if ki.m != nil || len(ki.keys) > smallKeys {
			if ki.m == nil {
				ki.m = make(map[K]int, len(ki.keys))
				for j, key := range ki.keys {
					ki.m[key] = j
				}
			}
			ki.m[k] = i
		}
	}
	ki.slots[i] = append(ki.slots[i], slot)
}

func (ki *keyIndex[K]) find(k K) (int, bool) {
	if ki.m != nil {
		i, ok := ki.m[k]
		return i, ok
	}
	for i, key := range ki.keys {
		if key == k {
			return i, true
		}
	}
	return 0, false
}

// get returns the slots filed under k.
func (ki *keyIndex[K]) get(k K) []uint32 {
	if i, ok := ki.find(k); ok {
		return ki.slots[i]
	}
	return nil
}

type slotIndex struct {
	nslots    int
	slotOwner []uint32 // consent of each slot
	first     []uint32 // consent slot of each consent
	always    []uint64 // slots every request visits

	byRef, byOrg, byRole keyIndex[string] // actor criteria
	byGrantee            keyIndex[string] // consent slots
	byClass              keyIndex[string]
	byCode               keyIndex[Coding]
	byPurpose            [numPurposes][]uint32
	byAction             [ActionCorrect + 1][]uint32
	byLabel              [numLabels][]uint32 // provisions of Deny consents

	// static[e] holds, in order, the Basis of each consent without period
	// or grantees whose base decision is e; rank[e][i] counts those among
	// the consents before consent i.
	static [Deny + 1][]Basis
	rank   [Deny + 1][]uint32

	pool sync.Pool // *[]uint64 of words() words, when wider than stackWords
}

func (x *slotIndex) words() int { return (x.nslots + 63) / 64 }

func (c *compiledConsent) static() bool { return c.period.IsZero() && len(c.grantees) == 0 }

// build files cs, a patient's compiled consents in evaluation order.
func (x *slotIndex) build(cs []compiledConsent) {
	n := 0
	for i := range cs {
		n += 1 + len(cs[i].root.children)
	}
	x.nslots = n
	x.slotOwner = make([]uint32, 0, n)
	x.first = make([]uint32, len(cs))
	x.always = make([]uint64, x.words())
	for e := Permit; e <= Deny; e++ {
		x.rank[e] = make([]uint32, len(cs)+1)
	}
	for i := range cs {
		c := &cs[i]
		slot := uint32(len(x.slotOwner))
		x.first[i] = slot
		x.slotOwner = append(x.slotOwner, uint32(i))
		for e := Permit; e <= Deny; e++ {
			x.rank[e][i+1] = x.rank[e][i]
		}
		switch {
		case c.static():
			x.static[c.decision] = append(x.static[c.decision], Basis{Consent: c.id, Effect: c.decision})
			x.rank[c.decision][i+1]++
		case len(c.grantees) > 0:
			for _, g := range c.grantees {
				x.byGrantee.add(g, slot)
			}
		default:
			x.always[slot/64] |= 1 << (slot % 64)
		}
		for k := range c.root.children {
			x.file(&c.root.children[k], c.decision, slot+1+uint32(k))
			x.slotOwner = append(x.slotOwner, uint32(i))
		}
	}
	if w := x.words(); w > stackWords {
		x.pool.New = func() any { s := make([]uint64, w); return &s }
	}
}

// file files the top-level provision p of a consent with base decision
// parent under one criterion a request must meet for p to matter.
func (x *slotIndex) file(p *compiledProvision, parent Effect, slot uint32) {
	switch {
	case actorsFileable(p.actors):
		for _, m := range p.actors {
			switch {
			case m.Reference != "":
				x.byRef.add(m.Reference, slot)
			case m.Organization != "":
				x.byOrg.add(m.Organization, slot)
			default:
				x.byRole.add(m.Role, slot)
			}
		}
	case len(p.codes) > 0:
		for _, c := range p.codes {
			x.byCode.add(c, slot)
		}
	case len(p.dataClasses) > 0:
		for _, dc := range p.dataClasses {
			x.byClass.add(dc, slot)
		}
	case parent == Deny && p.labels != 0:
		fileMask(x.byLabel[:], p.labels, slot)
	case p.purposes != 0:
		fileMask(x.byPurpose[:], p.purposes, slot)
	case p.actions != 0:
		fileMask(x.byAction[:], uint64(p.actions), slot)
	default:
		x.always[slot/64] |= 1 << (slot % 64)
	}
}

// actorsFileable reports whether every actor match sets a field (an empty
// one would match every actor).
func actorsFileable(ms []ActorMatch) bool {
	for _, m := range ms {
		if m == (ActorMatch{}) {
			return false
		}
	}
	return len(ms) > 0
}

func fileMask(buckets [][]uint32, mask uint64, slot uint32) {
	for b := range buckets {
		if mask&(1<<b) != 0 {
			buckets[b] = append(buckets[b], slot)
		}
	}
}

func markAll(set []uint64, slots []uint32) {
	for _, s := range slots {
		set[s/64] |= 1 << (s % 64)
	}
}

// mark sets in set (zeroed, words() long) the slots r must visit: the
// wildcards, and those filed under what r's actor, resource, purpose and
// action present.
func (x *slotIndex) mark(r *preparedRequest, set []uint64) {
	copy(set, x.always)
	a := &r.Actor
	if len(x.byRef.keys) > 0 {
		markAll(set, x.byRef.get(a.DID))
		for _, t := range a.Teams {
			markAll(set, x.byRef.get(t))
		}
	}
	if len(x.byOrg.keys) > 0 {
		markAll(set, x.byOrg.get(a.Organization))
	}
	if len(x.byRole.keys) > 0 {
		for _, role := range a.Roles {
			markAll(set, x.byRole.get(role))
		}
	}
	if len(x.byGrantee.keys) > 0 {
		markAll(set, x.byGrantee.get(a.DID))
		markAll(set, x.byGrantee.get(a.Organization))
		for _, t := range a.Teams {
			markAll(set, x.byGrantee.get(t))
		}
	}
	if len(x.byClass.keys) > 0 {
		markAll(set, x.byClass.get(r.Resource.Type))
	}
	if len(x.byCode.keys) > 0 {
		for _, c := range r.Resource.Codes {
			markAll(set, x.byCode.get(c))
		}
	}
	markAll(set, x.byPurpose[r.Purpose])
	markAll(set, x.byAction[r.Action])
	for _, l := range r.Resource.Labels {
		markAll(set, x.byLabel[l])
	}
}

// combiner applies the combining rule (deny wins) to the consents'
// answers, given in consent order, and fills d.Basis.
type combiner struct {
	d      *Decision
	effect Effect
	reason Reason
	redact uint64
}

// add combines the answer of one applicable consent.
func (cb *combiner) add(b Basis, ind bool, redact uint64) {
	switch {
	case b.Effect == Deny && cb.effect != Deny:
		// The first denial: drop the permits gathered so far.
		cb.d.Basis = append(cb.d.Basis[:0], b)
		cb.effect, cb.reason = Deny, ReasonConsent
	case b.Effect == Deny || b.Effect == Permit && cb.effect != Deny:
		cb.d.Basis = append(cb.d.Basis, b)
		if cb.effect == NoConsent {
			cb.effect, cb.reason = Permit, ReasonConsent
		}
		cb.redact |= redact
	}
	if ind {
		cb.reason = ReasonIndeterminate
	}
}

// addStatic combines the unvisited consents among consents [from, to):
// those without period or grantees, each answering its base decision. It
// gives what add would, one consent at a time.
func (cb *combiner) addStatic(x *slotIndex, from, to int) {
	if lo, hi := x.rank[Deny][from], x.rank[Deny][to]; lo < hi {
		if cb.effect != Deny {
			cb.d.Basis = cb.d.Basis[:0]
			cb.effect, cb.reason = Deny, ReasonConsent
		}
		cb.d.Basis = append(cb.d.Basis, x.static[Deny][lo:hi]...)
		return
	}
	if cb.effect == Deny {
		return
	}
	if lo, hi := x.rank[Permit][from], x.rank[Permit][to]; lo < hi {
		cb.d.Basis = append(cb.d.Basis, x.static[Permit][lo:hi]...)
		if cb.effect == NoConsent {
			cb.effect, cb.reason = Permit, ReasonConsent
		}
	}
}

// visit is the evaluation of one visited consent.
type visit struct {
	c       *compiledConsent
	applies bool
	eval    evalState
	redact  uint64
}

// combine applies the deny-wins rule over the patient's consents and
// fills d.Basis with the consents the result relies on. It visits only
// the slots mark sets; the others answer as the linear evaluation would.
func (e *Evaluator) combine(idx *patientIndex, pr *preparedRequest, d *Decision) (Effect, Reason, uint64) {
	w := idx.slots.words()
	if w > stackWords {
		p := idx.slots.pool.Get().(*[]uint64)
		defer idx.slots.pool.Put(p)
		clear(*p)
		return idx.combine(pr, d, *p)
	}
	var buf [stackWords]uint64
	return idx.combine(pr, d, buf[:w])
}

// combine is Evaluator.combine with set, a zeroed bitset of the slots.
func (idx *patientIndex) combine(pr *preparedRequest, d *Decision, set []uint64) (Effect, Reason, uint64) {
	x := &idx.slots
	x.mark(pr, set)
	cb := combiner{d: d, effect: NoConsent, reason: ReasonNoConsentDefault}
	next, cur := 0, -1
	var v visit
	for w, word := range set {
		for word != 0 {
			s := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			c := int(x.slotOwner[s])
			if c != cur {
				if cur >= 0 {
					v.finish(&cb)
				}
				cb.addStatic(x, next, c)
				next, cur = c+1, c
				v.start(&idx.consents[c], pr)
			}
			if k := s - int(x.first[c]) - 1; k >= 0 && v.applies && !v.eval.ind {
				v.eval.step(&v.c.root.children[k], pr, v.c.decision, &v.redact)
			}
		}
	}
	if cur >= 0 {
		v.finish(&cb)
	}
	cb.addStatic(x, next, len(idx.consents))
	return cb.effect, cb.reason, cb.redact
}

func (v *visit) start(c *compiledConsent, pr *preparedRequest) {
	*v = visit{c: c, applies: c.applies(pr), eval: evalState{result: c.decision, by: &c.root}}
}

func (v *visit) finish(cb *combiner) {
	if v.applies {
		cb.add(Basis{Consent: v.c.id, Path: v.eval.by.path, Effect: v.eval.result}, v.eval.ind, v.redact)
	}
}
