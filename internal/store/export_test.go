package store

// StartsSQL is the Accounting-Starts statement, for the plan test.
var StartsSQL = startsSQL
