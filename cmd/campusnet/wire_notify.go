package main

import (
	"context"
	"fmt"

	"github.com/campusnet/campusnet/internal/notify"
)

// startNotify runs the webhook sender ([notify]) on this node; every node
// runs one, and the database keeps them from sending an event together.
// Without webhook_url the events are recorded and not sent.
func (s *server) startNotify(context.Context) error {
	n := s.cfg.Notify
	if n.WebhookURL == "" {
		s.log.Info("notify: no webhook_url: students' events are recorded (campusnet notify list), not sent")
		return nil
	}
	snd, err := notify.New(s.st, notify.Config{URL: n.WebhookURL, Secret: n.Secret, Timeout: n.Timeout.Duration,
		MaxAttempts: n.MaxAttempts, Log: s.log.With("service", "notify"), Registerer: s.reg})
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	s.goRun("notify", snd.Run)
	return nil
}
