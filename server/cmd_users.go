package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
)

func tokensCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "tokens", args, map[string]command{
		"create": {"make an API token NAME with a scope and an expiry and print it once", tokensCreate},
		"list":   {"list the API tokens: scope, maker, expiry, last use, state (never the tokens)", tokensList},
		"revoke": {"revoke the API token ID: it is refused from now on", tokensRevoke},
	})
}

func usersCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "users", args, map[string]command{
		"list":     {"list the local accounts and their roles", usersList},
		"add":      {"add the account USERNAME with a role; its password is read from standard input", usersAdd},
		"remove":   {"remove the account USERNAME: it is logged out and its API tokens revoked", usersRemove},
		"role":     {"set the role of USERNAME to ROLE (admin or helpdesk)", usersRole},
		"password": {"set USERNAME's password (read from standard input); it is logged out everywhere", usersPassword},
	})
}

// parseExpiry reads --expires: "" or "never", a number of days ("90d"), a
// Go duration ("12h") or a date ("2027-06-30", midnight UTC).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	switch {
	case s == "" || s == "never":
		return time.Time{}, nil
	case strings.HasSuffix(s, "d"):
		days, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || days <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: a number of days is like 90d", s)
		}
		return now.AddDate(0, 0, days), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: give days (90d), a duration (12h), a date (2027-06-30) or never", s)
}

func tokensCreate(ctx context.Context, c Context, args []string) error {
	var scope, expires, out *string
	fs, client, err := c.apiCommand("tokens create", args, func(fs *flag.FlagSet) {
		scope = fs.String("scope", admin.ScopeRead, "what the token may do: read (GET only), devices (read and manage panels) or admin (everything)")
		expires = fs.String("expires", "90d", "when it stops working: days (90d), a duration (12h), a date (2027-06-30) or never")
		out = fs.String("out", "", "write the token to this file (mode 0600) instead of printing it")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server tokens create [flags] NAME (flags before the name)")
	}
	exp, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return fmt.Errorf("tokens create: %w", err)
	}
	req := map[string]any{"name": fs.Arg(0), "scope": *scope}
	if !exp.IsZero() {
		req["expires"] = exp.UTC().Format(time.RFC3339)
	}
	var res struct {
		Token string      `json:"token"`
		Info  admin.Token `json:"info"`
	}
	if err := client.do(ctx, "POST", "/api/v1/tokens", req, &res); err != nil {
		return fmt.Errorf("tokens create: %w", err)
	}
	until := "never expires"
	if res.Info.Expires != nil {
		until = "expires " + res.Info.Expires.Local().Format(time.DateTime)
	}
	if *out != "" {
		if err := atomicfile.WriteSecret(*out, res.Token); err != nil {
			return fmt.Errorf("tokens create: %w", err)
		}
		fmt.Fprintf(c.Stdout, "API token %s %q (%s scope, %s) written to %s\n", res.Info.ID, res.Info.Name, res.Info.Scope, until, *out)
		return nil
	}
	fmt.Fprintf(c.Stdout, "API token %s %q (%s scope, %s), shown once:\n%s\n", res.Info.ID, res.Info.Name, res.Info.Scope, until, res.Token)
	return nil
}

