package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// A sign-in in flight lives in the browser's state cookie, not in server memory: the
// state, the PKCE verifier and the time it was issued, sealed with AES-256-GCM under a key
// only the server knows (StateKeySize bytes, kept in the database so it survives restarts
// and is the same on every node). Any number of sign-ins started by anyone costs the
// server nothing, so none can push out another's. The callback opens the cookie, checks
// that the state GitHub sent back is the sealed one and that it is younger than
// StateLifetime, and clears the cookie.
//
// Sealed form, base64url without padding:
//
//	version (1) | salt (16) | nonce (12) | AES-GCM(key_salt, nonce, payload, aad)
//
// key_salt = HMAC-SHA256(key, "octostore oauth state v1" | salt): every cookie has its own
// AES key, so random nonces never approach GCM's 2^32-messages-per-key bound however many
// sign-ins are started. payload = issued unix ms (8, big endian) | len(state) (1) | state |
// verifier. The additional data names the cookie's purpose and the OAuth app (client id
// and redirect URI), so neither another sealed value of this server nor a sign-in begun
// for another app configuration can be passed off as this sign-in's state.

// StateKeySize is the size of the sign-in state key.
const StateKeySize = 32

const (
	sealVersion   = 1
	sealSaltSize  = 16
	sealNonceSize = 12
	// maxSealedState bounds a state cookie's length before it is decoded.
	maxSealedState = 512
	// maxSpentStates bounds the memory of states already used (see spentStates).
	maxSpentStates = 1 << 14
)

// sealedState is what a state cookie carries.
type sealedState struct {
	state    string
	verifier string
	issued   time.Time
}

// stateSealer seals and opens sign-in states.
type stateSealer struct{ key, aad []byte }

func newStateSealer(key []byte, clientID, redirectURL string) (stateSealer, error) {
	if len(key) != StateKeySize {
		return stateSealer{}, errors.New("github sign-in: the state key must be 32 bytes")
	}
	aad := []byte("octostore oauth state cookie v1\x00" + clientID + "\x00" + redirectURL)
	return stateSealer{key: append([]byte(nil), key...), aad: aad}, nil
}

func (s stateSealer) aead(salt []byte) cipher.AEAD {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("octostore oauth state v1"))
	mac.Write(salt)
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic("auth: aes: " + err.Error()) // a 32-byte key cannot fail
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("auth: gcm: " + err.Error())
	}
	return gcm
}

func (s stateSealer) seal(st sealedState) string {
	plain := make([]byte, 0, 9+len(st.state)+len(st.verifier))
	plain = binary.BigEndian.AppendUint64(plain, uint64(st.issued.UnixMilli()))
	plain = append(plain, byte(len(st.state)))
	plain = append(plain, st.state...)
	plain = append(plain, st.verifier...)

	out := make([]byte, 1+sealSaltSize+sealNonceSize, 1+sealSaltSize+sealNonceSize+len(plain)+16)
	out[0] = sealVersion
	rand.Read(out[1:])
	salt, nonce := out[1:1+sealSaltSize], out[1+sealSaltSize:]
	out = s.aead(salt).Seal(out, nonce, plain, s.aad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open returns the sign-in sealed in cookie, or false when it is not a value this
// server's key sealed (tampered, truncated, foreign, another version).
func (s stateSealer) open(cookie string) (sealedState, bool) {
	if cookie == "" || len(cookie) > maxSealedState {
		return sealedState{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(cookie)
	if err != nil || len(raw) < 1+sealSaltSize+sealNonceSize+16 || raw[0] != sealVersion {
		return sealedState{}, false
	}
	salt, nonce, box := raw[1:1+sealSaltSize], raw[1+sealSaltSize:1+sealSaltSize+sealNonceSize], raw[1+sealSaltSize+sealNonceSize:]
	plain, err := s.aead(salt).Open(nil, nonce, box, s.aad)
	if err != nil || len(plain) < 9 || len(plain) < 9+int(plain[8]) {
		return sealedState{}, false
	}
	n := int(plain[8])
	return sealedState{
		issued:   time.UnixMilli(int64(binary.BigEndian.Uint64(plain[:8]))),
		state:    string(plain[9 : 9+n]),
		verifier: string(plain[9+n:]),
	}, true
}

// spentStates remembers the states callbacks have used until they expire, so a state
// cookie copied before its use cannot be presented again while it is still young. It is
// defence in depth, not what keeps sign-ins in flight: it holds only states that came
// back sealed by this server and matching GitHub's redirect, and when full it forgets the
// oldest, which only lets a replay reach GitHub, which refuses the code it already
// exchanged. Per process; in a cluster GitHub's single-use codes remain the backstop.
type spentStates struct {
	mu    sync.Mutex
	until map[string]time.Time // by state
	order []string             // by time of use
}

// spend records state as used until expires and reports whether it was unused.
func (s *spentStates) spend(state string, expires, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.until == nil {
		s.until = make(map[string]time.Time)
	}
	for len(s.order) > 0 && (len(s.order) >= maxSpentStates || !now.Before(s.until[s.order[0]])) {
		delete(s.until, s.order[0])
		s.order = s.order[1:]
	}
	if _, used := s.until[state]; used {
		return false
	}
	s.until[state] = expires
	s.order = append(s.order, state)
	return true
}
