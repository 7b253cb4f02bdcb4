package i18n

import "github.com/lintelhq/lintel/proto"

// Words are every text a panel shows, in one language. Format verbs take a
// time or a name already formatted; Reasons name their parameters as
// {name}.
type Words struct {
	// Name is the language's name in itself ("Deutsch"), for the admin.
	Name string

	// Status words: short, read from across a corridor. They must fit
	// one line, or two broken at a space, on a 480 px wide portrait
	// screen (view's TestStatusWordsFit).
	Free, Busy, Soon, CheckIn, Unknown string

	// The line under the status word, with the time it changes.
	Until   string // free or busy until "%s"
	AllDay  string // free or busy for the rest of the day; also an all-day meeting's time range
	SoonAt  string // a meeting starts at "%s"
	CheckBy string // check in by "%s"

	Now, Next, NoMore, LastKnown string // the agenda's headings (the meeting on now, the next ones), its empty line, its heading when the schedule is unknown
	Organizer                    string // "%s" is the organizer's name
	Reserved                     string // a meeting whose name may not be shown
	LastRead, NeverRead          string // when an unknown schedule was last read ("%s" is a time)
	Offline, OfflineSince        string // the offline badge; "%s" is a time
	CalendarRead                 string // a stale calendar's note; "%s" is a time
	ZoneUnknown                  string // "%s" is the zone's name
	WaitingClock                 string

	PairTitle, PairHow, PairWaiting string
	PairExpires                     string // "%d" is minutes
	UpdateTitle, UpdateBody         string
	ErrorTitle                      string
	Connecting, ConnectingTo        string // "%s" is the server

	// Buttons and notices of the room screen.
	BookNow, CheckInButton, Extend15, EndNow, EndConfirm, Cancel string
	BookUntil                                                    string // a booking choice: "%s" is its end
	BookLater, From                                              string // "From %s": a free slot to the end of the day
	BookedLater                                                  string // "%s" are a later booking's start and end
	PhoneRemote                                                  string // above the QR code of a meeting's phone page
	PhoneBook                                                    string // above the QR code of a free room's booking page
	FindRoom                                                     string
	BookedRoom                                                   string // "%s booked until %s.": a nearby room and the end
	TeamsOn, TeamsOff, Problem                                   string
	Thanks, Working, Failed, Done                                string
	OfflineNotice, UnknownNotice, EndArmed                       string // why buttons are grey; how to confirm an end
	Booked, WithTeams, Extended, Ended, CheckedIn                string // "%s" is a time
	Identify                                                     string
	Problems                                                     map[string]string // keys: projector, dirty, other

	// WalkUp is the subject the server gives a meeting booked at the
	// door, in the room's language.
	WalkUp string

	// Reasons word the server's reasons (and the panel's own); Codes
	// word the error codes of reasons a panel does not know.
	Reasons map[proto.Reason]string
	Codes   map[proto.Code]string
}

