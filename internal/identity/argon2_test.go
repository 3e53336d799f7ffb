package identity

import (
	"errors"
	"strings"
	"testing"
)

// cheap parameters keep tests fast (argon2 under -race is slow).
var cheap = Params{Memory: 256, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		params   Params
		password string
		prefix   string
	}{
		{name: "initial params", params: InitialParams, password: "12345X", prefix: "$argon2id$v=19$m=4096,t=1,p=1$"},
		{name: "cheap", params: cheap, password: "correct horse", prefix: "$argon2id$v=19$m=256,t=1,p=1$"},
		{name: "two lanes, long key", params: Params{Memory: 512, Time: 2, Threads: 2, SaltLen: 32, KeyLen: 64}, password: "lanes-and-keys", prefix: "$argon2id$v=19$m=512,t=2,p=2$"},
		{name: "unicode password", params: cheap, password: "校园网密码", prefix: "$argon2id$v=19$m=256,t=1,p=1$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword(tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h, tt.prefix) {
				t.Fatalf("hash %q does not start with %q", h, tt.prefix)
			}
			if strings.Contains(h, tt.password) {
				t.Fatalf("hash %q contains the password", h)
			}
			if ok, err := VerifyPassword(h, tt.password); !ok || err != nil {
				t.Fatalf("right password: %v, %v", ok, err)
			}
			if ok, err := VerifyPassword(h, tt.password+"1"); ok || err != nil {
				t.Fatalf("wrong password: %v, %v", ok, err)
			}
			if ok, _ := VerifyPassword(h, ""); ok {
				t.Fatal("empty password verified")
			}
			got, err := HashParams(h)
			if err != nil || got != tt.params {
				t.Fatalf("HashParams = %+v, %v; want %+v", got, err, tt.params)
			}
			h2, err := HashPassword(tt.password, tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if h2 == h {
				t.Fatal("two hashes of one password are equal: salt not random")
			}
		})
	}
}

