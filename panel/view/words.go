package view

import (
	"fmt"
	"strings"
	"time"

	"github.com/lintelhq/lintel/proto"
)

// words are the view's own texts in one language. Format verbs take a time
// or a name already formatted.
type words struct {
	free, busy, soon, checkIn string // status words: short, read from afar

	freeUntil, busyUntil   string // "%s" is a time
	freeAllDay, busyAllDay string
	checkInBy              string // "%s" is the last time to check in
	allDay                 string // an all-day meeting's time range
	next, noMore           string
	offline, offlineSince  string
	calendarRead, stale    string // "%s" is a time
	zoneUnknown            string // "%s" is the zone's name
	waitingClock           string

	pairTitle, pairHow, pairWaiting string
	pairExpires                     string // "%d" is minutes
	updateTitle, updateBody         string
	errorTitle                      string
	connecting, connectingTo        string
}

// The status words must fit one line at the smallest status size on a 480 px
// wide portrait screen (TestStatusWordsFit), so check-in is "Check-in" in
// German and French, as offices there say it, rather than the longer
// "Einchecken" or "Enregistrement".
var (
	wordsEN = words{
		free: "Free", busy: "Busy", soon: "Starting soon", checkIn: "Check in",
		freeUntil: "Free until %s", busyUntil: "Busy until %s",
		freeAllDay: "Free all day", busyAllDay: "Busy all day",
		checkInBy: "Check in by %s", allDay: "All day",
		next: "Next", noMore: "No more meetings today",
		offline: "Offline", offlineSince: "Offline since %s",
		calendarRead: "Calendar last read %s", stale: "Calendar not read lately",
		zoneUnknown:  "Unknown time zone %s: times in UTC",
		waitingClock: "Waiting for the time…",
		pairTitle:    "Pair this panel", pairHow: "Scan the code or open:",
		pairExpires: "Code valid for %d min", pairWaiting: "Waiting for a pairing code…",
		updateTitle: "Update firmware",
		updateBody:  "This panel's firmware is too old for the server. Update the panel's firmware to show the room again.",
		errorTitle:  "Error",
		connecting:  "Connecting…", connectingTo: "Connecting to %s…",
	}
	wordsDE = words{
		free: "Frei", busy: "Besetzt", soon: "Beginnt gleich", checkIn: "Check-in",
		freeUntil: "Frei bis %s", busyUntil: "Besetzt bis %s",
		freeAllDay: "Den ganzen Tag frei", busyAllDay: "Den ganzen Tag besetzt",
		checkInBy: "Einchecken bis %s", allDay: "Ganztägig",
		next: "Danach", noMore: "Heute keine weiteren Termine",
		offline: "Offline", offlineSince: "Offline seit %s",
		calendarRead: "Kalender zuletzt gelesen %s", stale: "Kalender nicht aktuell",
		zoneUnknown:  "Zeitzone %s unbekannt: Zeiten in UTC",
		waitingClock: "Warte auf die Uhrzeit …",
		pairTitle:    "Panel koppeln", pairHow: "Code scannen oder öffnen:",
		pairExpires: "Code %d Min. gültig", pairWaiting: "Warte auf einen Kopplungscode …",
		updateTitle: "Firmware aktualisieren",
		updateBody:  "Die Firmware dieses Panels ist zu alt für den Server. Aktualisieren Sie die Firmware, damit das Panel den Raum wieder anzeigt.",
		errorTitle:  "Fehler",
		connecting:  "Verbinde …", connectingTo: "Verbinde mit %s …",
	}
	wordsFR = words{
		free: "Libre", busy: "Occupé", soon: "Bientôt occupé", checkIn: "Check-in",
		freeUntil: "Libre jusqu’à %s", busyUntil: "Occupé jusqu’à %s",
		freeAllDay: "Libre toute la journée", busyAllDay: "Occupé toute la journée",
		checkInBy: "Check-in avant %s", allDay: "Toute la journée",
		next: "Ensuite", noMore: "Plus de réunion aujourd’hui",
		offline: "Hors ligne", offlineSince: "Hors ligne depuis %s",
		calendarRead: "Calendrier lu à %s", stale: "Calendrier pas à jour",
		zoneUnknown:  "Fuseau %s inconnu\u00a0: heures en UTC",
		waitingClock: "En attente de l’heure…",
		pairTitle:    "Appairer ce panneau", pairHow: "Scannez le code ou ouvrez\u00a0:",
		pairExpires: "Code valable %d min", pairWaiting: "En attente d’un code…",
		updateTitle: "Mettre à jour le firmware",
		updateBody:  "Le firmware de ce panneau est trop ancien pour le serveur. Mettez-le à jour pour que le panneau affiche à nouveau la salle.",
		errorTitle:  "Erreur",
		connecting:  "Connexion…", connectingTo: "Connexion à %s…",
	}
)

// locale is a resolved Input.Locale.
type locale struct {
	w      *words
	hour12 bool
}

// resolveLocale maps "de", "de-CH", "fr_FR", ... to words and a clock.
func resolveLocale(tag string, hours HourCycle) locale {
	tag = strings.ToLower(strings.ReplaceAll(tag, "_", "-"))
	lang, _, _ := strings.Cut(tag, "-")
	l := locale{w: &wordsEN}
	switch lang {
	case "de":
		l.w = &wordsDE
	case "fr":
		l.w = &wordsFR
	}
	switch hours {
	case HourCycle12:
		l.hour12 = true
	case HourCycle24:
		l.hour12 = false
	default:
		l.hour12 = tag == "" || tag == "en" || tag == "en-us"
	}
	return l
}

// clock formats a time of day in loc: "14:05" or "2:05 PM".
func (l locale) clock(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if l.hour12 {
		return t.Format("3:04 PM")
	}
	return t.Format("15:04")
}

// span formats a meeting's time range in the room's zone: "13:00 – 14:30",
// "1:00 – 2:30 PM" (one AM/PM when both ends share it), or "All day".
func (l locale) span(m proto.Meeting, loc *time.Location) string {
	if m.AllDay {
		return l.w.allDay
	}
	s, e := m.Start.In(loc), m.End.In(loc)
	if l.hour12 {
		if (s.Hour() < 12) == (e.Hour() < 12) {
			return s.Format("3:04") + " – " + e.Format("3:04 PM")
		}
		return s.Format("3:04 PM") + " – " + e.Format("3:04 PM")
	}
	return s.Format("15:04") + " – " + e.Format("15:04")
}

func errorf(format string, a ...any) error { return fmt.Errorf("view: "+format, a...) }
