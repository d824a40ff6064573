package tilestore

// WaitDedupFilter waits until the goroutine that fills the dedup filter
// after Open has returned, and reports whether the filter is ready (false
// also when the store has none).
func (s *Store) WaitDedupFilter() bool {
	<-s.filled
	return s.known != nil && s.known.ready.Load()
}
