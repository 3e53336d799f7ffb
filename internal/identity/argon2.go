package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. Each hash carries the parameters it
// was made with, so changing them never locks anybody out.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams hash passwords that people choose. They are RFC 9106's
// second recommended option (§4: 64 MiB, t=3, p=4, 128-bit salt, 256-bit
// tag), the one meant for machines that cannot spare 2 GiB per login. Four
// lanes on a two-core server cost the same CPU time as two: lanes only
// spread the work, and an attacker's cost is set by memory×time.
//
// Treat it as a constant.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// InitialParams hash bulk-imported initial passwords (the last six
// characters of the id-card number, flagged must-change). Such a password
// has about 20 bits of entropy and is derived from a number that many
// people know, so no hash cost makes it secret: what protects the account
// is that it must be changed at first login. A cheap hash (about 5 ms and
// 4 MiB instead of 100–200 ms and 64 MiB on a two-core server) lets an
// import of 30 000 students finish in about a minute instead of half an
// hour. The first login replaces
// it with a DefaultParams hash of the same password (still must-change),
// and the change of password hashes the new one with DefaultParams.
//
// Treat it as a constant.
var InitialParams = Params{Memory: 4 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters, for hashes we make and hashes we read: a corrupt
// or hostile stored hash must not make a login allocate gigabytes.
const (
	maxMemory  = 1 << 20 // KiB = 1 GiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// ErrHashFormat reports a stored hash that is not an argon2id PHC string
// this package can verify.
var ErrHashFormat = errors.New("identity: malformed argon2id hash")

// Validate reports whether p can be used by [HashPassword].
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return fmt.Errorf("identity: argon2id threads %d: must be at least 1", p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("identity: argon2id memory %d KiB: must be between 8×threads and %d", p.Memory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("identity: argon2id time %d: must be between 1 and %d", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("identity: argon2id salt length %d: must be between %d and %d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("identity: argon2id key length %d: must be between %d and %d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// String gives p in the PHC parameter form, "m=65536,t=3,p=4".
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// HashPassword hashes password with a fresh random salt and returns it in
// PHC string format: $argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>, salt and
// hash in unpadded standard base64.
func HashPassword(password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return "$argon2id$v=" + strconv.Itoa(argon2.Version) + "$" + p.String() +
		"$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// VerifyPassword reports whether password matches the encoded hash,
// comparing in constant time. The error is non-nil only when encoded is
// not a valid argon2id hash (it then wraps [ErrHashFormat]).
func VerifyPassword(encoded, password string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with a cost below p —
// less memory, fewer passes, a shorter salt or key — or cannot be read,
// so that it should be replaced by a hash made with p. The number of
// lanes is not a cost and does not count.
func NeedsRehash(encoded string, p Params) bool {
	h, err := parseHash(encoded)
	if err != nil {
		return true
	}
	q := h.params
	return q.Memory < p.Memory || q.Time < p.Time || q.SaltLen < p.SaltLen || q.KeyLen < p.KeyLen
}

// HashParams returns the parameters encoded was made with.
func HashParams(encoded string) (Params, error) {
	h, err := parseHash(encoded)
	return h.params, err
}

type decodedHash struct {
	params    Params
	salt, key []byte
}

// parseHash reads the PHC form HashPassword writes, strictly: argon2id,
// version 19, the three parameters in m,t,p order, no keyid or data.
func parseHash(encoded string) (decodedHash, error) {
	var h decodedHash
	fail := func(why string) (decodedHash, error) {
		return decodedHash{}, fmt.Errorf("%w: %s", ErrHashFormat, why)
	}
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("version is not 19")
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return fail("want parameters m,t,p")
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(kv[i], name)
		if !ok || s == "" || (len(s) > 1 && s[0] == '0') {
			return fail("want parameters m,t,p")
		}
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fail("parameter out of range")
		}
		vals[i] = v
	}
	if vals[2] > 255 {
		return fail("parameter p out of range")
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fail("salt is not unpadded base64")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		return fail("hash is not unpadded base64")
	}
	h.params = Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := h.params.Validate(); err != nil {
		return fail(strings.TrimPrefix(err.Error(), "identity: "))
	}
	h.salt, h.key = salt, key
	return h, nil
}
