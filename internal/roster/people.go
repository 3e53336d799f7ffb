package roster

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// Store is what the people import reads and writes (*store.Store).
type Store interface {
	ExistingAccounts(ctx context.Context) (map[string]access.ExistingAccount, error)
	ImportAccounts(ctx context.Context, batch []access.ImportRow) (store.ImportResult, error)
	SetDisabled(ctx context.Context, actor, username string, disabled bool, reason string) error
	DocumentOwners(ctx context.Context) (map[string]string, error)
}

// BadRow is a row that was not imported: its line in the file and why.
type BadRow struct {
	Line int
	// Reason is the English text (the CLI's); ID and Args are its
	// catalogue message (messages.go), for Text in another language.
	Reason string
	ID     string
	Args   []any
}

func (b BadRow) String() string { return fmt.Sprintf("line %d: %s", b.Line, b.Reason) }

// Person is a good roster row. IDCard is the document number, of type
// Doc (DocIDCard when the file has no such column).
type Person struct {
	Line                      int
	User, Name, IDCard, Phone string
	Role                      access.Role
	Doc                       DocType
}

// People is a parsed roster: the good rows and the bad ones, in file order.
type People struct {
	Rows []Person
	Bad  []BadRow
}

// Report is what a people import did (or, from PlanPeople, would do).
type Report struct {
	store.ImportResult
	Bad  []BadRow
	Took time.Duration
	Rows int
	// Listed are the user names of the good rows, Roles their roles.
	Listed map[string]bool
	Roles  map[access.Role]bool
}

// Rate is rows per second.
func (r Report) Rate() float64 {
	if r.Took <= 0 {
		return 0
	}
	return float64(r.Rows) / r.Took.Seconds()
}

// Progress follows an import: Start with the number of rows to write, Add
// after each batch, Done at the end of a successful import.
type Progress interface {
	Start(total int)
	Add(n int)
	Done()
}

// Options tune ImportPeople.
type Options struct {
	// TrailingX is identity.trailing_x (see InitialPassword).
	TrailingX string
	// Workers hash initial passwords in parallel (at least one).
	Workers int
	// Params are the initial passwords' hash parameters.
	Params identity.Params
	// Progress, when not nil, follows the writes.
	Progress Progress
}

var (
	reUsername = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)
	rePhone    = regexp.MustCompile(`^\+?[0-9][0-9 -]{5,19}$`)
)

