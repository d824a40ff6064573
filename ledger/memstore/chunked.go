package memstore

// chunked is a slice that grows in fixed chunks of 1<<chunkBits elements:
// appending never copies the elements already held, as growing one large
// slice does (for a log of millions of leaves, tens of megabytes copied
// under the write lock, into memory touched for the first time).
type chunked[T any] struct {
	chunks [][]T
	n      uint64
}

// chunkBits is log2 of the number of elements in one chunk.
const (
	chunkBits = 10
	chunkMask = 1<<chunkBits - 1
)

// len returns the number of elements.
func (c *chunked[T]) len() uint64 { return c.n }

// at returns a pointer to element i, which must be below c.len().
func (c *chunked[T]) at(i uint64) *T { return &c.chunks[i>>chunkBits][i&chunkMask] }

// append adds v as element c.len().
func (c *chunked[T]) append(v T) {
	if c.n&chunkMask == 0 {
		c.chunks = append(c.chunks, make([]T, 1<<chunkBits))
	}
	c.chunks[c.n>>chunkBits][c.n&chunkMask] = v
	c.n++
}
