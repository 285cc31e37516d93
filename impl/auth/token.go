// Package auth mints and checks OctoStore's bearer tokens and keeps the accounts they
// belong to.
//
// A token reads "oct_" + token id + "_" + 256 random bits in base64url. The token id is
// public (it names the holder of a lock); the secret part is shown once and the server
// keeps only the SHA-256 hash of the whole token, compared in constant time.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"strings"
)

const (
	tokenPrefix   = "oct_"
	idRandomChars = 12
	secretBytes   = 32
	// secretChars is the length of 32 bytes in unpadded base64url.
	secretChars = 43
	tokenIDLen  = len("tok_") + idRandomChars
	tokenLen    = len(tokenPrefix) + tokenIDLen + 1 + secretChars
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix followed by 12 random lowercase base32 characters (60 bits).
func newID(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])[:idRandomChars]
}

// NewAccountID returns a fresh account id, "acc_" and 12 characters.
func NewAccountID() string { return newID("acc_") }

// NewTokenID returns a fresh token id, "tok_" and 12 characters.
func NewTokenID() string { return newID("tok_") }

// Mint returns a new secret token for tokenID and the hash to store.
func Mint(tokenID string) (token string, hash []byte) {
	var secret [secretBytes]byte
	rand.Read(secret[:])
	token = tokenPrefix + tokenID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	return token, Hash(token)
}

// Hash returns the SHA-256 of a token, the only form in which tokens are stored.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ParseToken returns the token id embedded in a well-formed token.
func ParseToken(token string) (tokenID string, ok bool) {
	if len(token) != tokenLen || !strings.HasPrefix(token, tokenPrefix) {
		return "", false
	}
	id := token[len(tokenPrefix) : len(tokenPrefix)+tokenIDLen]
	if !strings.HasPrefix(id, "tok_") || token[len(tokenPrefix)+tokenIDLen] != '_' {
		return "", false
	}
	return id, true
}

// ParseBearer extracts the token from an Authorization header value.
func ParseBearer(header string) (string, bool) {
	const scheme = "bearer "
	if len(header) < len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return "", false
	}
	token := strings.TrimSpace(header[len(scheme):])
	return token, token != ""
}

// equalHashes compares two hashes in constant time.
func equalHashes(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// KeyMatches reports whether given equals key, in time independent of both contents and
// lengths. It is used for the admin key.
func KeyMatches(given, key string) bool {
	g := sha256.Sum256([]byte(given))
	k := sha256.Sum256([]byte(key))
	return key != "" && subtle.ConstantTimeCompare(g[:], k[:]) == 1
}
