package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

func devicesCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "devices", args, map[string]command{
		"add":     {"add a panel to a room and print its credential (for scripted installs; panels normally pair)", devicesAdd},
		"list":    {"list the panels, their rooms, when they were last seen and their firmware", devicesList},
		"revoke":  {"revoke the panel DEVICE-ID: its credential stops working and it returns to pairing", devicesRevoke},
		"delete":  {"remove the (revoked) panel DEVICE-ID from the list; its credential stays refused", devicesDelete},
		"pending": {"list the panels waiting to be paired, with their codes", devicesPending},
		"approve": {"pair the panel showing CODE with a room", devicesApprove},
	})
}

func devicesAdd(ctx context.Context, c Context, args []string) error {
	fs := c.flags("devices add")
	room := fs.String("room", "", "the room the panel stands at (required)")
	name := fs.String("name", "", "a name for the panel, e.g. 'Matterhorn door'")
	out := fs.String("credential-file", "", "write the panel's credential to this file (mode 0600) instead of printing it")
	api := c.addAPIFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *room == "" {
		return fmt.Errorf("devices add: --room is required")
	}
	client, err := c.client(api)
	if err != nil {
		return err
	}
	var res struct {
		Device store.Device `json:"device"`
		Token  string       `json:"token"`
	}
	if err := client.do(ctx, "POST", "/api/v1/devices", map[string]string{"room": *room, "name": *name}, &res); err != nil {
		return fmt.Errorf("devices add: %w", err)
	}
	if *out == "" {
		fmt.Fprintf(c.Stdout, "device %s added to room %s\ncredential (shown once; put it in the panel's credential file): %s\n", res.Device.ID, res.Device.Room, res.Token)
		return nil
	}
	if err := atomicfile.WriteSecret(*out, res.Token); err != nil {
		return fmt.Errorf("devices add: %w", err)
	}
	fmt.Fprintf(c.Stdout, "device %s added to room %s; credential written to %s\n", res.Device.ID, res.Device.Room, *out)
	return nil
}

func devicesList(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("devices list", args, nil)
	if err != nil {
		return err
	}
	var devs []store.Device
	if err := client.do(ctx, "GET", "/api/v1/devices", nil, &devs); err != nil {
		return fmt.Errorf("devices list: %w", err)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROOM\tLAST SEEN\tFIRMWARE\tSTATE")
	for _, d := range devs {
		seen := "never"
		if !d.LastSeen.IsZero() {
			seen = d.LastSeen.Local().Format(time.DateTime)
		}
		state := "active"
		if d.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.Room, seen, d.Firmware, state)
	}
	return tw.Flush()
}

func devicesRevoke(ctx context.Context, c Context, args []string) error {
	fs, client, err := c.apiCommand("devices revoke", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server devices revoke DEVICE-ID")
	}
	if err := client.do(ctx, "POST", "/api/v1/devices/"+fs.Arg(0)+"/revoke", nil, nil); err != nil {
		return fmt.Errorf("devices revoke: %w", err)
	}
	fmt.Fprintf(c.Stdout, "device %s revoked; it returns to pairing\n", fs.Arg(0))
	return nil
}

// devicesDelete removes a (revoked) device from the list.
func devicesDelete(ctx context.Context, c Context, args []string) error {
	fs, client, err := c.apiCommand("devices delete", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server devices delete DEVICE-ID")
	}
	if err := client.do(ctx, "DELETE", "/api/v1/devices/"+url.PathEscape(fs.Arg(0)), nil, nil); err != nil {
		return fmt.Errorf("devices delete: %w", err)
	}
	fmt.Fprintf(c.Stdout, "device %s deleted; its credential stays refused\n", fs.Arg(0))
	return nil
}

// devicesPending lists the panels showing a pairing code.
func devicesPending(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("devices pending", args, nil)
	if err != nil {
		return err
	}
	var pending []struct {
		Code  string    `json:"code"`
		Addr  string    `json:"addr"`
		Since time.Time `json:"since"`
	}
	if err := client.do(ctx, "GET", "/api/v1/pairing", nil, &pending); err != nil {
		return fmt.Errorf("devices pending: %w", err)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tADDRESS\tWAITING SINCE")
	for _, p := range pending {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Code, p.Addr, p.Since.Local().Format(time.DateTime))
	}
	return tw.Flush()
}

// devicesApprove pairs the panel showing CODE with a room.
func devicesApprove(ctx context.Context, c Context, args []string) error {
	fs := c.flags("devices approve")
	room := fs.String("room", "", "the room the panel stands at (required)")
	name := fs.String("name", "", "a name for the panel")
	api := c.addAPIFlags(fs)
	// Accept the code before or after the flags.
	var code string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		code, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if code == "" && fs.NArg() == 1 {
		code = fs.Arg(0)
	}
	if code == "" || *room == "" {
		return fmt.Errorf("usage: lintel-server devices approve CODE --room ROOM [--name NAME]")
	}
	client, err := c.client(api)
	if err != nil {
		return err
	}
	var d struct {
		ID, Name, Room string
	}
	if err := client.do(ctx, "POST", "/api/v1/pairing/"+url.PathEscape(code)+"/approve", map[string]string{"room": *room, "name": *name}, &d); err != nil {
		return fmt.Errorf("devices approve: %w", err)
	}
	fmt.Fprintf(c.Stdout, "paired: %s (%s) now shows room %s\n", d.Name, d.ID, d.Room)
	return nil
}
