package main

import (
	"os"
	"testing"

	"github.com/campusnet/campusnet/internal/identity"
)

// TestMain lets the test binary be the password-hashing worker that serve
// starts (identity.ProcessHasher runs this program again).
func TestMain(m *testing.M) {
	identity.MaybeServeHashWorker()
	os.Exit(m.Run())
}
