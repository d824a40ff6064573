// Package privacy keeps personal data off the healthledger log, starting
// with keyed pseudonymous subject tags ([Tagger]).
//
// # Subject tags: who can compute which tag
//
// A [Tagger] holds a deployment secret, an HMAC-SHA256 PRF keyset, and
// computes
//
//	tag = HMAC-SHA256(key, field(TagNamespace) field(origin) field(namespace) field(identifier) epoch)
//
// (exact bytes in SPEC.md, vectors in testdata/tag_vectors.json).
//
//   - The deployment holding the PRF keyset computes the tag of any
//     identifier it knows, and so finds every entry about a patient whose
//     MRN or DID it has. Whoever can use the keyset (or the KEK that wraps
//     it) has this power: guard it like the data.
//   - A patient who knows their own MRN or DID cannot compute their tag;
//     they learn it from the deployment (for example on a report).
//   - A reader of the log sees tags, not identifiers. Without the key they
//     cannot test a guessed identifier (unlike a plain hash such as
//     [ledger.DeriveSubjectTag], which anyone can compute), and cannot link
//     the tags of one person in two deployments: each deployment has its
//     own key and origin, and the tags are unrelated. They can still see
//     that entries share a tag, and so link the entries of one subject
//     within one deployment and one epoch.
//   - Epochs ([Tagger.TagAt]) bound that linkage over time: tags of one
//     identifier in two epochs (two years, two rotation counters) are
//     unrelated to a reader of the log. The deployment, holding the key,
//     can still compute both.
//
// Rotating the PRF key changes every tag; there is no way to recompute a
// tag without the key it was made with, so keep old keysets as long as
// their tags must be found, and prefer epochs to bound linkage.
package privacy
