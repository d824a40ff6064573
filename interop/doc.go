// Package interop holds tests of healthledger against independent
// implementations of the formats and protocols it speaks. It is its own
// module so that their dependencies stay out of the library's go.mod.
package interop
