package main

import "github.com/jmoiron/sqlx"

// txT shortens the transaction type in wiring code.
type txT = sqlx.Tx
