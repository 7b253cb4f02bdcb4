package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/devices"
	"github.com/lintelhq/lintel/server/store"
)

// runCLI runs lintel-server in-process with no environment.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := Context{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Args: args}
	err = c.Execute(t.Context())
	return out.String(), errOut.String(), err
}

// listed reads the "  name  summary" lines of a command list.
func listed(t *testing.T, usage string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_, list, ok := strings.Cut(usage, "commands:\n")
	if !ok {
		t.Fatalf("no command list in:\n%s", usage)
	}
	for _, line := range strings.Split(list, "\n") {
		m := regexp.MustCompile(`^  ([a-z-]+) +(\S.*)$`).FindStringSubmatch(line)
		if m == nil {
			break
		}
		out[m[1]] = m[2]
	}
	return out
}

// TestEveryCommandHelps: "-h" on every command and every command of a
// group exits 0 and prints the command's description (and its flags) on
// standard output; "help X" says the same as "X -h".
func TestEveryCommandHelps(t *testing.T) {
	top, _, err := runCLI(t, "", "help")
	if err != nil {
		t.Fatal(err)
	}
	var check func(path []string, summary string)
	check = func(path []string, summary string) {
		words := strings.Join(path, " ")
		stdout, stderr, err := runCLI(t, "", append(path, "-h")...)
		if err != nil {
			t.Errorf("%s -h: %v", words, err)
			return
		}
		help := stdout + stderr // load prints its own usage on standard error
		if !strings.HasPrefix(help, "usage: lintel-server "+words+" ") {
			t.Errorf("%s -h does not start with its usage:\n%s", words, help)
			return
		}
		if lines := strings.Split(help, "\n"); len(lines) < 3 || lines[1] != "" || strings.TrimSpace(lines[2]) == "" {
			t.Errorf("%s -h has no description:\n%s", words, help)
		}
		if stdout != "" && !strings.Contains(stdout, summary) {
			t.Errorf("%s -h lacks the summary %q:\n%s", words, summary, stdout)
		}
		if viaHelp, _, err := runCLI(t, "", append([]string{"help"}, path...)...); err != nil || viaHelp != stdout {
			t.Errorf("help %s: %v\n%s\nwant what -h says:\n%s", words, err, viaHelp, stdout)
		}
		if strings.Contains(help, "<command>") { // a group: every command in it too
			subs := listed(t, help)
			if len(subs) == 0 {
				t.Errorf("%s lists no commands", words)
			}
			for name, s := range subs {
				check(append(path[:len(path):len(path)], name), s)
			}
		}
	}
	cmds := listed(t, top)
	for name := range commands() {
		if cmds[name] == "" {
			t.Errorf("help does not list %s", name)
		}
	}
	for name, summary := range cmds {
		check([]string{name}, summary)
	}
	for _, sub := range []string{"devices add", "admin reset-password", "rooms list"} {
		stdout, _, _ := runCLI(t, "", append(strings.Fields(sub), "-h")...)
		if !strings.Contains(stdout, "\nflags:\n") {
			t.Errorf("%s -h shows no flags:\n%s", sub, stdout)
		}
	}
}

