package led

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// PinNames names the host GPIO pins of the LEDs as periph's gpioreg knows
// them, e.g. "GPIO17" or "17".
type PinNames struct {
	Green, Red string
}

// Open initialises the host's GPIO drivers, looks up the named pins and
// returns LEDs on them. opts.Green and opts.Red are ignored.
//
// LEDs are a nice-to-have: when Open fails, log the error and keep the panel
// running without them. The error names the pin, and when the cause is a
// permission problem it says how to fix it (add the user to the gpio group).
func Open(ctx context.Context, names PinNames, opts Opts) (*LEDs, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("led: %w", err)
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("led: initialise host GPIO: %w", err)
	}
	return open(names, opts, func(name string) gpio.PinIO { return gpioreg.ByName(name) }, probeGPIOChips)
}

// open is Open without the host: lookup finds a pin by name and probe
// explains a missing pin (nil when it has nothing to add).
func open(names PinNames, opts Opts, lookup func(string) gpio.PinIO, probe func() error) (*LEDs, error) {
	var pins [2]gpio.PinIO
	for i, name := range []string{names.Green, names.Red} {
		if name == "" {
			return nil, errors.New("led: both green and red pin names are required")
		}
		p := lookup(name)
		if p == nil {
			if err := probe(); err != nil {
				return nil, fmt.Errorf("led: pin %s not found: %w", name, err)
			}
			return nil, fmt.Errorf("led: pin %s not found on this host (check the name, e.g. GPIO17)", name)
		}
		// Drive the pin once now, so that a permission problem shows up
		// here, with a useful message, rather than on the first Set.
		inactive := gpio.Low
		if opts.ActiveLow {
			inactive = gpio.High
		}
		if err := p.Out(inactive); err != nil {
			return nil, fmt.Errorf("led: pin %s: %w", name, explain(err))
		}
		pins[i] = p
	}
	opts.Green, opts.Red = pins[0], pins[1]
	return New(opts)
}

// probeGPIOChips opens the GPIO character devices. periph skips a chip it
// cannot open (logging to the standard logger), after which its pins just do
// not exist; this finds out whether permissions were the reason.
func probeGPIOChips() error {
	chips, _ := filepath.Glob("/dev/gpiochip*")
	for _, c := range chips {
		f, err := os.OpenFile(c, os.O_RDWR, 0)
		if err != nil {
			return explain(err)
		}
		f.Close()
	}
	return nil
}

// explain adds the fix to a permission error.
func explain(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (add the user running the panel to the gpio group: sudo usermod -aG gpio $USER, then log in again)", err)
	}
	return err
}
