package main

import "context"

// startBilling starts the billing part of the server.
func (s *server) startBilling(ctx context.Context) error { return nil }
