package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// run runs a command only while holding a lock: it takes the lock (waiting up to --wait),
// starts the command with OCTOSTORE_FENCING_TOKEN in its environment, renews the lease in
// the background, and releases it when the command exits. If the lease is lost (the
// server no longer knows it, or no renewal succeeded before it would expire) the command
// gets SIGTERM at once and SIGKILL --grace later, and run exits 76.
//
// The command runs in its own process group, and every signal run sends or forwards
// goes to the whole group, so a shell wrapper's children stop too. On Linux the command
// also gets SIGKILL from the kernel if run itself dies, even by SIGKILL: a crashed
// supervisor never leaves an unprotected worker running. (That parent-death signal
// reaches the command itself; processes it starts in turn should not outlive it, so in a
// shell wrapper prefer `exec`.)
func (e env) run(args []string) int {
	fs := newFlagSet(e, "run", "<lock> [flags] -- <command…>")
	ttl := fs.Duration("ttl", 30*time.Second, "lease length (whole seconds, 1s to 1h); how long the lock outlives a crashed host")
	wait := fs.Duration("wait", 0, "how long to wait for the lock; 0 tries once")
	grace := fs.Duration("grace", 0, "time between SIGTERM and SIGKILL when the command must stop (default and maximum: a third of the TTL)")
	owner := fs.String("owner", "", "holder name (default: host, pid and a random suffix)")
	metadata := fs.String("metadata", "", "a small public value stored with the lease")
	maxHolders := fs.Int("max-holders", 1, "run while holding one of N places of the lock (a semaphore, like consul lock -n); every holder must use the same N")
	lockDelay := fs.Duration("lock-delay", 0, "after the lease expires (this process died or stalled), nobody gets the lock for this long (whole seconds, at most 60s)")
	pos, err := subFlags(fs, args)
	if err != nil || len(pos) < 3 || pos[1] != "--" {
		fs.Usage()
		return exitUsage
	}
	name, argv := pos[0], pos[2:]
	if *grace == 0 {
		*grace = *ttl / 3
	}
	if *ttl < time.Second || *ttl > time.Hour || *wait < 0 || *grace <= 0 || *grace > *ttl/3 {
		fmt.Fprintln(e.stderr, "octostore: --ttl is whole seconds from 1s to 1h, --wait must not be negative, and --grace must be positive and at most a third of --ttl")
		return exitUsage
	}
	if *maxHolders < 1 || *maxHolders > 64 || *lockDelay < 0 || *lockDelay > time.Minute || *lockDelay%time.Second != 0 {
		fmt.Fprintln(e.stderr, "octostore: --max-holders is 1 to 64, --lock-delay whole seconds from 0 to 60s")
		return exitUsage
	}
	opts := []octostore.Option{octostore.WithTTL(*ttl)}
	if *owner != "" {
		opts = append(opts, octostore.WithOwner(*owner))
	}
	if *metadata != "" {
		opts = append(opts, octostore.WithMetadata(*metadata))
	}
	if *lockDelay > 0 {
		opts = append(opts, octostore.WithLockDelay(*lockDelay))
	}
	var m locker
	if *maxHolders > 1 {
		m, err = newSemaphoreLocker(e.client, name, *maxHolders, opts...)
	} else {
		m, err = octostore.NewMutex(e.client, name, opts...)
	}
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	if code, ok := e.lock(m, *wait, sigs); !ok {
		return code
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	cmd.Env = append(os.Environ(),
		"OCTOSTORE_FENCING_TOKEN="+strconv.FormatInt(m.Token(), 10),
		"OCTOSTORE_LOCK="+name)
	cmd.SysProcAttr = sysProcAttr()
	started, exited := make(chan error, 1), make(chan error, 1)
	go func() {
		// The parent-death signal follows the thread that started the child, not the
		// process: keep this goroutine on its thread until the child is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		m.Unlock(context.Background())
		fmt.Fprintf(e.stderr, "octostore: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return exitCannotExec
	}
	for {
		select {
		case err := <-exited:
			if rerr := m.Unlock(context.Background()); rerr != nil && !errors.Is(rerr, octostore.ErrNotHeld) {
				fmt.Fprintf(e.stderr, "octostore: release: %v\n", rerr)
			}
			return exitCode(cmd, err)
		case s := <-sigs:
			signalCommand(cmd.Process, s.(syscall.Signal))
		case <-m.Done():
			fmt.Fprintf(e.stderr, "octostore: lock %s lost; stopping the command\n", name)
			signalCommand(cmd.Process, syscall.SIGTERM)
			t := time.NewTimer(*grace)
			select {
			case <-exited:
			case <-t.C:
				signalCommand(cmd.Process, syscall.SIGKILL)
				<-exited
			}
			t.Stop()
			return exitLockLost
		}
	}
}

// lock takes m, waiting up to wait, and gives up on a signal. It returns false and the
// exit code when the command must not run.
func (e env) lock(m locker, wait time.Duration, sigs <-chan os.Signal) (int, bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if wait > 0 {
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() {
		if wait > 0 {
			done <- m.Lock(ctx)
		} else {
			done <- m.TryLock(ctx)
		}
	}()
	var err error
	select {
	case err = <-done:
	case s := <-sigs:
		cancel()
		if <-done == nil {
			m.Unlock(context.Background())
		}
		return 128 + int(s.(syscall.Signal)), false
	}
	switch {
	case err == nil:
		return 0, true
	case errors.Is(err, octostore.ErrLocked), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.stderr, "octostore: lock %s is held by someone else; not running the command\n", m.Name())
		return exitNotAcquired, false
	}
	fmt.Fprintf(e.stderr, "octostore: acquire %s: %v\n", m.Name(), err)
	return exitError, false
}

// exitCode is the command's exit code, or 128+N when signal N ended it.
func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return exitError
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// locker is what run needs of a Mutex, or of a Semaphore with --max-holders.
type locker interface {
	Lock(ctx context.Context) error
	TryLock(ctx context.Context) error
	Unlock(ctx context.Context) error
	Token() int64
	Done() <-chan struct{}
	Name() string
}

// semaphoreLocker lets a Semaphore stand where run uses a Mutex.
type semaphoreLocker struct{ *octostore.Semaphore }

func newSemaphoreLocker(c *octostore.ClientWithResponses, name string, n int, opts ...octostore.Option) (locker, error) {
	s, err := octostore.NewSemaphore(c, name, n, opts...)
	if err != nil {
		return nil, err
	}
	return semaphoreLocker{s}, nil
}

func (s semaphoreLocker) Lock(ctx context.Context) error    { return s.Acquire(ctx) }
func (s semaphoreLocker) TryLock(ctx context.Context) error { return s.TryAcquire(ctx) }
func (s semaphoreLocker) Unlock(ctx context.Context) error  { return s.Release(ctx) }