var english = Words{
	Name: "English",
	Free: "Free", Busy: "Busy", Soon: "Starting soon", CheckIn: "Check in", Unknown: "Unknown",
	Until: "until %s", AllDay: "All day", SoonAt: "at %s", CheckBy: "by %s",
	Now: "Now", Next: "Next", NoMore: "No more meetings today", LastKnown: "Last known",
	Organizer: "Organizer: %s", Reserved: "Reserved",
	LastRead: "Last read at %s", NeverRead: "Not read yet",
	Offline: "Offline", OfflineSince: "Offline since %s",
	CalendarRead: "Calendar last read at %s",
	ZoneUnknown:  "Unknown time zone %s: times in UTC",
	WaitingClock: "Waiting for the time…",
	PairTitle:    "Pair this panel", PairHow: "Scan the code or open:",
	PairExpires: "Code valid for %d min", PairWaiting: "Waiting for a pairing code…",
	UpdateTitle: "Update firmware",
	UpdateBody:  "This panel's firmware is too old for the server. Update the panel's firmware to show the room again.",
	ErrorTitle:  "Error",
	Connecting:  "Connecting…", ConnectingTo: "Connecting to %s…",

	BookNow: "Book now", CheckInButton: "Check in", Extend15: "+15 min", EndNow: "End now", EndConfirm: "Confirm end",
	Cancel: "Cancel", BookUntil: "Until %s", TeamsOn: "Teams: on", TeamsOff: "Teams: off", Problem: "Report a problem",
	Thanks: "Thanks, reported.", Working: "One moment…", Failed: "That did not work. Please try again.", Done: "Done.",
	OfflineNotice: "Offline: booking and reporting are unavailable.",
	UnknownNotice: "Booking is off while the schedule is unknown.",
	EndArmed:      "Tap “Confirm end” within 5 seconds to end the meeting.",
	PhoneRemote:   "Scan: check in, extend or end",
	PhoneBook:     "Book by phone",
	FindRoom:      "Find a room", BookedRoom: "%s booked until %s.",
	BookLater: "Later today", From: "From %s", BookedLater: "Booked %s–%s.",
	Booked: "Booked until %s.", WithTeams: "With a Teams meeting.", Extended: "Extended until %s.",
	Ended: "Meeting ended. The room is free.", CheckedIn: "Checked in. The room stays yours.",
	Identify: "This panel is being identified",
	Problems: map[string]string{"projector": "Projector broken", "dirty": "Needs cleaning", "other": "Something else"},
	WalkUp:   "Booked at the panel",
	Reasons: map[proto.Reason]string{
		proto.ReasonDenied:       "Lintel may not read this room’s calendar",
		proto.ReasonNotFound:     "The room’s calendar was not found",
		proto.ReasonSignIn:       "The server cannot sign in to the calendar",
		proto.ReasonThrottled:    "The calendar service is busy",
		proto.ReasonUnreachable:  "The calendar cannot be reached",
		proto.ReasonNoConnection: "No connection to the server",

		proto.ReasonBookingOff:   "Booking at the panel is off in this room.",
		proto.ReasonTeamsOff:     "Teams meetings cannot be booked here.",
		proto.ReasonTeamsFailed:  "No Teams meeting could be made. Book without Teams.",
		proto.ReasonTooShort:     "A booking lasts at least {minutes} min.",
		proto.ReasonTooLong:      "A booking lasts at most {minutes} min.",
		proto.ReasonTaken:        "Someone else just booked the room.",
		proto.ReasonBookedNext:   "The room is booked right after this meeting.",
		proto.ReasonExtendOff:    "Meetings cannot be changed at the panel here.",
		proto.ReasonNotOn:        "That meeting is not on now.",
		proto.ReasonCheckInOff:   "This room does not use check-in.",
		proto.ReasonCheckInEarly: "Check-in opens {minutes} min before the meeting.",
		proto.ReasonNoMeeting:    "That meeting is not in the calendar.",
		proto.ReasonNoRoom:       "This panel has no room. Ask facilities.",
		proto.ReasonCalendarDown: "The calendar cannot be reached. Try again in a minute.",
		proto.ReasonNotSaved:     "That could not be saved. Please try again.",
		proto.ReasonNotPaired:    "This panel is not paired yet.",
		proto.ReasonLaterToday:   "Pick a time later today.",
		proto.ReasonVersion:      "The server speaks protocol {server}; this panel speaks protocol {panel}.",
	},
	Codes: map[proto.Code]string{
		proto.CodeConflict:    "Someone else just booked the room.",
		proto.CodeNotAllowed:  "That is not allowed in this room.",
		proto.CodeNotFound:    "That meeting was not found.",
		proto.CodeUnavailable: "The calendar cannot be reached. Try again in a minute.",
		proto.CodeRateLimited: "Too many tries. Wait a moment.",
		proto.CodeOffline:     "Offline: booking and reporting are unavailable.",
	},
}