// ParsePeople reads every row, returning the good ones and the bad ones with
// their line numbers. A UTF-8 byte-order mark and a header row (first field
// "id", "学号", "工号" or "学工号") are skipped; so are empty lines. An id
// listed twice is bad the second time. The error is a read error only.
func ParsePeople(r io.Reader) (*People, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3) // UTF-8 BOM from spreadsheet exports
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	p := &People{}
	seen := map[string]int{}
	seenDoc := map[string]Person{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			p.Bad = append(p.Bad, badRow(pe.StartLine, problem("roster.bad.csv", pe.Err.Error())))
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(p.Rows) == 0 && len(p.Bad) == 0 && line == 1 && len(rec) > 0 {
			h := strings.ToLower(strings.TrimSpace(rec[0]))
			if h == "id" || h == "学号" || h == "工号" || h == "学工号" {
				continue
			}
		}
		row, reason := checkPerson(rec)
		if reason != nil {
			p.Bad = append(p.Bad, badRow(line, reason))
			continue
		}
		if first, dup := seen[row.User]; dup {
			p.Bad = append(p.Bad, badRow(line, problem("roster.bad.dup_id", row.User, first)))
			continue
		}
		h := DocumentHash(row.Doc, row.IDCard)
		if other, dup := seenDoc[h]; dup {
			p.Bad = append(p.Bad, badRow(line, problem("roster.bad.dup_doc", row.User, other.Line, other.User)))
			continue
		}
		seen[row.User] = line
		row.Line = line
		seenDoc[h] = row
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

// NewPerson checks one person typed at the service desk by the rules of a
// roster row (`campusnet users add`); the error says what is wrong.
func NewPerson(user, name, docType, number, phone, role string) (Person, error) {
	for _, f := range []string{user, name, docType, number, phone, role} {
		if !access.PlainText(f) {
			return Person{}, errors.New("control characters are not allowed")
		}
	}
	p, reason := checkPerson([]string{user, name, number, phone, role, docType})
	if reason != nil {
		return p, reason
	}
	return p, nil
}

// Row is what the store keeps of a new person: the initial password's
// hash (made with params) and the document's hash and facts.
func (r Person) Row(trailingX string, params identity.Params) (access.ImportRow, error) {
	h, err := identity.HashPassword(DocumentInitialPassword(r.Doc, r.IDCard, trailingX), params)
	if err != nil {
		return access.ImportRow{}, err
	}
	return access.ImportRow{Username: r.User, Name: r.Name, Role: r.Role, Phone: r.Phone, Hash: h,
		DocType: string(r.Doc), DocHash: DocumentHash(r.Doc, r.IDCard), DocTail: access.DocumentTailHash(r.IDCard),
		DocFacts: identity.DocumentFacts(r.User, r.IDCard, BirthDate(r.Doc, r.IDCard))}, nil
}

// checkPerson applies the row rules (see the package doc).
func checkPerson(rec []string) (Person, *Problem) {
	if len(rec) < 3 || len(rec) > 6 {
		return Person{}, problem("roster.bad.columns", len(rec))
	}
	f := make([]string, 6)
	for i := range rec {
		f[i] = strings.TrimSpace(rec[i])
	}
	p := Person{User: f[0], Name: f[1], Phone: f[3], Role: access.Role(strings.ToLower(f[4]))}
	switch {
	case p.User == "":
		return p, problem("roster.bad.empty_id")
	case !reUsername.MatchString(p.User):
		return p, problem("roster.bad.id_chars", p.User)
	case p.Name == "":
		return p, problem("roster.bad.empty_name")
	case len(p.Name) > 200:
		return p, problem("roster.bad.name_long")
	}
	var pr *Problem
	if p.Doc, pr = parseDocType(f[5]); pr != nil {
		return p, pr
	}
	if p.IDCard, pr = checkDocument(p.Doc, f[2]); pr != nil {
		return p, pr
	}
	if p.Phone != "" && !rePhone.MatchString(p.Phone) {
		return p, problem("roster.bad.phone", p.Phone)
	}
	switch p.Role {
	case "":
		p.Role = access.RoleStudent
	case access.RoleStudent, access.RoleStaff, access.RoleOperator:
	case "学生":
		p.Role = access.RoleStudent
	case "教工", "教职工":
		p.Role = access.RoleStaff
	default:
		return p, problem("roster.bad.role", f[4])
	}
	return p, nil
}

// report starts a Report from the parsed file.
func (p *People) report() Report {
	rep := Report{Bad: p.Bad, Rows: len(p.Rows) + len(p.Bad), Listed: map[string]bool{}, Roles: map[access.Role]bool{}}
	for _, r := range p.Rows {
		rep.Listed[r.User], rep.Roles[r.Role] = true, true
	}
	return rep
}

// unchanged reports whether the row would change nothing of e.
func (r Person) unchanged(e access.ExistingAccount) bool {
	return e.Name == r.Name && e.Role == r.Role && e.Phone == r.Phone
}

// prepare is what the dry run and the import both start from: the rows
// left once documents held by other accounts are bad rows, their report,
// and the accounts on record.
func prepare(ctx context.Context, st Store, p *People) (*People, Report, map[string]access.ExistingAccount, error) {
	p, err := withoutTakenDocuments(ctx, st, p)
	if err != nil {
		return p, Report{}, nil, err
	}
	rep := p.report()
	existing, err := st.ExistingAccounts(ctx)
	return p, rep, existing, err
}

// PlanPeople reports what ImportPeople would do with p, changing nothing:
// the dry run.
func PlanPeople(ctx context.Context, st Store, p *People) (Report, error) {
	start := time.Now()
	p, rep, existing, err := prepare(ctx, st, p)
	if err != nil {
		return rep, err
	}
	for _, r := range p.Rows {
		e, ok := existing[r.User]
		switch {
		case !ok:
			rep.Created++
		case r.unchanged(e):
			rep.Unchanged++
		default:
			rep.Updated++
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// ImportPeople upserts the good rows of p. Only new people get a password
// hash (the expensive part, spread over opt.Workers goroutines); rows that
// change nothing are counted and skipped before any work; the writes go in
// batches of 500, one transaction each.
func ImportPeople(ctx context.Context, st Store, p *People, opt Options) (Report, error) {
	start := time.Now()
	p, rep, existing, err := prepare(ctx, st, p)
	if err != nil {
		return rep, err
	}
	var work []Person
	for _, r := range p.Rows {
		if e, ok := existing[r.User]; ok && r.unchanged(e) {
			rep.Unchanged++
			continue
		}
		work = append(work, r)
	}
	bar := opt.Progress
	if bar == nil {
		bar = noProgress{}
	}
	bar.Start(len(work))
	// Hash on every worker; write in batches from one goroutine.
	in := make(chan Person)
	out := make(chan access.ImportRow, 256)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	workers := max(opt.Workers, 1)
	var hashErr error
	var hashOnce sync.Once
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range in {
				ir := access.ImportRow{Username: r.User, Name: r.Name, Role: r.Role, Phone: r.Phone}
				if _, ok := existing[r.User]; !ok {
					var err error
					if ir, err = r.Row(opt.TrailingX, opt.Params); err != nil {
						hashOnce.Do(func() { hashErr = err; cancel() })
						return
					}
				}
				select {
				case out <- ir:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(in)
		for _, r := range work {
			select {
			case in <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()
	const batchSize = 500
	batch := make([]access.ImportRow, 0, batchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		res, err := st.ImportAccounts(ctx, batch)
		if err != nil {
			return err
		}
		rep.Created += res.Created
		rep.Updated += res.Updated
		rep.Unchanged += res.Unchanged
		bar.Add(len(batch))
		batch = batch[:0]
		return nil
	}
	for ir := range out {
		batch = append(batch, ir)
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
	bar.Done()
	rep.Took = time.Since(start)
	return rep, nil
}

// withoutTakenDocuments moves to the bad rows every row whose document
// number is on record for another account; p itself is not changed.
func withoutTakenDocuments(ctx context.Context, st Store, p *People) (*People, error) {
	owners, err := st.DocumentOwners(ctx)
	if err != nil {
		return nil, err
	}
	out := &People{Bad: slices.Clone(p.Bad)}
	for _, r := range p.Rows {
		if owner, ok := owners[DocumentHash(r.Doc, r.IDCard)]; ok && owner != r.User {
			out.Bad = append(out.Bad, badRow(r.Line, problem("roster.bad.doc_taken", r.User, owner)))
			continue
		}
		out.Rows = append(out.Rows, r)
	}
	slices.SortStableFunc(out.Bad, func(a, b BadRow) int { return a.Line - b.Line })
	return out, nil
}

type noProgress struct{}

func (noProgress) Start(int) {}
func (noProgress) Add(int)   {}
func (noProgress) Done()     {}

// ErrBadRows: DisableMissing does not run on a file with bad rows.
var ErrBadRows = errors.New("fix the bad rows first (a person on a bad row is not missing)")

// TooManyMissing is DisableMissing's refusal to disable more than half of
// the enabled accounts of the file's roles.
type TooManyMissing struct {
	Missing, Enabled int
	Roles            []access.Role
}

func joinRoles(roles []access.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func (e *TooManyMissing) Error() string {
	return fmt.Sprintf("%d of the %d enabled accounts of the roles %s are not in the file, more than half; is it the whole roster?",
		e.Missing, e.Enabled, joinRoles(e.Roles))
}

// Missing is an account a roster no longer lists.
type Missing struct{ User, Name string }

// DisableMissing disables, with reason and in actor's name, every enabled
// account whose role the imported file lists but whose user name it does
// not: people who left (a graduating year). Accounts of other roles
// (operators, a lab's printers) are never touched. It returns ErrBadRows
// when rep has bad rows and a *TooManyMissing, unless force, when that is
// more than half of those roles' enabled accounts; then nobody is
// disabled. each, when not nil, is called after each account is disabled.
// The result is the number disabled.
func DisableMissing(ctx context.Context, st Store, rep Report, actor, reason string, force bool, each func(Missing)) (int, error) {
	if len(rep.Bad) > 0 {
		return 0, ErrBadRows
	}
	all, err := st.ExistingAccounts(ctx)
	if err != nil {
		return 0, err
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
		return 0, &TooManyMissing{Missing: len(gone), Enabled: enabled, Roles: slices.Sorted(maps.Keys(rep.Roles))}
	}
	n := 0
	for _, user := range gone {
		if err := st.SetDisabled(ctx, actor, user, true, reason); err != nil {
			return n, err
		}
		n++
		if each != nil {
			each(Missing{User: user, Name: all[user].Name})
		}
	}
	return n, nil
}
