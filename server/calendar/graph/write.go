package graph

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/lintelhq/lintel/server/calendar"
)

// Book implements calendar.Provider: it creates an event in the room's own
// calendar, organized by the room.
//
// The booking's TransactionID goes to Graph's transactionId, so a retry
// (by the transport after a timeout, or by the caller) returns the event
// the first attempt created instead of a second one. It is required.
//
// With b.Teams the room calendar's allowedOnlineMeetingProviders is
// checked first. When Graph creates the event but returns no join URL
// (the room cannot host Teams meetings), Book returns the event together
// with an ErrNoOnlineMeeting error: the room IS booked, only the Teams
// meeting is missing, and the caller must say so rather than pretend.
func (p *Provider) Book(ctx context.Context, room string, b calendar.Booking) (calendar.Event, error) {
	if b.TransactionID == "" {
		return calendar.Event{}, errors.New("graph: Booking.TransactionID is required, so that a retry never books twice")
	}
	if !b.End.After(b.Start) {
		return calendar.Event{}, fmt.Errorf("graph: %s: the booking ends (%s) before it starts (%s)", room, b.End.Format("15:04"), b.Start.Format("15:04"))
	}
	if b.Teams {
		if err := p.checkTeamsAllowed(ctx, room); err != nil {
			return calendar.Event{}, err
		}
	}

	ev := models.NewEvent()
	subject, tid := b.Subject, b.TransactionID
	ev.SetSubject(&subject)
	ev.SetStart(graphDateTime(b.Start))
	ev.SetEnd(graphDateTime(b.End))
	ev.SetTransactionId(&tid)
	busy := models.BUSY_FREEBUSYSTATUS
	ev.SetShowAs(&busy)
	if b.Teams {
		on, teams := true, models.TEAMSFORBUSINESS_ONLINEMEETINGPROVIDERTYPE
		ev.SetIsOnlineMeeting(&on)
		ev.SetOnlineMeetingProvider(&teams)
	}
	created, err := client(p.adapter).Users().ByUserId(room).Events().Post(ctx, ev,
		&users.ItemEventsRequestBuilderPostRequestConfiguration{Headers: preferHeaders()})
	if err != nil {
		return calendar.Event{}, p.callError(room, err)
	}
	out, _, err := toEvent(created)
	if err != nil {
		return calendar.Event{}, fmt.Errorf("graph: %s: reading the created event: %w", room, err)
	}
	// Never log the subject: it may be private.
	p.log.Info("graph: booked", "room", room, "event", out.ID, "teams", b.Teams)
	if b.Teams && out.JoinURL == "" {
		return out, fmt.Errorf("graph: %w", &calendar.Error{
			Kind: calendar.ErrNoOnlineMeeting, Room: room,
			Msg: "the room is booked, but Graph returned no Teams join URL",
			Fix: fmt.Sprintf("Give the room mailbox %s a license that includes Teams (the organizer of a Teams meeting must be able to host one), or book without Teams.", room),
		})
	}
	return out, nil
}

// checkTeamsAllowed reads the room calendar's allowedOnlineMeetingProviders.
func (p *Provider) checkTeamsAllowed(ctx context.Context, room string) error {
	cal, err := client(p.adapter).Users().ByUserId(room).Calendar().Get(ctx, &users.ItemCalendarRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemCalendarRequestBuilderGetQueryParameters{Select: []string{"allowedOnlineMeetingProviders"}},
	})
	if err != nil {
		return p.callError(room, err)
	}
	if p.rememberTeams(room, cal.GetAllowedOnlineMeetingProviders()) {
		return nil
	}
	return fmt.Errorf("graph: %w", &calendar.Error{
		Kind: calendar.ErrNoOnlineMeeting, Room: room,
		Msg: "the room's calendar does not allow Teams meetings (allowedOnlineMeetingProviders lacks teamsForBusiness)",
		Fix: fmt.Sprintf("Give the room mailbox %s a license that includes Teams, so that its calendar allows Teams meetings, or book without Teams.", room),
	})
}

// SetEnd implements calendar.Provider: extend, or end early.
func (p *Provider) SetEnd(ctx context.Context, room, eventID string, end time.Time) (calendar.Event, error) {
	ev := models.NewEvent()
	ev.SetEnd(graphDateTime(end))
	updated, err := client(p.adapter).Users().ByUserId(room).Events().ByEventId(eventID).Patch(ctx, ev,
		&users.ItemEventsEventItemRequestBuilderPatchRequestConfiguration{Headers: preferHeaders()})
	if err != nil {
		return calendar.Event{}, p.callError(room, err)
	}
	out, _, err := toEvent(updated)
	if err != nil {
		return calendar.Event{}, fmt.Errorf("graph: %s: reading the updated event: %w", room, err)
	}
	p.log.Info("graph: moved the end of an event", "room", room, "event", eventID, "end", out.End)
	return out, nil
}

// Release implements calendar.Provider: it frees the room from a meeting
// nobody checked in to. The room declines it with the comment, which
// sends the organizer a decline saying why. A booking the room organized
// itself (an instant booking made at the panel) has nobody to decline
// to, so it is deleted instead.
func (p *Provider) Release(ctx context.Context, room, eventID, comment string) error {
	item := client(p.adapter).Users().ByUserId(room).Events().ByEventId(eventID)
	ev, err := item.Get(ctx, &users.ItemEventsEventItemRequestBuilderGetRequestConfiguration{
		Headers:         preferHeaders(),
		QueryParameters: &users.ItemEventsEventItemRequestBuilderGetQueryParameters{Select: []string{"isOrganizer"}},
	})
	if err != nil {
		return p.callError(room, err)
	}
	if deref(ev.GetIsOrganizer()) {
		if err := item.Delete(ctx, nil); err != nil {
			return p.callError(room, err)
		}
		p.log.Info("graph: released an own booking by deleting it", "room", room, "event", eventID)
		return nil
	}
	body := users.NewItemEventsItemDeclinePostRequestBody()
	send := true
	body.SetComment(&comment)
	body.SetSendResponse(&send)
	if err := item.Decline().Post(ctx, body, nil); err != nil {
		return p.callError(room, err)
	}
	p.log.Info("graph: released a meeting by declining it", "room", room, "event", eventID)
	return nil
}
