// Package roster imports people and devices from CSV files: the roster the
// registrar exports (one row per student or member of staff) and the MAC
// lists of labs and printer fleets. cmd/campusnet's `users import` and
// `devices import` and the self-service NOC import page both call it; they
// only read the file, show progress and print or render the report.
//
// A roster row is "id, name, id-card number, phone, role" (phone and role
// may be empty; role is student, staff or operator, or 学生, 教工, 教职工).
// The rules:
//
//   - The id-card number is an 18-character resident id-card number whose
//     last character is the GB 11643 check character (a digit or X) over
//     the first 17 digits, or an old 15-digit number. A wrong check
//     character is a bad row: it is almost always a mistyped digit, and
//     the initial password comes from this number.
//   - The initial password of a new account is the last six characters of
//     the id-card number; a trailing X is dropped (the six before it are
//     taken), kept, or replaced by 0, as identity.trailing_x says. The
//     account must change it at the first login. A re-import updates name,
//     role and phone and never touches a password.
//   - Every bad row is reported with its line number and why; the good
//     rows are imported all the same.
//   - Disabling the people a roster no longer lists (DisableMissing) only
//     looks at the roles the file lists and at enabled accounts, never runs
//     when the file has bad rows (a person on a bad row is not missing),
//     and refuses, unless forced, to disable more than half of those roles'
//     enabled accounts: a file of one year's students is not the roster.
//
// A device row is "account, mac, class" (class pc or mobile); each good
// row binds the MAC to the account for MAC authentication, audited with
// the actor and reason; a bad row stores nothing.
//
// Plans (PlanPeople, ImportDevices with dryRun) report what an import
// would do without changing anything: the NOC page's dry run.
package roster