var german = Words{
	Name: "Deutsch",
	Free: "Frei", Busy: "Besetzt", Soon: "Beginnt gleich", CheckIn: "Check-in", Unknown: "Keine Daten",
	Until: "bis %s", AllDay: "Ganztägig", SoonAt: "um %s", CheckBy: "bis %s",
	Now: "Jetzt", Next: "Danach", NoMore: "Heute keine weiteren Termine", LastKnown: "Zuletzt bekannt",
	Organizer: "Organisiert von %s", Reserved: "Reserviert",
	LastRead: "Zuletzt gelesen um %s", NeverRead: "Noch nie gelesen",
	Offline: "Offline", OfflineSince: "Offline seit %s",
	CalendarRead: "Kalender zuletzt gelesen um %s",
	ZoneUnknown:  "Zeitzone %s unbekannt: Zeiten in UTC",
	WaitingClock: "Warte auf die Uhrzeit …",
	PairTitle:    "Panel koppeln", PairHow: "Code scannen oder öffnen:",
	PairExpires: "Code %d Min. gültig", PairWaiting: "Warte auf einen Kopplungscode …",
	UpdateTitle: "Firmware aktualisieren",
	UpdateBody:  "Die Firmware dieses Panels ist zu alt für den Server. Aktualisieren Sie die Firmware, damit das Panel den Raum wieder anzeigt.",
	ErrorTitle:  "Fehler",
	Connecting:  "Verbinde …", ConnectingTo: "Verbinde mit %s …",

	BookNow: "Jetzt buchen", CheckInButton: "Einchecken", Extend15: "+15 Min.", EndNow: "Jetzt beenden", EndConfirm: "Beenden bestätigen",
	Cancel: "Abbrechen", BookUntil: "Bis %s", TeamsOn: "Teams: an", TeamsOff: "Teams: aus", Problem: "Problem melden",
	Thanks: "Danke, gemeldet.", Working: "Einen Moment …", Failed: "Das hat nicht geklappt. Bitte nochmals versuchen.", Done: "Erledigt.",
	OfflineNotice: "Offline: Buchen und Melden sind gerade nicht möglich.",
	UnknownNotice: "Buchen ist aus, solange der Kalender unbekannt ist.",
	EndArmed:      "Innert 5 Sekunden „Beenden bestätigen“ tippen, um die Besprechung zu beenden.",
	PhoneRemote:   "Scannen: einchecken, verlängern, beenden",
	PhoneBook:     "Per Telefon buchen",
	FindRoom:      "Raum finden", BookedRoom: "%s gebucht bis %s.",
	BookLater: "Später heute", From: "Ab %s", BookedLater: "Gebucht %s–%s.",
	Booked: "Gebucht bis %s.", WithTeams: "Mit Teams-Besprechung.", Extended: "Verlängert bis %s.",
	Ended: "Besprechung beendet. Der Raum ist frei.", CheckedIn: "Eingecheckt. Der Raum bleibt reserviert.",
	Identify: "Dieses Panel wird identifiziert",
	Problems: map[string]string{"projector": "Beamer defekt", "dirty": "Reinigung nötig", "other": "Anderes"},
	WalkUp:   "Am Panel gebucht",
	Reasons: map[proto.Reason]string{
		proto.ReasonDenied:       "Lintel darf den Kalender dieses Raums nicht lesen",
		proto.ReasonNotFound:     "Der Kalender des Raums wurde nicht gefunden",
		proto.ReasonSignIn:       "Der Server kann sich nicht beim Kalender anmelden",
		proto.ReasonThrottled:    "Der Kalenderdienst ist überlastet",
		proto.ReasonUnreachable:  "Der Kalender ist nicht erreichbar",
		proto.ReasonNoConnection: "Keine Verbindung zum Server",

		proto.ReasonBookingOff:   "Buchen am Panel ist in diesem Raum aus.",
		proto.ReasonTeamsOff:     "Teams-Besprechungen können hier nicht gebucht werden.",
		proto.ReasonTeamsFailed:  "Keine Teams-Besprechung möglich. Ohne Teams buchen.",
		proto.ReasonTooShort:     "Eine Buchung dauert mindestens {minutes} Min.",
		proto.ReasonTooLong:      "Eine Buchung dauert höchstens {minutes} Min.",
		proto.ReasonTaken:        "Der Raum wurde gerade von jemand anderem gebucht.",
		proto.ReasonBookedNext:   "Der Raum ist direkt danach gebucht.",
		proto.ReasonExtendOff:    "Besprechungen können hier nicht am Panel geändert werden.",
		proto.ReasonNotOn:        "Diese Besprechung läuft gerade nicht.",
		proto.ReasonCheckInOff:   "Dieser Raum verwendet keinen Check-in.",
		proto.ReasonCheckInEarly: "Check-in ist ab {minutes} Min. vor Beginn möglich.",
		proto.ReasonNoMeeting:    "Diese Besprechung steht nicht im Kalender.",
		proto.ReasonNoRoom:       "Dieses Panel hat keinen Raum. Bitte Facility Management fragen.",
		proto.ReasonCalendarDown: "Der Kalender ist nicht erreichbar. In einer Minute nochmals versuchen.",
		proto.ReasonNotSaved:     "Das konnte nicht gespeichert werden. Bitte nochmals versuchen.",
		proto.ReasonNotPaired:    "Dieses Panel ist noch nicht gekoppelt.",
		proto.ReasonLaterToday:   "Wählen Sie eine Zeit später am heutigen Tag.",
		proto.ReasonVersion:      "Der Server spricht Protokoll {server}, dieses Panel Protokoll {panel}.",
	},
	Codes: map[proto.Code]string{
		proto.CodeConflict:    "Der Raum wurde gerade von jemand anderem gebucht.",
		proto.CodeNotAllowed:  "Das ist in diesem Raum nicht erlaubt.",
		proto.CodeNotFound:    "Diese Besprechung wurde nicht gefunden.",
		proto.CodeUnavailable: "Der Kalender ist nicht erreichbar. In einer Minute nochmals versuchen.",
		proto.CodeRateLimited: "Zu viele Versuche. Bitte kurz warten.",
		proto.CodeOffline:     "Offline: Buchen und Melden sind gerade nicht möglich.",
	},
}

