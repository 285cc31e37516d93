package main

// This file is the linearizability checker shared by the history tests: a recorder of
// client-observed operations and a porcupine model of one fenced TTL lease.
//
// Times are client-monotonic nanoseconds. An operation took effect at some instant
// between its call and its return, so the server's clock readings are bracketed by
// them: a lease granted by an operation with call c and return r, for a TTL d, cannot
// end before c+d (the server's deadline is later than its grant) and must have ended
// by r+d unless renewed or restored by a restart.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// never is the return time of an operation whose outcome is unknown and that could still
// take effect at any later time (a client-side timeout).
const never = math.MaxInt64

type opKind uint8

const (
	opAcquire opKind = iota + 1
	opRenew
	opRelease
	opGet
	opRestart // the server was killed and started again; in every partition
)

func (k opKind) String() string {
	return [...]string{"?", "acquire", "renew", "release", "get", "restart"}[k]
}

type outcome uint8

const (
	outUnknown    outcome = iota // timed out, or the connection died with the server
	outAcquired                  // acquire: granted (new or the caller's own lease again)
	outHeld                      // acquire: someone else holds it; get: held
	outRenewed                   // renew succeeded
	outReleased                  // release succeeded
	outNotCurrent                // renew/release: 409 lease_not_current
	outFree                      // get: free
	outRestarted                 // restart done
	outOther                     // anything else (an unexpected status): always illegal
)

func (o outcome) String() string {
	return [...]string{"unknown", "acquired", "held", "renewed", "released", "not_current", "free", "restarted", "other"}[o]
}

// lockInput is what a client asked.
type lockInput struct {
	Kind   opKind
	Name   string
	Holder string // the caller's holder id as the server renders it
	Lease  string // renew, release
	TTL    int64  // acquire, renew: nanoseconds
	Call   int64
}

// lockOutput is what it saw.
type lockOutput struct {
	Result outcome
	Lease  string
	Token  int64
	Holder string // held: who holds it
	Status int    // HTTP status, for reports
	Return int64
}

// leaseState is what the model knows about one lock name. It is comparable, so
// porcupine can cache it.
type leaseState struct {
	Held     bool
	Holder   string
	Lease    string // "" when granted by an operation whose outcome is unknown
	Token    int64  // 0 when not yet observed
	Lb, Ub   int64  // the lease cannot end before Lb and has ended by Ub
	TTLMin   int64  // the longest TTL acknowledged (persisted) for the lease
	TTLMax   int64  // the longest TTL ever requested for it
	MaxToken int64  // the largest token known to have been issued for this name
}

func sat(a, b int64) int64 {
	if a == never || b == never || a > never-b {
		return never
	}
	return a + b
}

// lockModel is the specification: a fenced TTL lease per name.
//
//   - A grant is legal only when the lock is free or its lease may have ended (the
//     grant returned after the earliest instant the lease could end), and its token is
//     larger than every token issued for the name before.
//   - Held, renewed and released are legal only for the current, possibly live lease.
//   - An operation with an unknown outcome took effect or did not.
//   - A restart keeps every lease (with a fresh full TTL) or, if it may already have
//     ended before the crash, drops it.
var lockModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byName := map[string][]porcupine.Operation{}
		var restarts []porcupine.Operation
		for _, op := range history {
			in := op.Input.(lockInput)
			if in.Kind == opRestart {
				restarts = append(restarts, op)
				continue
			}
			byName[in.Name] = append(byName[in.Name], op)
		}
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([][]porcupine.Operation, 0, len(names))
		for _, n := range names {
			out = append(out, append(byName[n], restarts...))
		}
		return out
	},
	Init: func() []any { return []any{leaseState{}} },
	Step: func(state, input, output any) []any {
		return step(state.(leaseState), input.(lockInput), output.(lockOutput))
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(lockInput), output.(lockOutput)
		return fmt.Sprintf("%s %s %s %s -> %s %s %d %s", in.Kind, in.Name, in.Holder, in.Lease, out.Result, out.Lease, out.Token, out.Holder)
	},
}

