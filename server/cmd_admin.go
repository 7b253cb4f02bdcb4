package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/admin"
	"github.com/lintelhq/lintel/server/internal/atomicfile"
	"github.com/lintelhq/lintel/server/store"
)

func adminCmd(ctx context.Context, c Context, args []string) error {
	return subcommand(ctx, c, "admin", args, map[string]command{
		"create":         {"add an admin, or set an admin's password, read from standard input", adminCreate},
		"reset-password": {"give an admin a new random password and print it (or write it to --out)", adminResetPassword},
		"token":          {"make an API token for the CLI and scripts", adminToken},
	})
}

// dataFlag is the data directory flag shared by commands that open the
// store themselves.
func (c Context) dataFlag(fs interface {
	String(name, value, usage string) *string
}) *string {
	return fs.String("data", c.env("LINTEL_DATA", "var/lintel"), "the data directory holding lintel.db (env LINTEL_DATA)")
}

// openStore opens the data directory's store. Only create makes a new one
// (serve --init, the demo, admin create): a missing or empty store
// otherwise is an error that says how to start afresh or restore.
func openStore(dataDir string, create bool) (*store.DB, error) {
	path := filepath.Join(dataDir, "lintel.db")
	if create {
		return store.Open(path)
	}
	return store.OpenExisting(path)
}

func adminCreate(ctx context.Context, c Context, args []string) error {
	fs := c.flags("admin create")
	data := c.dataFlag(fs)
	user := fs.String("username", "admin", "the admin's username")
	role := fs.String("role", admin.RoleAdmin, "the account's role when it is new: admin or helpdesk")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password, err := c.readPassword(*user)
	if err != nil {
		return fmt.Errorf("admin create: %w", err)
	}
	db, err := openStore(*data, true) // the first step of a new installation
	if err != nil {
		return fmt.Errorf("admin create: %w (the server holds the store while it runs: stop it first, or use 'lintel-server users add')", err)
	}
	defer db.Close()
	if _, err := db.Admin(*user); err == nil {
		// An existing account: a new password, its sessions ended.
		ch, err := admin.ChangePassword(db, *user, password, "", false, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(c.Stdout, "new password for %s; %d session(s) ended\n", *user, ch.SessionsEnded)
		return nil
	}
	if _, err := admin.CreateUser(db, *user, password, *role, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s %s created\n", *role, *user)
	return nil
}

// adminResetPassword gives an existing admin a new random password: the
// way back in when the password is lost (the demo prints this command
// when it no longer knows the admin's password). Whoever had the old
// password may have logged in or made API tokens: the account's sessions
// end and its tokens are revoked (--keep-tokens keeps them).
func adminResetPassword(ctx context.Context, c Context, args []string) error {
	fs := c.flags("admin reset-password")
	data := c.dataFlag(fs)
	user := fs.String("username", "admin", "the admin whose password to reset")
	out := fs.String("out", "", "write the new password to this file (mode 0600) instead of printing it")
	keepTokens := fs.Bool("keep-tokens", false, "keep the API tokens the admin made (they are revoked by default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openStore(*data, false)
	if err != nil {
		return fmt.Errorf("admin reset-password: %w (the server holds the store while it runs: stop it first, or use 'lintel-server users password')", err)
	}
	defer db.Close()
	if _, err := db.Admin(*user); err != nil {
		names, _ := db.Admins()
		return fmt.Errorf("admin reset-password: no admin %q in %s (admins: %s; add one with 'admin create')", *user, *data, strings.Join(names, ", "))
	}
	password := admin.GeneratePassword()
	ch, err := admin.ChangePassword(db, *user, password, "", !*keepTokens, time.Now())
	if err != nil {
		return fmt.Errorf("admin reset-password: %w", err)
	}
	ended := fmt.Sprintf("%d session(s) ended, %d API token(s) revoked", ch.SessionsEnded, ch.TokensRevoked)
	if *out != "" {
		if err := atomicfile.WriteSecret(*out, password); err != nil {
			return fmt.Errorf("admin reset-password: %w", err)
		}
		fmt.Fprintf(c.Stdout, "new password for %s written to %s; %s\n", *user, *out, ended)
		return nil
	}
	fmt.Fprintf(c.Stdout, "new password for %s: %s\n", *user, password)
	fmt.Fprintln(c.Stderr, ended)
	return nil
}

func adminToken(ctx context.Context, c Context, args []string) error {
	fs := c.flags("admin token")
	data := c.dataFlag(fs)
	name := fs.String("name", "cli", "what the token is for")
	scope := fs.String("scope", admin.ScopeAdmin, "what it may do: read, devices or admin")
	expires := fs.String("expires", "never", "when it stops working: days (90d), a duration (12h), a date (2027-06-30) or never")
	out := fs.String("out", "", "write the token to this file (mode 0600) instead of printing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	now := time.Now()
	exp, err := parseExpiry(*expires, now)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	db, err := openStore(*data, false)
	if err != nil {
		return fmt.Errorf("admin token: %w (the server holds the store while it runs: stop it first, or use 'lintel-server tokens create' or the API tokens page)", err)
	}
	defer db.Close()
	token, info, err := admin.CreateAPIToken(db, admin.TokenSpec{Name: *name, Scope: *scope, Expires: exp}, now)
	if err != nil {
		return err
	}
	if *out != "" {
		if err := atomicfile.WriteSecret(*out, token); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		fmt.Fprintf(c.Stdout, "API token %q (%s, %s scope) written to %s\n", *name, info.ID, info.Scope, *out)
		return nil
	}
	fmt.Fprintf(c.Stdout, "API token %q (%s, %s scope; shown once): %s\n", *name, info.ID, info.Scope, token)
	return nil
}