var french = Words{
	Name: "Français",
	Free: "Libre", Busy: "Occupé", Soon: "Bientôt occupé", CheckIn: "Check-in", Unknown: "Inconnu",
	Until: "jusqu’à %s", AllDay: "Toute la journée", SoonAt: "à %s", CheckBy: "avant %s",
	Now: "En cours", Next: "Ensuite", NoMore: "Plus de réunion aujourd’hui", LastKnown: "Dernier état connu",
	Organizer: "Organisé par %s", Reserved: "Réservé",
	LastRead: "Lu pour la dernière fois à %s", NeverRead: "Jamais lu",
	Offline: "Hors ligne", OfflineSince: "Hors ligne depuis %s",
	CalendarRead: "Calendrier lu à %s",
	ZoneUnknown:  "Fuseau %s inconnu\u00a0: heures en UTC",
	WaitingClock: "En attente de l’heure…",
	PairTitle:    "Appairer ce panneau", PairHow: "Scannez le code ou ouvrez\u00a0:",
	PairExpires: "Code valable %d min", PairWaiting: "En attente d’un code…",
	UpdateTitle: "Mettre à jour le firmware",
	UpdateBody:  "Le firmware de ce panneau est trop ancien pour le serveur. Mettez-le à jour pour que le panneau affiche à nouveau la salle.",
	ErrorTitle:  "Erreur",
	Connecting:  "Connexion…", ConnectingTo: "Connexion à %s…",

	BookNow: "Réserver", CheckInButton: "Confirmer", Extend15: "+15 min", EndNow: "Terminer", EndConfirm: "Confirmer la fin",
	Cancel: "Annuler", BookUntil: "Jusqu’à %s", TeamsOn: "Teams\u00a0: oui", TeamsOff: "Teams\u00a0: non", Problem: "Signaler",
	Thanks: "Merci, c’est signalé.", Working: "Un instant…", Failed: "Échec. Veuillez réessayer.", Done: "C’est fait.",
	OfflineNotice: "Hors ligne\u00a0: réserver et signaler sont impossibles pour l’instant.",
	UnknownNotice: "Réservation impossible tant que le calendrier est inconnu.",
	EndArmed:      "Touchez « Confirmer la fin » dans les 5 secondes pour terminer la réunion.",
	PhoneRemote:   "Scannez\u00a0: confirmer, prolonger, terminer",
	PhoneBook:     "Réserver par téléphone",
	FindRoom:      "Trouver une salle", BookedRoom: "%s réservée jusqu’à %s.",
	BookLater: "Plus tard", From: "Dès %s", BookedLater: "Réservé %s–%s.",
	Booked: "Réservé jusqu’à %s.", WithTeams: "Avec réunion Teams.", Extended: "Prolongé jusqu’à %s.",
	Ended: "Réunion terminée. La salle est libre.", CheckedIn: "Présence confirmée. La salle reste réservée.",
	Identify: "Ce panneau est en cours d’identification",
	Problems: map[string]string{"projector": "Projecteur en panne", "dirty": "Salle à nettoyer", "other": "Autre"},
	WalkUp:   "Réservé au panneau",
	Reasons: map[proto.Reason]string{
		proto.ReasonDenied:       "Lintel n’a pas accès au calendrier de cette salle",
		proto.ReasonNotFound:     "Le calendrier de la salle est introuvable",
		proto.ReasonSignIn:       "Le serveur ne peut pas se connecter au calendrier",
		proto.ReasonThrottled:    "Le service de calendrier est surchargé",
		proto.ReasonUnreachable:  "Le calendrier est injoignable",
		proto.ReasonNoConnection: "Pas de connexion au serveur",

		proto.ReasonBookingOff:   "La réservation au panneau est désactivée dans cette salle.",
		proto.ReasonTeamsOff:     "Les réunions Teams ne peuvent pas être réservées ici.",
		proto.ReasonTeamsFailed:  "Aucune réunion Teams possible. Réservez sans Teams.",
		proto.ReasonTooShort:     "Une réservation dure au moins {minutes} min.",
		proto.ReasonTooLong:      "Une réservation dure au plus {minutes} min.",
		proto.ReasonTaken:        "La salle vient d’être réservée par quelqu’un d’autre.",
		proto.ReasonBookedNext:   "La salle est réservée juste après cette réunion.",
		proto.ReasonExtendOff:    "Les réunions ne peuvent pas être modifiées au panneau ici.",
		proto.ReasonNotOn:        "Cette réunion n’a pas lieu maintenant.",
		proto.ReasonCheckInOff:   "Cette salle n’utilise pas le check-in.",
		proto.ReasonCheckInEarly: "Le check-in ouvre {minutes} min avant la réunion.",
		proto.ReasonNoMeeting:    "Cette réunion n’est pas dans le calendrier.",
		proto.ReasonNoRoom:       "Ce panneau n’a pas de salle. Demandez aux services généraux.",
		proto.ReasonCalendarDown: "Le calendrier est injoignable. Réessayez dans une minute.",
		proto.ReasonNotSaved:     "Impossible d’enregistrer. Veuillez réessayer.",
		proto.ReasonNotPaired:    "Ce panneau n’est pas encore appairé.",
		proto.ReasonLaterToday:   "Choisissez une heure plus tard aujourd’hui.",
		proto.ReasonVersion:      "Le serveur parle le protocole {server}, ce panneau le protocole {panel}.",
	},
	Codes: map[proto.Code]string{
		proto.CodeConflict:    "La salle vient d’être réservée par quelqu’un d’autre.",
		proto.CodeNotAllowed:  "Ce n’est pas permis dans cette salle.",
		proto.CodeNotFound:    "Cette réunion est introuvable.",
		proto.CodeUnavailable: "Le calendrier est injoignable. Réessayez dans une minute.",
		proto.CodeRateLimited: "Trop d’essais. Patientez un instant.",
		proto.CodeOffline:     "Hors ligne\u00a0: réserver et signaler sont impossibles pour l’instant.",
	},
}

