package impl

import "time"

// TimerClock is a Clock that also schedules wake-ups on its own time line. The server
// ends blocking acquires and watches, and wakes its expiry sweeper, through AfterFunc
// when its Clock has it (SystemClock does; a test clock fires them as it is advanced),
// and through real timers otherwise.
type TimerClock interface {
	Clock
	// AfterFunc calls f in its own goroutine once d has passed on this clock. stop
	// cancels the call and reports whether it did.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// AfterFunc calls f after d on the process's monotonic clock.
func (c *SystemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// afterFunc schedules f on the server's clock.
func (s *Server) afterFunc(d time.Duration, f func()) func() bool {
	if tc, ok := s.cfg.Clock.(TimerClock); ok {
		return tc.AfterFunc(d, f)
	}
	return time.AfterFunc(d, f).Stop
}
