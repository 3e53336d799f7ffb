package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

func usersImportCommand() command {
	var workers int
	var quiet, disableMissing, force bool
	var reason, actor string
	return command{
		name:  "users import",
		args:  "FILE.csv [--disable-missing [--reason R] [--force]]",
		short: "import people (id, name, id-card number, phone, role); initial password = last six of the id-card number",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&workers, "workers", runtime.NumCPU(), "password-hashing workers")
			fs.BoolVar(&quiet, "quiet", false, "no progress bar")
			fs.BoolVar(&disableMissing, "disable-missing", false,
				"disable the accounts of the file's roles that the file does not list (people who left); never with bad rows")
			fs.StringVar(&reason, "reason", "", "the reason disabled people see (default: not in the roster of FILE)")
			fs.BoolVar(&force, "force", false, "with --disable-missing: disable even when that is more than half the accounts of those roles")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER or $USER)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one CSV file", errUsage)
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			imp := importer{st: st, trailingX: cfg.Identity.TrailingX, workers: workers, params: identity.InitialParams,
				out: env.stdout, progress: env.stderr}
			if quiet {
				imp.progress = nil
			}
			rep, err := imp.run(ctx, f)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "imported %s: %d created, %d updated, %d unchanged, %d bad rows, in %s (%.0f rows/s)\n",
				args[0], rep.Created, rep.Updated, rep.Unchanged, len(rep.Bad), rep.Took.Round(time.Millisecond), rep.rate())
			if len(rep.Bad) > 0 {
				if disableMissing {
					fmt.Fprintln(env.stdout, "nobody disabled: fix the bad rows first (a person on a bad row is not missing)")
				}
				return exitError{1}
			}
			if disableMissing {
				if reason == "" {
					reason = "not in the roster " + filepath.Base(args[0])
				}
				return disableMissingPeople(ctx, env.stdout, st, rep, actor, reason, force)
			}
			return nil
		},
	}
}

// importReport is what an import did.
type importReport struct {
	store.ImportResult
	Bad  []badRow
	Took time.Duration
	Rows int
	// Listed are the user names of the good rows, Roles their roles.
	Listed, Roles map[string]bool
}

// disableMissingPeople disables, with reason, every enabled account whose
// role the file lists but whose user name it does not: people who left (a
// graduating year). Accounts of other roles (operators, a lab's printers)
// are never touched. Unless force, it refuses to disable more than half of
// those roles' enabled accounts: a file of one year's students is not the
// roster.
func disableMissingPeople(ctx context.Context, out io.Writer, st *store.Store, rep importReport, actor, reason string, force bool) error {
	all, err := st.ExistingAccounts(ctx)
	if err != nil {
		return err
	}
	// Only enabled accounts count, both ways: people disabled in earlier
	// years are neither missing again nor part of the roles' population.
	var gone []string
	enabled := 0
	for user, e := range all {
		if !rep.Roles[e.Role] || e.Disabled {
			continue
		}
		enabled++
		if !rep.Listed[user] {
			gone = append(gone, user)
		}
	}
	sort.Strings(gone)
	if len(gone)*2 > enabled && !force {
		fmt.Fprintf(out, "nobody disabled: %d of the %d enabled accounts of the roles %s are not in the file, more than half; is it the whole roster? (--force to go on)\n",
			len(gone), enabled, strings.Join(slices.Sorted(maps.Keys(rep.Roles)), ", "))
		return exitError{1}
	}
	for _, user := range gone {
		if err := st.SetDisabled(ctx, actor, user, true, reason); err != nil {
			return err
		}
		fmt.Fprintf(out, "disabled %s (%s)\n", user, all[user].Name)
	}
	fmt.Fprintf(out, "disabled %d accounts not in the file (reason %q, by %s)\n", len(gone), reason, actor)
	return nil
}

func (r importReport) rate() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Took.Seconds()
}

type badRow struct {
	Line   int
	Reason string
}

