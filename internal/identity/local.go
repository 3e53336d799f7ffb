package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"
)

// Password policy for [Local.ChangePassword], in characters (runes).
const (
	MinPasswordLen = 8
	// MaxPasswordLen keeps a pasted novel from costing a hash of its own;
	// argon2 itself has no limit.
	MaxPasswordLen = 128
)

// LocalCredential is what the local store keeps for one person.
type LocalCredential struct {
	Person   Person // Person.MustChange is the store's must-change flag
	Hash     string // argon2id PHC string from HashPassword
	Disabled bool
	// Document is the stored DocumentFacts of the person's document, ""
	// when none is on record; ChangePassword checks a new password
	// against it (CheckNewPassword).
	Document string
}

// LocalStore is the part of campusnet's database that [Local] needs.
type LocalStore interface {
	// LocalCredential returns the credential of user. When there is no
	// such user it must return an error for which
	// errors.Is(err, ErrUnknownUser) holds (returning ErrUnknownUser
	// itself, or wrapping it, is enough).
	LocalCredential(ctx context.Context, user string) (LocalCredential, error)
	// SetPasswordHash replaces the hash and the must-change flag of user,
	// the same key LocalCredential takes.
	SetPasswordHash(ctx context.Context, user, hash string, mustChange bool) error
}

// Local authenticates against argon2id hashes in a [LocalStore].
type Local struct {
	store     LocalStore
	params    Params
	paramsErr error
	log       *slog.Logger
	// stage computes every hash: a bounded number at once, each taking
	// Params.Memory and a core, so that a rush of logins at the start of
	// a lecture cannot exhaust either (see Stage).
	stage *Stage
}

var _ Authenticator = (*Local)(nil)

// NewLocal returns a local backend that hashes new passwords with p
// (normally [DefaultParams]) and replaces weaker hashes at login. If p is
// invalid every call fails with the reason; check p.Validate() at start.
// log receives the failures that do not stop a login (a failed rehash).
// It hashes in this process, GOMAXPROCS at once; NewLocalStage takes the
// stage to hash in.
func NewLocal(store LocalStore, p Params, log *slog.Logger) *Local {
	return NewLocalStage(store, p, NewStage(StageConfig{Log: log}), log)
}

// NewLocalStage is NewLocal hashing in stage, which may be shared with
// other backends.
func NewLocalStage(store LocalStore, p Params, stage *Stage, log *slog.Logger) *Local {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Local{store: store, params: p, paramsErr: p.Validate(), log: log, stage: stage}
}

// Stage is the hashing stage the backend uses.
func (l *Local) Stage() *Stage { return l.stage }

// Authenticate checks user's password. The password is verified before
// the disabled flag is looked at, so ErrDisabled tells nothing to someone
// who does not know the password. A hash made with parameters below the
// configured ones is replaced by a new hash of the same password, keeping
// the must-change flag; a failure to store it is logged, not returned.
func (l *Local) Authenticate(ctx context.Context, user, password string) (Person, error) {
	cred, err := l.verify(ctx, user, password)
	if err != nil {
		return Person{}, err
	}
	if NeedsRehash(cred.Hash, l.params) {
		l.rehash(ctx, user, password, cred.Person.MustChange)
	}
	return cred.Person, nil
}

// ChangePassword replaces user's password after checking the current one,
// and clears the must-change flag. The new password must have between
// MinPasswordLen and MaxPasswordLen characters and differ from the current
// password (which, for a must-change account, is the initial one) and from
// the user name, and keep CheckNewPassword's rules (a *RuleError);
// otherwise the error wraps ErrWeakPassword. Wrong current passwords and
// disabled accounts fail as in Authenticate, before the rules that need
// the stored document facts.
func (l *Local) ChangePassword(ctx context.Context, user, oldPassword, newPassword string) error {
	switch n := utf8.RuneCountInString(newPassword); {
	case n < MinPasswordLen:
		return ErrPasswordTooShort
	case n > MaxPasswordLen:
		return ErrPasswordTooLong
	case newPassword == oldPassword || newPassword == user:
		return ErrPasswordReused
	}
	cred, err := l.verify(ctx, user, oldPassword)
	if err != nil {
		return err
	}
	if err := CheckNewPassword(newPassword, PersonFacts{User: cred.Person.ID, Document: cred.Document}); err != nil {
		return err
	}
	hash, err := hashPassword(ctx, l.stage, newPassword, l.params)
	if err != nil {
		return err
	}
	if pc, ok := l.store.(PasswordChanger); ok {
		err = pc.ChangePasswordHash(ctx, user, hash)
	} else {
		err = l.store.SetPasswordHash(ctx, user, hash, false)
	}
	if err != nil {
		return fmt.Errorf("identity: store new password of %q: %w", user, err)
	}
	return nil
}

// PasswordChanger is a LocalStore that records a changed password as an
// event of its own (the password_changed notification), apart from the
// rehash of an unchanged one, which uses SetPasswordHash. ChangePassword
// uses it when the store has it; ChangePasswordHash also clears the
// must-change flag.
type PasswordChanger interface {
	ChangePasswordHash(ctx context.Context, user, hash string) error
}

// verify returns user's credential if password is right and the account
// is enabled.
func (l *Local) verify(ctx context.Context, user, password string) (LocalCredential, error) {
	if l.paramsErr != nil {
		return LocalCredential{}, l.paramsErr
	}
	if password == "" {
		return LocalCredential{}, fmt.Errorf("%w: empty password", ErrBadCredentials)
	}
	if user == "" {
		return LocalCredential{}, ErrUnknownUser
	}
	cred, err := l.store.LocalCredential(ctx, user)
	if errors.Is(err, ErrUnknownUser) {
		// Spend about the time a real check takes, so that the answer's
		// delay does not tell which user names exist.
		if _, err := l.stage.Key(ctx, []byte(password), []byte("campusnet-no-user"), l.params); err != nil {
			return LocalCredential{}, err
		}
		return LocalCredential{}, ErrUnknownUser
	}
	if err != nil {
		return LocalCredential{}, fmt.Errorf("identity: look up %q: %w", user, err)
	}
	ok, err := verifyPassword(ctx, l.stage, cred.Hash, password)
	if errors.Is(err, ErrBusy) {
		return LocalCredential{}, err
	}
	if err != nil {
		return LocalCredential{}, fmt.Errorf("identity: stored password of %q: %w", user, err)
	}
	if !ok {
		return LocalCredential{}, ErrBadCredentials
	}
	if cred.Disabled {
		return LocalCredential{}, ErrDisabled
	}
	return cred, nil
}

func (l *Local) rehash(ctx context.Context, user, password string, mustChange bool) {
	hash, err := hashPassword(ctx, l.stage, password, l.params)
	if err == nil {
		err = l.store.SetPasswordHash(ctx, user, hash, mustChange)
	}
	if err != nil {
		l.log.WarnContext(ctx, "identity: could not store stronger password hash", "user", user, "err", err)
		return
	}
	l.log.InfoContext(ctx, "identity: password rehashed", "user", user, "params", l.params.String())
}
