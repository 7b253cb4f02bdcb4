// Command lintel-server polls room calendars and serves door panels and
// the facilities admin. Run "lintel-server help" for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // rooms name IANA zones; a minimal container has no zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := Context{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Args: os.Args[1:], Getenv: os.Getenv, Program: os.Args[0]}
	if err := c.Execute(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "lintel-server:", err)
		os.Exit(1)
	}
}
