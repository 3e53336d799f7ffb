package identity

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/crypto/argon2"
)

// HashWorkerEnv, set to "1" in a process's environment, makes the program
// a hashing worker ([ServeHashWorker] on stdin and stdout) instead of what
// it usually is. [ProcessHasher] starts its worker that way.
const HashWorkerEnv = "CAMPUSNET_HASH_WORKER"

// ProcessHasher computes argon2id keys in a child process at the lowest
// CPU priority (nice 19 on Linux), with as many threads as the machine has
// cores. The operating system then gives the CPU to everything else first
// — MAC authentication, accounting, the pages, PostgreSQL — and password
// hashing gets what is left, up to every core, rather than taking turns
// with them; inside one Go process it could only take turns. The child is
// the same program started with HashWorkerEnv=1 (the program must call
// [MaybeServeHashWorker] first thing in main). It is started at the first
// hash and again after it dies; it exits when its parent closes its input.
type ProcessHasher struct {
	exe   string
	procs int
	log   *slog.Logger

	mu     sync.Mutex
	cur    *hashChild
	closed bool
}

// NewProcessHasher returns a hasher running exe (normally os.Executable())
// as its worker with procs threads (0: every core).
func NewProcessHasher(exe string, procs int, log *slog.Logger) *ProcessHasher {
	if procs <= 0 {
		procs = runtime.NumCPU()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ProcessHasher{exe: exe, procs: procs, log: log}
}

// Procs is how many hashes the worker computes at once.
func (h *ProcessHasher) Procs() int { return h.procs }

type hashRequest struct {
	ID                   uint64
	Password, Salt       []byte
	Memory, Time, KeyLen uint32
	Threads              uint8
}

type hashResponse struct {
	ID  uint64
	Key []byte
}

type hashChild struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	wmu  sync.Mutex
	enc  *gob.Encoder
	done chan struct{} // closed when the child's output ends
	err  error         // why, once done is closed

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan []byte
}

var errWorkerGone = errors.New("identity: hashing worker stopped")

// Key implements Hasher.
func (h *ProcessHasher) Key(ctx context.Context, password, salt []byte, p Params) ([]byte, error) {
	c, err := h.child()
	if err != nil {
		return nil, err
	}
	ch := make(chan []byte, 1)
	c.mu.Lock()
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	c.wmu.Lock()
	err = c.enc.Encode(hashRequest{ID: id, Password: password, Salt: salt, Memory: p.Memory, Time: p.Time, KeyLen: p.KeyLen, Threads: p.Threads})
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return nil, fmt.Errorf("%w: %w", errWorkerGone, err)
	}
	select {
	case key := <-ch:
		return key, nil
	case <-c.done:
		return nil, fmt.Errorf("%w: %w", errWorkerGone, c.err)
	}
}

func (c *hashChild) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// child returns the running worker, starting one if there is none.
func (h *ProcessHasher) child() (*hashChild, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errWorkerGone
	}
	if h.cur != nil {
		select {
		case <-h.cur.done:
			h.log.Warn("identity: hashing worker stopped; starting another", "err", h.cur.err)
			h.cur = nil
		default:
			return h.cur, nil
		}
	}
	cmd := exec.Command(h.exe)
	cmd.Env = append(os.Environ(), HashWorkerEnv+"=1", "GOMAXPROCS="+strconv.Itoa(h.procs))
	cmd.Stderr = os.Stderr
	setChildAttrs(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("identity: hashing worker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("identity: hashing worker: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("identity: start hashing worker %s: %w", h.exe, err)
	}
	c := &hashChild{cmd: cmd, in: in, enc: gob.NewEncoder(in), done: make(chan struct{}), pending: map[uint64]chan []byte{}}
	go c.read(out)
	h.cur = c
	return c, nil
}

// read hands the worker's answers to their callers until its output ends.
func (c *hashChild) read(out io.Reader) {
	dec := gob.NewDecoder(bufio.NewReader(out))
	var err error
	for {
		var r hashResponse
		if err = dec.Decode(&r); err != nil {
			break
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		delete(c.pending, r.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- r.Key
		}
	}
	werr := c.cmd.Wait()
	if werr != nil {
		err = werr
	}
	c.err = err
	close(c.done)
}

// Close stops the worker.
func (h *ProcessHasher) Close() error {
	h.mu.Lock()
	c := h.cur
	h.closed, h.cur = true, nil
	h.mu.Unlock()
	if c == nil {
		return nil
	}
	c.in.Close()
	<-c.done
	return nil
}

// MaybeServeHashWorker makes this process a hashing worker if
// HashWorkerEnv is set: it serves stdin and stdout and exits. Call it first
// thing in main (and in TestMain of tests that start a ProcessHasher on
// the test binary).
func MaybeServeHashWorker() {
	if os.Getenv(HashWorkerEnv) != "1" {
		return
	}
	lowerPriority()
	if err := ServeHashWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "campusnet hashing worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ServeHashWorker reads hash requests from r and writes their keys to w,
// computing up to GOMAXPROCS at once, until r ends.
func ServeHashWorker(r io.Reader, w io.Writer) error {
	dec := gob.NewDecoder(bufio.NewReader(r))
	bw := bufio.NewWriter(w)
	enc := gob.NewEncoder(bw)
	var wmu sync.Mutex
	var wg sync.WaitGroup
	var werr error
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	for {
		var req hashRequest
		if err := dec.Decode(&req); err != nil {
			wg.Wait()
			if errors.Is(err, io.EOF) {
				return werr
			}
			return err
		}
		p := Params{Memory: req.Memory, Time: req.Time, Threads: req.Threads, SaltLen: uint32(len(req.Salt)), KeyLen: req.KeyLen}
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			var key []byte // none for parameters the parent should have refused
			if p.Validate() == nil {
				key = argon2.IDKey(req.Password, req.Salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			}
			wmu.Lock()
			defer wmu.Unlock()
			if err := enc.Encode(hashResponse{ID: req.ID, Key: key}); err != nil && werr == nil {
				werr = err
			}
			if err := bw.Flush(); err != nil && werr == nil {
				werr = err
			}
		}()
	}
}
