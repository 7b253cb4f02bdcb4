package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lintelhq/lintel/server/fleet"
	"github.com/lintelhq/lintel/server/store"
)

func firmwareCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "firmware", args, map[string]command{
		"upload":  {"upload a panel build FILE with its signature (--sig FILE.sig, --version, --arch)", firmwareUpload},
		"list":    {"list the builds and the rollouts, with each panel's progress", firmwareList},
		"rollout": {"roll VERSION out to a ring: --canary ID,ID, --percent N or --all", firmwareRollout},
		"halt":    {"halt the rollout of VERSION; its panels on VERSION roll back", firmwareHalt},
	})
}

func firmwareUpload(ctx context.Context, c Context, args []string) error {
	var sigFile, version, arch *string
	fs, client, err := c.apiCommand("firmware upload", args, func(fs *flag.FlagSet) {
		sigFile = fs.String("sig", "", "the build's ed25519 signature: the raw 64 bytes as openssl pkeyutl -sign writes them (default FILE.sig)")
		version = fs.String("version", "", "the build's version, as its --version prints it (required)")
		arch = fs.String("arch", "", "its platform: "+strings.Join(fleet.Arches, ", ")+" (required)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("firmware upload: give the build's FILE")
	}
	file := fs.Arg(0)
	if *sigFile == "" {
		*sigFile = file + ".sig"
	}
	sig, err := os.ReadFile(*sigFile)
	if err != nil {
		return fmt.Errorf("firmware upload: signature: %w", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("firmware upload: %w", err)
	}
	defer f.Close()
	q := url.Values{"version": {*version}, "arch": {*arch}, "signature": {base64.StdEncoding.EncodeToString(sig)}}
	req, err := http.NewRequestWithContext(ctx, "POST", client.base+"/api/v1/firmware?"+q.Encode(), f)
	if err != nil {
		return fmt.Errorf("firmware upload: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+client.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("firmware upload: cannot reach the server at %s: %w", client.base, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("firmware upload: server: %s", e.Error)
		}
		return fmt.Errorf("firmware upload: %s", resp.Status)
	}
	var b store.FirmwareBuild
	json.Unmarshal(data, &b)
	fmt.Fprintf(c.Stdout, "uploaded %s for %s: %d bytes, sha256 %s\n", b.Version, b.Arch, b.Size, b.SHA256)
	return nil
}

func firmwareList(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("firmware list", args, nil)
	if err != nil {
		return err
	}
	var st struct {
		Builds   []store.FirmwareBuild `json:"builds"`
		Rollouts []fleet.Rollout       `json:"rollouts"`
	}
	if err := client.do(ctx, "GET", "/api/v1/firmware", nil, &st); err != nil {
		return fmt.Errorf("firmware list: %w", err)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tPLATFORM\tBYTES\tUPLOADED")
	for _, b := range st.Builds {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", b.Version, b.Arch, b.Size, b.Uploaded.Local().Format(time.DateTime))
	}
	tw.Flush()
	for _, r := range st.Rollouts {
		fmt.Fprintf(c.Stdout, "\nrollout %s: %s, ring %s", r.Version, r.State, r.Ring)
		if r.Ring == fleet.RingPercent {
			fmt.Fprintf(c.Stdout, " %d%%", r.Percent)
		}
		fmt.Fprintln(c.Stdout)
		if r.Reason != "" {
			fmt.Fprintf(c.Stdout, "  halted: %s\n", r.Reason)
		}
		ids := make([]string, 0, len(r.Panels))
		for id := range r.Panels {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			p := r.Panels[id]
			from := ""
			if p.From != "" {
				from = "\tfrom " + p.From
			}
			fmt.Fprintf(c.Stdout, "  %s\t%s%s\n", id, p.Status, from)
		}
	}
	return nil
}

func firmwareRollout(ctx context.Context, c Context, args []string) error {
	var canary *string
	var percent, deadline, crash *int
	var all *bool
	fs, client, err := c.apiCommand("firmware rollout", args, func(fs *flag.FlagSet) {
		canary = fs.String("canary", "", "the canary ring: panel ids, comma-separated")
		percent = fs.Int("percent", 0, "a ring of this percentage of all panels (1-100)")
		all = fs.Bool("all", false, "every panel")
		deadline = fs.Int("deadline", 0, "minutes a panel has to come back on VERSION before the rollout halts (default 15)")
		crash = fs.Int("max-crash-percent", 0, "the rollout halts when more than this percentage of its panels crash-loop (default 20)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("firmware rollout: give the VERSION")
	}
	req := fleet.RolloutRequest{Version: fs.Arg(0), DeadlineSeconds: *deadline * 60, MaxCrashPercent: *crash}
	switch {
	case *canary != "" && *percent == 0 && !*all:
		req.Ring, req.Canary = fleet.RingCanary, strings.Split(*canary, ",")
	case *percent != 0 && *canary == "" && !*all:
		req.Ring, req.Percent = fleet.RingPercent, *percent
	case *all && *canary == "" && *percent == 0:
		req.Ring = fleet.RingAll
	default:
		return errors.New("firmware rollout: give one ring: --canary, --percent or --all")
	}
	var r fleet.Rollout
	if err := client.do(ctx, "POST", "/api/v1/firmware/rollout", req, &r); err != nil {
		return fmt.Errorf("firmware rollout: %w", err)
	}
	fmt.Fprintf(c.Stdout, "rolling %s out to %d panels (ring %s); 'firmware list' shows their progress\n", r.Version, len(r.Panels), r.Ring)
	return nil
}

func firmwareHalt(ctx context.Context, c Context, args []string) error {
	var reason *string
	fs, client, err := c.apiCommand("firmware halt", args, func(fs *flag.FlagSet) {
		reason = fs.String("reason", "", "why, for the firmware page and the alert")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("firmware halt: give the VERSION")
	}
	if err := client.do(ctx, "POST", "/api/v1/firmware/halt", map[string]string{"version": fs.Arg(0), "reason": *reason}, nil); err != nil {
		return fmt.Errorf("firmware halt: %w", err)
	}
	fmt.Fprintf(c.Stdout, "halted the rollout of %s; its panels on %s roll back\n", fs.Arg(0), fs.Arg(0))
	return nil
}
