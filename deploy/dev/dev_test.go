// Package dev_test checks the developer entry points: the Makefile's
// targets and deploy/dev/run.sh (what `make run` starts).
package dev_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const root = "../.."

func makeDryRun(t *testing.T, target string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "-n", target)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return string(out)
}

// TestMakeChecks: lint and test fail when go.mod is not tidy, and the race
// detector covers the packages that render or talk concurrently.
func TestMakeChecks(t *testing.T) {
	for _, target := range []string{"lint", "test"} {
		if out := makeDryRun(t, target); !strings.Contains(out, "go mod tidy -diff") {
			t.Errorf("make %s does not check go mod tidy -diff:\n%s", target, out)
		}
	}
	out := makeDryRun(t, "race")
	for _, pkg := range []string{"./panel/view/...", "./panel/link/...", "./server/hub/..."} {
		if !strings.Contains(out, pkg) {
			t.Errorf("make race does not cover %s:\n%s", pkg, out)
		}
	}
}

// TestMakeHelpDocumentsRunSettings: make help names the settings of make
// run with their defaults.
func TestMakeHelpDocumentsRunSettings(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	cmd := exec.Command("make", "help")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	for _, want := range []string{"LISTEN=127.0.0.1:8080", "PANEL_PORT=9001", "RUN_DIR=var/demo", "run "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make help lacks %q:\n%s", want, out)
		}
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LISTEN=", "PANEL_PORT=", "admin reset-password"} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}

// output collects a process's output from its goroutines.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// freePorts finds n consecutive free ports on 127.0.0.1.
func freePorts(t *testing.T, n int) int {
	t.Helper()
next:
	for try := 0; try < 50; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		l.Close()
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				continue next
			}
			l.Close()
		}
		return base
	}
	t.Fatal("no free ports")
	return 0
}

// demo is one run of run.sh.
type demo struct {
	cmd  *exec.Cmd
	out  *output
	done chan error
}

