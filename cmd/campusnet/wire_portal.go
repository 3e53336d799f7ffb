package main

import "context"

// startPortal starts the portal part of the server.
func (s *server) startPortal(ctx context.Context) error { return nil }
