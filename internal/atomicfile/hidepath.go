package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// HidePath drops file names from an error, naming the file what instead:
// session files are named after session ids, and token files after
// tokens' hashes, which must never reach a log.
func HidePath(err error, what string) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("%s: %s: %w", what, pathErr.Op, pathErr.Err)
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return fmt.Errorf("%s: %s: %w", what, linkErr.Op, linkErr.Err)
	}
	return err
}
