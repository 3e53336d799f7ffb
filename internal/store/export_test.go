package store

// StartsSQL is the Accounting-Starts statement, for the plan test.
var StartsSQL = startsSQL

// TraceSQL is TraceSessions' statement, for the plan test.
var TraceSQL = traceSQL

// TrafficByPlanSQL is TrafficByPlan's statement, for the plan test.
var TrafficByPlanSQL = trafficByPlanSQL
