// Package archtest holds tests that keep the layout honest: every package
// has a doc comment, services never import each other, the store depends
// only on the domain types, internal packages import protocol libraries but
// no service, and the BAS simulator links protocol code only (deps_test.go).
package archtest
