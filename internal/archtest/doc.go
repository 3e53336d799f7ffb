// Package archtest holds tests that keep the layout honest (STYLE.md): every
// package has a doc comment, services never import each other and the store
// depends only on the domain types.
package archtest
