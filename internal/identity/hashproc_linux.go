package identity

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// setChildAttrs has the worker killed when its parent dies.
func setChildAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// workerNice is the worker's niceness: the lowest priority.
const workerNice = 19

// lowerPriority sets every thread of this process to workerNice. On Linux
// the nice value belongs to each thread and a new thread inherits its
// creator's, so once every thread is lowered all later ones are too; the
// loop repeats until a pass finds none left to lower.
func lowerPriority() {
	for range 10 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		changed := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			// getpriority returns 20-nice on Linux.
			if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid); err == nil && 20-prio == workerNice {
				continue
			}
			if syscall.Setpriority(syscall.PRIO_PROCESS, tid, workerNice) == nil {
				changed = true
			}
		}
		if !changed {
			return
		}
	}
}
