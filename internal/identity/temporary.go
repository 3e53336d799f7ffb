package identity

import (
	"crypto/rand"
	"math/big"
)

// temporaryAlphabet leaves out characters people confuse when a password
// is read out or written down: 0/o, 1/l/i.
const temporaryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// TemporaryCredential is an operator's reset: a new temporary password
// and its hash, to be stored with must-change set. It is hashed with
// InitialParams like an imported initial password: it serves one login,
// after which the person's own password gets the full parameters.
func TemporaryCredential() (password, hash string, err error) {
	password = NewTemporaryPassword()
	hash, err = HashPassword(password, InitialParams)
	return password, hash, err
}

// NewTemporaryPassword returns a random password for an operator's reset:
// ten characters of temporaryAlphabet as two groups of five ("k7mpq-3xhra"),
// about 49 bits, from crypto/rand. It is stored with must-change set, so it
// serves for one login: the next page asks for a new password.
func NewTemporaryPassword() string {
	b := make([]byte, 0, 11)
	max := big.NewInt(int64(len(temporaryAlphabet)))
	for i := 0; i < 10; i++ {
		if i == 5 {
			b = append(b, '-')
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("identity: crypto/rand failed: " + err.Error())
		}
		b = append(b, temporaryAlphabet[n.Int64()])
	}
	return string(b)
}
