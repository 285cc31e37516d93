package impl

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/lease"
)

// listNames pages through path (which has a query already, or none) with limit, and
// returns every name in order and the page sizes. between runs after each page but the
// last, with the page number.
func (ts *testServer) pageThrough(path, token, field, key string, limit int, between func(page int), headers ...string) (names []string, sizes []int) {
	ts.t.Helper()
	cursor := ""
	for page := 0; page < 100; page++ {
		q := url.Values{}
		if limit > 0 {
			q.Set("limit", fmt.Sprint(limit))
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := ts.do("GET", path+"?"+q.Encode(), token, nil, headers...)
		if r.status != 200 {
			ts.t.Fatalf("page %d: %d %s", page, r.status, r.raw)
		}
		items, _ := r.body[field].([]any)
		sizes = append(sizes, len(items))
		for _, it := range items {
			names = append(names, it.(map[string]any)[key].(string))
		}
		next, ok := r.body["next_cursor"].(string)
		if !ok {
			if _, present := r.body["next_cursor"]; present {
				ts.t.Fatalf("next_cursor present but not a string: %s", r.raw)
			}
			return names, sizes
		}
		cursor = next
		if between != nil {
			between(page)
		}
	}
	ts.t.Fatal("more than 100 pages")
	return nil, nil
}

func TestListLocksPagesByName(t *testing.T) {
	ts := newTestServer(t, Config{MaxLocksPerAccount: 2000})
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("lock-%03d", (i*7)%250) // acquired out of order
		ts.acquire(ts.token, name, 600, "")
		want = append(want, name)
	}
	slices.Sort(want)
	names, sizes := ts.pageThrough("/locks", ts.token, "locks", "name", 0, nil)
	if !slices.Equal(names, want) || fmt.Sprint(sizes) != "[100 100 50]" {
		t.Fatalf("default pages %v: %v", sizes, names)
	}
	if _, sizes := ts.pageThrough("/locks", ts.token, "locks", "name", 1000, nil); fmt.Sprint(sizes) != "[250]" {
		t.Fatalf("limit 1000: %v", sizes)
	}
	// A full last page has no empty page after it.
	if _, sizes := ts.pageThrough("/locks", ts.token, "locks", "name", 125, nil); fmt.Sprint(sizes) != "[125 125]" {
		t.Fatalf("limit 125: %v", sizes)
	}
}

// The change is additive on the wire: an account with no more locks than a page gets the
// same body as before, without next_cursor.
func TestListLocksWithoutParametersIsTheOldAnswer(t *testing.T) {
	ts := newTestServer(t, Config{})
	for i := range 100 { // the default limit of locks per account
		ts.acquire(ts.token, fmt.Sprintf("l%03d", i), 60, "")
	}
	r := ts.do("GET", "/locks", ts.token, nil)
	if r.status != 200 || strings.Contains(string(r.raw), "next_cursor") || len(r.body["locks"].([]any)) != 100 {
		t.Fatalf("%d %.200s", r.status, r.raw)
	}
}

// Keyset paging is stable while locks come and go: every lock that exists during the
// whole paging is listed exactly once, a lock released before its page is not listed,
// and a new lock is listed when its name is after the cursor.
func TestListLocksPagingIsStableUnderChanges(t *testing.T) {
	ts := newTestServer(t, Config{MaxLocksPerAccount: 2000})
	leases := map[string]string{}
	for i := range 30 {
		name := fmt.Sprintf("n%02d", i*2) // n00, n02, … n58
		leases[name] = ts.acquire(ts.token, name, 600, "").str("lease_id")
	}
	names, sizes := ts.pageThrough("/locks", ts.token, "locks", "name", 10, func(page int) {
		if page != 0 {
			return
		}
		// After the first page (n00..n18): release one seen and one not yet seen, add
		// one before the cursor and two after it.
		for _, n := range []string{"n04", "n30"} {
			ts.do("POST", "/locks/"+n+"/release", ts.token, map[string]any{"lease_id": leases[n]})
		}
		for _, n := range []string{"n01", "n19", "n99"} {
			ts.acquire(ts.token, n, 600, "")
		}
	})
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("n%02d", i*2))
	}
	want = slices.DeleteFunc(want, func(n string) bool { return n == "n30" })
	want = append(want, "n19", "n99")
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("pages %v\n got %v\nwant %v", sizes, names, want)
	}
}