// importer reads a CSV of people and upserts them. Only new people get a
// password hash (the expensive part, spread over every core); a re-import
// updates names, roles and phones and never touches a password.
type importer struct {
	st        *store.Store
	trailingX string
	workers   int
	params    identity.Params
	out       io.Writer // bad rows, as they are found
	progress  io.Writer // progress bar; nil for none
}

var (
	reUsername = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	rePhone    = regexp.MustCompile(`^\+?[0-9][0-9 -]{5,19}$`)
	reIDCard18 = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)
	reIDCard15 = regexp.MustCompile(`^[0-9]{15}$`)
)

type personRow struct {
	line                          int
	user, name, idcard, phone, rl string
}

func (imp *importer) run(ctx context.Context, r io.Reader) (importReport, error) {
	start := time.Now()
	var rep importReport
	rows, bad, err := imp.parse(r)
	if err != nil {
		return rep, err
	}
	for _, b := range bad {
		fmt.Fprintf(imp.out, "line %d: %s\n", b.Line, b.Reason)
	}
	rep.Bad = bad
	rep.Rows = len(rows) + len(bad)
	rep.Listed, rep.Roles = map[string]bool{}, map[string]bool{}
	for _, p := range rows {
		rep.Listed[p.user], rep.Roles[p.rl] = true, true
	}
	existing, err := imp.st.ExistingAccounts(ctx)
	if err != nil {
		return rep, err
	}
	// Rows that change nothing are counted and skipped before any work.
	var work []personRow
	for _, p := range rows {
		if e, ok := existing[p.user]; ok && e.Name == p.name && e.Role == p.rl && e.Phone == p.phone {
			rep.Unchanged++
			continue
		}
		work = append(work, p)
	}
	bar := newProgress(imp.progress, len(work))
	// Hash on every core; write in batches from one goroutine.
	type item struct {
		row store.ImportRow
	}
	in := make(chan personRow)
	out := make(chan item, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	workers := imp.workers
	if workers < 1 {
		workers = 1
	}
	var hashErr error
	var hashOnce sync.Once
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range in {
				ir := store.ImportRow{Username: p.user, Name: p.name, Role: p.rl, Phone: p.phone}
				if _, ok := existing[p.user]; !ok {
					h, err := identity.HashPassword(initialPassword(p.idcard, imp.trailingX), imp.params)
					if err != nil {
						hashOnce.Do(func() { hashErr = err; cancel() })
						return
					}
					ir.Hash = h
				}
				select {
				case out <- item{ir}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(in)
		for _, p := range work {
			select {
			case in <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()
	const batchSize = 500
	batch := make([]store.ImportRow, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := imp.st.ImportAccounts(ctx, batch)
		if err != nil {
			return err
		}
		rep.Created += res.Created
		rep.Updated += res.Updated
		rep.Unchanged += res.Unchanged
		bar.add(len(batch))
		batch = batch[:0]
		return nil
	}
	for it := range out {
		batch = append(batch, it.row)
		if len(batch) == batchSize {
			if err := flush(); err != nil {
				cancel()
				return rep, err
			}
		}
	}
	if hashErr != nil {
		return rep, hashErr
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	if err := flush(); err != nil {
		return rep, err
	}
	bar.done()
	rep.Took = time.Since(start)
	return rep, nil
}

// parse reads every row, returning the good ones and the bad ones with their
// line numbers. A header row (first field "id", "学号" or "工号") is skipped.
func (imp *importer) parse(r io.Reader) ([]personRow, []badRow, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3) // UTF-8 BOM from spreadsheet exports
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var rows []personRow
	var bad []badRow
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad = append(bad, badRow{pe.StartLine, "not valid CSV: " + pe.Err.Error()})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rows) == 0 && len(bad) == 0 && line == 1 && len(rec) > 0 {
			h := strings.ToLower(strings.TrimSpace(rec[0]))
			if h == "id" || h == "学号" || h == "工号" || h == "学工号" {
				continue
			}
		}
		p, reason := checkRow(rec)
		if reason != "" {
			bad = append(bad, badRow{line, reason})
			continue
		}
		if first, dup := seen[p.user]; dup {
			bad = append(bad, badRow{line, fmt.Sprintf("id %s already appears on line %d", p.user, first)})
			continue
		}
		seen[p.user] = line
		p.line = line
		rows = append(rows, p)
	}
	return rows, bad, nil
}

func checkRow(rec []string) (personRow, string) {
	if len(rec) < 3 || len(rec) > 5 {
		return personRow{}, fmt.Sprintf("want 5 columns (id, name, id-card number, phone, role), got %d", len(rec))
	}
	f := make([]string, 5)
	for i := range rec {
		f[i] = strings.TrimSpace(rec[i])
	}
	p := personRow{user: f[0], name: f[1], idcard: strings.ToUpper(f[2]), phone: f[3], rl: strings.ToLower(f[4])}
	switch {
	case p.user == "":
		return p, "empty id"
	case !reUsername.MatchString(p.user):
		return p, fmt.Sprintf("id %q: only letters, digits and . _ @ - allowed, at most 64", p.user)
	case p.name == "":
		return p, "empty name"
	case len(p.name) > 200:
		return p, "name longer than 200 bytes"
	case p.idcard == "":
		return p, "empty id-card number (the initial password comes from it)"
	}
	if reIDCard18.MatchString(p.idcard) {
		if !idCardChecksumOK(p.idcard) {
			return p, "id-card number checksum is wrong (mistyped digit?)"
		}
	} else if !reIDCard15.MatchString(p.idcard) {
		return p, "id-card number must be 18 characters (17 digits and a digit or X) or 15 digits"
	}
	if p.phone != "" && !rePhone.MatchString(p.phone) {
		return p, fmt.Sprintf("phone %q is not a phone number", p.phone)
	}
	switch p.rl {
	case "":
		p.rl = access.RoleStudent
	case access.RoleStudent, access.RoleStaff, access.RoleOperator:
	case "学生":
		p.rl = access.RoleStudent
	case "教工", "教职工":
		p.rl = access.RoleStaff
	default:
		return p, fmt.Sprintf("role %q: want student, staff or operator", f[4])
	}
	return p, ""
}

// idCardChecksumOK checks the GB 11643 check character of an 18-character
// resident id-card number.
func idCardChecksumOK(s string) bool {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11] == s[17]
}

// initialPassword is the last six characters of the id-card number (the
// seeds' rule). An X at the end is dropped (default: the six before it are
// taken), kept, or replaced by 0, as configured by identity.trailing_x.
func initialPassword(idcard, trailingX string) string {
	s := strings.ToUpper(idcard)
	if strings.HasSuffix(s, "X") {
		switch trailingX {
		case "keep":
		case "zero":
			s = s[:len(s)-1] + "0"
		default:
			s = s[:len(s)-1]
		}
	}
	if len(s) <= 6 {
		return s
	}
	return s[len(s)-6:]
}

// progress draws "[#####     ] 12000/50000  2400/s  ETA 16s" on a terminal
// (or a plain line every few seconds when it is not one).
type progress struct {
	w        io.Writer
	total    int
	n        int
	start    time.Time
	last     time.Time
	terminal bool
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) add(n int) {
	p.n += n
	if p.w == nil || p.total == 0 {
		return
	}
	every := 5 * time.Second
	if p.terminal {
		every = 200 * time.Millisecond
	}
	if time.Since(p.last) < every && p.n < p.total {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.n) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-p.n)/rate) * time.Second).Round(time.Second).String()
	}
	const width = 30
	filled := width * p.n / p.total
	bar := strings.Repeat("#", filled) + strings.Repeat(" ", width-filled)
	end := "\n"
	if p.terminal {
		end = "\r"
	}
	fmt.Fprintf(p.w, "[%s] %d/%d  %.0f rows/s  ETA %s%s", bar, p.n, p.total, rate, eta, end)
}

func (p *progress) done() {
	if p.w != nil && p.total > 0 && p.terminal {
		fmt.Fprintln(p.w)
	}
}
