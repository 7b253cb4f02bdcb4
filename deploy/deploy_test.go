package deploy

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tests run in deploy/; the repository root is one up.
const root = ".."

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unit is a systemd unit file: section -> key -> values, in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(read(t, path)))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", path, n, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// one returns the last value of a key ("" if unset), as systemd applies it.
func (u unit) one(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func (u unit) has(section, key string) bool { return len(u[section][key]) > 0 }

var units = []string{
	"systemd/lintel-server.service",
	"systemd/lintel-panel.service",
	"systemd/lintel-panel-rollback.service",
	"systemd/lintel-panel-update.service",
	"systemd/lintel-panel-update.path",
	"systemd/lintel-etcd.service",
}

// TestSystemdVerify runs systemd-analyze verify on the units. verify wants
// every ExecStart binary to exist, so the copies it checks start /bin/true
// instead of the installed paths; everything else is the file as shipped.
func TestSystemdVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	exe := regexp.MustCompile(`(?m)^(ExecStart=)/usr/local/\S+`)
	var paths []string
	for _, u := range units {
		text := exe.ReplaceAllString(read(t, u), "${1}/bin/true")
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command("systemd-analyze", append([]string{"verify"}, paths...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The exposure score systemd computes from the sandboxing settings
	// (0 best, 100 worst): keep it where it is now.
	for name, max := range map[string]int{"lintel-server.service": 20, "lintel-panel.service": 35} {
		cmd := exec.Command("systemd-analyze", "security", "--offline=true", "--threshold="+strconv.Itoa(max), filepath.Join(dir, name))
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "unrecognized option") {
			t.Logf("systemd-analyze security --offline is not supported here")
			break
		}
		if err != nil {
			t.Errorf("%s: systemd-analyze security exceeds %d: %v\n%s", name, max, err, out)
		}
	}
}

func TestServerUnit(t *testing.T) {
	u := parseUnit(t, "systemd/lintel-server.service")
	want := map[string]string{
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"StateDirectory":          "lintel",
		"EnvironmentFile":         "-/etc/lintel/server.env",
		"RestrictNamespaces":      "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		if !u.has("Service", k) || u.one("Service", k) != v {
			t.Errorf("[Service] %s = %q, want %q", k, u.one("Service", k), v)
		}
	}
	if !slices.Contains(u["Service"]["SystemCallFilter"], "@system-service") {
		t.Errorf("SystemCallFilter lacks @system-service: %q", u["Service"]["SystemCallFilter"])
	}
	if f := u.one("Service", "RestrictAddressFamilies"); f != "AF_INET AF_INET6 AF_UNIX" {
		t.Errorf("RestrictAddressFamilies = %q", f)
	}
	if u.one("Service", "User") == "" && u.one("Service", "DynamicUser") != "yes" {
		t.Error("the server runs as root: set User= or DynamicUser=")
	}
	exec := u.one("Service", "ExecStart")
	if !strings.HasPrefix(exec, "/usr/local/bin/lintel-server serve ") || !strings.Contains(exec, "--data /var/lib/lintel") {
		t.Errorf("ExecStart = %q", exec)
	}
	creds := u["Service"]["LoadCredential"]
	if !slices.Contains(creds, "lintel-graph-client-secret") || !slices.Contains(creds, "lintel-graph-cert") {
		t.Errorf("LoadCredential = %q", creds)
	}
	// The env example points at the credentials the unit loads.
	env := read(t, "systemd/server.env.example")
	for _, c := range creds {
		if !strings.Contains(env, "/run/credentials/lintel-server.service/"+c) {
			t.Errorf("server.env.example does not mention the credential %s", c)
		}
	}
	if !strings.Contains(u.one("Unit", "After"), "network-online.target") {
		t.Error("the server should start after network-online.target")
	}
}

func TestPanelUnit(t *testing.T) {
	u := parseUnit(t, "systemd/lintel-panel.service")
	want := map[string]string{
		"User":            "lintel-panel",
		"Restart":         "always",
		"StateDirectory":  "lintel-panel",
		"ExecStart":       "/usr/local/bin/lintel-panel --config /etc/lintel/panel.conf",
		"NoNewPrivileges": "yes",
		"ProtectSystem":   "strict",
		"ProtectHome":     "yes",
		"PrivateTmp":      "yes",
	}
	for k, v := range want {
		if u.one("Service", k) != v {
			t.Errorf("[Service] %s = %q, want %q", k, u.one("Service", k), v)
		}
	}
	groups := strings.Fields(u.one("Service", "SupplementaryGroups"))
	for _, g := range []string{"video", "input", "gpio"} {
		if !slices.Contains(groups, g) {
			t.Errorf("SupplementaryGroups %q lacks %s", groups, g)
		}
	}
	if u.one("Service", "RestartSec") == "" {
		t.Error("no RestartSec")
	}
	// It must start without the network, and reach its devices and /sys.
	for _, k := range []string{"After", "Wants", "Requires"} {
		if strings.Contains(u.one("Unit", k), "network-online") {
			t.Errorf("[Unit] %s waits for the network: the panel works offline", k)
		}
	}
	if !strings.Contains(u.one("Unit", "After"), "local-fs.target") {
		t.Error("the panel should start after local-fs.target")
	}
	for _, k := range []string{"PrivateDevices", "ProtectKernelTunables", "ProtectClock", "DevicePolicy"} {
		if u.has("Service", k) {
			t.Errorf("%s would keep the panel from its framebuffer, input, GPIO or backlight", k)
		}
	}
	if u.one("Unit", "OnFailure") != "lintel-panel-rollback.service" {
		t.Errorf("OnFailure = %q", u.one("Unit", "OnFailure"))
	}
	for _, name := range []string{"lintel-panel-rollback.service", "lintel-panel-update.service"} {
		r := parseUnit(t, "systemd/"+name)
		if !strings.HasPrefix(r.one("Service", "ExecStart"), "/usr/local/lib/lintel/update.sh ") {
			t.Errorf("%s: ExecStart = %q", name, r.one("Service", "ExecStart"))
		}
	}
}

// goStrings returns the string literals that are the first element of each
// composite literal in the package-level var name of a Go file: the
// panel's config keys.
func goKeys(t *testing.T, file, name string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != name || len(vs.Values) != 1 {
			return true
		}
		for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
			lit := e.(*ast.CompositeLit).Elts[0].(*ast.BasicLit)
			k, _ := strconv.Unquote(lit.Value)
			keys = append(keys, k)
		}
		return false
	})
	if len(keys) == 0 {
		t.Fatalf("no %s in %s", name, file)
	}
	return keys
}

