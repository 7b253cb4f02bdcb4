package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"periph.io/x/conn/v3/display"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/lintelhq/lintel/panel/app"
	"github.com/lintelhq/lintel/panel/input"
	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/panel/link"
	"github.com/lintelhq/lintel/panel/screen"
	"github.com/lintelhq/lintel/panel/update"
	"github.com/lintelhq/lintel/panel/view"
	"github.com/lintelhq/lintel/proto"
	"github.com/lintelhq/lintel/proto/clock"
)

type screenHours = screen.Hours

// run reads the settings (args, environ as os.Environ gives it) and runs
// the panel until ctx ends. Help and the version go to stdout, logs to
// stderr.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, done, err := loadConfig(args, environ, stdout)
	if err != nil || done {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	for _, name := range unknownEnv(environ) {
		log.Warn("ignoring an environment variable that names no setting (lintel-panel -h lists them)", "name", name)
	}
	now, moved, err := clock.FromEnv(getenv(environ))
	if err != nil {
		return err
	}
	if moved {
		log.Warn("the clock is moved by "+clock.Env, "now", now().Format(time.RFC3339))
	}
	return runPanel(ctx, cfg, log, now)
}

// getenv looks a variable up in environ; the last entry wins, as in
// os.Getenv.
func getenv(environ []string) func(string) string {
	return func(name string) string {
		v := ""
		for _, kv := range environ {
			if k, val, ok := strings.Cut(kv, "="); ok && k == name {
				v = val
			}
		}
		return v
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// runPanel wires the link, the app, the screen, the LEDs and the inputs.
func runPanel(ctx context.Context, cfg config, log *slog.Logger, now clock.Func) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg gosync.WaitGroup
	defer wg.Wait()
	defer cancel()

	var a *app.App // set below; touches from the web screen wait for it
	var appReady = make(chan struct{})
	drawer, closeScreen, err := openScreen(cfg, log, func(x, y int) {
		<-appReady
		a.Input(ctx, input.Event{Kind: input.Touch, X: x, Y: y, Time: now()})
	})
	if err != nil {
		return err
	}
	defer closeScreen()
	size := drawer.Bounds().Size()

	var tlsConf *tls.Config
	if cfg.PinSHA256 != "" {
		tlsConf = pinnedTLS(strings.Split(cfg.PinSHA256, ",")...)
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca-file: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsConf = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var key ed25519.PublicKey
	var accepts []string
	if cfg.FirmwareKey != "" {
		if key, err = update.ReadKey(cfg.FirmwareKey); err != nil {
			return err
		}
		accepts = append(accepts, proto.AcceptFirmware)
	}
	l, err := link.New(link.Opts{
		URLs: cfg.servers(), TLS: tlsConf, CredentialPath: cfg.Credential, CachePath: cfg.Cache, SettingsPath: settingsPath(cfg.Cache),
		Firmware: Version, Width: size.X, Height: size.Y, Locale: cfg.Locale, Arch: arch(), Accepts: accepts,
		Logger: log.With("component", "link"), Now: now,
	})
	if err != nil {
		return err
	}
	var restart error // set when the firmware changed: exit for the supervisor to start it
	var restartMu gosync.Mutex
	var onFirmware func(context.Context, proto.Firmware)
	if key != nil {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			return fmt.Errorf("firmware: where is this binary: %w", err)
		}
		up, err := update.New(update.Opts{Key: key, Current: Version, Binary: exe, StageDir: cfg.FirmwareStage, Download: l,
			Logger: log.With("component", "update")})
		if err != nil {
			return err
		}
		var busy gosync.Mutex
		onFirmware = func(ctx context.Context, f proto.Firmware) {
			if !busy.TryLock() {
				return // one at a time; the server says it again at the next connection
			}
			defer busy.Unlock()
			var swapped bool
			var err error
			switch f.Action {
			case proto.FirmwareInstall:
				swapped, err = up.Install(ctx, f)
			case proto.FirmwareRollback:
				swapped, err = up.Rollback()
			}
			if err != nil {
				log.Error("firmware not installed", "version", f.Version, "err", err)
				return
			}
			if swapped {
				restartMu.Lock()
				restart = fmt.Errorf("%w: %s %s", errRestart, f.Action, f.Version)
				restartMu.Unlock()
				cancel()
			}
		}
	}

	var leds *led.LEDs
	if cfg.LEDGreen != "" {
		leds, err = led.Open(ctx, led.PinNames{Green: cfg.LEDGreen, Red: cfg.LEDRed}, led.Opts{ActiveLow: cfg.LEDActiveLow, Logger: log})
		if err != nil {
			// LEDs are a nice-to-have: the screen still tells the status.
			log.Error("running without status LEDs", "err", err)
			leds = nil
		} else {
			defer leds.Close()
		}
	}
	var appLEDs app.LEDs
	if leds != nil {
		appLEDs = leds
	}

	hours := view.HourCycleLocale
	switch cfg.Clock {
	case "12":
		hours = view.HourCycle12
	case "24":
		hours = view.HourCycle24
	}
	backlight, err := openBacklight(cfg, log)
	if err != nil {
		return err
	}
	fonts, closeFonts := loadFonts(defaultFonts(), log)
	defer closeFonts()
	var zone *time.Location
	if cfg.TimeZone != "" {
		zone, _ = time.LoadLocation(cfg.TimeZone)
	}
	opts := app.Opts{
		Link: l, Screen: drawer, LEDs: appLEDs, Logger: log.With("component", "app"),
		Server: serverNames(cfg.servers()), Locale: cfg.Locale, Hours: hours, Fonts: fonts, OfflineGrace: cfg.OfflineGrace,
		OfficeHours: cfg.OfficeHours, TimeZone: zone, Now: now, Firmware: onFirmware,
	}
	if backlight != nil {
		opts.Backlight = backlight
	}
	a, err = app.New(opts)
	if err != nil {
		return err
	}
	close(appReady)
	if s := l.CachedSettings(); s != nil {
		a.OnSettings(s) // the server's settings of the last run, even offline
	}

	if st, err := l.Cached(); err != nil {
		log.Warn("ignoring the panel's cache", "err", err)
	} else if st != nil {
		a.OnState(st, false) // show the room at once, even with no network
	}

	if err := openInputs(ctx, cfg, size, log, func(ev input.Event) { a.Input(ctx, ev) }, &wg); err != nil {
		return err
	}

	wg.Add(2)
	go func() { defer wg.Done(); a.Run(ctx) }()
	go func() { defer wg.Done(); l.Run(ctx) }()
	var identify interface{ Set(led.Signal) error }
	if leds != nil {
		identify = leds
	}
	a.Follow(ctx, l.Events(), identify)
	cancel()
	wg.Wait()
	restartMu.Lock()
	defer restartMu.Unlock()
	return restart
}

// errRestart ends runPanel when the binary was replaced (or rolled
// back): main exits and the supervisor starts the binary now in place.
var errRestart = errors.New("restarting for new firmware")

// serverNames is the server's host, or its replicas' hosts separated by
// commas (each once), for the "connecting" screen.
func serverNames(urls []string) string {
	var hosts []string
	for _, u := range urls {
		s := strings.TrimPrefix(strings.TrimPrefix(u, "wss://"), "ws://")
		host, _, _ := strings.Cut(s, "/")
		if !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return strings.Join(hosts, ", ")
}

// drawers sends every frame to several sinks (a screen and a PNG copy).
type drawers []display.Drawer

func (d drawers) String() string { return d[0].String() }
func (d drawers) Halt() error {
	var errs []error
	for _, x := range d {
		errs = append(errs, x.Halt())
	}
	return errors.Join(errs...)
}
func (d drawers) ColorModel() color.Model { return d[0].ColorModel() }
func (d drawers) Bounds() image.Rectangle { return d[0].Bounds() }
func (d drawers) Draw(r image.Rectangle, src image.Image, sp image.Point) error {
	var errs []error
	for _, x := range d {
		errs = append(errs, x.Draw(r, src, sp))
	}
	return errors.Join(errs...)
}

// openScreen opens the configured sink (plus the PNG copy, if any).
func openScreen(cfg config, log *slog.Logger, onTouch func(x, y int)) (display.Drawer, func(), error) {
	kind, arg, _ := strings.Cut(cfg.Screen, ":")
	var main display.Drawer
	switch kind {
	case "fb":
		fb, err := screen.OpenFramebuffer(arg, screen.FramebufferOpts{Rotation: cfg.Rotation, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("screen: %w", err)
		}
		main = fb
	case "web":
		w, err := screen.NewWeb(arg, screen.WebOpts{Width: cfg.Width, Height: cfg.Height, OnTouch: onTouch, Logger: log})
		if err != nil {
			return nil, nil, fmt.Errorf("screen: %w", err)
		}
		log.Info("virtual panel", "url", "http://"+w.Addr().String()+"/")
		main = w
	case "png":
		p, err := screen.NewPNGFile(arg, cfg.Width, cfg.Height)
		if err != nil {
			return nil, nil, fmt.Errorf("screen: %w", err)
		}
		main = p
	}
	out := drawers{main}
	if cfg.PNG != "" {
		b := main.Bounds()
		p, err := screen.NewPNGFile(cfg.PNG, b.Dx(), b.Dy())
		if err != nil {
			main.Halt()
			return nil, nil, fmt.Errorf("png: %w", err)
		}
		out = append(out, p)
	}
	return out, func() { out.Halt() }, nil
}

// openInputs starts the touchscreen and the push buttons, if configured.
func openInputs(ctx context.Context, cfg config, size image.Point, log *slog.Logger, emit func(input.Event), wg *gosync.WaitGroup) error {
	if cfg.Touch != "" {
		ts, err := input.OpenTouchscreen(cfg.Touch, input.TouchOpts{
			Width: size.X, Height: size.Y, Rotation: cfg.Rotation, Logger: log,
			Calibration: input.Calibration{SwapXY: cfg.TouchSwapXY, InvertX: cfg.TouchInvertX, InvertY: cfg.TouchInvertY},
		})
		if err != nil {
			return fmt.Errorf("touch: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ts.Run(ctx, emit); err != nil && ctx.Err() == nil {
				log.Error("touchscreen stopped", "err", err)
			}
		}()
		context.AfterFunc(ctx, func() { ts.Close() })
	}
	if len(cfg.Buttons) > 0 {
		if _, err := host.Init(); err != nil {
			return fmt.Errorf("buttons: initialise host GPIO: %w", err)
		}
		var pins []input.ButtonPin
		for name, action := range cfg.Buttons {
			p := gpioreg.ByName(name)
			if p == nil {
				return fmt.Errorf("buttons: no GPIO pin named %q on this board", name)
			}
			pins = append(pins, input.ButtonPin{Pin: p, Action: action})
		}
		bs, err := input.WatchButtons(ctx, pins, input.ButtonOpts{ActiveHigh: cfg.ButtonsHigh, Logger: log}, emit)
		if err != nil {
			return fmt.Errorf("buttons: %w", err)
		}
		context.AfterFunc(ctx, func() { bs.Close() })
	}
	return nil
}

// openBacklight returns the screen's backlight, or nil when none is
// configured.
func openBacklight(cfg config, log *slog.Logger) (*screen.Backlight, error) {
	dir := cfg.Backlight
	switch dir {
	case "":
		return nil, nil
	case "auto":
		var err error
		if dir, err = screen.FindBacklight("/sys/class/backlight"); err != nil {
			return nil, fmt.Errorf("backlight: %w", err)
		}
	}
	bl, err := screen.NewBacklight(dir, screen.BacklightOpts{})
	if err != nil {
		return nil, fmt.Errorf("backlight: %w", err)
	}
	log.Info("backlight", "dir", dir)
	return bl, nil
}

// settingsPath is where the server's display settings are cached: beside
// the state cache.
func settingsPath(cache string) string {
	if cache == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(cache), "settings.json")
}

// arch is this binary's platform as the server's firmware builds name it:
// "linux/arm64", "linux/arm/v6", "linux/amd64".
func arch() string {
	a := runtime.GOOS + "/" + runtime.GOARCH
	if runtime.GOARCH == "arm" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "GOARM" && s.Value != "" {
					return a + "/v" + strings.TrimSuffix(strings.TrimSuffix(s.Value, ",softfloat"), ",hardfloat")
				}
			}
		}
		return a + "/v7" // Go's default GOARM
	}
	return a
}

// pinnedTLS trusts exactly the certificates whose SHA-256 fingerprints are
// pins (hex): for a server with a self-signed certificate (lintel-server
// --dev-tls), where there is no CA to verify against. Replicas started
// with --dev-tls each make their own certificate: the panel pins them
// all, and whichever replica it reaches must show one of them.
func pinnedTLS(pins ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not verified against a CA; VerifyConnection checks
		// the pin instead, on every handshake.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the server sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if got := hex.EncodeToString(sum[:]); !slices.Contains(pins, got) {
				return fmt.Errorf("tls: the server's certificate has fingerprint %s, not the pinned %s", got, strings.Join(pins, " or "))
			}
			return nil
		},
	}
}
