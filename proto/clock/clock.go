// Package clock is Lintel's one source of the time of day. Everything that
// depends on what time it is (schedules, bookings, the demo calendar,
// check-in windows, what a panel draws) takes a [Func] built here, so a test
// or a demo can run the whole system at any hour.
//
// Socket deadlines and timers keep using the time package directly: they
// measure durations, which no override changes.
//
// The environment variable LINTEL_TEST_NOW (RFC 3339) starts the clock at
// that instant; it then runs at the real rate, so timeouts and tickers still
// behave. Test binaries always use a moved clock ([ForTests]): the instant
// in LINTEL_TEST_NOW, or [TestDefault] when it is unset, so a test never
// depends on the hour it happens to run at.
package clock

import (
	"fmt"
	"time"
)

// Env names the environment variable that moves the clock.
const Env = "LINTEL_TEST_NOW"

// TestDefault is where test clocks start when LINTEL_TEST_NOW is unset: a
// Wednesday morning in Europe (09:41 UTC is 10:41 in Zurich).
var TestDefault = time.Date(2026, time.March, 11, 9, 41, 0, 0, time.UTC)

// Func returns the current time.
type Func func() time.Time

// Real is the machine's clock.
func Real() time.Time { return time.Now() }

// Starting returns a clock that reads start now and runs at the real rate
// from there.
func Starting(start time.Time) Func {
	offset := time.Until(start)
	return func() time.Time { return time.Now().Add(offset) }
}

// Fixed returns a clock that always reads t, for pure functions' tests.
func Fixed(t time.Time) Func { return func() time.Time { return t } }

// FromEnv returns the clock a binary runs on: the machine's clock, or one
// moved to LINTEL_TEST_NOW when getenv has it. moved reports the override,
// so the binary can say it runs on a moved clock.
func FromEnv(getenv func(string) string) (c Func, moved bool, err error) {
	v := getenv(Env)
	if v == "" {
		return Real, false, nil
	}
	start, err := Parse(v)
	if err != nil {
		return nil, false, err
	}
	return Starting(start), true, nil
}

// Parse reads an instant as LINTEL_TEST_NOW holds it.
func Parse(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock: %s=%q is not an RFC 3339 time such as 2026-03-11T09:41:00Z", Env, v)
	}
	return t, nil
}

// ForTests returns a test binary's clock: it starts at LINTEL_TEST_NOW, or
// at TestDefault when that is unset, and panics on a malformed value (a
// test run with a typo must not silently use another time).
func ForTests(getenv func(string) string) Func {
	return Starting(TestStart(getenv))
}

// TestStart is the instant a test clock starts at: LINTEL_TEST_NOW, or
// TestDefault. Tests that start a child process pass it on in Env.
func TestStart(getenv func(string) string) time.Time {
	v := getenv(Env)
	if v == "" {
		return TestDefault
	}
	t, err := Parse(v)
	if err != nil {
		panic(err)
	}
	return t
}
