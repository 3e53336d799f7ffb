package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory LocalStore; the real one is tested with the
// store package.
type memStore struct {
	mu       sync.Mutex
	creds    map[string]LocalCredential
	sets     int
	failGet  error
	failSets error
}

func newMemStore() *memStore { return &memStore{creds: map[string]LocalCredential{}} }

func (s *memStore) add(t *testing.T, id, password string, p Params, mustChange, disabled bool) {
	t.Helper()
	s.creds[id] = LocalCredential{
		Person:   Person{ID: id, Name: "Name of " + id, Role: "student", MustChange: mustChange},
		Hash:     mustHash(t, password, p),
		Disabled: disabled,
	}
}

func (s *memStore) LocalCredential(_ context.Context, user string) (LocalCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failGet != nil {
		return LocalCredential{}, s.failGet
	}
	c, ok := s.creds[user]
	if !ok {
		return LocalCredential{}, fmt.Errorf("memstore: %q: %w", user, ErrUnknownUser)
	}
	return c, nil
}

func (s *memStore) SetPasswordHash(_ context.Context, user, hash string, mustChange bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSets != nil {
		return s.failSets
	}
	c, ok := s.creds[user]
	if !ok {
		return fmt.Errorf("memstore: %q: %w", user, ErrUnknownUser)
	}
	c.Hash, c.Person.MustChange = hash, mustChange
	s.creds[user] = c
	s.sets++
	return nil
}

func (s *memStore) get(user string) LocalCredential {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.creds[user]
}

