// Package deploy holds the deployment kit (example configuration, systemd
// units, compose set-up, BAS and DHCP guides); its Go code is only the tests
// that keep those files valid.
package deploy
