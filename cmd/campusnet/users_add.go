package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/roster"
)

// usersAddCommand creates one person at the service desk (a late
// arrival, an exchange student), by the rules of a roster row: the
// document is checked by its type, the initial password is its last six,
// and a user name or a document already on record is refused. Audited.
func usersAddCommand() command {
	var name, idType, idNumber, role, phone, reason, actor string
	return command{
		name:  "users add",
		args:  "USER --name N --id-type T --id-number X [--role R] [--phone P] --reason R",
		short: "create one person (initial password = last six of the document number; audited)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "the person's name (required)")
			fs.StringVar(&idType, "id-type", "id_card", "document type: id_card, residence_permit, passport, hk_macau_permit, taiwan_permit, other (or the Chinese name)")
			fs.StringVar(&idNumber, "id-number", "", "the document number (required; only its hash is stored)")
			fs.StringVar(&role, "role", "student", "student, staff or operator")
			fs.StringVar(&phone, "phone", "", "phone number")
			fs.StringVar(&reason, "reason", "", "why (required; audited), e.g. \"exchange student, passport checked\"")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if err := oneUserWithReason(args, reason); err != nil {
				return err
			}
			if strings.TrimSpace(name) == "" || strings.TrimSpace(idNumber) == "" {
				return fmt.Errorf("%w: --name and --id-number are required", errUsage)
			}
			p, err := roster.NewPerson(args[0], name, idType, idNumber, phone, role)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			row, err := p.Row(cfg.Identity.TrailingX, identity.InitialParams)
			if err != nil {
				return err
			}
			if err := st.AddAccount(ctx, actor, reason, row); err != nil {
				if errors.Is(err, access.ErrConflict) {
					return fmt.Errorf("%s not created: %w", args[0], err)
				}
				return err
			}
			fmt.Fprintf(env.stdout, "created %s (%s, %s); the initial password is the last six characters of the document number (%s), to be changed at the first login\n",
				p.User, p.Name, p.Role, initialRule(p.Doc, cfg.Identity.TrailingX))
			return nil
		},
	}
}

// initialRule says how the initial password comes from the document, for
// the desk to tell the person (never the password itself: it is not
// printed, so it is not in a terminal's scrollback).
func initialRule(t roster.DocType, trailingX string) string {
	if t != roster.DocIDCard && t != roster.DocResidence {
		return "letters kept"
	}
	switch trailingX {
	case roster.TrailingXKeep:
		return "an X at the end is kept"
	case roster.TrailingXZero:
		return "an X at the end becomes 0"
	}
	return "an X at the end is dropped and the six before it taken"
}
