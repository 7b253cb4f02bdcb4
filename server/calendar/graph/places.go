package graph

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/places"

	"github.com/lintelhq/lintel/server/calendar"
)

// Room is a room as Places lists it, for importing rooms into Lintel.
type Room struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Capacity int    `json:"capacity,omitempty"`
	Building string `json:"building,omitempty"`
	Floor    int    `json:"floor,omitempty"`
}

// Rooms lists the tenant's rooms from Places (/places/microsoft.graph.room).
// It needs the optional Place.Read.All application permission; without it
// the error is ErrDenied with the fix, and the admin adds rooms by hand.
func (p *Provider) Rooms(ctx context.Context) ([]Room, error) {
	var out []Room
	b := client(p.adapter).Places().GraphRoom()
	page, err := b.Get(ctx, nil)
	for {
		if err != nil {
			err = p.callError("", err)
			if ce, ok := asCalendarError(err); ok && statusOf(err) == calendar.StatusDenied {
				// A new error: the wrapped one's text was made with the
				// calendar permission's fix.
				denied := *ce
				denied.Msg = "the app may not list rooms from Places"
				denied.Fix = fmt.Sprintf("To import rooms, add the Microsoft Graph application permission Place.Read.All to app %s and grant admin consent; or add the rooms by hand.", p.cfg.ClientID)
				err = fmt.Errorf("graph: %w", &denied)
			}
			return nil, err
		}
		for _, r := range page.GetValue() {
			out = append(out, Room{
				Address:  deref(r.GetEmailAddress()),
				Name:     deref(r.GetDisplayName()),
				Capacity: int(deref(r.GetCapacity())),
				Building: deref(r.GetBuilding()),
				Floor:    int(deref(r.GetFloorNumber())),
			})
		}
		next := deref(page.GetOdataNextLink())
		if next == "" {
			return out, nil
		}
		page, err = b.WithUrl(next).Get(ctx, &places.GraphRoomRequestBuilderGetRequestConfiguration{})
	}
}
