//go:build faults

package main

// The fault suite (make faults): storage faults injected under the real binary, over
// loopback. Each test checks that the process stays alive, that clients see 503 with
// Retry-After and never a 500 during the fault, that the server recovers by itself when
// the fault is over (where that is possible), that no acknowledged change is lost and no
// unacknowledged change becomes visible, and that fencing tokens strictly increase over
// the whole history, across restores and the loss of the WAL. Mounting needs root; those
// parts skip with a message otherwise.
//
// OCTOSTORE_FAULT_BIN runs the suite against another build of the server (for example
// the one before issue 13), to show that each test fails against it.

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faultBinary is the server under test.
func faultBinary() string {
	if b := os.Getenv("OCTOSTORE_FAULT_BIN"); b != "" {
		return b
	}
	return binary
}

func startFault(t *testing.T, dir string, wantToken bool, env ...string) *proc {
	t.Helper()
	// The ledger holds every other lock it takes.
	env = append([]string{"MAX_LOCKS_PER_ACCOUNT=1000000"}, env...)
	return startBinary(t, faultBinary(), dir, "127.0.0.1:0", wantToken, env...)
}

func needRoot(t *testing.T, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("skipping %s: it mounts file systems and needs root (run make faults as root; CI does)", what)
	}
}

// ledgerOp is one client call and what it answered.
type ledgerOp struct {
	kind        string // "acquire" or "release"
	name        string
	sent, acked time.Time
	status      int
	code        string
	retryAfter  string
	token       int64
	leaseID     string
	err         error // transport error: the outcome is unknown
}

func (o ledgerOp) ok() bool { return o.err == nil && o.status == 200 }

// ledger runs acquires (TTL one hour) of fresh names, releasing every other one, and
// keeps every answer: a history in which each name is granted at most once, so what the
// database must hold afterwards follows from the answers alone.
type ledger struct {
	t      *testing.T
	client *http.Client
	token  string

	mu   sync.Mutex
	ops  []ledgerOp
	next int
}

func newLedger(t *testing.T, token string) *ledger {
	return &ledger{t: t, token: token, client: &http.Client{Timeout: 20 * time.Second}}
}

func (l *ledger) call(url, kind, name string, body any) ledgerOp {
	op := ledgerOp{kind: kind, name: name, sent: time.Now()}
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url+"/locks/"+name+"/"+kind, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+l.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := l.client.Do(req)
	op.acked = time.Now()
	if err != nil {
		op.err = err
	} else {
		var out struct {
			FencingToken int64  `json:"fencing_token"`
			LeaseID      string `json:"lease_id"`
			Code         string `json:"code"`
			Status       string `json:"status"`
		}
		json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		op.status, op.code, op.retryAfter = res.StatusCode, out.Code, res.Header.Get("Retry-After")
		op.token, op.leaseID = out.FencingToken, out.LeaseID
		if res.StatusCode == 200 && out.Status != "acquired" && out.Status != "released" {
			op.status = -1 // held: cannot happen for a fresh name
		}
	}
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
	return op
}

// step acquires a fresh name and releases every other one; it returns the acquire.
func (l *ledger) step(url string) ledgerOp {
	l.mu.Lock()
	i := l.next
	l.next++
	l.mu.Unlock()
	name := fmt.Sprintf("n%d", i)
	// Metadata makes every grant take room on the disk: a full one refuses soon.
	a := l.call(url, "acquire", name, map[string]any{"ttl_seconds": 3600, "metadata": strings.Repeat("m", 1000)})
	if a.ok() && i%2 == 0 {
		l.call(url, "release", name, map[string]any{"lease_id": a.leaseID})
	}
	return a
}

// run makes n steps from each of clients goroutines.
func (l *ledger) run(url string, clients, n int) {
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				l.step(url)
			}
		}()
	}
	wg.Wait()
}

// figures are what one fault test reports.
type figures struct {
	faults, recoveries, ops, violations int
	seen503, seen500                    int
}

func (f *figures) violate(t *testing.T, format string, args ...any) {
	t.Helper()
	f.violations++
	t.Errorf(format, args...)
}

func (f *figures) print(t *testing.T) {
	t.Helper()
	line := fmt.Sprintf("FAULTS %s faults=%d recoveries=%d ops=%d 503s=%d 500s=%d violations=%d",
		t.Name(), f.faults, f.recoveries, f.ops, f.seen503, f.seen500, f.violations)
	t.Log(line)
	fmt.Println(line)
}

