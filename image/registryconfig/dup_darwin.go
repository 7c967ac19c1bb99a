package registryconfig

import (
	"os"
	"syscall"
)

// dupOnto makes descriptor fd refer to f (inherited across exec).
func dupOnto(f *os.File, fd int) error { return syscall.Dup2(int(f.Fd()), fd) }
