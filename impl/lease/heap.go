package lease

import (
	"container/heap"
	"time"
)

// timed is something with a deadline kept in a timerHeap: a lease, a session or a
// lock-delay. Its index is its position in the heap, -1 when it is in none.
type timed interface {
	due() time.Duration
	setIndex(int)
}

// timerHeap orders timed things by deadline, earliest first.
type timerHeap[T timed] []T

func (h timerHeap[T]) Len() int           { return len(h) }
func (h timerHeap[T]) Less(i, j int) bool { return h[i].due() < h[j].due() }
func (h timerHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setIndex(i)
	h[j].setIndex(j)
}
func (h *timerHeap[T]) Push(x any) {
	t := x.(T)
	t.setIndex(len(*h))
	*h = append(*h, t)
}
func (h *timerHeap[T]) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	var zero T
	old[n-1] = zero
	*h = old[:n-1]
	t.setIndex(-1)
	return t
}

// next returns the earliest deadline in h, if any.
func (h timerHeap[T]) next() (time.Duration, bool) {
	if len(h) == 0 {
		return 0, false
	}
	return h[0].due(), true
}

func (h *timerHeap[T]) add(t T) { heap.Push(h, t) }

func (h *timerHeap[T]) del(i int) { heap.Remove(h, i) }

func (h *timerHeap[T]) fix(i int) { heap.Fix(h, i) }
