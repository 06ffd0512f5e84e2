//go:build unix

package atomicfile

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// lockFile takes the exclusive flock of f, waiting until ctx ends. On
// failure f is closed (once any wait under way ends); on success it holds
// the lock until it is closed.
func lockFile(ctx context.Context, f *os.File) error {
	fd := int(f.Fd())
	err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return err
	}
	// flock cannot be told to give up, so it waits in a goroutine, which
	// closes the file (releasing a lock it took late) if ctx ended first.
	got := make(chan error, 1)
	go func() { got <- flock(fd, syscall.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
		}
		return err
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		return ctx.Err()
	}
}

// flock is syscall.Flock, again after a signal interrupted it.
func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
