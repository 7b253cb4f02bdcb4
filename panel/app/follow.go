package app

import (
	"context"

	"github.com/lintelhq/lintel/panel/led"
	"github.com/lintelhq/lintel/panel/link"
)

// Follow applies the link's events to the app until ctx ends. leds, if
// not nil, is where "identify" blinks.
func (a *App) Follow(ctx context.Context, events <-chan link.Event, leds interface{ Set(led.Signal) error }) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			switch ev.Kind {
			case link.KindFirmware:
				if a.opts.Firmware != nil {
					go a.opts.Firmware(ctx, *ev.Firmware)
				}
			case link.KindSettings:
				a.OnSettings(ev.Settings)
			case link.KindState:
				a.OnState(ev.State, true)
			case link.KindPairing:
				a.OnPairing(ev.Pairing)
			case link.KindConnected:
				a.OnConnected()
			case link.KindDisconnected:
				a.OnDisconnected()
			case link.KindRevoked:
				a.OnRevoked()
			case link.KindUpdateFirmware:
				a.OnUpdateFirmware(ev.Err)
			case link.KindCommand:
				go a.OnCommand(ctx, *ev.Command, leds)
			case link.KindError:
				a.log.Warn("link error", "err", ev.Err)
			}
		}
	}
}
