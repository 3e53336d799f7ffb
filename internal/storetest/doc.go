// Package storetest runs one suite against every store campusnet supports:
// SQLite always, PostgreSQL when CAMPUSNET_TEST_POSTGRES holds a DSN (and
// then it is required when CI=true). Each test gets its own database — a
// temporary SQLite file, or a fresh PostgreSQL schema dropped afterwards — so
// tests run in parallel and leave nothing behind.
//
// Services' tests use ForEach and the constructors here to run against real
// databases too.
package storetest