// checkAnswers checks every answer of ops from index from on: no 500, a 503 carries
// Retry-After.
func (l *ledger) checkAnswers(t *testing.T, f *figures, from int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, op := range l.ops[from:] {
		switch {
		case op.err != nil:
		case op.status >= 500 && op.status != 503:
			f.seen500++
			f.violate(t, "%s %s answered %d %s during a fault", op.kind, op.name, op.status, op.code)
		case op.status == 503:
			f.seen503++
			if op.retryAfter == "" || op.code != "unavailable" {
				f.violate(t, "503 without Retry-After or code unavailable: %q %q", op.retryAfter, op.code)
			}
		}
	}
}

// checkFencing checks that a token acknowledged after another was acknowledged
// (real time) is larger than it, over the whole history.
func (l *ledger) checkFencing(t *testing.T, f *figures) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var grants []ledgerOp
	for _, op := range l.ops {
		if op.kind == "acquire" && op.ok() {
			grants = append(grants, op)
		}
	}
	for _, a := range grants {
		for _, b := range grants {
			if a.acked.Before(b.sent) && b.token <= a.token {
				f.violate(t, "fencing: %s got %d after %s had %d", b.name, b.token, a.name, a.token)
				return
			}
		}
	}
}

// checkState reads every name of the history from the server and compares it with the
// answers: an acknowledged grant not acknowledged released is held with its token, an
// acknowledged release is free, an acquire that was refused is free. acked limits the
// names touched at or after it "unknown" (the state of a backup taken at acked).
func (l *ledger) checkState(t *testing.T, f *figures, p *proc, acked time.Time) {
	l.checkStateWhile(t, f, p, acked, false)
}

// checkStateWhile is checkState; during a fault a read whose answer depends on a change
// that was not made durable may answer 503, otherwise every read must answer 200.
func (l *ledger) checkStateWhile(t *testing.T, f *figures, p *proc, acked time.Time, fault bool) {
	t.Helper()
	l.mu.Lock()
	ops := append([]ledgerOp(nil), l.ops...)
	l.mu.Unlock()
	type want struct {
		grant    *ledgerOp
		released bool
		refused  bool
		unknown  bool
	}
	names := map[string]*want{}
	for i := range ops {
		op := &ops[i]
		w := names[op.name]
		if w == nil {
			w = &want{}
			names[op.name] = w
		}
		switch {
		case !acked.IsZero() && !op.acked.Before(acked):
			w.unknown = true
		case op.kind == "acquire" && op.ok():
			w.grant = op
		case op.kind == "acquire" && op.err == nil && op.status >= 400:
			w.refused = true
		case op.kind == "release" && op.ok():
			w.released = true
		default:
			w.unknown = true
		}
	}
	for name, w := range names {
		f.ops++
		s := p.call(t, "GET", "/locks/"+name, l.token, nil)
		held := s["status"] == "held"
		tok, _ := s["fencing_token"].(float64)
		switch {
		case s["http_status"] != float64(200) && !(fault && s["http_status"] == float64(503)):
			f.violate(t, "%s: read answered %v", name, s)
		case w.unknown:
		case w.released && held:
			f.violate(t, "%s: acknowledged release undone: %v", name, s)
		case w.grant != nil && !w.released && (!held || int64(tok) != w.grant.token):
			f.violate(t, "%s: acknowledged grant (token %d) lost: %v", name, w.grant.token, s)
		case w.grant == nil && w.refused && held:
			f.violate(t, "%s: a refused acquire became visible: %v", name, s)
		}
	}
}

// get returns the status code and body of a GET without credentials.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// untilReady polls /ready, up to a minute; it reports whether the server became ready.
func untilReady(t *testing.T, p *proc) bool {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if code, _ := get(t, p.url+"/ready"); code == 200 {
			return true
		}
	}
	return false
}

func alive(p *proc) bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func mount(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
		t.Fatalf("mount %v: %v %s", args, err, out)
	}
}