// TestPanelConfExample: every key lintel-panel knows is in the example,
// commented, and the example has no other.
func TestPanelConfExample(t *testing.T) {
	keys := goKeys(t, filepath.Join(root, "panel/config.go"), "keys")
	example := read(t, "systemd/panel.conf.example")
	seen := map[string]bool{}
	for _, line := range strings.Split(example, "\n") {
		m := regexp.MustCompile(`^#([a-z0-9-]+) =( |$)`).FindStringSubmatch(line)
		if m == nil {
			if line != "" && !strings.HasPrefix(line, "#") {
				t.Errorf("panel.conf.example: %q is not commented", line)
			}
			continue
		}
		if !slices.Contains(keys, m[1]) {
			t.Errorf("panel.conf.example: unknown key %q", m[1])
		}
		seen[m[1]] = true
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("panel.conf.example lacks the key %q", k)
		}
	}
}

// serverCLI returns the flag names and subcommands lintel-server defines,
// and the LINTEL_* variables it reads, from its source: package main and
// the packages that define flags of their own (the connector's).
func serverCLI(t *testing.T) (flags, commands, env map[string]bool) {
	flags, commands, env = map[string]bool{}, map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(root, "server", "*.go"))
	sub, _ := filepath.Glob(filepath.Join(root, "server", "*", "*.go"))
	files = append(files, sub...)
	flagRE := regexp.MustCompile(`fs\.(?:String|Bool|Int|Duration|Func)(?:Var)?\((?:&[^,]+,\s*)?"([a-z0-9-]+)"`)
	cmdRE := regexp.MustCompile(`(?m)^\s*"([a-z-]+)":\s*\{"`)
	envRE := regexp.MustCompile(`"(LINTEL_[A-Z_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src := read(t, f)
		for _, m := range flagRE.FindAllStringSubmatch(src, -1) {
			flags[m[1]] = true
		}
		for _, m := range envRE.FindAllStringSubmatch(src, -1) {
			env[m[1]] = true
		}
		if filepath.Base(f) == "cli.go" {
			for _, m := range cmdRE.FindAllStringSubmatch(src, -1) {
				commands[m[1]] = true
			}
		}
	}
	if !flags["data"] || !commands["serve"] || !env["LINTEL_DATA"] {
		t.Fatalf("cannot read the server's flags from its source: flags %v, commands %v", flags, commands)
	}
	return flags, commands, env
}

// deployFiles lists the files this directory ships (not the dev scripts).
func deployFiles(t *testing.T) []string {
	var out []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p == "dev" {
			return filepath.SkipDir
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".go") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCommandsExist checks every lintel-server and lintel-panel command
// line in the units, scripts, manifests and docs against the flags,
// subcommands and variables the binaries define, so the docs cannot drift
// from the code.
func TestCommandsExist(t *testing.T) {
	flags, commands, env := serverCLI(t)
	panelFlags := map[string]bool{"config": true, "version": true}
	for _, k := range goKeys(t, filepath.Join(root, "panel/config.go"), "keys") {
		panelFlags[k] = true
	}
	// Flags, subcommands and variables that are being written (issue 13).
	planned, plannedEnv := plannedCLI(flags, commands)

	invocation := regexp.MustCompile(`\blintel-(server|panel)((?:\s+[^\s|;&#)` + "`" + `"]+)*)`)
	codeComment := regexp.MustCompile(`^\s*#\s{2,}\S`) // "#   lintel-server ..." in a file's comment
	flagTok := regexp.MustCompile(`^--?([a-z0-9][a-z0-9-]*)`)
	envTok := regexp.MustCompile(`\bLINTEL_[A-Z_]+`)
	for _, f := range deployFiles(t) {
		text := read(t, f)
		inFence := false
		// A command continued with a trailing backslash is read as one line
		// (reported at its first line), so its flags on the next lines count.
		var cont string
		contAt := 0
		for n, line := range strings.Split(text, "\n") {
			if (inFence || !strings.HasSuffix(f, ".md")) && strings.HasSuffix(line, "\\") {
				if cont == "" {
					contAt = n
				}
				cont += strings.TrimSuffix(line, "\\") + " "
				continue
			}
			if cont != "" {
				line, n, cont = cont+strings.TrimSpace(line), contAt, ""
			}
			if strings.HasSuffix(f, ".md") {
				if strings.HasPrefix(strings.TrimSpace(line), "```") {
					inFence = !inFence
					continue
				}
				if !inFence {
					// Prose: only `inline code` counts.
					var code []string
					for i, part := range strings.Split(line, "`") {
						if i%2 == 1 {
							code = append(code, part)
						}
					}
					line = strings.Join(code, " | ")
				}
			}
			for _, v := range envTok.FindAllString(line, -1) {
				if !env[v] && !plannedEnv[v] && v != "LINTEL_ROOT" && v != "LINTEL_PANEL_BIN" && v != "LINTEL_PANEL_STATE" &&
					v != "LINTEL_UPDATE_KEY" && v != "LINTEL_UPDATE_STATE" && v != "LINTEL_PANEL_UNIT" && v != "LINTEL_PROC_CMDLINE" {
					t.Errorf("%s:%d: %s is not a variable lintel-server reads", f, n+1, v)
				}
			}
			if !strings.HasSuffix(f, ".md") && strings.HasPrefix(strings.TrimSpace(line), "#") && !codeComment.MatchString(line) {
				continue // prose in a comment
			}
			for _, loc := range invocation.FindAllStringSubmatchIndex(line, -1) {
				before := line[:loc[0]]
				if (strings.HasSuffix(before, "/") && !strings.HasSuffix(before, "bin/")) || strings.HasSuffix(before, "-u ") {
					continue // a path such as /var/lib/lintel-panel, or journalctl -u lintel-panel
				}
				m := []string{line[loc[0]:loc[1]], line[loc[2]:loc[3]], line[loc[4]:loc[5]]}
				words := strings.Fields(m[2])
				known := flags
				if m[1] == "panel" {
					known = panelFlags
					if len(words) > 0 && !strings.HasPrefix(words[0], "-") {
						continue // prose; lintel-panel has no subcommands
					}
				} else if len(words) > 0 && !strings.HasPrefix(words[0], "-") {
					if regexp.MustCompile(`^[a-z][a-z-]*$`).MatchString(words[0]) && !commands[words[0]] && !planned[words[0]] {
						t.Errorf("%s:%d: lintel-server has no command %q", f, n+1, words[0])
					}
				}
				for _, w := range words {
					fm := flagTok.FindStringSubmatch(w)
					if fm == nil || strings.HasPrefix(w, "-h") && len(w) == 2 {
						continue
					}
					if !known[fm[1]] && !planned[fm[1]] {
						t.Errorf("%s:%d: lintel-%s has no flag --%s", f, n+1, m[1], fm[1])
					}
				}
			}
		}
	}
}

func TestKubernetes(t *testing.T) {
	files, _ := filepath.Glob("k8s/*.yaml")
	kinds := map[string]map[string]any{}
	for _, f := range files {
		docs, err := parseYAML(read(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range docs {
			kind, _ := get(d, "kind").(string)
			if kind == "" {
				t.Fatalf("%s: a document without kind", f)
			}
			if kind == "Service" && get(d, "spec", "clusterIP") == "None" {
				kind = "Service/headless"
			}
			kinds[kind] = d.(map[string]any)
			if ns := get(d, "metadata", "namespace"); ns != nil {
				t.Errorf("%s: namespace %v set: the manifests are namespace-agnostic", f, ns)
			}
		}
	}
	for _, k := range []string{"StatefulSet", "Service", "Service/headless", "Ingress", "Secret", "ConfigMap", "Kustomization"} {
		if kinds[k] == nil {
			t.Fatalf("no %s", k)
		}
	}

	sts := kinds["StatefulSet"]
	if r := get(sts, "spec", "replicas"); r != 1 {
		t.Errorf("replicas = %v, want 1 while the store is bbolt", r)
	}
	if get(sts, "spec", "serviceName") != get(kinds["Service/headless"], "metadata", "name") {
		t.Error("serviceName is not the headless Service")
	}
	if get(sts, "spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" {
		t.Error("no volumeClaimTemplate named data")
	}
	pod := get(sts, "spec", "template", "spec")
	if get(pod, "securityContext", "runAsNonRoot") != true || get(pod, "securityContext", "runAsUser") != 65532 {
		t.Errorf("pod securityContext = %v", get(pod, "securityContext"))
	}
	if get(pod, "automountServiceAccountToken") != false {
		t.Error("the pod mounts a service account token it does not need")
	}
	c := get(pod, "containers", 0)
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
		get(sc, "capabilities", "drop", 0) != "ALL" {
		t.Errorf("container securityContext = %v", sc)
	}
	if get(c, "readinessProbe", "httpGet", "path") != "/readyz" || get(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Error("probes must be /readyz (readiness) and /healthz (liveness)")
	}
	if get(c, "resources", "requests") == nil || get(c, "resources", "limits", "memory") == nil {
		t.Error("no resource requests and memory limit")
	}
	if get(c, "volumeMounts", 0, "mountPath") != "/var/lib/lintel" {
		t.Errorf("data mounted at %v", get(c, "volumeMounts", 0, "mountPath"))
	}
	args, _ := get(c, "args").([]any)
	flags, _, _ := serverCLI(t)
	if len(args) == 0 || args[0] != "serve" {
		t.Errorf("args = %v, want serve ...", args)
	}
	for _, a := range args[1:] {
		name := strings.TrimPrefix(strings.SplitN(a.(string), "=", 2)[0], "--")
		if !flags[name] {
			t.Errorf("args: lintel-server has no flag --%s", name)
		}
	}
	if get(c, "ports", 0, "containerPort") != 8080 {
		t.Error("container port is not 8080")
	}

	ann := get(kinds["Ingress"], "metadata", "annotations")
	for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
		if v := get(ann, "nginx.ingress.kubernetes.io/"+k); v != "3600" {
			t.Errorf("Ingress %s = %v, want \"3600\"", k, v)
		}
	}

	// The Secret example holds placeholders only.
	realSecret := regexp.MustCompile(`[A-Za-z0-9_.\-]{3}[0-9]Q~[A-Za-z0-9_.\-~]{30,}`) // Entra ID client secret values
	raw := read(t, "k8s/secret.example.yaml")
	if realSecret.MatchString(raw) || regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----\s*\n\s*#?\s*[A-Za-z0-9+/]{40,}`).MatchString(raw) {
		t.Error("secret.example.yaml looks like it holds a real secret")
	}
	for k, v := range get(kinds["Secret"], "stringData").(map[string]any) {
		if !strings.Contains(v.(string), "REPLACE") {
			t.Errorf("Secret %s = %q is not a placeholder", k, v)
		}
	}

	// kustomization: every resource exists, and the Secret example is not one.
	res, _ := get(kinds["Kustomization"], "resources").([]any)
	for _, r := range res {
		if _, err := os.Stat(filepath.Join("k8s", r.(string))); err != nil {
			t.Errorf("kustomization: %v", err)
		}
		if strings.Contains(r.(string), "secret") {
			t.Errorf("kustomization applies %s: it would overwrite a real secret with placeholders", r)
		}
	}

	// A real YAML parser and kustomize, when kubectl is here.
	if _, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.Command("kubectl", "kustomize", "k8s").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize: %v\n%s", err, out)
		}
		docs, err := parseYAML(string(out))
		if err != nil {
			t.Fatalf("kustomize output: %v", err)
		}
		if len(docs) != len(res)+1 { // service.yaml holds two Services
			t.Errorf("kustomize built %d objects, want %d", len(docs), len(res)+1)
		}
		for _, d := range docs {
			if get(d, "kind") == "StatefulSet" && !strings.Contains(get(d, "spec", "template", "spec", "containers", 0, "image").(string), ":") {
				t.Error("kustomize did not set the image tag")
			}
		}
	}
}

// dockerfile is the instructions of a Dockerfile, continuation lines joined.
func dockerfile(t *testing.T, path string) [][2]string {
	var out [][2]string
	var cur string
	for _, line := range strings.Split(read(t, path), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		op, args, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(op), strings.TrimSpace(args)})
		cur = ""
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := dockerfile(t, "container/Dockerfile")
	var froms, users, volumes, exposes, health, entry []string
	var runs string
	for _, in := range ins {
		switch in[0] {
		case "FROM":
			froms = append(froms, in[1])
		case "USER":
			users = append(users, in[1])
		case "VOLUME":
			volumes = append(volumes, in[1])
		case "EXPOSE":
			exposes = append(exposes, in[1])
		case "HEALTHCHECK":
			health = append(health, in[1])
		case "ENTRYPOINT":
			entry = append(entry, in[1])
		case "RUN":
			runs += in[1] + "\n"
		case "COPY":
			if strings.Contains(in[1], "--from=") {
				continue
			}
			f := strings.Fields(in[1])
			for _, src := range f[:len(f)-1] {
				if strings.HasPrefix(src, "--") || src == "." {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("COPY %s: not in the repository", src)
				}
			}
		}
	}
	if len(froms) < 2 {
		t.Fatalf("FROM %q: want a multi-stage build", froms)
	}
	builder := strings.Fields(froms[0])
	image := builder[len(builder)-3] // [--platform=...] IMAGE AS NAME
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, filepath.Join(root, "go.mod")))[1]
	if !strings.HasPrefix(image, "golang:"+goVersion) || strings.Contains(image, "latest") {
		t.Errorf("builder %s: want golang:%s, pinned, not latest", image, goVersion)
	}
	final := froms[len(froms)-1]
	if !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final stage %s: want distroless static or scratch", final)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-s -w", "-X main.Version=", "./server"} {
		if !strings.Contains(runs, want) {
			t.Errorf("the build lacks %s", want)
		}
	}
	if len(users) == 0 || !strings.HasPrefix(users[len(users)-1], "nonroot") {
		t.Errorf("USER %q: want nonroot", users)
	}
	if !slices.Contains(volumes, "/var/lib/lintel") || !slices.Contains(exposes, "8080") {
		t.Errorf("VOLUME %q EXPOSE %q", volumes, exposes)
	}
	// The check must follow the server's --listen and TLS: no address,
	// port or scheme of its own (the binary reads the running server's).
	if len(health) != 1 || !strings.Contains(health[0], `"healthcheck"`) || regexp.MustCompile(`--url|https?://|:\d+`).MatchString(health[0]) {
		t.Errorf("HEALTHCHECK %q: want the binary's healthcheck command, with no URL of its own", health)
	}
	if len(entry) != 1 || !strings.Contains(entry[0], "/usr/local/bin/lintel-server") {
		t.Errorf("ENTRYPOINT %q", entry)
	}
	// The ignore file must not drop what the build needs.
	for _, line := range strings.Split(read(t, "container/Dockerfile.dockerignore"), "\n") {
		line = strings.TrimSpace(line)
		for _, needed := range []string{"go.mod", "go.sum", "server", "panel", "proto"} {
			if line == needed || line == needed+"/" || line == "*" {
				t.Errorf("Dockerfile.dockerignore excludes %s", needed)
			}
		}
	}
}

