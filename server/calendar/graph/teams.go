package graph

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// How long a room's Teams capability is trusted. A mailbox's
// allowedOnlineMeetingProviders changes when its licence does, which is
// rare; a failed read is tried again soon.
const (
	teamsTTL      = 6 * time.Hour
	teamsRetryTTL = 5 * time.Minute
)

// teamsCache remembers which room calendars can host Teams meetings.
type teamsCache struct {
	mu    sync.Mutex
	rooms map[string]teamsEntry
}

type teamsEntry struct {
	allowed bool      // the last answer Graph gave; false until it answers
	next    time.Time // when to ask again
}

// OnlineMeetings implements calendar.OnlineMeetings: a room can host a
// Teams meeting when its calendar's allowedOnlineMeetingProviders lists
// teamsForBusiness. Rooms not asked about within teamsTTL are read in
// $batch requests of 20 (one small item each); the rest come from the
// cache. A room Graph has never answered for is false: the panel does not
// offer what may fail.
func (p *Provider) OnlineMeetings(ctx context.Context, rooms []string) map[string]bool {
	now := p.cfg.Now()
	out := make(map[string]bool, len(rooms))
	var stale []string
	p.teams.mu.Lock()
	for _, r := range rooms {
		e := p.teams.rooms[r]
		out[r] = e.allowed
		if !now.Before(e.next) && !slices.Contains(stale, r) {
			stale = append(stale, r)
		}
	}
	p.teams.mu.Unlock()
	for chunk := range slices.Chunk(stale, batchSize) {
		for room, allowed := range p.readTeams(ctx, chunk) {
			out[room] = allowed
		}
	}
	return out
}

// readTeams reads the calendars' allowedOnlineMeetingProviders in one
// $batch and caches the answers. A room that failed keeps its last known
// answer and is asked again after teamsRetryTTL.
func (p *Provider) readTeams(ctx context.Context, rooms []string) map[string]bool {
	got := map[string]bool{}
	failed := func(room string) {
		p.teams.mu.Lock()
		defer p.teams.mu.Unlock()
		e := p.teams.rooms[room]
		e.next = p.cfg.Now().Add(teamsRetryTTL)
		p.teams.rooms[room] = e
		got[room] = e.allowed
	}
	b := msgraphgocore.NewBatchRequest(p.adapter)
	ids := map[string]string{} // batch item id -> room
	for _, room := range rooms {
		info, err := client(p.adapter).Users().ByUserId(room).Calendar().ToGetRequestInformation(ctx, &users.ItemCalendarRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.ItemCalendarRequestBuilderGetQueryParameters{Select: []string{"allowedOnlineMeetingProviders"}},
		})
		if err != nil {
			failed(room)
			continue
		}
		item, err := b.AddBatchRequestStep(*info)
		if err != nil {
			failed(room)
			continue
		}
		ids[deref(item.GetId())] = room
	}
	if len(ids) == 0 {
		return got
	}
	resp, err := b.Send(ctx, p.adapter)
	if err != nil {
		p.log.Warn("graph: cannot read whether rooms allow Teams meetings; asking again later", "rooms", len(ids), "err", p.callError("", err))
		for _, room := range ids {
			failed(room)
		}
		return got
	}
	for id, room := range ids {
		item := resp.GetResponseById(id)
		if item == nil || item.GetStatus() == nil || *item.GetStatus() >= http.StatusBadRequest {
			failed(room)
			continue
		}
		cal, err := msgraphgocore.GetBatchResponseById[models.Calendarable](resp, id, models.CreateCalendarFromDiscriminatorValue)
		if err != nil || cal == nil {
			failed(room)
			continue
		}
		got[room] = p.rememberTeams(room, cal.GetAllowedOnlineMeetingProviders())
	}
	return got
}

// rememberTeams caches what a calendar allows and returns whether that
// includes Teams.
func (p *Provider) rememberTeams(room string, providers []models.OnlineMeetingProviderType) bool {
	allowed := slices.Contains(providers, models.TEAMSFORBUSINESS_ONLINEMEETINGPROVIDERTYPE)
	p.teams.mu.Lock()
	defer p.teams.mu.Unlock()
	p.teams.rooms[room] = teamsEntry{allowed: allowed, next: p.cfg.Now().Add(teamsTTL)}
	return allowed
}
