package lease

// Resume makes the revisions of a rebuilt engine continue after rev, the last revision
// of the engine it replaces, so that no revision number means two different states.
// Call it on a restored engine before its first Apply.
func (e *Engine) Resume(rev uint64) {
	e.rev = max(e.rev, rev)
}
