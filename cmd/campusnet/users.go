package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
)

func usersImportCommand() command {
	var workers int
	var quiet, disableMissing, force bool
	var reason, actor string
	return command{
		name:  "users import",
		args:  "FILE.csv [--disable-missing [--reason R] [--force]]",
		short: "import people (id, name, document number, phone, role[, document type]); initial password = last six of the document number",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&workers, "workers", runtime.NumCPU(), "password-hashing workers")
			fs.BoolVar(&quiet, "quiet", false, "no progress bar")
			fs.BoolVar(&disableMissing, "disable-missing", false,
				"disable the accounts of the file's roles that the file does not list (people who left); never with bad rows")
			fs.StringVar(&reason, "reason", "", "the reason disabled people see (default: not in the roster of FILE)")
			fs.BoolVar(&force, "force", false, "with --disable-missing: disable even when that is more than half the accounts of those roles")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
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
			people, err := roster.ParsePeople(f)
			if err != nil {
				return err
			}
			for _, b := range people.Bad {
				fmt.Fprintln(env.stdout, b)
			}
			opt := roster.Options{TrailingX: cfg.Identity.TrailingX, Workers: workers, Params: identity.InitialParams}
			if !quiet {
				opt.Progress = &progress{w: env.stderr}
			}
			rep, err := roster.ImportPeople(ctx, st, people, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "imported %s: %d created, %d updated, %d unchanged, %d bad rows, in %s (%.0f rows/s)\n",
				args[0], rep.Created, rep.Updated, rep.Unchanged, len(rep.Bad), rep.Took.Round(time.Millisecond), rep.Rate())
			if !disableMissing {
				if len(rep.Bad) > 0 {
					return exitError{1}
				}
				return nil
			}
			if reason == "" {
				reason = "not in the roster " + filepath.Base(args[0])
			}
			n, err := roster.DisableMissing(ctx, st, rep, actor, reason, force, func(m roster.Missing) {
				fmt.Fprintf(env.stdout, "disabled %s (%s)\n", m.User, m.Name)
			})
			var tooMany *roster.TooManyMissing
			switch {
			case errors.Is(err, roster.ErrBadRows):
				fmt.Fprintf(env.stdout, "nobody disabled: %v\n", err)
				return exitError{1}
			case errors.As(err, &tooMany):
				fmt.Fprintf(env.stdout, "nobody disabled: %v (--force to go on)\n", err)
				return exitError{1}
			case err != nil:
				return err
			}
			fmt.Fprintf(env.stdout, "disabled %d accounts not in the file (reason %q, by %s)\n", n, reason, actor)
			return nil
		},
	}
}

// progress draws "[#####     ] 12000/50000  2400/s  ETA 16s" on a terminal
// (or a plain line every few seconds when it is not one). It follows
// roster.ImportPeople (roster.Progress).
type progress struct {
	w        io.Writer
	total    int
	n        int
	start    time.Time
	last     time.Time
	terminal bool
}

// Start begins the bar for total rows.
func (p *progress) Start(total int) {
	p.total, p.start = total, time.Now()
	if f, ok := p.w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
}

// Add counts n more rows written.
func (p *progress) Add(n int) {
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

// Done ends the bar's line on a terminal.
func (p *progress) Done() {
	if p.w != nil && p.total > 0 && p.terminal {
		fmt.Fprintln(p.w)
	}
}
