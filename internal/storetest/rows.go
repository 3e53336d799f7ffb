package storetest

import (
	"testing"

	"github.com/campusnet/campusnet/internal/store"
)

// RowCount returns how many rows table holds, for tests that check a
// request wrote nothing (or something) without a store method that reads it.
func RowCount(t testing.TB, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
