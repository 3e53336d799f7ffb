// Package logintoken makes the portal's one-time login tokens
// (docs/design.md#the-login).
//
// The portal checks a person's password itself and gives the BAS only a
// token, which the BAS passes to RADIUS by CHAP or PAP. CHAP can only be
// verified by someone who knows the token in clear, so the token cannot be
// stored as a plain hash; instead the store keeps a random nonce and the
// token is Derive(key, nonce): HMAC-SHA256 under a key that every portal and
// RADIUS node holds ([server] token_key) and the database never sees. A copy
// of the database alone yields no usable token; the row is single use and
// expires in 60 s.
package logintoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// KeySize is the length of a token key in bytes.
const KeySize = 32

// ErrKey is returned for a key of the wrong size.
var ErrKey = errors.New("logintoken: key must be 32 bytes")

// Key is the secret shared by portal and RADIUS nodes.
type Key [KeySize]byte

// NewKey returns a random key (one node: each process makes its own).
func NewKey() Key {
	var k Key
	_, _ = rand.Read(k[:])
	return k
}

// ParseKey decodes a key written in the config as base64 (44 characters).
func ParseKey(s string) (Key, error) {
	var k Key
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != KeySize {
		return k, ErrKey
	}
	copy(k[:], b)
	return k, nil
}

// NewNonce returns a random nonce to store in the token's row.
func NewNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Derive returns the token for a nonce: 24 URL-safe characters, what the
// portal sends the BAS as the password and RADIUS checks CHAP or PAP against.
func Derive(k Key, nonce string) string {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte("campusnet login token v1\x00"))
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}