// unmountAtCleanup unmounts dir when the test ends (after its processes were stopped).
func unmountAtCleanup(t *testing.T, dir string) {
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	// The last partial blocks too.
	for _, n := range []int{4096, 512, 1} {
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
	return path
}

func TestFaultDiskFullDegradesAndRecoversWithoutRestart(t *testing.T) {
	needRoot(t, "the full-disk fault (tmpfs)")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o700)
	mount(t, "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt)
	unmountAtCleanup(t, mnt)
	var filler string
	degradeAndRecover(t, dir, mnt, "a full disk",
		func() { filler = fill(t, mnt) },
		func() { os.Remove(filler) })
}

// TestFaultReadOnlyExt4DegradesAndRecoversWithoutRestart makes an ext4 file system on a
// loop device refuse every write. `mount -o remount,ro` is refused by the kernel (EBUSY)
// while the server holds its files open for writing, so the files and their directory
// are made immutable instead (chattr +i): every write to the open files then fails
// (EPERM), as on a file system gone read-only, until chattr -i.
func TestFaultReadOnlyExt4DegradesAndRecoversWithoutRestart(t *testing.T) {
	needRoot(t, "the read-only ext4 fault (loop device)")
	for _, tool := range []string{"mkfs.ext4", "losetup", "chattr"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping the read-only ext4 fault: %s not installed", tool)
		}
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "ext4.img"), filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o700)
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 64<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", loop).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v %s", loop, err, out)
		}
	})
	mount(t, loop, mnt)
	unmountAtCleanup(t, mnt)
	data := filepath.Join(mnt, "data")
	os.Mkdir(data, 0o700)
	immutable := func(flag string) {
		paths, _ := filepath.Glob(filepath.Join(data, "*"))
		for _, p := range append(paths, data) {
			if out, err := exec.Command("chattr", flag, p).CombinedOutput(); err != nil {
				t.Fatalf("chattr %s %s: %v %s", flag, p, err, out)
			}
		}
	}
	t.Cleanup(func() { immutable("-i") })
	degradeAndRecover(t, dir, data, "a read-only file system",
		func() { immutable("+i") },
		func() { immutable("-i") })
}

// degradeAndRecover runs the server with its database in dbDir under load, and three
// times injects a fault (inject) that makes the disk refuse writes, checks the answers
// while it lasts, heals it and checks that the server recovers by itself; then it
// restarts the server and checks the whole history.
func degradeAndRecover(t *testing.T, dir, dbDir, what string, inject, heal func()) {
	t.Helper()
	db := "DATABASE_URL=" + filepath.Join(dbDir, "octostore.db")
	p := startFault(t, dir, true, db)
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	l := newLedger(t, p.token)
	var f figures
	defer f.print(t)

	for round := 0; round < 3; round++ {
		l.run(p.url, 4, 50)
		from := len(l.ops)
		inject()
		f.faults++
		refused := f.seen503
		// Keep writing until the server has refused some writes (a full disk may still
		// take commits into space the WAL already has), at most 10,000 steps.
		for i := 0; i < 10000 && f.seen503 == refused && alive(p); i++ {
			l.step(p.url)
			l.checkAnswers(t, &f, len(l.ops)-1)
		}
		l.run(p.url, 4, 20)
		if !alive(p) {
			heal()
			f.violate(t, "round %d: the server died on %s: %v\n%s", round, what, p.waitErr, p.stdout)
			return
		}
		f.seen503 = refused // counted again by the check of the whole round
		l.checkAnswers(t, &f, from)
		if f.seen503 == refused {
			f.violate(t, "round %d: %s never refused a write", round, what)
		}
		if code, body := get(t, p.url+"/ready"); code != 503 {
			f.violate(t, "round %d: /ready answered %d %s on %s", round, code, body, what)
		}
		if _, body := get(t, p.url+"/health"); !strings.Contains(body, `"degraded"`) {
			f.violate(t, "round %d: /health does not say degraded: %s", round, body)
		}
		// Token writes are refused the same way, not with a 500.
		if r := p.call(t, "POST", "/auth/token/rotate", l.token, nil); r["http_status"] != float64(503) || r["code"] != "unavailable" {
			f.violate(t, "round %d: token rotation on %s: %v", round, what, r)
		}
		// Reads of durable state keep working.
		l.checkStateWhile(t, &f, p, time.Time{}, true)
		heal()
		if !untilReady(t, p) {
			f.violate(t, "round %d: no recovery within a minute after %s was healed:\n%s", round, what, serverLog(p))
			return
		}
		f.recoveries++
		l.run(p.url, 4, 50)
		l.checkState(t, &f, p, time.Time{})
	}
	p.kill(syscall.SIGKILL)
	p = startFault(t, dir, false, db)
	l.run(p.url, 2, 20)
	l.checkState(t, &f, p, time.Time{})
	l.checkFencing(t, &f)
	f.ops += len(l.ops)
	checkIntegrity(t, filepath.Join(dbDir, "octostore.db"))
}