// Hashes made by the reference implementation (Debian's argon2 command,
// `echo -n PASSWORD | argon2 SALT -id -t T -m LOG2M -p P -l LEN -e`), so
// that hashes from other tools verify here and ours there.
func TestVerifyReferenceHashes(t *testing.T) {
	tests := []struct {
		name, encoded, password string
	}{
		{name: "ascii", encoded: "$argon2id$v=19$m=4096,t=2,p=2$Y2FtcHVzbmV0c2FsdA$psiF1Drkelmrb3lvdCqGtPInMp+UzaKLqcWgu61r0DU", password: "correct horse"},
		{name: "utf-8", encoded: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$oBJ8HHDAnNkXeFXXgNruHw", password: "密码password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, tt.password)
			if !ok || err != nil {
				t.Fatalf("VerifyPassword = %v, %v", ok, err)
			}
			if ok, err := VerifyPassword(tt.encoded, strings.ToUpper(tt.password)); err != nil || ok {
				t.Fatal("wrong password verified")
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$oBJ8HHDAnNkXeFXXgNruHw"
	tests := []struct{ name, encoded string }{
		{name: "empty", encoded: ""},
		{name: "bcrypt", encoded: "$2y$10$abcdefghijklmnopqrstuuJ9Yv8k0y5m2eQe3bYw8q0bq1Yb9p6C"},
		{name: "argon2i", encoded: strings.Replace(good, "argon2id", "argon2i", 1)},
		{name: "version 16", encoded: strings.Replace(good, "v=19", "v=16", 1)},
		{name: "no version", encoded: strings.Replace(good, "$v=19", "", 1)},
		{name: "params out of order", encoded: strings.Replace(good, "m=1024,t=1", "t=1,m=1024", 1)},
		{name: "keyid param", encoded: strings.Replace(good, "p=1", "p=1,keyid=x", 1)},
		{name: "leading zero", encoded: strings.Replace(good, "t=1", "t=01", 1)},
		{name: "no threads", encoded: strings.Replace(good, "p=1", "p=0", 1)},
		{name: "too many threads", encoded: strings.Replace(good, "p=1", "p=256", 1)},
		{name: "no passes", encoded: strings.Replace(good, "t=1", "t=0", 1)},
		{name: "huge memory", encoded: strings.Replace(good, "m=1024", "m=4194304", 1)},
		{name: "memory overflow", encoded: strings.Replace(good, "m=1024", "m=99999999999", 1)},
		{name: "negative", encoded: strings.Replace(good, "t=1", "t=-1", 1)},
		{name: "padded base64", encoded: good + "=="},
		{name: "bad base64", encoded: strings.Replace(good, "c2FsdHNhbHQ", "c2F!dHNhbHQ", 1)},
		{name: "short salt", encoded: strings.Replace(good, "c2FsdHNhbHQ", "c2FsdA", 1)},
		{name: "short key", encoded: strings.Replace(good, "oBJ8HHDAnNkXeFXXgNruHw", "oBJ8HHDAnNk", 1)},
		{name: "trailing field", encoded: good + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, "密码password")
			if ok || !errors.Is(err, ErrHashFormat) {
				t.Fatalf("VerifyPassword = %v, %v; want ErrHashFormat", ok, err)
			}
			if !NeedsRehash(tt.encoded, cheap) {
				t.Fatal("unreadable hash does not need rehash")
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	base := Params{Memory: 512, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
	tests := []struct {
		name   string
		stored Params
		want   bool
	}{
		{name: "same", stored: base, want: false},
		{name: "costlier", stored: Params{Memory: 1024, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 64}, want: true},
		{name: "more memory, fewer passes", stored: Params{Memory: 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, want: true},
		{name: "other lanes", stored: Params{Memory: 512, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, want: true},
		{name: "less memory", stored: Params{Memory: 256, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}, want: true},
		{name: "fewer passes", stored: Params{Memory: 512, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, want: true},
		{name: "shorter salt", stored: Params{Memory: 512, Time: 2, Threads: 2, SaltLen: 8, KeyLen: 32}, want: true},
		{name: "shorter key", stored: Params{Memory: 512, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 16}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := HashPassword("pw", tt.stored)
			if err != nil {
				t.Fatal(err)
			}
			if got := NeedsRehash(h, base); got != tt.want {
				t.Fatalf("NeedsRehash = %v, want %v", got, tt.want)
			}
		})
	}
	if !NeedsRehash(mustHash(t, "x", InitialParams), DefaultParams) {
		t.Fatal("an initial-password hash does not need a rehash to DefaultParams")
	}
	if !NeedsRehash(mustHash(t, "x", RFC9106Params), DefaultParams) {
		t.Fatal("a hash made with the former default (RFC 9106, 64 MiB) does not need a rehash to DefaultParams")
	}
}

func TestParamsValidate(t *testing.T) {
	for _, p := range []Params{DefaultParams, InitialParams, cheap} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []Params{
		{},
		{Memory: 64, Time: 1, Threads: 16, SaltLen: 16, KeyLen: 32}, // memory below 8×threads
		{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 1024, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 1024, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for _, p := range bad {
		if _, err := HashPassword("x", p); err == nil {
			t.Errorf("%+v: HashPassword accepted invalid params", p)
		}
	}
}

func mustHash(t testing.TB, password string, p Params) string {
	t.Helper()
	h, err := HashPassword(password, p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// FuzzVerifyPassword feeds stored-hash strings (which may come from an
// import) to the parser: it must never panic, and never accept parameters
// outside the limits.
func FuzzVerifyPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$oBJ8HHDAnNkXeFXXgNruHw")
	f.Add("$argon2id$v=19$m=4096,t=2,p=2$Y2FtcHVzbmV0c2FsdA$psiF1Drkelmrb3lvdCqGtPInMp+UzaKLqcWgu61r0DU")
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, encoded string) {
		h, err := parseHash(encoded)
		if err != nil {
			if !errors.Is(err, ErrHashFormat) {
				t.Fatalf("error %v is not ErrHashFormat", err)
			}
			return
		}
		if err := h.params.Validate(); err != nil {
			t.Fatalf("accepted invalid params: %v", err)
		}
		// Keep the fuzzer fast: only verify cheap hashes.
		if h.params.Memory <= 64 && h.params.Time <= 2 {
			if _, err := VerifyPassword(encoded, "pw"); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	for b.Loop() {
		mustHash(b, "a password people chose", DefaultParams)
	}
}

func BenchmarkHashInitial(b *testing.B) {
	for b.Loop() {
		mustHash(b, "12345X", InitialParams)
	}
}