func step(s leaseState, in lockInput, out lockOutput) []any {
	free := leaseState{MaxToken: s.MaxToken}
	alive := func() bool { return s.Held && in.Call < s.Ub } // may still be live at the call
	switch in.Kind {
	case opAcquire:
		var next []any
		switch out.Result {
		case outAcquired:
			// The caller's own lease again (idempotent re-acquire), extended.
			if alive() && s.Holder == in.Holder && (s.Lease == out.Lease || s.Lease == "") &&
				(s.Token == out.Token || s.Token == 0 && out.Token > s.MaxToken) {
				n := s
				n.Lease, n.Token, n.MaxToken = out.Lease, out.Token, max(s.MaxToken, out.Token)
				n.Lb, n.Ub = max(s.Lb, in.Call+in.TTL), max(s.Ub, sat(out.Return, in.TTL))
				n.TTLMin, n.TTLMax = max(s.TTLMin, in.TTL), max(s.TTLMax, in.TTL)
				next = append(next, n)
			}
			// A new grant: the lock was free or its lease may have ended.
			if (!s.Held || out.Return >= s.Lb) && out.Token > s.MaxToken && out.Lease != s.Lease {
				next = append(next, leaseState{Held: true, Holder: in.Holder, Lease: out.Lease, Token: out.Token,
					Lb: in.Call + in.TTL, Ub: sat(out.Return, in.TTL), TTLMin: in.TTL, TTLMax: in.TTL, MaxToken: out.Token})
			}
		case outHeld:
			if alive() && s.Holder == out.Holder && s.Holder != in.Holder {
				next = append(next, s)
			}
		case outUnknown:
			next = append(next, s)
			if s.Held && s.Holder == in.Holder {
				n := s
				n.Ub, n.TTLMax = max(s.Ub, sat(out.Return, in.TTL)), max(s.TTLMax, in.TTL)
				n.Lb = max(s.Lb, in.Call+in.TTL)
				next = append(next, n)
			}
			if !s.Held || out.Return >= s.Lb {
				next = append(next, leaseState{Held: true, Holder: in.Holder, Lb: in.Call + in.TTL, Ub: sat(out.Return, in.TTL),
					TTLMin: in.TTL, TTLMax: in.TTL, MaxToken: s.MaxToken})
			}
		}
		return next
	case opRenew, opRelease:
		current := s.Held && s.Lease == in.Lease
		switch out.Result {
		case outRenewed:
			if in.Kind == opRenew && current && alive() && s.Token == out.Token {
				n := s
				n.Lb, n.Ub = max(s.Lb, in.Call+in.TTL), max(s.Ub, sat(out.Return, in.TTL))
				n.TTLMin, n.TTLMax = max(s.TTLMin, in.TTL), max(s.TTLMax, in.TTL)
				return []any{n}
			}
		case outReleased:
			if in.Kind == opRelease && current && alive() && s.Token == out.Token {
				return []any{free}
			}
		case outNotCurrent:
			if !current {
				return []any{s}
			}
			if out.Return >= s.Lb { // it expired
				return []any{free}
			}
		case outUnknown:
			if !current {
				return []any{s}
			}
			if in.Kind == opRelease {
				return []any{s, free}
			}
			n := s
			n.Ub, n.TTLMax = max(s.Ub, sat(out.Return, in.TTL)), max(s.TTLMax, in.TTL)
			return []any{s, n}
		}
		return nil
	case opGet:
		switch out.Result {
		case outFree:
			if !s.Held {
				return []any{s}
			}
			if out.Return >= s.Lb {
				return []any{free}
			}
		case outHeld:
			if alive() && s.Holder == out.Holder && (s.Token == out.Token || s.Token == 0 && out.Token > s.MaxToken) {
				n := s
				n.Token, n.MaxToken = out.Token, max(s.MaxToken, out.Token)
				return []any{n}
			}
		case outUnknown:
			return []any{s}
		}
		return nil
	case opRestart:
		if !s.Held {
			return []any{s}
		}
		// Every unreleased lease comes back with a fresh full TTL from the restart.
		n := s
		n.Lb, n.Ub = max(s.Lb, in.Call+s.TTLMin), max(s.Ub, sat(out.Return, s.TTLMax))
		next := []any{n}
		if in.Call >= s.Lb { // it may have expired, durably, before the crash
			next = append(next, free)
		}
		return next
	}
	return nil
}