func startDemo(t *testing.T, bin, runDir string, listen string, panelPort int) *demo {
	t.Helper()
	d := &demo{out: &output{}, done: make(chan error, 1)}
	d.cmd = exec.Command("bash", "run.sh")
	d.cmd.Env = append(os.Environ(), "BIN="+bin, "RUN_DIR="+runDir, "LISTEN="+listen,
		fmt.Sprintf("PANEL_PORT=%d", panelPort), "ROOMS=matterhorn eiger")
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	// Its own process group, as in a terminal, so that interrupt can
	// send SIGINT to the script and everything it started, as Ctrl-C does.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A process left behind by run.sh would hold the output open; the
	// test checks the ports for that instead of waiting for ever.
	d.cmd.WaitDelay = 10 * time.Second
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

// waitFor waits until the output says s, or the script ends.
func (d *demo) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.After(4 * time.Minute)
	for !strings.Contains(d.out.String(), s) {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("run.sh ended (%v) before saying %q:\n%s", err, s, d.out.String())
		case <-deadline:
			t.Fatalf("run.sh did not say %q:\n%s", s, d.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends run.sh SIGTERM, as a service manager would (Ctrl-C sends
// SIGINT to the whole terminal's group instead), and waits for it.
func (d *demo) stop(t *testing.T) error {
	t.Helper()
	select {
	case err := <-d.done: // it ended already
		d.done <- err
		return err
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		t.Fatalf("run.sh did not stop on SIGTERM:\n%s", d.out.String())
		return nil
	}
}

// interrupt does what Ctrl-C in a terminal does: SIGINT to the script's
// process group. It returns the script's exit error.
func (d *demo) interrupt(t *testing.T) error {
	t.Helper()
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT)
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("run.sh did not stop on Ctrl-C:\n%s", d.out.String())
		return nil
	}
}

func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// login logs in to the admin UI as a browser does (with the login form's
// hidden fields, if any) and reports whether it worked.
func login(addr, password string) error {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("http://" + addr + "/login")
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"username": {"admin"}, "password": {password}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`).FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	resp, err = client.PostForm("http://"+addr+"/login", form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || strings.Contains(loc, "login") {
		return fmt.Errorf("%s, Location %q", resp.Status, loc)
	}
	return nil
}

// TestRunScript runs what `make run` runs, as a first-time user would,
// twice: it waits for the server to be ready before using its API token,
// prints the admin URL, the admin's password (both times) and every
// panel's URL, all of which work, and stops everything it started on
// SIGTERM and on Ctrl-C (quietly). With the server's port taken it says
// so at once.
func TestRunScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries and runs the demo")
	}
	bin := t.TempDir()
	for name, pkg := range map[string]string{"lintel-server": "./server", "lintel-panel": "./panel"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, name), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	runDir := t.TempDir()
	serverPort := freePorts(t, 1)
	panelPort := freePorts(t, 2)
	listen := fmt.Sprintf("127.0.0.1:%d", serverPort)
	passwordRE := regexp.MustCompile(`log in as admin with password (\S+)`)

	var passwords []string
	for run := 1; run <= 2; run++ {
		d := startDemo(t, bin, runDir, listen, panelPort)
		d.waitFor(t, "Ctrl-C stops the server and the panels.")
		out := d.out.String()
		_, summary, _ := strings.Cut(out, "Lintel demo is running.")
		for _, want := range []string{
			"admin UI: http://" + listen + "/",
			fmt.Sprintf("panel matterhorn: http://127.0.0.1:%d/", panelPort),
			fmt.Sprintf("panel eiger: http://127.0.0.1:%d/", panelPort+1),
		} {
			if !strings.Contains(summary, want) {
				t.Errorf("run %d: the summary lacks %q:\n%s", run, want, out)
			}
		}
		m := passwordRE.FindStringSubmatch(summary)
		if m == nil {
			t.Fatalf("run %d: no admin password in the summary:\n%s", run, out)
		}
		passwords = append(passwords, m[1])
		if code := get(t, "http://"+listen+"/readyz"); code != http.StatusOK {
			t.Errorf("run %d: /readyz %d", run, code)
		}
		for i := range 2 {
			if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/", panelPort+i)); code != http.StatusOK {
				t.Errorf("run %d: panel page %d: %d", run, i+1, code)
			}
		}
		if err := login(listen, m[1]); err != nil {
			t.Errorf("run %d: logging in with the printed password: %v", run, err)
		}

		// The first run is stopped by a service manager's SIGTERM (to the
		// script alone), the second by Ctrl-C (SIGINT to all).
		if run == 1 {
			if err := d.stop(t); err == nil {
				t.Errorf("run %d: run.sh stopped by SIGTERM exited 0", run)
			}
		} else {
			// It exits 0 when bash sees the children handle the signal,
			// 130 when its own INT trap runs first; either way quietly.
			err := d.interrupt(t)
			if code := d.cmd.ProcessState.ExitCode(); (code != 0 && code != 130) || strings.Contains(d.out.String(), "run: ") {
				t.Errorf("run %d: Ctrl-C: %v (want a quiet exit 0 or 130)\n%s", run, err, d.out.String())
			}
		}
		// Everything it started has stopped: the ports are free again.
		for _, addr := range []string{listen, fmt.Sprintf("127.0.0.1:%d", panelPort), fmt.Sprintf("127.0.0.1:%d", panelPort+1)} {
			stopped := false
			for deadline := time.Now().Add(10 * time.Second); !stopped && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					stopped = true
				} else {
					c.Close()
				}
			}
			if !stopped {
				t.Errorf("run %d: %s still answers after run.sh stopped", run, addr)
			}
		}
	}
	if passwords[0] != passwords[1] {
		t.Errorf("the second run printed password %q, the first %q", passwords[1], passwords[0])
	}

	// A port in use: the script says so and stops, instead of waiting.
	busy, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	d := startDemo(t, bin, runDir, listen, panelPort)
	select {
	case err := <-d.done:
		d.done <- err
		if err == nil || !strings.Contains(d.out.String(), "is "+listen+" in use? try: make run LISTEN=") {
			t.Errorf("with the port in use: %v\n%s", err, d.out.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("with the port in use run.sh kept waiting:\n%s", d.out.String())
	}
}
