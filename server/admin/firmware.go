package admin

import (
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/store"
)

// Firmware is the panels' firmware as the admin manages it (fleet.Firmware).
type Firmware interface {
	Upload(version, arch string, r io.Reader, sig []byte, by string) (store.FirmwareBuild, error)
	Builds() ([]store.FirmwareBuild, error)
	Rollouts() []fleet.Rollout
	Start(ctx context.Context, req fleet.RolloutRequest) (fleet.Rollout, error)
	Halt(version, reason string) error
}

// SetFirmware gives the admin the firmware service.
func (s *Server) SetFirmware(f Firmware) { s.firmware = f }

// uploadLimit bounds an upload's body: the build and the form around it.
const uploadLimit = fleet.MaxBuildBytes + 1<<20

// limitBody bounds a request's body before anything reads it (the CSRF
// check of a multipart form reads the whole form).
func limitBody(n int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h.ServeHTTP(w, r)
	})
}

func (s *Server) firmwareRoutes() {
	s.pages["firmware"] = template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"ago":  func(t time.Time) string { return ago(s.opts.Now(), t) },
		"mib":  func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) },
		"join": strings.Join,
	}).ParseFS(uiFS, "ui/layout.html", "ui/firmware.html"))
	api := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, s.requireAPI(h))
	}
	upload := func(pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
		s.mux.Handle(pattern, limitBody(uploadLimit, s.requireAPI(h)))
	}
	api("GET /api/v1/firmware", s.listFirmware)
	upload("POST /api/v1/firmware", s.uploadFirmware)
	api("POST /api/v1/firmware/rollout", s.startRollout)
	api("POST /api/v1/firmware/halt", s.haltRollout)
	ui := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.requireSession(h)) }
	uiUpload := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, limitBody(uploadLimit, s.requireSession(h)))
	}
	ui("GET /fleet/firmware", s.firmwarePage)
	uiUpload("POST /fleet/firmware/upload", s.firmwareUploadForm)
	ui("POST /fleet/firmware/rollout", s.firmwareRolloutForm)
	ui("POST /fleet/firmware/halt", s.firmwareHaltForm)
}

func (s *Server) firmwareOrError() (Firmware, error) {
	if s.firmware == nil {
		return nil, httpError(http.StatusServiceUnavailable, "firmware rollouts are not available on this server")
	}
	return s.firmware, nil
}

// firmwareState is GET /api/v1/firmware.
type firmwareState struct {
	Builds   []store.FirmwareBuild `json:"builds"`
	Rollouts []fleet.Rollout       `json:"rollouts"`
}

