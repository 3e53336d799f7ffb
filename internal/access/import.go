package access

// ExistingAccount is an account as an import sees it.
type ExistingAccount struct {
	Name, Phone string
	Role        Role
	Disabled    bool
}

// ImportRow is one person from a users import.
type ImportRow struct {
	Username string
	Name     string
	Role     Role
	Phone    string
	// Hash is the initial password's hash; only used when the account is new.
	Hash string
	// DocType and DocHash identify the person's document (roster.DocumentHash),
	// DocFacts what the password rules need of it; all three are only
	// stored on a new account.
	DocType, DocHash, DocFacts string
	// DocTail is DocumentTailHash of the number (the NOC search); stored on
	// a new account only.
	DocTail string
}
