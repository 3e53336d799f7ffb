package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// traceTimes reads --at, or --from and --to, in the campus zone; neither
// means now.
func traceTimes(at, from, to string, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	switch {
	case at != "" && (from != "" || to != ""):
		return time.Time{}, time.Time{}, fmt.Errorf("%w: give --at, or --from and --to, not both", errUsage)
	case at != "":
		t, err := access.ParseOperatorTime(at, loc, now)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --at: %v", errUsage, err)
		}
		return t, t, nil
	case from != "" || to != "":
		if from == "" || to == "" {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --from and --to go together", errUsage)
		}
		f, err := access.ParseOperatorTime(from, loc, now)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --from: %v", errUsage, err)
		}
		t, err := access.ParseOperatorTime(to, loc, now)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("%w: --to: %v", errUsage, err)
		}
		if t.Before(f) {
			return time.Time{}, time.Time{}, fmt.Errorf("--to %s is before --from %s", to, from)
		}
		return f, t, nil
	}
	n := now.In(loc)
	return n, n, nil
}

// traceKey reads the ADDRESS|PREFIX|MAC argument (access.ParseTraceKey).
func traceKey(arg string) (access.TraceQuery, error) {
	q, err := access.ParseTraceKey(arg)
	if err != nil {
		return q, fmt.Errorf("%w: %v", errUsage, err)
	}
	return q, nil
}

// traceWhen says what a trace asked, in the campus zone.
func traceWhen(q access.TraceQuery, loc *time.Location) string {
	f := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 -07:00") }
	if q.From.Equal(q.To) {
		return "at " + f(q.From)
	}
	return "from " + f(q.From) + " to " + f(q.To)
}

func traceCommand() command {
	var at, from, to, format, reason, actor string
	var limit int
	return command{
		name: "trace",
		args: `ADDRESS|PREFIX|MAC [--at TIME | --from TIME --to TIME] [--format table|csv|json] --reason "case number"`,
		short: "who held an IPv4 address, an IPv6 address or prefix (inside a session's /64, Framed-IPv6-Prefix or delegated prefix) " +
			"or a MAC at a moment or in an interval (audited); TIME like \"2026-12-02 14:05\", " +
			"\"2026-12-02T14:05:00+08:00\" or \"yesterday 14:05\", in [server] timezone; exit 1 when no session held it",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&at, "at", "", "the moment (default now)")
			fs.StringVar(&from, "from", "", "the interval's start (with --to)")
			fs.StringVar(&to, "to", "", "the interval's end, included (with --from)")
			fs.StringVar(&format, "format", "table", "table, csv (UTF-8 with a BOM, for a spreadsheet) or json")
			fs.StringVar(&reason, "reason", "", "why: the case or request number (required, audited)")
			fs.StringVar(&actor, "actor", defaultActor(), "who asks (default $SUDO_USER, $USER, else the login name)")
			fs.IntVar(&limit, "limit", 1000, "at most this many sessions")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one address, prefix or MAC", errUsage)
			}
			if format != "table" && format != "csv" && format != "json" {
				return fmt.Errorf("%w: --format %q: want table, csv or json", errUsage, format)
			}
			reason = strings.TrimSpace(reason)
			if reason == "" {
				return fmt.Errorf("%w: --reason is required: the case or request number the trace answers (it is audited)", errUsage)
			}
			if strings.TrimSpace(actor) == "" {
				return fmt.Errorf("%w: --actor is empty", errUsage)
			}
			q, err := traceKey(args[0])
			if err != nil {
				return err
			}
			_, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			loc := env.zone()
			f, t, err := traceTimes(at, from, to, loc, st.Now())
			if err != nil {
				return err
			}
			q.From, q.To, q.Limit = f, t, limit
			rows, err := st.TraceSessions(ctx, q)
			if err != nil {
				return err
			}
			// Audited before anything is shown: a trace nobody can account
			// for is not given.
			detail := fmt.Sprintf("%s: %d session(s), format %s", traceWhen(q, loc), len(rows), format)
			if err := st.Audit(ctx, actor, "trace", q.Key(), reason, detail); err != nil {
				return fmt.Errorf("the trace could not be audited, so it is not shown: %w", err)
			}
			if err := writeTrace(env.stdout, format, q, rows, loc); err != nil {
				return err
			}
			if len(rows) == 0 {
				fmt.Fprintf(env.stderr, "no session held %s %s\n", q.Key(), traceWhen(q, loc))
				return exitError{1}
			}
			return nil
		},
	}
}

// writeTrace prints the rows as a table, CSV (with a BOM) or JSON.
func writeTrace(w io.Writer, format string, q access.TraceQuery, rows []access.TraceRow, loc *time.Location) error {
	switch format {
	case "json":
		recs := make([]access.TraceRecord, len(rows))
		for i, r := range rows {
			recs[i] = r.Record(loc)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Key      string               `json:"key"`
			From     string               `json:"from"`
			To       string               `json:"to"`
			Timezone string               `json:"timezone"`
			Sessions []access.TraceRecord `json:"sessions"`
		}{q.Key(), q.From.In(loc).Format(time.RFC3339), q.To.In(loc).Format(time.RFC3339), loc.String(), recs})
	case "csv":
		if _, err := io.WriteString(w, access.UTF8BOM); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		_ = cw.Write(access.TraceCSVHeader)
		for _, r := range rows {
			_ = cw.Write(r.Record(loc).CSV())
		}
		cw.Flush()
		return cw.Error()
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "%s %s (%s): %d session(s)\n", q.Key(), traceWhen(q, loc), loc, len(rows))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tROLE\tMAC\tIPV4\tIPV6\tBAS\tNAS PORT\tAREA\tSTART\tUNTIL\tENDED\tIN\tOUT\tSESSION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Username, dash(r.Name), r.Role, dash(r.MAC), dash(r.IP), dash(r.IPv6Text()),
			r.NAS, dash(r.NASPort), r.Area, fmtMillis(loc, r.StartedAt), fmtMillis(loc, r.Until), r.EndText(),
			bytesIEC(r.InputOctets), bytesIEC(r.OutputOctets), r.ID)
	}
	return tw.Flush()
}
