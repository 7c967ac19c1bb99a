package registrytest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// TB is what this package needs of a test. *testing.T and *testing.B satisfy
// it; Command provides it to programs such as the benchmark (testing.TB
// itself cannot be implemented outside package testing).
type TB interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
}

// Command is a TB for a program. Fatal and Fatalf mark it failed and stop the
// calling goroutine with a panic that Run turns into an error, so they must be
// called on Run's goroutine (this package calls them only on the caller's).
// Cleanup functions run when Close is called, last registered first, like a
// test's.
type Command struct {
	// Log receives Logf's lines; os.Stderr if nil.
	Log io.Writer

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	tempBase string
}

var _ TB = (*Command)(nil)

// failure is the panic value of Command.Fatal.
type failure struct{ msg string }

// Helper does nothing: there is no call site to hide.
func (c *Command) Helper() {}

// Cleanup registers f to run at Close.
func (c *Command) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, f)
}

// TempDir returns a new directory, removed at Close.
func (c *Command) TempDir() string {
	c.mu.Lock()
	if c.tempBase == "" {
		base, err := os.MkdirTemp("", "registrytest-")
		if err != nil {
			c.mu.Unlock()
			c.Fatalf("registrytest: temporary directory: %v", err)
		}
		c.tempBase = base
		c.cleanups = append(c.cleanups, func() { os.RemoveAll(base) })
	}
	base := c.tempBase
	c.mu.Unlock()
	dir, err := os.MkdirTemp(base, "")
	if err != nil {
		c.Fatalf("registrytest: temporary directory: %v", err)
	}
	return dir
}

// Logf writes one line to Log.
func (c *Command) Logf(format string, args ...any) {
	w := c.Log
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// Fatal marks c failed and stops the goroutine; Run returns the message.
func (c *Command) Fatal(args ...any) { c.fail(fmt.Sprint(args...)) }

// Fatalf is Fatal with a format.
func (c *Command) Fatalf(format string, args ...any) { c.fail(fmt.Sprintf(format, args...)) }

func (c *Command) fail(msg string) {
	c.mu.Lock()
	c.failed = true
	c.mu.Unlock()
	panic(failure{msg})
}

// Failed reports whether Fatal was called.
func (c *Command) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

// Run calls f and returns the message of a Fatal in it as an error; other
// panics go on.
func (c *Command) Run(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(failure); ok {
				err = errors.New(f.msg)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// Close runs the cleanup functions, last registered first.
func (c *Command) Close() {
	for {
		c.mu.Lock()
		n := len(c.cleanups)
		if n == 0 {
			c.mu.Unlock()
			return
		}
		f := c.cleanups[n-1]
		c.cleanups = c.cleanups[:n-1]
		c.mu.Unlock()
		f()
	}
}
