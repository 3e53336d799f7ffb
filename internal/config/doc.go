// Package config reads campusnet's one TOML file, fills in the
// documented defaults and refuses a bad file with one line naming the file,
// the key and the reason. Only cmd/ reads configuration; services get typed
// values from here.
//
// An [[area]]'s display_name and display_name_en are its name on Chinese
// and English pages (default: name).
package config
