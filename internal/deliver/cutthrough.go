package deliver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MarkDelivered records that the recipients rcpts of message id, which
// is about to be stored in the input directory dir, were delivered
// already (by cutthrough delivery, specification chapter "Access
// control lists", section "Use of the control modifier"). It writes
// them to the message's journal (-J) file and makes it durable before
// the message exists, so that the delivery attempt that follows the
// message's arrival counts them as delivered, writes "Completed" and
// removes the message, as Exim does after a cutthrough delivery.
func MarkDelivered(dir, id string, rcpts []string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("deliver: marking %s delivered: %w", id, err)
	}
	p := filepath.Join(dir, id+"-J")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("deliver: marking %s delivered: %w", id, err)
	}
	_, err = f.WriteString(strings.Join(rcpts, "\n") + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return fmt.Errorf("deliver: marking %s delivered: %w", id, err)
	}
	return nil
}
