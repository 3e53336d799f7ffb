// Package roster imports people and devices from CSV files: the roster the
// registrar exports (one row per student or member of staff) and the MAC
// lists of labs and printer fleets. cmd/campusnet's `users import` and
// `devices import` and the self-service NOC import page both call it; they
// only read the file, show progress and print or render the report.
//
// A roster row is "id, name, document number, phone, role[, document
// type]" (phone and role may be empty; role is student, staff or operator,
// or 学生, 教工, 教职工). Files without the sixth column are id cards, as
// before it existed. The document types, in English or Chinese, and the
// rule each number is checked by:
//
//   - id_card, 居民身份证 (the default): 18 characters, 17 digits and the
//     GB 11643-1999 check character (a digit or X), or an old 15-digit
//     number. A wrong check character is a bad row: it is almost always a
//     mistyped digit, and the initial password comes from this number.
//   - residence_permit, 港澳台居民居住证: 18 characters with the same
//     GB 11643 check, starting 81 (Hong Kong), 82 (Macau) or 83 (Taiwan)
//     (《港澳台居民居住证申领发放办法》, 2018: the code in place of the
//     region code of an id card).
//   - passport, 护照: 5 to 20 letters and digits, kept in upper case (ICAO
//     Doc 9303 allows up to 9 in the machine-readable zone; other states'
//     numbers vary, hence the wide range).
//   - hk_macau_permit, 港澳居民来往内地通行证 (回乡证): H (Hong Kong) or M
//     (Macau) and 8 or 10 digits (the card issued since 2013 and the
//     earlier book).
//   - taiwan_permit, 台湾居民来往大陆通行证 (台胞证): 8 digits (the card
//     issued since 2015) or 10 letters and digits (the earlier book).
//   - other, 其他: 4 to 30 letters and digits, for what the registrar holds
//     that is none of these.
//
// The rules:
//
//   - The initial password of a new account is the last six characters of
//     the document number, letters kept. An 18-character id-card or
//     residence-permit number ending in X drops it (the six before it are
//     taken), keeps it, or replaces it by 0, as identity.trailing_x says.
//     The account must change it at the first login. A re-import updates
//     name, role and phone and never touches a password.
//   - One document, one person: a number that appears twice in a file is a
//     bad row naming both lines; one on record for another account is a
//     bad row naming that account. The store keeps only DocumentHash of
//     the number (never the number) and identity.DocumentFacts (hashed
//     tails and birth date) for identity.CheckNewPassword.
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
