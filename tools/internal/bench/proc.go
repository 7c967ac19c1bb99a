package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat: 100 on every Linux architecture Go supports (sysconf
// would need cgo).
const clockTicks = 100

// procRoot is /proc; tests point it at a fake tree.
var procRoot = "/proc"

// statFields are the fields of /proc/<pid>/stat this package reads.
type statFields struct {
	PPID         int
	UTime, STime uint64 // clock ticks
}

// parseStat parses a /proc/<pid>/stat line. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(line string) (statFields, error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return statFields{}, fmt.Errorf("stat line without ')': %q", line)
	}
	f := strings.Fields(line[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return statFields{}, fmt.Errorf("stat line with %d fields after the name: %q", len(f), line)
	}
	var s statFields
	var err error
	if s.PPID, err = strconv.Atoi(f[1]); err != nil {
		return s, fmt.Errorf("stat ppid: %w", err)
	}
	if s.UTime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return s, fmt.Errorf("stat utime: %w", err)
	}
	if s.STime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return s, fmt.Errorf("stat stime: %w", err)
	}
	return s, nil
}

func readStat(pid int) (statFields, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return statFields{}, err
	}
	return parseStat(string(bytes.TrimSpace(b)))
}

// descendants returns the process ids whose parent chain leads to pid.
func descendants(pid int) ([]int, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || !e.IsDir() {
			continue
		}
		s, err := readStat(p)
		if err != nil {
			continue // exited meanwhile
		}
		children[s.PPID] = append(children[s.PPID], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 10000 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out, nil
}

// TreeCPU is the CPU time (user + system, in seconds) of process pid and its
// descendants: the registry and the log redactor the entrypoint started
// before exec'ing it (the redactor copies every log line, so its CPU is the
// task's too).
func TreeCPU(pid int) (float64, error) {
	s, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	ticks := s.UTime + s.STime
	kids, err := descendants(pid)
	if err != nil {
		return 0, err
	}
	for _, k := range kids {
		if ks, err := readStat(k); err == nil {
			ticks += ks.UTime + ks.STime
		}
	}
	return float64(ticks) / clockTicks, nil
}

// ProcessCPU is the CPU time (user + system, in seconds) of process pid
// alone, without its children.
func ProcessCPU(pid int) (float64, error) {
	s, err := readStat(pid)
	if err != nil {
		return 0, err
	}
	return float64(s.UTime+s.STime) / clockTicks, nil
}

// Memory is what /proc/<pid>/status says of a process's resident memory.
type Memory struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM, the high-water mark of RSS since the process started
}

// parseStatus reads VmRSS and VmHWM (in kB) from /proc/<pid>/status.
func parseStatus(text string) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return m, fmt.Errorf("status %s: %q", name, rest)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return m, fmt.Errorf("status %s: %w", name, err)
		}
		if name == "VmRSS" {
			m.RSS = kb << 10
		} else {
			m.Peak = kb << 10
		}
		seen++
	}
	if seen != 2 {
		return m, fmt.Errorf("status without VmRSS and VmHWM")
	}
	return m, nil
}

// ReadMemory reads the resident memory of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(string(b))
}

// ResetPeakMemory resets process pid's VmHWM to its current resident memory (Linux 4.0+), so
// the next ReadMemory's Peak is the high-water mark since now.
func ResetPeakMemory(pid int) error {
	if err := os.WriteFile(filepath.Join(procRoot, strconv.Itoa(pid), "clear_refs"), []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak resident memory of process %d: %w (needs Linux 4.0 or later and a process of the same user)", pid, err)
	}
	return nil
}