// TestCommandMistakes: a wrong flag names the command and how to get its
// flags, without burying the error under the whole list; a group without
// a command or with an unknown one fails and lists its commands.
func TestCommandMistakes(t *testing.T) {
	stdout, stderr, err := runCLI(t, "", "serve", "--no-such-flag")
	if err == nil || !strings.Contains(err.Error(), "serve: flag provided but not defined: -no-such-flag") ||
		!strings.Contains(err.Error(), "run 'lintel-server serve -h' for its flags") {
		t.Errorf("serve --no-such-flag: %v", err)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("a wrong flag printed the usage:\n%s%s", stdout, stderr)
	}
	_, _, err = runCLI(t, "", "devices", "add", "--room")
	if err == nil || strings.Count(err.Error(), "-h' for its flags") != 1 || !strings.Contains(err.Error(), "devices add: flag needs an argument") {
		t.Errorf("devices add --room: %v", err)
	}
	for _, args := range [][]string{{"devices"}, {"devices", "replace"}, {}} {
		stdout, stderr, err := runCLI(t, "", args...)
		if err == nil || !strings.Contains(stderr, "commands:\n") || stdout != "" {
			t.Errorf("%q: %v\nstdout: %s\nstderr: %s", args, err, stdout, stderr)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	old := Version
	Version = "v1.2.3-test"
	t.Cleanup(func() { Version = old })
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		stdout, stderr, err := runCLI(t, "", args...)
		if err != nil || stdout != "v1.2.3-test\n" || stderr != "" {
			t.Errorf("%q: %v %q %q", args, err, stdout, stderr)
		}
	}
}

// TestVersionStampedInBothBinaries builds lintel-server and lintel-panel
// as the Makefile does (-ldflags -X main.Version) and checks that both
// say their version the same way: "version" and "--version", the version
// alone on standard output.
func TestVersionStampedInBothBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	dir := t.TempDir()
	const v = "v9.8.7-stamped"
	for _, bin := range []struct{ name, pkg string }{{"lintel-server", "."}, {"lintel-panel", "../panel"}} {
		exe := filepath.Join(dir, bin.name)
		build := exec.Command("go", "build", "-ldflags", "-X main.Version="+v, "-o", exe, bin.pkg)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", bin.name, err, out)
		}
		for _, arg := range []string{"version", "--version"} {
			cmd := exec.Command(exe, arg)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stdout.String() != v+"\n" || stderr.Len() > 0 {
				t.Errorf("%s %s: %v, stdout %q, stderr %q; want %q on stdout", bin.name, arg, err, stdout.String(), stderr.String(), v+"\n")
			}
		}
	}
}

// startDemo runs "serve --demo" until it has printed its banner, then
// stops it, and returns what it printed. At the moment serve opens its
// port it records which of files exist.
func startDemo(t *testing.T, dir string, files ...string) (out string, existed map[string]bool) {
	t.Helper()
	existed = map[string]bool{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	buf := &syncBuffer{}
	c := Context{Stdout: buf, Stderr: t.Output(), Args: []string{"serve", "--demo", "--data", dir, "--listen", "127.0.0.1:0"},
		Program: "bin/lintel-server",
		Listen: func(network, addr string) (net.Listener, error) {
			for _, f := range files {
				_, err := os.Stat(f)
				existed[f] = err == nil
			}
			return net.Listen(network, addr)
		}}
	done := make(chan error, 1)
	go func() { done <- c.Execute(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), "demo: an API token") {
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, buf.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no demo note:\n%s", buf.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	return buf.String(), existed
}

var demoPassword = regexp.MustCompile(`demo: log in as admin with password (\S+) `)

// TestDemoWritesItsFilesBeforeListening: the API token and the admin's
// password are on disk when the port opens, so deploy/dev/run.sh (which
// waits for the server, then reads the token) cannot race serve.
func TestDemoWritesItsFilesBeforeListening(t *testing.T) {
	dir := t.TempDir()
	token, password := filepath.Join(dir, "api-token"), filepath.Join(dir, "admin-password")
	_, existed := startDemo(t, dir, token, password)
	if !existed[token] || !existed[password] {
		t.Errorf("when the port opened: api-token written %v, admin-password written %v", existed[token], existed[password])
	}
	for _, f := range []string{token, password} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v (want mode 0600)", f, err)
		}
	}
}