var italian = Words{
	Name: "Italiano",
	Free: "Libera", Busy: "Occupata", Soon: "Inizia a breve", CheckIn: "Check-in", Unknown: "Senza dati",
	Until: "fino alle %s", AllDay: "Tutto il giorno", SoonAt: "alle %s", CheckBy: "entro le %s",
	Now: "Ora", Next: "Poi", NoMore: "Nessun’altra riunione oggi", LastKnown: "Ultimo stato noto",
	Organizer: "Organizzata da %s", Reserved: "Riservata",
	LastRead: "Letto l’ultima volta alle %s", NeverRead: "Mai letto",
	Offline: "Offline", OfflineSince: "Offline dalle %s",
	CalendarRead: "Calendario letto alle %s",
	ZoneUnknown:  "Fuso orario %s sconosciuto: orari in UTC",
	WaitingClock: "In attesa dell’ora…",
	PairTitle:    "Associa questo pannello", PairHow: "Scansiona il codice o apri:",
	PairExpires: "Codice valido %d min", PairWaiting: "In attesa di un codice…",
	UpdateTitle: "Aggiorna il firmware",
	UpdateBody:  "Il firmware di questo pannello è troppo vecchio per il server. Aggiornalo perché il pannello mostri di nuovo la sala.",
	ErrorTitle:  "Errore",
	Connecting:  "Connessione…", ConnectingTo: "Connessione a %s…",

	BookNow: "Prenota ora", CheckInButton: "Check-in", Extend15: "+15 min", EndNow: "Termina ora", EndConfirm: "Conferma la fine",
	Cancel: "Annulla", BookUntil: "Fino alle %s", TeamsOn: "Teams: sì", TeamsOff: "Teams: no", Problem: "Segnala un problema",
	Thanks: "Grazie, segnalato.", Working: "Un momento…", Failed: "Non è riuscito. Riprova.", Done: "Fatto.",
	OfflineNotice: "Offline: prenotare e segnalare non è possibile ora.",
	UnknownNotice: "Prenotazione non possibile finché il calendario è sconosciuto.",
	EndArmed:      "Tocca «Conferma la fine» entro 5 secondi per terminare la riunione.",
	PhoneRemote:   "Scansiona: check-in, prolunga, termina",
	PhoneBook:     "Prenota dal telefono",
	FindRoom:      "Trova una sala", BookedRoom: "%s prenotata fino alle %s.",
	BookLater: "Più tardi", From: "Dalle %s", BookedLater: "Prenotata %s–%s.",
	Booked: "Prenotata fino alle %s.", WithTeams: "Con riunione Teams.", Extended: "Prolungata fino alle %s.",
	Ended: "Riunione terminata. La sala è libera.", CheckedIn: "Check-in fatto. La sala resta tua.",
	Identify: "Questo pannello viene identificato",
	Problems: map[string]string{"projector": "Proiettore guasto", "dirty": "Da pulire", "other": "Altro"},
	WalkUp:   "Prenotata al pannello",
	Reasons: map[proto.Reason]string{
		proto.ReasonDenied:       "Lintel non può leggere il calendario di questa sala",
		proto.ReasonNotFound:     "Il calendario della sala non è stato trovato",
		proto.ReasonSignIn:       "Il server non riesce ad accedere al calendario",
		proto.ReasonThrottled:    "Il servizio di calendario è sovraccarico",
		proto.ReasonUnreachable:  "Il calendario non è raggiungibile",
		proto.ReasonNoConnection: "Nessuna connessione al server",

		proto.ReasonBookingOff:   "La prenotazione al pannello è disattivata in questa sala.",
		proto.ReasonTeamsOff:     "Le riunioni Teams non si possono prenotare qui.",
		proto.ReasonTeamsFailed:  "Nessuna riunione Teams possibile. Prenota senza Teams.",
		proto.ReasonTooShort:     "Una prenotazione dura almeno {minutes} min.",
		proto.ReasonTooLong:      "Una prenotazione dura al massimo {minutes} min.",
		proto.ReasonTaken:        "Qualcun altro ha appena prenotato la sala.",
		proto.ReasonBookedNext:   "La sala è prenotata subito dopo questa riunione.",
		proto.ReasonExtendOff:    "Qui le riunioni non si modificano al pannello.",
		proto.ReasonNotOn:        "Questa riunione non è in corso.",
		proto.ReasonCheckInOff:   "Questa sala non usa il check-in.",
		proto.ReasonCheckInEarly: "Il check-in apre {minutes} min prima della riunione.",
		proto.ReasonNoMeeting:    "Questa riunione non è nel calendario.",
		proto.ReasonNoRoom:       "Questo pannello non ha una sala. Chiedi al facility management.",
		proto.ReasonCalendarDown: "Il calendario non è raggiungibile. Riprova tra un minuto.",
		proto.ReasonNotSaved:     "Impossibile salvare. Riprova.",
		proto.ReasonNotPaired:    "Questo pannello non è ancora associato.",
		proto.ReasonLaterToday:   "Scegli un orario più tardi oggi.",
		proto.ReasonVersion:      "Il server usa il protocollo {server}, questo pannello il protocollo {panel}.",
	},
	Codes: map[proto.Code]string{
		proto.CodeConflict:    "Qualcun altro ha appena prenotato la sala.",
		proto.CodeNotAllowed:  "Non è permesso in questa sala.",
		proto.CodeNotFound:    "Riunione non trovata.",
		proto.CodeUnavailable: "Il calendario non è raggiungibile. Riprova tra un minuto.",
		proto.CodeRateLimited: "Troppi tentativi. Attendi un momento.",
		proto.CodeOffline:     "Offline: prenotare e segnalare non è possibile ora.",
	},
}

