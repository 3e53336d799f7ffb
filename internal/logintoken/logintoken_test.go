package logintoken

import "testing"

func TestDerive(t *testing.T) {
	k1, k2 := NewKey(), NewKey()
	n := NewNonce()
	a, b := Derive(k1, n), Derive(k1, n)
	if a != b || len(a) != 24 {
		t.Fatalf("not stable: %q %q", a, b)
	}
	if Derive(k2, n) == a {
		t.Fatal("another key derives the same token")
	}
	if Derive(k1, NewNonce()) == a {
		t.Fatal("another nonce derives the same token")
	}
	if _, err := ParseKey("short"); err == nil {
		t.Fatal("short key accepted")
	}
}
