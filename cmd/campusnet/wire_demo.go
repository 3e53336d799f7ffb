package main

import "context"

// startDemo starts the demo part of the server.
func (s *server) startDemo(ctx context.Context) error { return nil }