func tokensList(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("tokens list", args, nil)
	if err != nil {
		return err
	}
	var list []admin.Token
	if err := client.do(ctx, "GET", "/api/v1/tokens", nil, &list); err != nil {
		return fmt.Errorf("tokens list: %w", err)
	}
	when := func(t *time.Time) string {
		if t == nil {
			return "never"
		}
		return t.Local().Format(time.DateTime)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tMADE BY\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range list {
		by := t.CreatedBy
		if by == "" {
			by = "(CLI)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, by, when(t.Expires), when(t.LastUsed), t.State)
	}
	return tw.Flush()
}

func tokensRevoke(ctx context.Context, c Context, args []string) error {
	fs, client, err := c.apiCommand("tokens revoke", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server tokens revoke ID (the ID 'tokens list' shows)")
	}
	var t admin.Token
	if err := client.do(ctx, "POST", "/api/v1/tokens/"+url.PathEscape(fs.Arg(0))+"/revoke", nil, &t); err != nil {
		return fmt.Errorf("tokens revoke: %w", err)
	}
	fmt.Fprintf(c.Stdout, "API token %s %q revoked\n", t.ID, t.Name)
	return nil
}

func usersList(ctx context.Context, c Context, args []string) error {
	_, client, err := c.apiCommand("users list", args, nil)
	if err != nil {
		return err
	}
	var users []admin.User
	if err := client.do(ctx, "GET", "/api/v1/users", nil, &users); err != nil {
		return fmt.Errorf("users list: %w", err)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tADDED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Username, u.Role, u.Created.Local().Format(time.DateOnly))
	}
	return tw.Flush()
}

// readPassword reads a password line from standard input.
func (c Context) readPassword(who string) (string, error) {
	fmt.Fprintf(c.Stderr, "password for %s (at least %d characters, read from standard input): ", who, admin.MinPasswordLength)
	line, err := bufio.NewReader(c.Stdin).ReadString('\n')
	fmt.Fprintln(c.Stderr)
	if err != nil && line == "" {
		return "", fmt.Errorf("read password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func usersAdd(ctx context.Context, c Context, args []string) error {
	var role *string
	fs, client, err := c.apiCommand("users add", args, func(fs *flag.FlagSet) {
		role = fs.String("role", admin.RoleHelpdesk, "admin (everything) or helpdesk (read, identify, screenshot)")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server users add [--role admin|helpdesk] USERNAME < password")
	}
	password, err := c.readPassword(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	var u admin.User
	if err := client.do(ctx, "POST", "/api/v1/users", map[string]string{"username": fs.Arg(0), "role": *role, "password": password}, &u); err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	fmt.Fprintf(c.Stdout, "user %s added (%s)\n", u.Username, u.Role)
	return nil
}

func usersRemove(ctx context.Context, c Context, args []string) error {
	fs, client, err := c.apiCommand("users remove", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server users remove USERNAME")
	}
	if err := client.do(ctx, "DELETE", "/api/v1/users/"+url.PathEscape(fs.Arg(0)), nil, nil); err != nil {
		return fmt.Errorf("users remove: %w", err)
	}
	fmt.Fprintf(c.Stdout, "user %s removed: logged out, API tokens revoked\n", fs.Arg(0))
	return nil
}

func usersRole(ctx context.Context, c Context, args []string) error {
	fs, client, err := c.apiCommand("users role", args, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: lintel-server users role USERNAME admin|helpdesk")
	}
	var u admin.User
	if err := client.do(ctx, "PUT", "/api/v1/users/"+url.PathEscape(fs.Arg(0)), map[string]string{"role": fs.Arg(1)}, &u); err != nil {
		return fmt.Errorf("users role: %w", err)
	}
	fmt.Fprintf(c.Stdout, "user %s is now %s\n", u.Username, u.Role)
	return nil
}

func usersPassword(ctx context.Context, c Context, args []string) error {
	var revoke *bool
	fs, client, err := c.apiCommand("users password", args, func(fs *flag.FlagSet) {
		revoke = fs.Bool("revoke-tokens", false, "also revoke the API tokens the user made")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: lintel-server users password [--revoke-tokens] USERNAME < password")
	}
	password, err := c.readPassword(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("users password: %w", err)
	}
	var res struct {
		admin.User
		admin.PasswordChange
	}
	if err := client.do(ctx, "PUT", "/api/v1/users/"+url.PathEscape(fs.Arg(0)), map[string]any{"password": password, "revoke_tokens": *revoke}, &res); err != nil {
		return fmt.Errorf("users password: %w", err)
	}
	fmt.Fprintf(c.Stdout, "new password for %s; %d session(s) ended, %d API token(s) revoked\n", res.Username, res.SessionsEnded, res.TokensRevoked)
	return nil
}
