package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxbatch/pbxbatch/internal/simkit"
)

// tmuxPane runs a command in a detached tmux pane of its own server, as
// an operator's terminal would show it.
type tmuxPane struct {
	t      *testing.T
	socket string
}

// newTmuxPane starts cmdline (a shell command) in a 160×40 pane. Without
// tmux the test is skipped on a workstation; in CI (CI set) it fails, so
// that the terminal behaviour is always checked there (.ci/run installs
// tmux).
func newTmuxPane(t *testing.T, cmdline string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is not installed: CI must install it (apt-get install -y tmux) to check the terminal output")
		}
		t.Skip("tmux is not installed")
	}
	p := &tmuxPane{t: t, socket: fmt.Sprintf("pbxbatch-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// remain-on-exit keeps the pane (and what it shows) after the command ends.
	p.tmux("-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "40", "-s", "t", cmdline+"; echo EXIT=$?; sleep 60")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// capture returns what the pane shows now, with what scrolled off.
func (p *tmuxPane) capture() string { return p.tmux("capture-pane", "-p", "-S", "-", "-t", "t") }

// waitFor polls the pane until it matches re, and returns it.
func (p *tmuxPane) waitFor(re *regexp.Regexp, within time.Duration) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		screen := p.capture()
		if re.MatchString(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the pane never showed %s; it shows:\n%s", re, screen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shellCommand renders pbxbatch's command line for the pane: this test
// binary standing in for pbxbatch, with the environment it needs.
func shellCommand(env []string, args ...string) string {
	parts := append(slices.Clone(env), e2eMainEnv+"=1", os.Args[0])
	parts = append(parts, args...)
	for i, a := range parts {
		parts[i] = shellQuote(a)
	}
	return "env " + strings.Join(parts, " ")
}

// In a real terminal apply draws a bar with the failed and blocked counts
// and the rate limit, ends with the summary and the hints, and leaves no
// half-drawn bar behind.
func TestTerminalApplyInTmux(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{Latency: 3 * time.Millisecond})
	dir := filepath.Join(e.dir, "csv")
	writeRolloutCSV(t, dir, smallRollout, "extension", func(header []string, rows [][]string) {
		rows[len(rows)-1][slices.Index(header, "extensionNumber")] = "99999"
	})
	env := []string{e2ePasswordEnv + "=e2e-secret-pw", "TERM=xterm-256color"}
	p := newTmuxPane(t, shellCommand(env, append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--rate", "150", dir)...))

	// While it runs: the bar, its count and the limit.
	live := p.waitFor(regexp.MustCompile(`apply.*\d+/\d+|EXIT=`), 60*time.Second)
	screen := p.waitFor(regexp.MustCompile(`EXIT=\d+`), 90*time.Second)
	t.Logf("while running:\n%s\nat the end:\n%s", live, screen)
	if !strings.Contains(screen, "EXIT=3") {
		t.Fatalf("exit status, want 3 (a row failed):\n%s", screen)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`apply: 174/174 done in \S+, 1 failed, 0 blocked, 0 skipped`), // the bar's last word
		regexp.MustCompile(`Run \d{8}-\d{6}-[0-9a-f]{4}: 173 created, .* 1 failed`),      // the summary
		regexp.MustCompile(`1 × extension … is outside the EX number series`),            // why, without the name
		regexp.MustCompile(`pbxbatch resume \S+ --config \S+ --state-dir \S+`),           // a hint that works
	} {
		if !want.MatchString(screen) {
			t.Errorf("the pane lacks %s:\n%s", want, screen)
		}
	}
	assertNoBarAfterTheEnd(t, screen)
	if strings.Contains(live, "apply") && !regexp.MustCompile(`limit 1\d\d/s|EXIT=`).MatchString(live) {
		t.Errorf("the running bar does not show the rate limit:\n%s", live)
	}
}

// Ctrl-C in a real terminal: the run stops at the count really reached,
// says so, and exits 130 with a resume command.
func TestTerminalInterruptInTmux(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{Latency: 20 * time.Millisecond})
	in := filepath.Join(e.dir, "in.xlsx")
	writeRollout(t, in, smallRollout)
	env := []string{e2ePasswordEnv + "=e2e-secret-pw", "TERM=xterm-256color"}
	p := newTmuxPane(t, shellCommand(env, append(slices.Clone(e.global), "apply", "--yes", "--target", "lab", "--rate", "40", in)...))
	p.waitFor(regexp.MustCompile(`apply.*\(\d+/174`), 60*time.Second)
	p.tmux("send-keys", "-t", "t", "C-c")
	screen := p.waitFor(regexp.MustCompile(`EXIT=\d+`), 60*time.Second)
	t.Logf("after Ctrl-C:\n%s", screen)
	if !strings.Contains(screen, "EXIT=130") || !strings.Contains(screen, "Stopping: no new operations") ||
		!regexp.MustCompile(`Cancelled: nothing was lost. Resume with\s+pbxbatch resume \S+ --config`).MatchString(screen) {
		t.Fatalf("after Ctrl-C the pane shows:\n%s", screen)
	}
	assertNoBarAfterTheEnd(t, screen)
	m := regexp.MustCompile(`apply: (\d+)/174 done in \S+, 0 failed, 0 blocked, (\d+) skipped`).FindStringSubmatch(screen)
	if m == nil || m[1] == "174" || m[2] == "0" {
		t.Errorf("the bar should end at the count reached, with the rest skipped:\n%s", screen)
	}
}

// assertNoBarAfterTheEnd checks that nothing redraws the bar once the run
// has printed its last progress line (a spinner goroutine did).
func assertNoBarAfterTheEnd(t *testing.T, screen string) {
	t.Helper()
	if regexp.MustCompile(`(?s)apply: \d+/\d+ done in .*% \|`).MatchString(screen) {
		t.Errorf("the bar is drawn again after the run ended:\n%s", screen)
	}
}

// Planning shows how far it has read the target, then clears the bar for
// the plan.
func TestTerminalPlanningProgressInTmux(t *testing.T) {
	e := newMXONEEnv(t, simkit.Options{Latency: 30 * time.Millisecond})
	in := filepath.Join(e.dir, "in.xlsx")
	writeRollout(t, in, smallRollout)
	env := []string{e2ePasswordEnv + "=e2e-secret-pw", "TERM=xterm-256color"}
	p := newTmuxPane(t, shellCommand(env, append(slices.Clone(e.global), "plan", "--target", "lab", in)...))
	reading := p.waitFor(regexp.MustCompile(`reading live state.*\(\d+/179`), 60*time.Second)
	screen := p.waitFor(regexp.MustCompile(`EXIT=\d+`), 60*time.Second)
	if !strings.Contains(screen, "EXIT=2") || !strings.Contains(screen, "Plan for target lab") {
		t.Fatalf("plan in a terminal:\n%s", screen)
	}
	if strings.Contains(screen, "reading live state") {
		t.Errorf("the reading bar is left on screen:\n%s", screen)
	}
	t.Logf("while reading:\n%s", strings.TrimSpace(reading))
}
