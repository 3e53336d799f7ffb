package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// nullable is NULL for "", else s.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// likePrefix is a LIKE pattern for "starts with s": the user's % and _
// (and the escape character) match only themselves.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// FindAccounts is the NOC search: the accounts q names, by every field it
// sets, at most limit (default 50), strongest match first (access.Found*
// kinds) and one row per account and kind. Every lookup is an index lookup
// (migration 00109): user name equal or prefix, name prefix, phone
// (without spaces and dashes),
// doc_tail, devices and live sessions by MAC, live sessions by address.
// Accounts imported before doc_tail existed are checked by q.DocFacts: a
// read of those accounts' facts (never the others').
func (s *Store) FindAccounts(ctx context.Context, q access.FindQuery, limit int) ([]access.Found, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var out []access.Found
	seen := map[string]bool{}
	add := func(f access.Found) {
		k := f.Match + "\x00" + f.Account.Username + "\x00" + fmt.Sprint(f.Session.ID)
		if !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, f)
		}
	}
	accounts := func(what, match, where string, args ...any) error {
		var accs []access.Account
		err := s.db.SelectContext(ctx, &accs, s.db.Rebind(`SELECT `+accountCols+` FROM accounts WHERE `+where+` ORDER BY username LIMIT ?`),
			append(args, limit)...)
		if err != nil {
			return fmt.Errorf("store: find by %s: %w", what, err)
		}
		for _, a := range accs {
			add(access.Found{Account: a, Match: match})
		}
		return nil
	}
	live := func(what, match, col, v string) error {
		var ss []access.Session
		err := s.db.SelectContext(ctx, &ss, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions
			WHERE `+col+` = ? AND `+col+` <> '' AND status IN ('reserved', 'online') ORDER BY id DESC LIMIT ?`), v, limit)
		if err != nil {
			return fmt.Errorf("store: find by %s: %w", what, err)
		}
		for _, se := range ss {
			a, err := s.AccountByID(ctx, se.AccountID)
			if err != nil {
				return err
			}
			a.DocFacts = ""
			add(access.Found{Account: a, Match: match, Session: se, MAC: se.MAC})
		}
		return nil
	}
	if q.Text != "" {
		if err := accounts("user name", access.FoundAccount, `username = ?`, q.Text); err != nil {
			return nil, err
		}
	}
	if q.IP != "" {
		if err := live("address", access.FoundAddress, "ip", q.IP); err != nil {
			return nil, err
		}
	}
	if q.MAC != "" {
		if err := live("MAC", access.FoundMAC, "mac", q.MAC); err != nil {
			return nil, err
		}
		var rows []struct {
			access.Account
			MAC string `db:"mac"`
		}
		err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT a.id, a.username, a.name, a.role, a.password_hash, a.must_change, a.disabled,
				a.disabled_reason, a.balance_fen, a.created_at, a.updated_at, d.mac
			FROM devices d JOIN accounts a ON a.id = d.account_id WHERE d.mac = ? ORDER BY d.bound DESC, a.username LIMIT ?`), q.MAC, limit)
		if err != nil {
			return nil, fmt.Errorf("store: find by MAC: %w", err)
		}
		for _, r := range rows {
			if !seen[access.FoundMAC+"\x00"+r.Username+"\x00"] {
				add(access.Found{Account: r.Account, Match: access.FoundMAC, MAC: r.MAC})
			}
		}
	}
	if q.Phone != "" {
		if err := accounts("phone", access.FoundPhone, `REPLACE(REPLACE(phone, ' ', ''), '-', '') = ? AND phone <> ''`, q.Phone); err != nil {
			return nil, err
		}
	}
	if q.DocTail != "" {
		if err := accounts("document", access.FoundDocument, `doc_tail = ?`, q.DocTail); err != nil {
			return nil, err
		}
	}
	if q.DocFacts != nil {
		var legacy []struct {
			ID       int64  `db:"id"`
			Username string `db:"username"`
			Facts    string `db:"doc_facts"`
		}
		if err := s.db.SelectContext(ctx, &legacy, `SELECT id, username, doc_facts FROM accounts WHERE doc_tail IS NULL AND doc_facts <> ''`); err != nil {
			return nil, fmt.Errorf("store: find by document: %w", err)
		}
		for _, l := range legacy {
			if q.DocFacts(l.Username, l.Facts) {
				a, err := s.AccountByID(ctx, l.ID)
				if err != nil {
					return nil, err
				}
				add(access.Found{Account: a, Match: access.FoundDocument})
			}
		}
	}
	if q.Text != "" {
		p := likePrefix(q.Text)
		if err := accounts("user name", access.FoundPrefix, `username LIKE ? ESCAPE '\' AND username <> ?`, p, q.Text); err != nil {
			return nil, err
		}
		if err := accounts("name", access.FoundName, `name LIKE ? ESCAPE '\'`, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}
