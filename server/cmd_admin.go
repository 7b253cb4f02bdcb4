package main

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/lintelhq/lintel/server/admin"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(c.Stderr, "password for %s (at least %d characters, read from standard input): ", *user, admin.MinPasswordLength)
	line, err := bufio.NewReader(c.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("admin create: read password: %w", err)
	}
	fmt.Fprintln(c.Stderr)
	db, err := openStore(*data, true) // the first step of a new installation
	if err != nil {
		return fmt.Errorf("admin create: %w (the server holds the store while it runs: stop it first)", err)
	}
	defer db.Close()
	if err := admin.CreateAdmin(db, *user, strings.TrimRight(line, "\r\n"), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "admin %s created\n", *user)
	return nil
}

// adminResetPassword gives an existing admin a new random password: the
// way back in when the password is lost (the demo prints this command
// when it no longer knows the admin's password).
func adminResetPassword(ctx context.Context, c Context, args []string) error {
	fs := c.flags("admin reset-password")
	data := c.dataFlag(fs)
	user := fs.String("username", "admin", "the admin whose password to reset")
	out := fs.String("out", "", "write the new password to this file (mode 0600) instead of printing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openStore(*data, false)
	if err != nil {
		return fmt.Errorf("admin reset-password: %w (the server holds the store while it runs: stop it first)", err)
	}
	defer db.Close()
	existing, err := db.Admin(*user)
	if err != nil {
		names, _ := db.Admins()
		return fmt.Errorf("admin reset-password: no admin %q in %s (admins: %s; add one with 'admin create')", *user, *data, strings.Join(names, ", "))
	}
	password := admin.GeneratePassword()
	if err := admin.CreateAdmin(db, *user, password, existing.Created); err != nil {
		return fmt.Errorf("admin reset-password: %w", err)
	}
	if *out != "" {
		if err := writeSecretFile(*out, password); err != nil {
			return fmt.Errorf("admin reset-password: %w", err)
		}
		fmt.Fprintf(c.Stdout, "new password for %s written to %s\n", *user, *out)
		return nil
	}
	fmt.Fprintf(c.Stdout, "new password for %s: %s\n", *user, password)
	return nil
}

func adminToken(ctx context.Context, c Context, args []string) error {
	fs := c.flags("admin token")
	data := c.dataFlag(fs)
	name := fs.String("name", "cli", "what the token is for")
	out := fs.String("out", "", "write the token to this file (mode 0600) instead of printing it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openStore(*data, false)
	if err != nil {
		return fmt.Errorf("admin token: %w (the server holds the store while it runs: stop it first, or create tokens in the web UI)", err)
	}
	defer db.Close()
	token, err := admin.NewAPIToken(db, *name, "", time.Now())
	if err != nil {
		return err
	}
	if *out != "" {
		if err := writeSecretFile(*out, token); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
		fmt.Fprintf(c.Stdout, "API token %q written to %s\n", *name, *out)
		return nil
	}
	fmt.Fprintf(c.Stdout, "API token %q (shown once): %s\n", *name, token)
	return nil
}