func (s *Server) listFirmware(w http.ResponseWriter, r *http.Request) error {
	f, err := s.firmwareOrError()
	if err != nil {
		return err
	}
	builds, err := f.Builds()
	if err != nil {
		return err
	}
	st := firmwareState{Builds: builds, Rollouts: f.Rollouts()}
	if st.Builds == nil {
		st.Builds = []store.FirmwareBuild{}
	}
	if st.Rollouts == nil {
		st.Rollouts = []fleet.Rollout{}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// uploadFirmware takes the binary as the body, with version, arch and the
// signature (base64) in the query.
func (s *Server) uploadFirmware(w http.ResponseWriter, r *http.Request) error {
	f, err := s.firmwareOrError()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	sig, err := decodeSig(q.Get("signature"))
	if err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	b, err := f.Upload(q.Get("version"), q.Get("arch"), r.Body, sig, who(r))
	if err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	writeJSON(w, http.StatusCreated, b)
	return nil
}

func decodeSig(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("the signature is not base64 (64 bytes of ed25519 signature)")
}

func (s *Server) startRollout(w http.ResponseWriter, r *http.Request) error {
	f, err := s.firmwareOrError()
	if err != nil {
		return err
	}
	var req fleet.RolloutRequest
	if err := readJSON(r, &req); err != nil {
		return err
	}
	ro, err := f.Start(r.Context(), req)
	if err != nil {
		return httpError(http.StatusBadRequest, "%v", err)
	}
	s.log.Info("firmware rollout started", "version", req.Version, "ring", req.Ring, "by", who(r))
	writeJSON(w, http.StatusOK, ro)
	return nil
}

func (s *Server) haltRollout(w http.ResponseWriter, r *http.Request) error {
	f, err := s.firmwareOrError()
	if err != nil {
		return err
	}
	var req struct {
		Version string `json:"version"`
		Reason  string `json:"reason"`
	}
	if err := readJSON(r, &req); err != nil {
		return err
	}
	if err := f.Halt(req.Version, haltReason(req.Reason, who(r))); err != nil {
		if isNotFound(err) {
			return err
		}
		return httpError(http.StatusConflict, "%v", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func haltReason(reason, by string) string {
	reason = strings.TrimSpace(reason)
	if len(reason) > 200 {
		reason = reason[:200]
	}
	if reason == "" {
		reason = "halted by hand"
	}
	return reason + " (" + by + ")"
}

// firmwarePageData is what the firmware page shows.
type firmwarePageData struct {
	Builds   []store.FirmwareBuild
	Versions []string
	Arches   []string
	Rollouts []rolloutView
	Devices  []store.Device
}

type rolloutView struct {
	fleet.Rollout
	Rows   []panelRow
	Counts string
}

type panelRow struct {
	ID, Name, Status, From string
	Told, Back             time.Time
	Connects               int
}

func (s *Server) firmwarePage(w http.ResponseWriter, r *http.Request) {
	f, err := s.firmwareOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	d, err := s.firmwareData(f)
	if err != nil {
		s.log.Error("firmware page", "err", err)
		http.Error(w, "cannot read the firmware", http.StatusInternalServerError)
		return
	}
	s.render(w, r, "firmware", "Firmware", d)
}

func (s *Server) firmwareData(f Firmware) (firmwarePageData, error) {
	builds, err := f.Builds()
	if err != nil {
		return firmwarePageData{}, err
	}
	devs, err := s.opts.Store.Devices()
	if err != nil {
		return firmwarePageData{}, err
	}
	names := map[string]string{}
	for _, d := range devs {
		names[d.ID] = d.Name
	}
	d := firmwarePageData{Builds: builds, Arches: fleet.Arches, Devices: devs}
	seen := map[string]bool{}
	for _, b := range builds {
		if !seen[b.Version] {
			seen[b.Version] = true
			d.Versions = append(d.Versions, b.Version)
		}
	}
	for _, ro := range f.Rollouts() {
		v := rolloutView{Rollout: ro}
		counts := map[string]int{}
		for id, p := range ro.Panels {
			counts[p.Status]++
			v.Rows = append(v.Rows, panelRow{ID: id, Name: names[id], Status: p.Status, From: p.From, Told: p.Told, Back: p.Back, Connects: p.Connects})
		}
		sort.Slice(v.Rows, func(i, j int) bool { return v.Rows[i].Name < v.Rows[j].Name })
		var parts []string
		for _, st := range []string{fleet.PanelUpdated, fleet.PanelTold, fleet.PanelWaiting, fleet.PanelTimedOut, fleet.PanelCrashLoop, fleet.PanelRolledBack, fleet.PanelNoBuild} {
			if counts[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
			}
		}
		v.Counts = strings.Join(parts, ", ")
		d.Rollouts = append(d.Rollouts, v)
	}
	return d, nil
}

func (s *Server) firmwareUploadForm(w http.ResponseWriter, r *http.Request) {
	f, err := s.firmwareOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		back(w, r, "/fleet/firmware", "err", "The upload did not arrive whole (at most "+strconv.Itoa(fleet.MaxBuildBytes>>20)+" MiB).")
		return
	}
	defer r.MultipartForm.RemoveAll()
	bin, _, err := r.FormFile("binary")
	if err != nil {
		back(w, r, "/fleet/firmware", "err", "Choose the build's binary.")
		return
	}
	defer bin.Close()
	sigFile, _, err := r.FormFile("signature")
	if err != nil {
		back(w, r, "/fleet/firmware", "err", "Choose the build's signature file (.sig).")
		return
	}
	defer sigFile.Close()
	sig, err := io.ReadAll(io.LimitReader(sigFile, 512))
	if err != nil {
		back(w, r, "/fleet/firmware", "err", "The signature file could not be read.")
		return
	}
	if len(sig) != 64 { // a base64 text file rather than the raw signature
		if b, err := decodeSig(string(sig)); err == nil {
			sig = b
		}
	}
	b, err := f.Upload(strings.TrimSpace(r.FormValue("version")), r.FormValue("arch"), bin, sig, who(r))
	if err != nil {
		back(w, r, "/fleet/firmware", "err", strings.TrimPrefix(err.Error(), "fleet: "))
		return
	}
	back(w, r, "/fleet/firmware", "msg", fmt.Sprintf("Uploaded %s for %s (%d bytes).", b.Version, b.Arch, b.Size))
}

func (s *Server) firmwareRolloutForm(w http.ResponseWriter, r *http.Request) {
	f, err := s.firmwareOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	req := fleet.RolloutRequest{Version: r.PostFormValue("version"), Ring: r.PostFormValue("ring"), Canary: r.PostForm["canary"]}
	req.Percent, _ = strconv.Atoi(r.PostFormValue("percent"))
	if m, err := strconv.Atoi(r.PostFormValue("deadline_min")); err == nil {
		req.DeadlineSeconds = m * 60
	}
	req.MaxCrashPercent, _ = strconv.Atoi(r.PostFormValue("max_crash_percent"))
	if _, err := f.Start(r.Context(), req); err != nil {
		back(w, r, "/fleet/firmware", "err", strings.TrimPrefix(err.Error(), "fleet: "))
		return
	}
	s.log.Info("firmware rollout started", "version", req.Version, "ring", req.Ring, "by", who(r))
	back(w, r, "/fleet/firmware", "msg", "Rollout of "+req.Version+" to ring "+req.Ring+" started.")
}

func (s *Server) firmwareHaltForm(w http.ResponseWriter, r *http.Request) {
	f, err := s.firmwareOrError()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	v := r.PostFormValue("version")
	if err := f.Halt(v, haltReason(r.PostFormValue("reason"), who(r))); err != nil {
		back(w, r, "/fleet/firmware", "err", strings.TrimPrefix(err.Error(), "fleet: "))
		return
	}
	back(w, r, "/fleet/firmware", "msg", "Rollout of "+v+" halted; its panels on "+v+" are told to roll back.")
}
