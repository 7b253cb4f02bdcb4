package proto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func sampleState() *State {
	start := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	return &State{
		Room:       Room{ID: "r1", Name: "Matterhorn", TimeZone: "Europe/Zurich"},
		ServerTime: start,
		Meetings:   []Meeting{{ID: "m1", Title: "Budget", Start: start, End: start.Add(time.Hour)}},
	}
}

func TestRoundTrip(t *testing.T) {
	msgs := []Message{
		{Type: TypeHello, Hello: &Hello{Protocol: Version, Firmware: "1.0.0", Width: 800, Height: 480}},
		{Type: TypeState, State: sampleState()},
		{Type: TypeRequest, ID: "req-1", Request: &Request{Action: ActionBook, Minutes: 30, Teams: true}},
		{Type: TypeResult, ID: "req-1", Result: &Result{OK: false, Error: NewError(CodeConflict, "the room was just booked")}},
		{Type: TypeError, Error: NewError(CodeUnsupportedVersion, "update the panel firmware")},
		{Type: TypePairing, Pairing: &Pairing{Code: "K7Q4-MX2P", URL: "https://lintel/pair?code=K7Q4MX2P", Expires: time.Unix(1e9, 0).UTC()}},
		{Type: TypeCredential, Credential: &Credential{DeviceID: "d1", Token: "secret"}},
		{Type: TypeCommand, Command: &Command{Name: "identify", Seconds: 30}},
		{Type: TypeReport, Report: &Report{Kind: "screenshot", PNG: []byte{0x89, 'P', 'N', 'G'}}},
		{Type: TypeHello, Hello: &Hello{Protocol: Version, Firmware: "1.1.0", Arch: "linux/arm64", Accepts: []string{AcceptSettings}}},
		{Type: TypeSettings, Settings: &Settings{Locale: "de-CH", Hours: 24, OfficeHours: "mon-fri 07:00-19:00", Night: NightDim,
			Brightness: 80, DimBrightness: 10, LEDBrightness: 50, LEDNightBrightness: 5, BookMinutes: []int{15, 45}, OfflineGraceSeconds: 120}},
	}
	for _, m := range msgs {
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %s: %v", m.Type, err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %s: %v\n%s", m.Type, err, b)
		}
		b2, _ := Encode(got)
		if string(b) != string(b2) {
			t.Errorf("%s changed on the round trip:\n%s\n%s", m.Type, b, b2)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	big := `{"type":"report","report":{"kind":"problem","problem":"` + strings.Repeat("x", MaxFrameBytes) + `"}}`
	tests := []struct {
		name, frame, want string
	}{
		{"garbage", `hello?`, "JSON syntax error"},
		{"empty", ``, "not a valid message"},
		{"not an object", `[1,2]`, "not a valid message"},
		{"no type", `{"id":"x"}`, "no type"},
		{"unknown type", `{"type":"launch","id":"x"}`, `unknown message type "launch"`},
		{"unknown field", `{"type":"hello","hello":{"protocol":1,"firmware":"1","color":"red"}}`, "not a valid message"},
		{"missing payload", `{"type":"hello"}`, `no "hello" payload`},
		{"two payloads", `{"type":"hello","hello":{"protocol":1,"firmware":"1"},"command":{"name":"x"}}`, `also carries a "command"`},
		{"hello without version", `{"type":"hello","hello":{"firmware":"1"}}`, "protocol version"},
		{"wrong field type", `{"type":"hello","hello":{"protocol":"one","firmware":"1"}}`, `field "hello.protocol" has the wrong type`},
		{"request without id", `{"type":"request","request":{"action":"book","minutes":15}}`, "request has no id"},
		{"unknown action", `{"type":"request","id":"1","request":{"action":"launch"}}`, `unknown request action "launch"`},
		{"book without length", `{"type":"request","id":"1","request":{"action":"book"}}`, "minutes or an end time"},
		{"negative minutes", `{"type":"request","id":"1","request":{"action":"extend","meeting_id":"m","minutes":-5}}`, "meeting id and minutes"},
		{"extend without meeting", `{"type":"request","id":"1","request":{"action":"extend","minutes":15}}`, "meeting id"},
		{"state without room", `{"type":"state","state":{"server_time":"2026-03-10T09:00:00Z","meetings":[],"features":{},"rules":{}}}`, "room id"},
		{"inverted meeting", `{"type":"state","state":{"room":{"id":"r","name":"R","tz":"UTC"},"server_time":"2026-03-10T09:00:00Z","meetings":[{"id":"m","title":"t","start":"2026-03-10T10:00:00Z","end":"2026-03-10T09:00:00Z"}],"features":{},"rules":{}}}`, "ends before it starts"},
		{"bad time", `{"type":"state","state":{"room":{"id":"r","name":"R","tz":"UTC"},"server_time":"yesterday"}}`, "not a valid message"},
		{"trailing data", `{"type":"command","command":{"name":"identify"}} {}`, "data after the message"},
		{"oversized", big, "over the"},
		{"long id", `{"type":"command","id":"` + strings.Repeat("i", 200) + `","command":{"name":"identify"}}`, "longer than 128"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.frame))
			if err == nil {
				t.Fatal("decoded, want an error")
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != CodeBadRequest {
				t.Fatalf("error %v is not a bad_request *Error", err)
			}
			if !strings.Contains(pe.Message, tc.want) {
				t.Errorf("error %q does not say %q", pe.Message, tc.want)
			}
		})
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	if _, err := Encode(Message{Type: TypeRequest, Request: &Request{Action: ActionBook, Minutes: 15}}); err == nil {
		t.Error("encoded a request without an id")
	}
	if _, err := Encode(Message{Type: TypeReport, Report: &Report{Kind: "screenshot", PNG: make([]byte, MaxFrameBytes)}}); err == nil {
		t.Error("encoded a frame over the size limit")
	}
}

func TestStringHidesPayload(t *testing.T) {
	m := Message{Type: TypeCredential, ID: "7", Credential: &Credential{DeviceID: "d1", Token: "s3cret-token"}}
	for _, s := range []string{m.String(), m.Credential.String()} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("String() leaks the token: %s", s)
		}
	}
}

func TestCodeOf(t *testing.T) {
	if got := CodeOf(NewError(CodeConflict, "x")); got != CodeConflict {
		t.Errorf("CodeOf = %s", got)
	}
	if got := CodeOf(errors.New("plain")); got != CodeInternal {
		t.Errorf("CodeOf(plain) = %s", got)
	}
}

// FuzzDecode: Decode reads what any peer sends. It must never panic, and
// whatever it accepts must encode back to a frame it accepts again.
func FuzzDecode(f *testing.F) {
	b, _ := Encode(Message{Type: TypeState, State: sampleState()})
	f.Add(b)
	f.Add([]byte(`{"type":"request","id":"1","request":{"action":"book","minutes":30}}`))
	f.Add([]byte(`{"type":"hello","hello":{"protocol":1,"firmware":"1"}}`))
	f.Add([]byte(`{"type":"error","error":{"code":"x","message":"y"}}`))
	f.Add([]byte(`{"type":"state","state":{"room":{"id":"r","name":"R","tz":"UTC"},"server_time":"2026-03-10T09:00:00Z","meetings":[],"omitted":1200,"features":{},"rules":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v\n%s", err, b)
		}
	})
}