func shellScripts(t *testing.T) []string {
	var out []string
	filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sh") {
			out = append(out, p)
		}
		return nil
	})
	if len(out) < 2 {
		t.Fatalf("found only %q", out)
	}
	return out
}

func TestShellScripts(t *testing.T) {
	scripts := shellScripts(t)
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if fi, err := os.Stat(s); err == nil && fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
	}
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed")
	}
	if out, err := exec.Command("shellcheck", scripts...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestMarkdownLinks: relative links in the docs point at files that exist.
func TestMarkdownLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	for _, f := range deployFiles(t) {
		if !strings.HasSuffix(f, ".md") {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(read(t, f), -1) {
			if strings.Contains(m[1], "://") || strings.HasPrefix(m[1], "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), m[1])); err != nil {
				t.Errorf("%s: broken link %s", f, m[1])
			}
		}
	}
}

// updateEnv builds a panel in a directory for update.sh: a fake systemctl
// that logs its calls and answers as told, a "binary" that prints its
// version, and an ed25519 key pair.
type updateEnv struct {
	dir, bin, state, own, log string
	key                       ed25519.PrivateKey
	env                       []string
}

func newUpdateEnv(t *testing.T) *updateEnv {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	e := &updateEnv{dir: dir, bin: filepath.Join(dir, "bin/lintel-panel"), state: filepath.Join(dir, "state"), own: filepath.Join(dir, "own"), log: filepath.Join(dir, "systemctl.log")}
	os.MkdirAll(filepath.Dir(e.bin), 0o755)
	os.MkdirAll(e.state, 0o700)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	e.key = priv
	der, _ := x509.MarshalPKIXPublicKey(pub)
	os.WriteFile(filepath.Join(dir, "update.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	// is-active answers from the file "active" (exists: active).
	// With the file "connects", restart rewrites the state cache a second
	// later, as a panel does when the server sends it the room's state.
	fake := "#!/bin/sh\necho \"$*\" >>" + e.log + "\ncase $1 in\nis-active) [ -e " + dir + "/active ] ;;\nshow) echo 0 ;;\n" +
		"restart) [ -e " + dir + "/connects ] && { sleep 1.2; echo '{}' >" + e.state + "/cache.json; } & ;;\nesac\nexit 0\n"
	os.WriteFile(filepath.Join(dir, "systemctl"), []byte(fake), 0o755)
	os.WriteFile(filepath.Join(dir, "cmdline"), []byte("console=tty1 root=/dev/mmcblk0p2\n"), 0o644)
	e.env = append(os.Environ(),
		"LINTEL_PANEL_BIN="+e.bin, "LINTEL_PANEL_STATE="+e.state, "LINTEL_UPDATE_STATE="+e.own, "LINTEL_UPDATE_KEY="+filepath.Join(dir, "update.pub"),
		"SYSTEMCTL="+filepath.Join(dir, "systemctl"), "LINTEL_PROC_CMDLINE="+filepath.Join(dir, "cmdline"),
		// Room for a loaded machine: only the subtest that expects the
		// panel not to come back shortens it.
		"CONFIRM_TIMEOUT=15", "STABLE_SECONDS=0", "POLL=0.2", "RETRY_PAUSE=0")
	e.binary(t, e.bin, "v1.0.0", nil)
	return e
}

// binary writes a fake panel binary printing version, and its signature
// (by key, or e.key when nil) beside it as path.sig.
func (e *updateEnv) binary(t *testing.T, path, version string, key ed25519.PrivateKey) {
	t.Helper()
	body := []byte("#!/bin/sh\n[ \"$1\" = --version ] && echo " + version + " >&2\nexit 0\n")
	if err := os.WriteFile(path, body, 0o755); err != nil {
		t.Fatal(err)
	}
	if key == nil {
		key = e.key
	}
	os.WriteFile(path+".sig", ed25519.Sign(key, body), 0o644)
}

func (e *updateEnv) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"panel/update.sh"}, args...)...)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *updateEnv) installed(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(e.bin, "--version").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestUpdateScript(t *testing.T) {
	t.Run("good signature, back online", func(t *testing.T) {
		e := newUpdateEnv(t)
		os.WriteFile(filepath.Join(e.dir, "active"), nil, 0o644)
		next := filepath.Join(e.dir, "new")
		e.binary(t, next, "v1.1.0", nil)
		if out, err := e.run(t, "apply", next, next+".sig"); err != nil {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.1.0" {
			t.Errorf("installed %s", v)
		}
		if _, err := os.Stat(filepath.Join(e.own, "pending")); err == nil {
			t.Error("the pending marker was left behind")
		}
		if !strings.Contains(read(t, e.log), "restart lintel-panel.service") {
			t.Errorf("the panel was not restarted: %s", read(t, e.log))
		}
		if out, err := e.run(t, "rollback"); err != nil || e.installed(t) != "v1.0.0" {
			t.Errorf("rollback by hand: %v\n%s", err, out)
		}
	})
	t.Run("paired panel needs a state from the server", func(t *testing.T) {
		e := newUpdateEnv(t)
		os.WriteFile(filepath.Join(e.dir, "active"), nil, 0o644)
		os.WriteFile(filepath.Join(e.state, "credential"), []byte("x"), 0o600)
		next := filepath.Join(e.dir, "new")
		e.binary(t, next, "v1.1.0", nil)
		e.env = append(e.env, "CONFIRM_TIMEOUT=3")       // the last value counts
		out, err := e.run(t, "apply", next, next+".sig") // no cache.json written: not online
		if err == nil || !strings.Contains(out, "did not come back online") {
			t.Fatalf("apply succeeded without the panel getting a state: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.0.0" {
			t.Errorf("not rolled back: %s", v)
		}
	})
	t.Run("paired panel online once the server sent a state", func(t *testing.T) {
		e := newUpdateEnv(t)
		os.WriteFile(filepath.Join(e.dir, "active"), nil, 0o644)
		os.WriteFile(filepath.Join(e.dir, "connects"), nil, 0o644)
		os.WriteFile(filepath.Join(e.state, "credential"), []byte("x"), 0o600)
		next := filepath.Join(e.dir, "new")
		e.binary(t, next, "v1.1.0", nil)
		if out, err := e.run(t, "apply", next, next+".sig"); err != nil || !strings.Contains(out, "is online") {
			t.Fatalf("apply: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.1.0" {
			t.Errorf("installed %s", v)
		}
	})
	t.Run("bad signature", func(t *testing.T) {
		e := newUpdateEnv(t)
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		next := filepath.Join(e.dir, "new")
		e.binary(t, next, "v1.1.0", other)
		out, err := e.run(t, "apply", next, next+".sig")
		if err == nil || !strings.Contains(out, "does not verify") {
			t.Fatalf("apply with a foreign signature: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.0.0" {
			t.Errorf("installed %s", v)
		}
	})
	t.Run("downgrade refused", func(t *testing.T) {
		e := newUpdateEnv(t)
		next := filepath.Join(e.dir, "old")
		e.binary(t, next, "v0.9.0", nil)
		out, err := e.run(t, "apply", next, next+".sig")
		if err == nil || !strings.Contains(out, "downgrade") {
			t.Fatalf("downgrade: %v\n%s", err, out)
		}
	})
	t.Run("read-only root refused", func(t *testing.T) {
		e := newUpdateEnv(t)
		os.WriteFile(filepath.Join(e.dir, "cmdline"), []byte("console=tty1 boot=overlay root=/dev/mmcblk0p2\n"), 0o644)
		next := filepath.Join(e.dir, "new")
		e.binary(t, next, "v1.1.0", nil)
		if out, err := e.run(t, "apply", next, next+".sig"); err == nil || !strings.Contains(out, "overlay") {
			t.Fatalf("apply on an overlay root: %v\n%s", err, out)
		}
	})
	t.Run("crashing panel rolled back by on-failure", func(t *testing.T) {
		e := newUpdateEnv(t)
		// Stage by hand what apply leaves while it waits.
		os.WriteFile(e.bin+".previous", []byte(read(t, e.bin)), 0o755)
		e.binary(t, e.bin, "v1.1.0", nil)
		os.MkdirAll(e.own, 0o700)
		os.WriteFile(filepath.Join(e.own, "pending"), []byte("v1.0.0 -> v1.1.0 at 0\n"), 0o644)
		if out, err := e.run(t, "on-failure"); err != nil {
			t.Fatalf("on-failure: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.0.0" {
			t.Errorf("after on-failure: %s", v)
		}
		if _, err := os.Stat(filepath.Join(e.own, "pending")); err == nil {
			t.Error("the pending marker was left behind")
		}
	})
	t.Run("on-failure without an update restarts the panel", func(t *testing.T) {
		e := newUpdateEnv(t)
		if out, err := e.run(t, "on-failure"); err != nil {
			t.Fatalf("on-failure: %v\n%s", err, out)
		}
		if !strings.Contains(read(t, e.log), "start --no-block lintel-panel.service") {
			t.Errorf("systemctl calls: %s", read(t, e.log))
		}
	})
	t.Run("staged", func(t *testing.T) {
		e := newUpdateEnv(t)
		os.WriteFile(filepath.Join(e.dir, "active"), nil, 0o644)
		staged := filepath.Join(e.state, "staged")
		os.MkdirAll(staged, 0o700)
		e.binary(t, filepath.Join(staged, "lintel-panel"), "v1.2.0", nil)
		os.WriteFile(filepath.Join(staged, "ready"), nil, 0o644)
		if out, err := e.run(t, "apply-staged"); err != nil {
			t.Fatalf("apply-staged: %v\n%s", err, out)
		}
		if v := e.installed(t); v != "v1.2.0" {
			t.Errorf("installed %s", v)
		}
		if left, _ := os.ReadDir(staged); len(left) != 0 {
			t.Errorf("staged files left: %v", left)
		}
	})
}

// TestInstallScript runs install.sh twice into a directory (LINTEL_ROOT):
// it installs the board's binary, the units and the config, edits
// cmdline.txt once, and enables the units.
func TestInstallScript(t *testing.T) {
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Skip("systemctl not installed (install.sh enables units with systemctl --root)")
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(rootfs, "boot/firmware"), 0o755)
	cmdline := filepath.Join(rootfs, "boot/firmware/cmdline.txt")
	os.WriteFile(cmdline, []byte("console=tty1 root=PARTUUID=1234-02 rootwait consoleblank=600\n"), 0o755)
	bins := filepath.Join(dir, "bin")
	os.MkdirAll(bins, 0o755)
	for _, a := range []string{"armv6", "armv7", "arm64"} {
		os.WriteFile(filepath.Join(bins, "lintel-panel-"+a), []byte("#!/bin/sh\necho "+a+"\n"), 0o755)
	}
	run := func(args ...string) string {
		cmd := exec.Command("bash", append([]string{"panel/install.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "LINTEL_ROOT="+rootfs)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("install.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	args := []string{"--binary", bins, "--arch", "armv7", "--server", "wss://lintel.example.com/ws",
		"--touch", "auto", "--leds", "GPIO17,GPIO27", "--locale", "de", "--disable-getty"}
	first := run(args...)
	// CJK and emoji fonts for titles the panel's own font lacks.
	if !strings.Contains(first, "not installing fonts-noto-cjk fonts-symbola") {
		t.Errorf("install.sh does not install the CJK and emoji fonts:\n%s", first)
	}
	second := run(args...)
	if strings.Contains(second, "installed") || strings.Contains(second, "wrote") {
		t.Errorf("the second run changed files:\n%s", second)
	}

	if got := read(t, filepath.Join(rootfs, "usr/local/bin/lintel-panel")); !strings.Contains(got, "armv7") {
		t.Errorf("installed the wrong binary: %s", got)
	}
	conf := read(t, filepath.Join(rootfs, "etc/lintel/panel.conf"))
	keys := goKeys(t, filepath.Join(root, "panel/config.go"), "keys")
	for _, line := range strings.Split(conf, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, " = ")
		if !slices.Contains(keys, k) {
			t.Errorf("panel.conf: unknown key in %q", line)
		}
	}
	for _, want := range []string{"server = wss://lintel.example.com/ws", "touch = /dev/input/touchscreen", "led-green = GPIO17", "led-red = GPIO27", "locale = de"} {
		if !strings.Contains(conf, want+"\n") {
			t.Errorf("panel.conf lacks %q:\n%s", want, conf)
		}
	}
	if got := read(t, cmdline); got != "console=tty1 root=PARTUUID=1234-02 rootwait consoleblank=0 vt.global_cursor_default=0\n" {
		t.Errorf("cmdline.txt = %q", got)
	}
	for _, p := range []string{
		"etc/systemd/system/multi-user.target.wants/lintel-panel.service",
		"etc/systemd/system/paths.target.wants/lintel-panel-update.path",
		"etc/systemd/system/lintel-panel-rollback.service",
		"etc/udev/rules.d/99-lintel-panel.rules",
		"usr/local/lib/lintel/update.sh",
	} {
		if _, err := os.Lstat(filepath.Join(rootfs, p)); err != nil {
			t.Error(err)
		}
	}

	// Without --server, the config stays; --read-only refuses before pairing.
	run("--binary", bins, "--arch", "arm64")
	if read(t, filepath.Join(rootfs, "etc/lintel/panel.conf")) != conf {
		t.Error("a run without --server changed panel.conf")
	}
	cmd := exec.Command("bash", "panel/install.sh", "--binary", bins, "--arch", "arm64", "--read-only")
	cmd.Env = append(os.Environ(), "LINTEL_ROOT="+rootfs)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not paired") {
		t.Errorf("--read-only before pairing: %v\n%s", err, out)
	}
}