func TestBadPageParametersAreRefusedAndChangeNothing(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxLocksPerAccount: 2000})
	a, b := ts.newAccount("a"), ts.newAccount("b")
	for i := range 3 {
		ts.acquire(a, fmt.Sprintf("a%d", i), 600, "")
		ts.acquire(b, fmt.Sprintf("b%d", i), 600, "")
	}
	before := ts.do("GET", "/locks", a, nil).raw
	locksCursor := ts.do("GET", "/locks?limit=1", a, nil).str("next_cursor")
	admin := []string{"X-Admin-Key", testAdminKey}
	accountsCursor := ts.do("GET", "/admin/accounts?limit=1", "", nil, admin...).str("next_cursor")
	if locksCursor == "" || accountsCursor == "" {
		t.Fatal("no cursors")
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, q := range []string{"limit=0", "limit=1001", "limit=-1", "limit=x", "limit=1.5", "limit=99999999999"} {
		wantProblem(t, ts.do("GET", "/locks?"+q, a, nil), 400, "invalid_limit")
		wantProblem(t, ts.do("GET", "/admin/accounts?"+q, "", nil, admin...), 400, "invalid_limit")
	}
	for name, c := range map[string]string{
		"not base64":            "!!!",
		"padded base64":         enc(`{"l":"locks","n":"a0"}`) + "=",
		"not JSON":              enc("hello"),
		"unknown field":         enc(`{"l":"locks","n":"a0","x":1}`),
		"no scope":              enc(`{"l":"locks","n":"a0"}`),
		"empty name":            enc(`{"l":"locks","s":"` + scopeOf(ts.key(a, "x").Account) + `"}`),
		"trailing data":         enc(`{"l":"locks","n":"a0"}{}`),
		"another account's":     ts.do("GET", "/locks?limit=1", b, nil).str("next_cursor"),
		"the accounts list's":   accountsCursor,
		"too long":              strings.Repeat("A", 513),
		"empty":                 "",
		"JSON null":             enc("null"),
		"wrong list, right key": enc(`{"l":"accounts","s":"` + scopeOf(ts.key(a, "x").Account) + `","n":"a0"}`),
	} {
		r := ts.do("GET", "/locks?cursor="+url.QueryEscape(c), a, nil)
		if r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	for name, c := range map[string]string{"a lock list's": locksCursor, "not base64": "%%%", "no id": enc(`{"l":"accounts","t":5}`)} {
		r := ts.do("GET", "/admin/accounts?cursor="+url.QueryEscape(c), "", nil, admin...)
		if r.status != 400 || r.str("code") != "invalid_cursor" {
			t.Errorf("accounts, %s: %d %s", name, r.status, r.raw)
		}
	}
	if after := ts.do("GET", "/locks", a, nil).raw; string(after) != string(before) {
		t.Fatalf("changed:\n%s\n%s", before, after)
	}
}

func TestListAccountsPagesOldestFirst(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	admin := []string{"X-Admin-Key", testAdminKey}
	var ids []string
	for i := range 25 {
		_, id := ts.newAccountWithID(fmt.Sprintf("acct-%02d", i))
		ids = append(ids, id)
		if i%3 == 0 {
			ts.clock.Advance(1500 * time.Millisecond) // some share a creation millisecond, some do not
		}
	}
	all, sizes := ts.pageThrough("/admin/accounts", "", "accounts", "account_id", 0, nil, admin...)
	if len(all) != 25 || fmt.Sprint(sizes) != "[25]" {
		t.Fatalf("default page: %v", sizes)
	}
	// An account created during the paging is on the last page; none is listed twice.
	var added string
	names, sizes := ts.pageThrough("/admin/accounts", "", "accounts", "account_id", 10, func(page int) {
		if page == 0 {
			_, added = ts.newAccountWithID("late")
		}
	}, admin...)
	if fmt.Sprint(sizes) != "[10 10 6]" || !slices.Equal(names[:25], all) || names[25] != added {
		t.Fatalf("pages %v: %v (added %s)", sizes, names, added)
	}
	slices.Sort(ids)
	got := slices.Clone(all)
	slices.Sort(got)
	if !slices.Equal(got, ids) {
		t.Fatalf("accounts %v, want %v", got, ids)
	}
}

// The engine's page is the sorted list's slice after the cursor.
func TestEngineListPage(t *testing.T) {
	e := lease.New(lease.Config{MaxLocksPerAccount: 100})
	now := newFakeClock().Now()
	for _, n := range []string{"c", "a", "e", "b", "d"} {
		if _, err := e.Apply(lease.Acquire{Key: lease.Key{Account: "x", Name: n}, Holder: lease.Holder{TokenID: "tok"}, TTL: time.Minute, LeaseID: n}, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		after string
		limit int
		want  string
		more  bool
	}{{"", 2, "[a b]", true}, {"b", 2, "[c d]", true}, {"d", 2, "[e]", false}, {"", 5, "[a b c d e]", false}, {"bb", 1, "[c]", true}, {"e", 3, "[]", false}} {
		page, more, _ := e.ListPage("x", c.after, c.limit)
		var names []string
		for _, l := range page {
			names = append(names, l.Name)
		}
		if got := fmt.Sprint(names); got != c.want && !(c.want == "[]" && len(names) == 0) || more != c.more {
			t.Errorf("after %q limit %d: %v %v, want %s %v", c.after, c.limit, names, more, c.want, c.more)
		}
	}
}
