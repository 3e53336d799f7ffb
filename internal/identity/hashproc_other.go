//go:build !linux

package identity

import "os/exec"

func setChildAttrs(*exec.Cmd) {}

// lowerPriority does nothing here: the worker runs at its parent's priority.
func lowerPriority() {}
