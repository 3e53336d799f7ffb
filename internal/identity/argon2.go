package identity

import (
	"context"
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

// DefaultParams hash passwords that people choose: argon2id with 7 MiB,
// t=5, p=1 — the cheapest of OWASP's equivalent argon2id settings (its
// Password Storage Cheat Sheet: m=7 MiB t=5, m=9 MiB t=4, m=12 MiB t=3,
// m=19 MiB t=2 or m=46 MiB t=1, all p=1), which is as far below RFC
// 9106's second recommendation (RFC9106Params) as a login server may go.
//
// They are chosen from a budget: a node must absorb 40 password logins a
// second per core — a dorm of 5,000 students logging in within two
// minutes when its power comes back is 42 a second. One hash takes about
// 25 ms of one core of a 2020s server (AMD EPYC, Go's argon2), so one core
// absorbs the dorm with the other left to accounting, MAC authentication
// and the database. With RFC9106Params a hash takes 200 ms (8 times the
// CPU): such a dorm would need 8 cores for two minutes. Among OWASP's
// settings of equal strength the 7 MiB one was the fastest here (its
// memory stays in the CPU's caches).
//
// One lane (p=1) keeps a hash on one core: the hashing stage (Stage)
// then bounds the cores hashing takes by the number of workers.
//
// Treat it as a constant.
var DefaultParams = Params{Memory: 7 * 1024, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32}

// RFC9106Params are RFC 9106's second recommended option (§4: 64 MiB,
// t=3, p=4, 128-bit salt, 256-bit tag), campusnet's default before
// DefaultParams: hashes made with them keep working and are replaced with
// DefaultParams at the person's next login.
//
// Treat it as a constant.
var RFC9106Params = Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// InitialParams hash bulk-imported initial passwords (the last six
// characters of the id-card number, flagged must-change). Such a password
// has about 20 bits of entropy and is derived from a number that many
// people know, so no hash cost makes it secret: what protects the account
// is that it must be changed at first login. A cheap hash (about 3 ms and
// 4 MiB instead of 25 ms and 7 MiB on one core) lets an
// import of 30 000 students finish in about a minute instead of a quarter
// of an hour. The first login replaces
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
	return hashPassword(context.Background(), InProcess{}, password, p)
}

// hashPassword is HashPassword with the key computed by h.
func hashPassword(ctx context.Context, h Hasher, password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: salt: %w", err)
	}
	key, err := h.Key(ctx, []byte(password), salt, p)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return "$argon2id$v=" + strconv.Itoa(argon2.Version) + "$" + p.String() +
		"$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key), nil
}

// VerifyPassword reports whether password matches the encoded hash,
// comparing in constant time. The error is non-nil only when encoded is
// not a valid argon2id hash (it then wraps [ErrHashFormat]).
func VerifyPassword(encoded, password string) (bool, error) {
	return verifyPassword(context.Background(), InProcess{}, encoded, password)
}

// verifyPassword is VerifyPassword with the key computed by h; errors of
// h come back as they are.
func verifyPassword(ctx context.Context, h Hasher, encoded, password string) (bool, error) {
	d, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key, err := h.Key(ctx, []byte(password), d.salt, d.params)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other
// than p — memory, passes, lanes, salt or key length — or cannot be read,
// so that it should be replaced by a hash made with p. A costlier hash is
// replaced too: p is the cost chosen for the logins a node must absorb
// (DefaultParams), and a hash that costs more than it slows every login of
// its owner and all the others waiting behind it.
func NeedsRehash(encoded string, p Params) bool {
	h, err := parseHash(encoded)
	if err != nil {
		return true
	}
	q := h.params
	return q.Memory != p.Memory || q.Time != p.Time || q.Threads != p.Threads || q.SaltLen != p.SaltLen || q.KeyLen != p.KeyLen
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