// recorder collects a history from concurrent clients.
type recorder struct {
	origin time.Time
	mu     sync.Mutex
	ops    []porcupine.Operation
}

func newRecorder() *recorder { return &recorder{origin: time.Now()} }

// now returns client-monotonic nanoseconds.
func (r *recorder) now() int64 { return int64(time.Since(r.origin)) }

func (r *recorder) add(client int, in lockInput, out lockOutput) {
	r.mu.Lock()
	r.ops = append(r.ops, porcupine.Operation{ClientId: client, Input: in, Call: in.Call, Output: out, Return: out.Return})
	r.mu.Unlock()
}

func (r *recorder) history() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]porcupine.Operation(nil), r.ops...)
}

// verdict is the result of checking a history.
type verdict struct {
	ops, unknown, partitions int
	fencing                  []string // global fencing violations
	result                   porcupine.CheckResult
	info                     porcupine.LinearizationInfo
}

func (v verdict) violations() int {
	n := len(v.fencing)
	if v.result != porcupine.Ok {
		n++
	}
	return n
}

// checkHistory runs the model checker and the global fencing check: tokens are issued
// by one counter, so a lease id has one token, a token one lease id, and a grant that
// started after another returned has a larger token.
func checkHistory(history []porcupine.Operation, timeout time.Duration) verdict {
	v := verdict{ops: len(history)}
	type grant struct {
		call, ret, token int64
		lease            string
	}
	var grants []grant
	tokenOf := map[string]int64{}
	leaseOf := map[int64]string{}
	names := map[string]bool{}
	for _, op := range history {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		if in.Kind != opRestart {
			names[in.Name] = true
		}
		if out.Result == outUnknown {
			v.unknown++
		}
		if out.Result != outAcquired && out.Result != outRenewed && out.Result != outReleased {
			continue
		}
		if t, ok := tokenOf[out.Lease]; ok && t != out.Token {
			v.fencing = append(v.fencing, fmt.Sprintf("lease %s reported tokens %d and %d", out.Lease, t, out.Token))
		}
		if l, ok := leaseOf[out.Token]; ok && l != out.Lease {
			v.fencing = append(v.fencing, fmt.Sprintf("token %d issued to leases %s and %s", out.Token, l, out.Lease))
		}
		tokenOf[out.Lease], leaseOf[out.Token] = out.Token, out.Lease
		if out.Result == outAcquired {
			grants = append(grants, grant{in.Call, out.Return, out.Token, out.Lease})
		}
	}
	// First grant of each lease, in call order; compare with every earlier-returned one.
	// A lease first seen through a re-acquire may have been granted by an earlier
	// request of the same holder whose outcome is unknown: its call counts then.
	first := map[string]grant{}
	for _, g := range grants {
		if f, ok := first[g.lease]; !ok || g.call < f.call {
			first[g.lease] = g
		}
	}
	type nameHolder struct{ name, holder string }
	unknownSince := map[nameHolder]int64{}
	for _, op := range history {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		k := nameHolder{in.Name, in.Holder}
		if in.Kind == opAcquire && out.Result == outUnknown {
			if c, ok := unknownSince[k]; !ok || in.Call < c {
				unknownSince[k] = in.Call
			}
		}
	}
	for _, op := range history {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		if g, ok := first[out.Lease]; ok && in.Kind == opAcquire && out.Result == outAcquired && g.call == in.Call {
			if c, ok := unknownSince[nameHolder{in.Name, in.Holder}]; ok && c < g.call {
				g.call = c
				first[out.Lease] = g
			}
		}
	}
	byCall := make([]grant, 0, len(first))
	byRet := make([]grant, 0, len(first))
	for _, g := range first {
		byCall, byRet = append(byCall, g), append(byRet, g)
	}
	sort.Slice(byCall, func(i, j int) bool { return byCall[i].call < byCall[j].call })
	sort.Slice(byRet, func(i, j int) bool { return byRet[i].ret < byRet[j].ret })
	var maxDone int64
	j := 0
	for _, g := range byCall {
		for j < len(byRet) && byRet[j].ret < g.call {
			maxDone = max(maxDone, byRet[j].token)
			j++
		}
		if g.token <= maxDone {
			v.fencing = append(v.fencing, fmt.Sprintf("lease %s got token %d after token %d was returned", g.lease, g.token, maxDone))
		}
	}
	v.partitions = len(names)
	v.result, v.info = porcupine.CheckOperationsVerbose(lockModel.ToModel(), history, timeout)
	return v
}

