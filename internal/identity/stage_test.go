package identity

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestMain(m *testing.M) {
	MaybeServeHashWorker() // the test binary is also ProcessHasher's worker
	os.Exit(m.Run())
}

func TestStageRefusesWhatCannotBeHashedInTime(t *testing.T) {
	stage := NewStage(StageConfig{Workers: 1, Queue: 2, Log: testLogger(t)})
	salt := []byte("salt-salt-salt-1")
	if _, err := stage.Key(context.Background(), []byte("pw"), salt, cheap); err != nil {
		t.Fatal(err)
	}
	t.Run("queue full", func(t *testing.T) {
		stage.waiting.Add(2) // two checks wait already
		defer stage.waiting.Add(-2)
		if _, err := stage.Key(context.Background(), []byte("pw"), salt, cheap); !errors.Is(err, ErrBusy) {
			t.Fatalf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("too old", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		if _, err := stage.Key(ctx, []byte("pw"), salt, cheap); !errors.Is(err, ErrBusy) {
			t.Fatalf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("queued behind more than its deadline", func(t *testing.T) {
		stage.estNs.Store(int64(time.Hour))
		defer stage.estNs.Store(int64(time.Millisecond))
		stage.waiting.Add(1) // one check waits already
		defer stage.waiting.Add(-1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := stage.Key(ctx, []byte("pw"), salt, cheap); !errors.Is(err, ErrBusy) {
			t.Fatalf("err = %v, want ErrBusy", err)
		}
	})
	t.Run("first in line is hashed whatever the average", func(t *testing.T) {
		stage.estNs.Store(int64(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := stage.Key(ctx, []byte("pw"), salt, cheap); err != nil {
			t.Fatalf("err = %v: a free worker must hash", err)
		}
	})
	s := stage.Stats()
	if s.Hashed != 2 || s.QueueFull != 1 || s.Late != 2 {
		t.Fatalf("stats = %+v, want 2 hashed, 1 queue full, 2 late", s)
	}
}

func TestStageBoundsHashesAtOnce(t *testing.T) {
	var mu sync.Mutex
	now, most := 0, 0
	h := hasherFunc(func(ctx context.Context, pw, salt []byte, p Params) ([]byte, error) {
		mu.Lock()
		now++
		most = max(most, now)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		now--
		mu.Unlock()
		return InProcess{}.Key(ctx, pw, salt, p)
	})
	stage := NewStage(StageConfig{Workers: 2, Hasher: h})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := stage.Key(context.Background(), []byte("pw"), []byte("salt-salt-salt-1"), cheap); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if most != 2 {
		t.Fatalf("%d hashes at once, want 2", most)
	}
}

type hasherFunc func(ctx context.Context, pw, salt []byte, p Params) ([]byte, error)

func (f hasherFunc) Key(ctx context.Context, pw, salt []byte, p Params) ([]byte, error) {
	return f(ctx, pw, salt, p)
}

func TestProcessHasher(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := NewProcessHasher(exe, 2, testLogger(t))
	defer h.Close()
	salt := []byte("salt-salt-salt-1")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pw := []byte("password-" + strconv.Itoa(i))
			got, err := h.Key(context.Background(), pw, salt, cheap)
			if err != nil {
				t.Error(err)
				return
			}
			if want := argon2.IDKey(pw, salt, cheap.Time, cheap.Memory, cheap.Threads, cheap.KeyLen); !bytes.Equal(got, want) {
				t.Errorf("password %d: worker's key differs from argon2.IDKey", i)
			}
		})
	}
	wg.Wait()

	h.mu.Lock()
	pid := h.cur.cmd.Process.Pid
	h.mu.Unlock()
	if runtime.GOOS == "linux" {
		tasks, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
		if err != nil || len(tasks) == 0 {
			t.Fatalf("threads of the worker: %v", err)
		}
		for _, f := range tasks {
			b, err := os.ReadFile(f)
			if err != nil {
				continue // the thread ended
			}
			// Field 19 is the nice value; fields counted after the ")" that ends the name.
			fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
			if nice := fields[16]; nice != "19" {
				t.Errorf("worker thread %s runs at nice %s, want 19", f, nice)
			}
		}
	}

	// A worker that dies is replaced at the next hash.
	h.mu.Lock()
	c := h.cur
	h.mu.Unlock()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if _, err := h.Key(context.Background(), []byte("pw"), salt, cheap); err != nil {
		t.Fatalf("after the worker died: %v", err)
	}
}

func TestLDAPPoolWaitIsBusy(t *testing.T) {
	p := newPool("bind", 1, nil, testLogger(t))
	p.slots <- struct{}{} // the one connection is binding for somebody else
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := p.do(ctx, nil)
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrBadCredentials) {
		t.Fatalf("err = %v, want ErrBusy (the directory is not down, only busy)", err)
	}
}
