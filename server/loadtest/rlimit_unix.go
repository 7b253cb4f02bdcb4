//go:build unix

package loadtest

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises the soft limit on open files to the hard limit: a
// panel is a socket, and the default soft limit is often 1024.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("loadtest: read RLIMIT_NOFILE: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("loadtest: raise RLIMIT_NOFILE to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < uint64(need) {
		return fmt.Errorf("loadtest: %d open files allowed (RLIMIT_NOFILE hard limit), %d needed: raise it (ulimit -Hn, or LimitNOFILE= in systemd) or connect fewer panels", lim.Cur, need)
	}
	return nil
}