var spanish = Words{
	Name: "Español",
	Free: "Libre", Busy: "Ocupada", Soon: "Empieza pronto", CheckIn: "Check-in", Unknown: "Sin datos",
	Until: "hasta las %s", AllDay: "Todo el día", SoonAt: "a las %s", CheckBy: "antes de las %s",
	Now: "Ahora", Next: "Después", NoMore: "No hay más reuniones hoy", LastKnown: "Último estado conocido",
	Organizer: "Organiza %s", Reserved: "Reservada",
	LastRead: "Leído por última vez a las %s", NeverRead: "Nunca leído",
	Offline: "Sin conexión", OfflineSince: "Sin conexión desde las %s",
	CalendarRead: "Calendario leído a las %s",
	ZoneUnknown:  "Zona horaria %s desconocida: horas en UTC",
	WaitingClock: "Esperando la hora…",
	PairTitle:    "Vincular este panel", PairHow: "Escanee el código o abra:",
	PairExpires: "Código válido %d min", PairWaiting: "Esperando un código…",
	UpdateTitle: "Actualizar el firmware",
	UpdateBody:  "El firmware de este panel es demasiado antiguo para el servidor. Actualícelo para que el panel vuelva a mostrar la sala.",
	ErrorTitle:  "Error",
	Connecting:  "Conectando…", ConnectingTo: "Conectando con %s…",

	BookNow: "Reservar ahora", CheckInButton: "Check-in", Extend15: "+15 min", EndNow: "Terminar ahora", EndConfirm: "Confirmar el fin",
	Cancel: "Cancelar", BookUntil: "Hasta las %s", TeamsOn: "Teams: sí", TeamsOff: "Teams: no", Problem: "Informar de un problema",
	Thanks: "Gracias, informado.", Working: "Un momento…", Failed: "No funcionó. Inténtelo de nuevo.", Done: "Hecho.",
	OfflineNotice: "Sin conexión: no se puede reservar ni informar ahora.",
	UnknownNotice: "No se puede reservar mientras el calendario sea desconocido.",
	EndArmed:      "Toque «Confirmar el fin» en 5 segundos para terminar la reunión.",
	PhoneRemote:   "Escanea: check-in, ampliar, terminar",
	PhoneBook:     "Reservar desde el móvil",
	FindRoom:      "Buscar sala", BookedRoom: "%s reservada hasta las %s.",
	BookLater: "Más tarde", From: "Desde las %s", BookedLater: "Reservada %s–%s.",
	Booked: "Reservada hasta las %s.", WithTeams: "Con reunión de Teams.", Extended: "Ampliada hasta las %s.",
	Ended: "Reunión terminada. La sala está libre.", CheckedIn: "Check-in hecho. La sala sigue siendo suya.",
	Identify: "Se está identificando este panel",
	Problems: map[string]string{"projector": "Proyector averiado", "dirty": "Hay que limpiar", "other": "Otra cosa"},
	WalkUp:   "Reservada en el panel",
	Reasons: map[proto.Reason]string{
		proto.ReasonDenied:       "Lintel no puede leer el calendario de esta sala",
		proto.ReasonNotFound:     "No se encontró el calendario de la sala",
		proto.ReasonSignIn:       "El servidor no puede iniciar sesión en el calendario",
		proto.ReasonThrottled:    "El servicio de calendario está saturado",
		proto.ReasonUnreachable:  "No se puede acceder al calendario",
		proto.ReasonNoConnection: "Sin conexión con el servidor",

		proto.ReasonBookingOff:   "La reserva en el panel está desactivada en esta sala.",
		proto.ReasonTeamsOff:     "Aquí no se pueden reservar reuniones de Teams.",
		proto.ReasonTeamsFailed:  "No se pudo crear la reunión de Teams. Reserve sin Teams.",
		proto.ReasonTooShort:     "Una reserva dura al menos {minutes} min.",
		proto.ReasonTooLong:      "Una reserva dura como máximo {minutes} min.",
		proto.ReasonTaken:        "Otra persona acaba de reservar la sala.",
		proto.ReasonBookedNext:   "La sala está reservada justo después de esta reunión.",
		proto.ReasonExtendOff:    "Aquí las reuniones no se cambian en el panel.",
		proto.ReasonNotOn:        "Esa reunión no está en curso.",
		proto.ReasonCheckInOff:   "Esta sala no usa check-in.",
		proto.ReasonCheckInEarly: "El check-in abre {minutes} min antes de la reunión.",
		proto.ReasonNoMeeting:    "Esa reunión no está en el calendario.",
		proto.ReasonNoRoom:       "Este panel no tiene sala. Pregunte a mantenimiento.",
		proto.ReasonCalendarDown: "No se puede acceder al calendario. Inténtelo en un minuto.",
		proto.ReasonNotSaved:     "No se pudo guardar. Inténtelo de nuevo.",
		proto.ReasonNotPaired:    "Este panel aún no está vinculado.",
		proto.ReasonLaterToday:   "Elige una hora más tarde hoy.",
		proto.ReasonVersion:      "El servidor usa el protocolo {server}; este panel, el protocolo {panel}.",
	},
	Codes: map[proto.Code]string{
		proto.CodeConflict:    "Otra persona acaba de reservar la sala.",
		proto.CodeNotAllowed:  "No está permitido en esta sala.",
		proto.CodeNotFound:    "No se encontró esa reunión.",
		proto.CodeUnavailable: "No se puede acceder al calendario. Inténtelo en un minuto.",
		proto.CodeRateLimited: "Demasiados intentos. Espere un momento.",
		proto.CodeOffline:     "Sin conexión: no se puede reservar ni informar ahora.",
	},
}
