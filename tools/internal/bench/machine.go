package bench

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the benchmark ran.
type Machine struct {
	CPU    string // model name
	Cores  int    // logical CPUs
	Memory int64  // bytes
	OS     string // distribution and kernel
	Go     string // version, os/arch
}

// ReadMachine describes this machine from /proc and /etc/os-release.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile(filepath.Join(procRoot, "cpuinfo")); err == nil {
		m.CPU = cpuModel(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "meminfo")); err == nil {
		m.Memory = memTotal(string(b))
	}
	m.OS = runtime.GOOS
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		if name := osRelease(string(b)); name != "" {
			m.OS = name
		}
	}
	if b, err := os.ReadFile(filepath.Join(procRoot, "sys/kernel/osrelease")); err == nil {
		m.OS += ", kernel " + strings.TrimSpace(string(b))
	}
	if m.CPU == "" {
		m.CPU = "unknown CPU"
	}
	return m
}

func cpuModel(cpuinfo string) string {
	sc := bufio.NewScanner(strings.NewReader(cpuinfo))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotal(meminfo string) int64 {
	sc := bufio.NewScanner(strings.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func osRelease(text string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