func TestFaultDatabaseRemovedUnderRunningServerThenRestoredFromBackup(t *testing.T) {
	dir := t.TempDir()
	const key = "fault-suite-admin-key-0123456789"
	path := filepath.Join(dir, "octostore.db")
	env := []string{"ADMIN_KEY=" + key, "DATABASE_URL=" + path}
	p := startFault(t, dir, false, env...)
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	token := createAccount(t, p, key)
	l := newLedger(t, token)
	var f figures
	defer f.print(t)

	// A backup taken under load.
	l.run(p.url, 2, 30)
	load := make(chan struct{})
	go func() { defer close(load); l.run(p.url, 2, 30) }()
	backup := filepath.Join(dir, "backup.db")
	takenAt, backedUp := downloadBackup(t, p, key, backup)
	if !backedUp {
		f.violate(t, "no online backup")
	}
	<-load
	l.run(p.url, 2, 20)

	from := len(l.ops)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	f.faults++
	l.run(p.url, 2, 20)
	if !alive(p) {
		f.violate(t, "the server died when its files were removed")
		return
	}
	l.mu.Lock()
	for _, op := range l.ops[from:] {
		if op.ok() {
			f.violate(t, "%s %s acknowledged into a removed database", op.kind, op.name)
		}
	}
	l.mu.Unlock()
	l.checkAnswers(t, &f, from)
	if code, _ := get(t, p.url+"/ready"); code != 503 {
		f.violate(t, "/ready answered %d with the database removed", code)
	}
	if _, body := get(t, p.url+"/health"); !strings.Contains(body, "removed or replaced") {
		f.violate(t, "/health does not say why: %s", body)
	}

	// A restart does not silently start a new database.
	p.kill(syscall.SIGTERM)
	cmd := exec.Command(faultBinary(), "--bind-addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	out, err := runBounded(cmd)
	if err == nil || !strings.Contains(out, "missing or empty") {
		f.violate(t, "a start without the database did not refuse: %v %s", err, out)
	}
	// Nor with an empty file in its place.
	os.Remove(path)
	os.WriteFile(path, nil, 0o600)
	cmd = exec.Command(faultBinary(), "--bind-addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	if out, err := runBounded(cmd); err == nil || !strings.Contains(out, "missing or empty") {
		f.violate(t, "a start on an empty database file did not refuse: %v %s", err, out)
	}

	if !backedUp {
		return
	}
	// Restore: stop (done), replace, start.
	data, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startFault(t, dir, false, env...)
	f.recoveries++
	// The restored state is the backup's: everything acknowledged before it was taken
	// (the backup began at takenAt) is there.
	l.checkState(t, &f, p, takenAt)
	l.run(p.url, 2, 20)
	l.checkFencing(t, &f)
	f.ops += len(l.ops)
}

func TestFaultWALRemovedAfterKill9ReissuesNoToken(t *testing.T) {
	dir := t.TempDir()
	p := startFault(t, dir, true)
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	// The account goes into the database file itself, so it survives the loss of the
	// WAL; the leases and the fencing reservation that follow live in the WAL only.
	checkpoint(t, filepath.Join(dir, "octostore.db"))
	l := newLedger(t, p.token)
	var f figures
	defer f.print(t)
	for round := 0; round < 3; round++ {
		l.run(p.url, 2, 30)
		p.kill(syscall.SIGKILL)
		os.Remove(filepath.Join(dir, "octostore.db-wal"))
		f.faults++
		p = startFault(t, dir, false)
		f.recoveries++
	}
	l.run(p.url, 2, 30)
	l.mu.Lock()
	for _, op := range l.ops {
		if op.err != nil || op.status != 200 {
			f.violate(t, "%s %s: %d %s %v", op.kind, op.name, op.status, op.code, op.err)
			break
		}
	}
	l.mu.Unlock()
	l.checkFencing(t, &f)
	f.ops += len(l.ops)
	p.kill(syscall.SIGKILL)
	checkIntegrity(t, filepath.Join(dir, "octostore.db"))
}

func createAccount(t *testing.T, p *proc, key string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", p.url+"/admin/accounts", strings.NewReader(`{"name":"faults"}`))
	req.Header.Set("X-Admin-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != 201 || out.Token == "" {
		t.Fatalf("create account: %d", res.StatusCode)
	}
	return out.Token
}

// downloadBackup saves GET /admin/backup to path and returns when the request was sent;
// false when the server has no backup endpoint.
func downloadBackup(t *testing.T, p *proc, key, path string) (time.Time, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.url+"/admin/backup", nil)
	req.Header.Set("X-Admin-Key", key)
	sent := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == 404 {
		return sent, false
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("backup: %d %s", res.StatusCode, b)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, res.Body); err != nil {
		t.Fatal(err)
	}
	out.Close()
	checkIntegrity(t, path)
	return sent, true
}

func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&verdict); err != nil || verdict != "ok" {
		t.Errorf("integrity_check %s: %q %v", path, verdict, err)
	}
}

// runBounded runs a command that is expected to exit at once; it is killed after 30 s.
func runBounded(cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		return out.String(), nil
	}
}

// serverLog is the server's log without its per-request lines.
func serverLog(p *proc) string {
	var keep []string
	for _, line := range strings.Split(p.stdout.String(), "\n") {
		if !strings.Contains(line, "msg=request") && !strings.Contains(line, `msg="request failed"`) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// checkpoint moves the WAL of the running server's database into the database file.
func checkpoint(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
}
