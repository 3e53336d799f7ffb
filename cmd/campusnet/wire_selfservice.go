package main

import "context"

// startSelfService starts the selfservice part of the server.
func (s *server) startSelfService(ctx context.Context) error { return nil }
