package impl

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// Cursor pagination for the list operations. A cursor is the sort key of the last item
// of a page, so the next page starts after it (keyset pagination, never an offset): an
// item that exists during the whole paging is listed exactly once, whatever is added or
// removed meanwhile. Cursors are base64url JSON, opaque to clients; they name the list
// and the scope (the caller's account, hashed) they belong to, and a cursor of another
// list or account is refused like a malformed one.

// The lists that hand out cursors.
const (
	listLocks    = "locks"
	listAccounts = "accounts"
)

// Page sizes, as the spec's Limit parameter states them.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// maxCursorBytes bounds a decoded cursor; the spec bounds the encoded one (512).
const maxCursorBytes = 384

// errInvalidCursor is a cursor this server did not hand out for this list and caller.
var errInvalidCursor = errors.New("invalid cursor")

// cursor is a position in a list. Which fields are set depends on the list.
type cursor struct {
	List  string `json:"l"`
	Scope string `json:"s,omitempty"` // the account a lock list belongs to, hashed
	Name  string `json:"n,omitempty"` // locks: the last lock name
	Ms    int64  `json:"t,omitempty"` // accounts: the last account's creation, Unix ms
	ID    string `json:"i,omitempty"` // accounts: the last account's id
}

// page is a list request's position and size.
type page struct {
	after cursor // zero for the first page
	limit int
}

// scopeOf names an account in a cursor without showing its id.
func scopeOf(account string) string {
	if account == "" {
		return ""
	}
	h := sha256.Sum256([]byte("octostore-cursor\x00" + account))
	return base64.RawURLEncoding.EncodeToString(h[:9])
}

// openPage reads a list request's cursor and limit (the validator has checked the
// limit's range and the cursor's length already).
func openPage(raw *string, limit *int32, list, account string) (page, error) {
	p := page{limit: defaultPageSize}
	if limit != nil {
		p.limit = int(*limit)
	}
	if p.limit < 1 || p.limit > maxPageSize {
		return page{}, errInvalidLimit
	}
	if raw == nil {
		return p, nil
	}
	c, err := decodeCursor(*raw)
	if err != nil || c.List != list || c.Scope != scopeOf(account) || !c.valid() {
		return page{}, errInvalidCursor
	}
	p.after = c
	return p, nil
}

// errInvalidLimit is a page size outside 1..maxPageSize.
var errInvalidLimit = errors.New("invalid page size")

func decodeCursor(s string) (cursor, error) {
	if len(s) > base64.RawURLEncoding.EncodedLen(maxCursorBytes) {
		return cursor{}, errInvalidCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return cursor{}, errInvalidCursor
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return cursor{}, errInvalidCursor
	}
	return c, nil
}

// valid reports whether the cursor's key could be one of its list's.
func (c cursor) valid() bool {
	switch c.List {
	case listLocks, listPrefix:
		return c.Name != "" && len(c.Name) <= 128 && c.Ms == 0 && c.ID == ""
	case listAccounts:
		return c.ID != "" && len(c.ID) <= 64 && c.Name == ""
	}
	return false
}

// encodeCursor is the cursor for the page after one whose last item has key c.
func encodeCursor(c cursor) *string {
	b, _ := json.Marshal(c)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}