// TestDemoPrintsThePasswordAtEveryStart: the second start shows the same
// password as the first, and it logs in; after the password is changed,
// the demo says how to set a new one, and after that reset it shows the
// new one again.
func TestDemoPrintsThePasswordAtEveryStart(t *testing.T) {
	dir := t.TempDir()
	passwordOf := func(out string) string {
		t.Helper()
		m := demoPassword.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("the demo printed no password:\n%s", out)
		}
		return m[1]
	}
	checkLogin := func(password string) {
		t.Helper()
		db, err := store.Open(filepath.Join(dir, "lintel.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if !admin.CheckPassword(db, "admin", password) {
			t.Errorf("the printed password %q does not log in", password)
		}
	}
	out, _ := startDemo(t, dir)
	first := passwordOf(out)
	checkLogin(first)
	out, _ = startDemo(t, dir)
	if second := passwordOf(out); second != first {
		t.Errorf("second start printed %q, first %q", second, first)
	}

	// Someone sets another password: the demo no longer knows it.
	if _, _, err := runCLI(t, "a password of my own\n", "admin", "create", "--data", dir); err != nil {
		t.Fatal(err)
	}
	out, _ = startDemo(t, dir)
	passwordFile := filepath.Join(dir, "admin-password")
	hint := "bin/lintel-server admin reset-password --data " + dir + " --out " + passwordFile
	if demoPassword.MatchString(out) || !strings.Contains(out, hint) {
		t.Fatalf("after a password change the demo printed:\n%s\nwant the hint %q", out, hint)
	}
	// The hint works.
	stdout, _, err := runCLI(t, "", strings.Fields(hint)[1:]...)
	if err != nil || !strings.Contains(stdout, "written to "+passwordFile) {
		t.Fatalf("reset-password: %v\n%s", err, stdout)
	}
	out, _ = startDemo(t, dir)
	third := passwordOf(out)
	if third == first {
		t.Error("reset-password kept the old password")
	}
	checkLogin(third)
}

func TestAdminResetPassword(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := admin.CreateAdmin(db, "ops", testPassword, created); err != nil {
		t.Fatal(err)
	}
	// Whoever had the old password logged in and made a token.
	db.PutSession("stolen-session", store.Session{Admin: "ops", Expires: time.Now().Add(time.Hour)})
	stolen, err := admin.NewAPIToken(db, "made with the stolen password", "ops", created)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	stdout, stderr, err := runCLI(t, "", "admin", "reset-password", "--data", dir, "--username", "ops")
	if !strings.Contains(stderr, "1 session(s) ended, 1 API token(s) revoked") {
		t.Errorf("reset-password says %q", stderr)
	}
	m := regexp.MustCompile(`^new password for ops: (\S{20})\n$`).FindStringSubmatch(stdout)
	if err != nil || m == nil {
		t.Fatalf("reset-password: %v %q", err, stdout)
	}
	db, err = store.Open(filepath.Join(dir, "lintel.db"))
	if err != nil {
		t.Fatal(err)
	}
	if !admin.CheckPassword(db, "ops", m[1]) || admin.CheckPassword(db, "ops", testPassword) {
		t.Error("the new password does not log in, or the old one still does")
	}
	if a, _ := db.Admin("ops"); !a.Created.Equal(created) || a.Role != admin.RoleAdmin {
		t.Errorf("created %v role %q, want %v and admin kept", a.Created, a.Role, created)
	}
	if _, err := db.Session("stolen-session", time.Now()); err == nil {
		t.Error("the session from before the reset still works")
	}
	if tok, _ := db.APIToken(devices.HashToken(stolen)); tok.Revoked.IsZero() {
		t.Error("the token made before the reset still works")
	}
	db.Close()
	if _, _, err := runCLI(t, "", "admin", "reset-password", "--data", dir, "--username", "nobody"); err == nil ||
		!strings.Contains(err.Error(), `no admin "nobody"`) || !strings.Contains(err.Error(), "admins: ops") {
		t.Errorf("unknown admin: %v", err)
	}
	if _, _, err := runCLI(t, "", "admin", "reset-password", "--data", t.TempDir()); err == nil {
		t.Error("reset-password in an empty data directory succeeded")
	}
}