func TestLocalAuthenticate(t *testing.T) {
	st := newMemStore()
	st.add(t, "2024001", "alice-secret", cheap, false, false)
	st.add(t, "2024002", "234567", cheap, true, false)
	st.add(t, "2024003", "carol-secret", cheap, false, true)
	st.creds["2024004"] = LocalCredential{Person: Person{ID: "2024004"}, Hash: "{SSHA}notargon"}
	l := NewLocal(st, cheap, testLogger(t))

	tests := []struct {
		name, user, password string
		want                 Person
		wantErr              error
		notErr               []error
	}{
		{name: "right password", user: "2024001", password: "alice-secret",
			want: Person{ID: "2024001", Name: "Name of 2024001", Role: "student"}},
		{name: "must change", user: "2024002", password: "234567",
			want: Person{ID: "2024002", Name: "Name of 2024002", Role: "student", MustChange: true}},
		{name: "wrong password", user: "2024001", password: "alice-secreT", wantErr: ErrBadCredentials, notErr: []error{ErrUnknownUser}},
		{name: "empty password", user: "2024001", password: "", wantErr: ErrBadCredentials},
		{name: "unknown user", user: "2099999", password: "alice-secret", wantErr: ErrUnknownUser},
		{name: "empty user", user: "", password: "alice-secret", wantErr: ErrUnknownUser},
		{name: "disabled, right password", user: "2024003", password: "carol-secret", wantErr: ErrDisabled, notErr: []error{ErrBadCredentials}},
		{name: "disabled, wrong password does not reveal it", user: "2024003", password: "guess", wantErr: ErrBadCredentials, notErr: []error{ErrDisabled}},
		{name: "unreadable stored hash is not the person's fault", user: "2024004", password: "anything", wantErr: ErrHashFormat, notErr: []error{ErrBadCredentials}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Authenticate(context.Background(), tt.user, tt.password)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				for _, not := range tt.notErr {
					if errors.Is(err, not) {
						t.Fatalf("err = %v, must not be %v", err, not)
					}
				}
				if tt.password != "" && strings.Contains(err.Error(), tt.password) {
					t.Fatalf("error %q contains the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("store down", func(t *testing.T) {
		st.failGet = errors.New("database is locked")
		defer func() { st.failGet = nil }()
		_, err := l.Authenticate(context.Background(), "2024001", "alice-secret")
		if err == nil || errors.Is(err, ErrBadCredentials) {
			t.Fatalf("err = %v, want a store error that is not ErrBadCredentials", err)
		}
	})

	t.Run("no rehash when params are current", func(t *testing.T) {
		if st.sets != 0 {
			t.Fatalf("%d hashes rewritten", st.sets)
		}
	})
}

func TestLocalRehashOnLogin(t *testing.T) {
	old := cheap
	raised := Params{Memory: 512, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	tests := []struct {
		name       string
		mustChange bool
	}{
		{name: "chosen password", mustChange: false},
		{name: "initial password keeps must-change", mustChange: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			st.add(t, "u1", "pass-word-1", old, tt.mustChange, false)
			l := NewLocal(st, raised, testLogger(t))
			ctx := context.Background()

			if _, err := l.Authenticate(ctx, "u1", "wrong"); !errors.Is(err, ErrBadCredentials) {
				t.Fatal(err)
			}
			if p, _ := HashParams(st.get("u1").Hash); p != old {
				t.Fatalf("a failed login rehashed: %v", p)
			}

			p, err := l.Authenticate(ctx, "u1", "pass-word-1")
			if err != nil {
				t.Fatal(err)
			}
			if p.MustChange != tt.mustChange {
				t.Fatalf("MustChange = %v", p.MustChange)
			}
			c := st.get("u1")
			if got, _ := HashParams(c.Hash); got != raised {
				t.Fatalf("stored params after login = %v, want %v", got, raised)
			}
			if c.Person.MustChange != tt.mustChange {
				t.Fatalf("stored MustChange = %v, want %v", c.Person.MustChange, tt.mustChange)
			}
			if ok, err := VerifyPassword(c.Hash, "pass-word-1"); err != nil || !ok {
				t.Fatal("the new hash does not verify the same password")
			}

			if _, err := l.Authenticate(ctx, "u1", "pass-word-1"); err != nil {
				t.Fatal(err)
			}
			if st.sets != 1 {
				t.Fatalf("%d rehashes, want 1", st.sets)
			}
		})
	}

	t.Run("former default to the new default", func(t *testing.T) {
		st := newMemStore()
		st.add(t, "u1", "pass-word-1", RFC9106Params, false, false)
		l := NewLocal(st, DefaultParams, testLogger(t))
		if _, err := l.Authenticate(context.Background(), "u1", "pass-word-1"); err != nil {
			t.Fatalf("a hash made with the former default: %v", err)
		}
		if got, _ := HashParams(st.get("u1").Hash); got != DefaultParams {
			t.Fatalf("stored params after login = %v, want %v", got, DefaultParams)
		}
		if _, err := l.Authenticate(context.Background(), "u1", "pass-word-1"); err != nil {
			t.Fatalf("after the rehash: %v", err)
		}
	})

	t.Run("failing store still lets the person in", func(t *testing.T) {
		st := newMemStore()
		st.add(t, "u1", "pass-word-1", old, false, false)
		st.failSets = errors.New("read-only replica")
		l := NewLocal(st, raised, testLogger(t))
		if _, err := l.Authenticate(context.Background(), "u1", "pass-word-1"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLocalChangePassword(t *testing.T) {
	tests := []struct {
		name, user, old, new string
		current              string // stored password; default the initial "234567"
		disabled             bool
		wantErr              error
	}{
		{name: "initial to chosen", user: "2024002", old: "234567", new: "a-good-password"},
		{name: "eight characters", user: "2024002", old: "234567", new: "k9m2-p7q"},
		{name: "eight Chinese characters", user: "2024002", old: "234567", new: "校园网络密码安全"},
		{name: "too short", user: "2024002", old: "234567", new: "1234567", wantErr: ErrPasswordTooShort},
		{name: "too long", user: "2024002", old: "234567", new: strings.Repeat("x", MaxPasswordLen+1), wantErr: ErrPasswordTooLong},
		{name: "same as initial", user: "2024002", old: "234567", new: "234567", wantErr: ErrPasswordTooShort},
		{name: "same as current", user: "2024002", current: "chosen-before", old: "chosen-before", new: "chosen-before", wantErr: ErrPasswordReused},
		{name: "same as user name", user: "2024002", old: "234567", new: "2024002", wantErr: ErrPasswordTooShort},
		{name: "long user name", user: "zhangsan2024", old: "234567", new: "zhangsan2024", wantErr: ErrPasswordReused},
		{name: "wrong current password", user: "2024002", old: "765432", new: "a-good-password", wantErr: ErrBadCredentials},
		{name: "unknown user", user: "nobody", old: "234567", new: "a-good-password", wantErr: ErrUnknownUser},
		{name: "disabled", user: "2024002", old: "234567", new: "a-good-password", disabled: true, wantErr: ErrDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			for _, u := range []string{"2024002", "zhangsan2024"} {
				if tt.current != "" {
					st.add(t, u, tt.current, cheap, false, tt.disabled)
				} else {
					st.add(t, u, "234567", InitialParams, true, tt.disabled)
				}
			}
			before := st.get(tt.user).Hash
			l := NewLocal(st, cheap, testLogger(t))
			ctx := context.Background()

			err := l.ChangePassword(ctx, tt.user, tt.old, tt.new)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(tt.wantErr, ErrWeakPassword) != errors.Is(err, ErrWeakPassword) {
					t.Fatalf("err = %v: policy and credential errors mixed up", err)
				}
				if st.get(tt.user).Hash != before {
					t.Fatal("password changed despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := l.Authenticate(ctx, tt.user, tt.new)
			if err != nil {
				t.Fatalf("new password: %v", err)
			}
			if p.MustChange {
				t.Fatal("MustChange still set")
			}
			if _, err := l.Authenticate(ctx, tt.user, tt.old); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("old password: err = %v", err)
			}
			if got, _ := HashParams(st.get(tt.user).Hash); got != cheap {
				t.Fatalf("new hash made with %v, want the Local's %v", got, cheap)
			}
		})
	}
}

func TestLocalInvalidParams(t *testing.T) {
	st := newMemStore()
	st.add(t, "u1", "pass-word-1", cheap, false, false)
	l := NewLocal(st, Params{}, nil)
	if _, err := l.Authenticate(context.Background(), "u1", "pass-word-1"); err == nil || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("err = %v, want the params' error", err)
	}
}

func TestLocalBusy(t *testing.T) {
	st := newMemStore()
	st.add(t, "u1", "pass-word-1", cheap, false, false)
	stage := NewStage(StageConfig{Workers: 1, Log: testLogger(t)})
	l := NewLocalStage(st, cheap, stage, testLogger(t))
	stage.workers <- struct{}{} // the only worker is hashing for somebody else
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := l.Authenticate(ctx, "u1", "pass-word-1")
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrBadCredentials) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v, want ErrBusy only", err)
	}
	if s := stage.Stats(); s.Late != 1 || s.Hashed != 0 {
		t.Fatalf("stats = %+v, want one late check and no hash", s)
	}
	<-stage.workers
	if _, err := l.Authenticate(context.Background(), "u1", "pass-word-1"); err != nil {
		t.Fatalf("with a free worker: %v", err)
	}
}