// requireLinearizable fails t unless the history passes, and logs the figures. When it
// fails it writes porcupine's visualization next to the test's temporary files.
func requireLinearizable(t *testing.T, label string, history []porcupine.Operation, restarts int) verdict {
	t.Helper()
	start := time.Now()
	v := checkHistory(history, checkTimeout)
	t.Logf("%s: %d operations checked (%d unknown outcome) on %d lock names, %d restarts, %d violations, checked in %s",
		label, v.ops, v.unknown, v.partitions, restarts, v.violations(), time.Since(start).Round(time.Millisecond))
	summary(t, label, v.ops, restarts, v.violations())
	if v.violations() == 0 {
		return v
	}
	for i, f := range v.fencing {
		if i == 10 {
			break
		}
		t.Errorf("fencing: %s", f)
	}
	if v.result != porcupine.Ok {
		path := filepath.Join(os.TempDir(), fmt.Sprintf("octostore-%s-%d.html", label, time.Now().UnixNano()))
		if err := porcupine.VisualizePath(lockModel.ToModel(), v.info, path); err == nil {
			t.Logf("visualization: %s", path)
		}
		t.Errorf("history is not linearizable against the fenced lease model: %s", v.result)
		for _, part := range lockModel.Partition(history) {
			if porcupine.CheckOperations(lockModel.ToModel(), part) {
				continue
			}
			path := filepath.Join(os.TempDir(), fmt.Sprintf("octostore-%s-%d.txt", label, time.Now().UnixNano()))
			dumpHistory(path, part)
			t.Logf("failing partition %q (%d operations) written to %s", part[0].Input.(lockInput).Name, len(part), path)
			break
		}
	}
	return v
}

// checkTimeout bounds one porcupine run; reaching it fails the test as "Unknown".
const checkTimeout = 5 * time.Minute

// summary logs one line that `make soak` gathers into its table.
func summary(t *testing.T, label string, ops, restarts, violations int) {
	t.Helper()
	t.Logf("SUMMARY %s ops=%d restarts=%d violations=%d", label, ops, restarts, violations)
}

// dumpHistory writes a partition's operations in call order, for a human to read.
func dumpHistory(path string, ops []porcupine.Operation) {
	ops = append([]porcupine.Operation(nil), ops...)
	sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	var b strings.Builder
	for _, op := range ops {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		ret := "never"
		if op.Return != never {
			ret = fmt.Sprintf("%.3fms", float64(op.Return)/1e6)
		}
		fmt.Fprintf(&b, "%.3fms..%s c%d %s %s holder=%s lease=%s ttl=%s -> %s %d lease=%s token=%d holder=%s\n",
			float64(op.Call)/1e6, ret, op.ClientId, in.Kind, in.Name, in.Holder, in.Lease, time.Duration(in.TTL),
			out.Result, out.Status, out.Lease, out.Token, out.Holder)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
}
